/**
 * Subfolders' write secrets in folder versions (`catalog/folder.ts`): stored masked under the
 * parent folder's write secret, never in the clear, so a folder's read key (what a reader holds)
 * opens its subtree for reading but gives no key that signs a subfolder's record. Entries written
 * before masking (a plain `writeSecret`) still decode, and are written masked again.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { signPublicKey } from "../src/crypto/sign.ts";
import { equals } from "../src/encoding/bytes.ts";
import { decode, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import {
  childWriteSecret,
  decodeEntry,
  decodeFolder,
  decodeOwnFolder,
  encodeFolder,
  type Entry,
  type FolderVersion,
  maskChildSecret,
  WriteSecretError,
} from "../src/catalog/folder.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

type FolderEntry = Extract<Entry, { t: "d" }>;

/** A folder's keys as the catalog makes them. */
function keys() {
  const writeSecret = randomBytes(32);
  return { writeSecret, writePub: signPublicKey(writeSecret), readKey: randomBytes(32) };
}

/** Whether `needle` occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const owner = generateIdentity().id;
const parent = keys();
const children = { a: keys(), b: keys(), "c d": keys() };
const file = {
  t: "f" as const,
  versions: [{
    size: 3,
    mtime: 1,
    added: 2,
    hash: new Uint8Array(32),
    key: randomBytes(32),
    inline: new Uint8Array([1, 2, 3]),
  }],
};

/** The parent's version as the owner's catalog holds it in memory (child secrets in the clear). */
function ownerVersion(): FolderVersion {
  const entries: Record<string, Entry> = { "x.txt": file };
  for (const [name, k] of Object.entries(children)) entries[name] = { t: "d", ...k };
  return {
    v: 1,
    owner,
    mode: 0o750,
    writePub: parent.writePub,
    parent: new Uint8Array(0),
    counter: 4,
    entries,
  };
}

Deno.test("an encoded folder holds no subfolder's write secret in the clear", () => {
  const bytes = encodeFolder(ownerVersion(), parent.writeSecret);
  for (const [name, k] of Object.entries(children)) {
    assert(!contains(bytes, k.writeSecret), `${name}'s write secret is in the clear`);
    // The public and read keys are there: a reader needs them.
    assert(contains(bytes, k.writePub) && contains(bytes, k.readKey), name);
  }
  const raw = decode(bytes) as { entries: Record<string, Record<string, unknown>> };
  assertEquals(Object.keys(raw.entries.a!).sort(), ["readKey", "sealedWrite", "t", "writePub"]);
  // Without the folder's own write secret, a plain child secret is never written.
  assertThrows(() => encodeFolder(ownerVersion()), WriteSecretError, "masked");
});

Deno.test("a reader's decode gives the public and read keys and no usable secret", () => {
  const f = decodeFolder(encodeFolder(ownerVersion(), parent.writeSecret));
  assertEquals(f.entries["x.txt"], file);
  for (const [name, k] of Object.entries(children)) {
    const e = f.entries[name] as FolderEntry;
    assertEquals([e.t, e.writePub, e.readKey], ["d", k.writePub, k.readKey]);
    assertEquals(e.writeSecret, undefined);
    // The masked value is not a key of this folder: it signs as some other key.
    assert(!equals(e.sealedWrite!, k.writeSecret));
    assert(!equals(signPublicKey(e.sealedWrite!), k.writePub));
    // Decoded as a reader, it can be written back only as it is (still masked).
    assertEquals(decodeFolder(encodeFolder(f)), f);
  }
});

Deno.test("the parent's write secret unmasks each child's; another secret fails clearly", () => {
  const bytes = encodeFolder(ownerVersion(), parent.writeSecret);
  const asReader = decodeFolder(bytes);
  for (const [name, k] of Object.entries(children)) {
    const e = asReader.entries[name] as FolderEntry;
    assertEquals(childWriteSecret(parent.writeSecret, e), k.writeSecret);
    assertThrows(
      () => childWriteSecret(randomBytes(32), e, name),
      WriteSecretError,
      "does not match its public key",
    );
    // A child's own secret does not open its sibling's: the pad is bound to the child's key.
    assertThrows(() => childWriteSecret(k.writeSecret, e), WriteSecretError);
  }
  const own = decodeOwnFolder(bytes, parent.writeSecret);
  assertEquals(own.plain, 0);
  assertEquals(own.version, ownerVersion());
  assertThrows(
    () => decodeOwnFolder(bytes, keys().writeSecret),
    WriteSecretError,
    "does not match its public key",
  );
  // Masking is its own inverse under the same parent and child.
  const c = children.a;
  const masked = maskChildSecret(parent.writeSecret, c.writePub, c.writeSecret);
  assertEquals(maskChildSecret(parent.writeSecret, c.writePub, masked), c.writeSecret);
  // Re-encoding what the owner decoded writes the same bytes.
  assertEquals(encodeFolder(own.version, parent.writeSecret), bytes);
});

Deno.test("an entry written before masking still decodes, and is written masked again", () => {
  // What a node of the first release wrote: every child's secret in the clear.
  const old = ownerVersion();
  const bytes = encode(old);
  assert(contains(bytes, children.a.writeSecret));
  // A reader still opens it (the plain secret is left out of what it gets).
  const asReader = decodeFolder(bytes);
  const e = asReader.entries.a as FolderEntry;
  assertEquals([e.writePub, e.readKey, e.writeSecret, e.sealedWrite], [
    children.a.writePub,
    children.a.readKey,
    undefined,
    undefined,
  ]);
  const entry = decodeEntry({ t: "d", ...children.b }, "b");
  assertEquals(entry, { t: "d", writePub: children.b.writePub, readKey: children.b.readKey });
  // The owner gets the secrets, checked, and is told the folder still holds plain ones.
  const own = decodeOwnFolder(bytes, parent.writeSecret);
  assertEquals(own.plain, 3);
  assertEquals(own.version, old);
  // A plain secret that is not the entry's key is refused, whatever the parent's secret.
  const bad = {
    ...old,
    entries: { ...old.entries, a: { t: "d", ...children.a, writeSecret: randomBytes(32) } },
  };
  assertThrows(() => decodeOwnFolder(encode(bad), parent.writeSecret), WriteSecretError, '"a"');
  // Written again, it is masked: no secret in the clear, and it opens the same.
  const again = encodeFolder(own.version, parent.writeSecret);
  for (const k of Object.values(children)) assert(!contains(again, k.writeSecret));
  const reopened = decodeOwnFolder(again, parent.writeSecret);
  assertEquals([reopened.plain, reopened.version], [0, old]);
});

Deno.test("a subfolder entry holds exactly one of a masked or a plain secret", async (t) => {
  const k = children.a;
  const sealedWrite = maskChildSecret(parent.writeSecret, k.writePub, k.writeSecret);
  const cases: [string, Record<string, unknown>][] = [
    ["neither", { t: "d", writePub: k.writePub, readKey: k.readKey }],
    ["both", { t: "d", ...k, sealedWrite }],
    ["a short masked secret", {
      t: "d",
      writePub: k.writePub,
      readKey: k.readKey,
      sealedWrite: sealedWrite.subarray(1),
    }],
    ["an unknown field", { t: "d", writePub: k.writePub, readKey: k.readKey, sealedWrite, x: 1 }],
  ];
  for (const [what, entry] of cases) {
    await t.step(`decodeFolder() refuses ${what}`, () => {
      const f = { ...ownerVersion(), entries: { a: entry } };
      assertThrows(() => decodeFolder(encode(f)), DecodeError);
    });
  }
});
