/**
 * The merge rule of write sharing (`src/sharing/written_merge.ts`): readers, writers and the
 * owner's node put writers' files into a folder the same way.
 */
import type { FileVersion, FolderVersion } from "../src/catalog/folder.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import type { WrittenFile } from "../src/sharing/write_records.ts";
import { conflictName, mergeWritten } from "../src/sharing/written_merge.ts";
import { assert, assertEquals } from "./_assert.ts";

const A = generateIdentity().id, B = generateIdentity().id;

function version(): FileVersion {
  return {
    size: 3,
    mtime: 1,
    added: 2,
    hash: randomBytes(32),
    key: randomBytes(32),
    inline: new Uint8Array([1, 2, 3]),
  };
}

function folder(entries: FolderVersion["entries"] = {}, counter = 5): FolderVersion {
  return {
    v: 1,
    owner: A,
    mode: 0o770,
    writePub: randomBytes(32),
    parent: new Uint8Array(0),
    counter,
    entries,
  };
}

function written(name: string, v: FileVersion, by: string, at: number, replaces?: FileVersion) {
  return {
    name,
    version: { ...v },
    by,
    at,
    base: 5,
    ...(replaces ? { replaces: replaces.key } : {}),
  } satisfies WrittenFile;
}

/** The data keys under each name, newest first, as hex for comparing. */
function keysOf(entries: FolderVersion["entries"]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [n, e] of Object.entries(entries)) {
    if (e.t === "f") out[n] = e.versions.map((v) => [...v.key.slice(0, 4)].join("."));
  }
  return out;
}
const k = (v: FileVersion) => [...v.key.slice(0, 4)].join(".");

Deno.test("a written file takes a free name, and a plain update becomes the newest version", () => {
  const v1 = version(), v2 = version();
  const { entries, taken } = mergeWritten(folder(), [
    written("a.txt", v1, A, 1),
    written("a.txt", v2, A, 2, v1),
  ]);
  assertEquals(keysOf(entries), { "a.txt": [k(v2), k(v1)] });
  assertEquals(taken.map((t) => t.as), ["a.txt", "a.txt"]);
  const e = entries["a.txt"]!;
  assert(e.t === "f" && e.mode === 0o660, "a new file inherits its folder's file mode");
});

Deno.test("against the owner's own change, the owner's version stays and the write is kept aside", () => {
  const mine = version(), seen = version(), w = version();
  const f = folder({ "a.txt": { t: "f", versions: [mine, seen] } });
  const { entries } = mergeWritten(f, [written("a.txt", w, B, 7, seen)]);
  assertEquals(keysOf(entries), {
    "a.txt": [k(mine), k(seen)],
    [conflictName("a.txt", B)]: [k(w)],
  });
});

Deno.test("two writers' concurrent files: the later wins the name, the earlier is kept aside", () => {
  const base = version(), x = version(), y = version();
  const f = folder({ "a.txt": { t: "f", versions: [base] } });
  const files = [written("a.txt", x, A, 3, base), written("a.txt", y, B, 4, base)];
  const expect = {
    "a.txt": [k(y), k(base)],
    [conflictName("a.txt", A)]: [k(x)],
  };
  assertEquals(keysOf(mergeWritten(f, files).entries), expect);
  assertEquals(keysOf(mergeWritten(f, [...files].reverse()).entries), expect, "in any order");
  // The same counter (two writers published at once): the writer id decides.
  const tie = [written("a.txt", x, A, 3, base), written("a.txt", y, B, 3, base)];
  const [first, second] = A < B ? [x, y] : [y, x];
  assertEquals(keysOf(mergeWritten(f, tie).entries), {
    "a.txt": [k(second), k(base)],
    [conflictName("a.txt", first === x ? A : B)]: [k(first)],
  });
});

Deno.test("merging is the same in any order and changes nothing the second time", () => {
  for (let round = 0; round < 30; round++) {
    const base = version();
    const f = folder({
      "a.txt": { t: "f", versions: [base] },
      "d": { t: "f", versions: [version()] },
    });
    const files: WrittenFile[] = [];
    let last = base;
    for (let i = 0; i < 6; i++) {
      const v = version();
      const name = ["a.txt", "b.txt", "d"][i % 3]!;
      // Some updates of what the writer saw last, some concurrent with it.
      const replaces = i % 2 === 0 ? last : base;
      files.push(written(name, v, i % 2 ? A : B, 1 + Math.floor(i / 2), replaces));
      if (name === "a.txt") last = v;
    }
    const once = mergeWritten(f, files).entries;
    const shuffled = [...files].sort(() => Math.random() - 0.5);
    assertEquals(keysOf(mergeWritten(f, shuffled).entries), keysOf(once));
    const again = mergeWritten({ ...f, entries: once }, files);
    assertEquals(again.taken.length, 0, "every version is already there");
    assertEquals(keysOf(again.entries), keysOf(once));
  }
});

Deno.test("readers leave out files the owner has merged since, and bad files are refused", () => {
  const v = version(), w = version();
  const f = folder({
    sub: {
      t: "d",
      writePub: randomBytes(32),
      readKey: randomBytes(32),
      writeSecret: randomBytes(32),
    },
  }, 9);
  const old = { ...written("old.txt", v, A, 1), base: 8 };
  const onFolder = { ...written("sub", w, A, 2), base: 9 };
  const bad = { ...written("../x", version(), A, 3) };
  const packed = {
    ...written("p.txt", version(), A, 4),
    version: {
      ...version(),
      inline: undefined,
      pack: { manifest: randomBytes(8), key: randomBytes(32), offset: 0, length: 1 },
    },
  };
  const { entries, taken } = mergeWritten(f, [old, onFolder, bad, packed], { since: 9 });
  assertEquals(taken.length, 1, "only the file written against the current folder, kept aside");
  assertEquals(taken[0]!.as, conflictName("sub", A), "a folder's name is never taken by a file");
  assert(!("old.txt" in entries) && !("../x" in entries) && !("p.txt" in entries));
  const skipped = mergeWritten(f, [onFolder], { skip: () => true });
  assertEquals(skipped.taken.length, 0);
});
