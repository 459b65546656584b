/**
 * Quick links' formats: the snapshot object and the ref a capability carries
 * (`src/sharing/link_snapshot.ts`), and the page's reader over a gateway app with no network
 * (`src/sharing/link_reader.ts`): a snapshot stored as a full-copy object opens; a wrong key, a
 * tampered shard and deleted shards each give their own clear failure. And the owner's link book
 * (`src/node/link_book.ts`): persisted, listed for the keep list, a failed expiry retried.
 */
import { Hono } from "hono";
import { encryptBlock, generateDataKey, importDataKey } from "../src/crypto/block.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { createCodec } from "../src/erasure/mod.ts";
import { splitBlock } from "../src/erasure/split.ts";
import { encodeManifest, type FileManifest } from "../src/files/manifest.ts";
import { encodeCapability, MAX_LINK_REF_BYTES, parseLink } from "../src/sharing/link.ts";
import { LinkOpenError, openLink, readLinkedFile } from "../src/sharing/link_reader.ts";
import {
  decodeLinkRef,
  decodeSnapshot,
  encodeLinkRef,
  encodeSnapshot,
  type LinkSnapshot,
  MAX_INLINE_BYTES,
  MAX_LINK_FILES,
  MAX_SNAPSHOT_BYTES,
  refManifest,
} from "../src/sharing/link_snapshot.ts";
import { mountShards } from "../gateway/shards.ts";
import { errorResponse } from "../gateway/errors.ts";
import { LinkBook, LinkNotFoundError } from "../src/node/link_book.ts";
import { memoryState } from "../src/node/state.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

const id = () => toBase32(randomBytes(32));
const OWNER = id();

function manifestOf(size: number): FileManifest {
  const blockSize = 1024;
  const count = size === 0 ? 1 : Math.ceil(size / blockSize);
  return {
    v: 1,
    size,
    blockSize,
    k: 2,
    m: 1,
    blocks: Array.from({ length: count }, (_, i) => ({
      len: (i < count - 1 ? blockSize : size - blockSize * (count - 1)) + 16,
      shards: [id(), id(), id()],
    })),
  };
}

const sample: LinkSnapshot = {
  v: 1,
  created: 1_700_000_000_000,
  files: [
    { path: "a.txt", size: 3, inline: new Uint8Array([1, 2, 3]) },
    {
      path: "sub/big.bin",
      size: 3000,
      key: randomBytes(32),
      manifest: encodeManifest(manifestOf(3000)),
    },
  ],
};

Deno.test("decodeSnapshot() reads back what encodeSnapshot() wrote", () => {
  const bytes = encodeSnapshot(sample);
  assertEquals(decodeSnapshot(bytes), sample);
});

Deno.test("encodeSnapshot() refuses what a link cannot hold", async (t) => {
  const file = sample.files[0]!;
  const cases: [string, LinkSnapshot, string][] = [
    ["no files", { ...sample, files: [] }, "at least one"],
    [
      "too many files",
      {
        ...sample,
        files: Array.from({ length: MAX_LINK_FILES + 1 }, (_, i) => ({ ...file, path: `f${i}` })),
      },
      "at most",
    ],
    [
      "a too large inline file",
      {
        ...sample,
        files: [{
          path: "x",
          size: MAX_INLINE_BYTES + 1,
          inline: new Uint8Array(MAX_INLINE_BYTES + 1),
        }],
      },
      "inline",
    ],
    [
      "a snapshot over its byte limit",
      {
        ...sample,
        files: Array.from({ length: 9 }, (_, i) => ({
          path: `f${i}`,
          size: MAX_INLINE_BYTES,
          inline: new Uint8Array(MAX_INLINE_BYTES),
        })),
      },
      `over ${MAX_SNAPSHOT_BYTES}`,
    ],
  ];
  for (const [name, s, msg] of cases) {
    await t.step(name, () => void assertThrows(() => encodeSnapshot(s), RangeError, msg));
  }
  for (const path of ["", "../x", "a//b", "/abs", "a/./b", "a\\b", "a\u0001"]) {
    await t.step(`the path ${JSON.stringify(path)}`, () => {
      assertThrows(() => encodeSnapshot({ ...sample, files: [{ ...file, path }] }), DecodeError);
    });
  }
});

Deno.test("decodeSnapshot() refuses malformed snapshots", async (t) => {
  const stored = sample.files[1]!;
  const cases: [string, unknown][] = [
    ["not a map", [1, 2]],
    ["a newer version", { v: 2, created: 1, files: [] }],
    ["an unknown field", { v: 1, created: 1, files: [], extra: 1 }],
    ["no files", { v: 1, created: 1, files: [] }],
    ["a duplicate path", { v: 1, created: 1, files: [sample.files[0], sample.files[0]] }],
    ["inline bytes of the wrong size", {
      v: 1,
      created: 1,
      files: [{ path: "a", size: 9, inline: new Uint8Array(3) }],
    }],
    ["both inline bytes and a key", {
      v: 1,
      created: 1,
      files: [{ path: "a", size: 3, inline: new Uint8Array(3), key: new Uint8Array(32) }],
    }],
    ["a manifest of another size", {
      v: 1,
      created: 1,
      files: [{ path: "a", size: 5, key: stored.key, manifest: stored.manifest }],
    }],
    ["a short key", {
      v: 1,
      created: 1,
      files: [{ path: "a", size: 3000, key: new Uint8Array(31), manifest: stored.manifest }],
    }],
    ["a traversing path", {
      v: 1,
      created: 1,
      files: [{ path: "../etc", size: 1, inline: new Uint8Array(1) }],
    }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => void assertThrows(() => decodeSnapshot(encode(value)), DecodeError));
  }
  await t.step("over the byte limit", () => {
    assertThrows(() => decodeSnapshot(new Uint8Array(MAX_SNAPSHOT_BYTES + 1)), DecodeError);
  });
});

Deno.test("a link ref round-trips within a capability's 256 bytes, and bad ones are refused", async (t) => {
  const ref = {
    v: 1 as const,
    owner: OWNER,
    size: MAX_SNAPSHOT_BYTES,
    shards: [1, 2, 3, 4, 5].map(id),
  };
  const bytes = encodeLinkRef(ref);
  assert(bytes.length <= MAX_LINK_REF_BYTES, `a ref of 5 shards is ${bytes.length} bytes`);
  assertEquals(decodeLinkRef(bytes), ref);
  const m = refManifest(ref);
  assertEquals([m.k, m.m, m.blocks.length, m.blocks[0]!.len], [1, 4, 1, MAX_SNAPSHOT_BYTES + 16]);
  await t.step("encoding refuses one shard, six shards, a bad owner and a zero size", () => {
    assertThrows(() => encodeLinkRef({ ...ref, shards: [id()] }), RangeError);
    assertThrows(() => encodeLinkRef({ ...ref, shards: [1, 2, 3, 4, 5, 6].map(id) }), RangeError);
    assertThrows(() => encodeLinkRef({ ...ref, owner: "x" }), RangeError);
    assertThrows(() => encodeLinkRef({ ...ref, size: 0 }), RangeError);
  });
  const raw = {
    v: 1,
    owner: randomBytes(32),
    size: 10,
    shards: [randomBytes(32), randomBytes(32)],
  };
  const bad: [string, unknown][] = [
    ["a newer version", { ...raw, v: 2 }],
    ["a short owner", { ...raw, owner: randomBytes(31) }],
    ["an oversized snapshot", { ...raw, size: MAX_SNAPSHOT_BYTES + 1 }],
    ["a single shard", { ...raw, shards: [randomBytes(32)] }],
    ["a short shard id", { ...raw, shards: [randomBytes(32), randomBytes(3)] }],
    ["an extra field", { ...raw, x: 1 }],
  ];
  for (const [name, value] of bad) {
    await t.step(`decoding refuses ${name}`, () => {
      assertThrows(() => decodeLinkRef(encode(value)), DecodeError);
    });
  }
  await t.step("decoding refuses over 256 bytes", () => {
    assertThrows(() => decodeLinkRef(new Uint8Array(MAX_LINK_REF_BYTES + 1)), DecodeError);
  });
});

/** Stores `plain` as one block under `key`, k = 1 and `n - 1` parity shards, in `shards`. */
async function storeCopies(shards: Map<string, Uint8Array>, plain: Uint8Array, key: Uint8Array) {
  const ct = await encryptBlock(await importDataKey(key), 0, 1, plain);
  const all = [ct, ...createCodec({ k: 1, m: 2 }).encode([ct])];
  const ids: string[] = [];
  for (const s of all) {
    const sid = await shardId(s);
    shards.set(sid, s.slice());
    ids.push(sid);
  }
  return ids;
}

Deno.test("openLink() reads a snapshot over a gateway's /shards/ route, and says why it cannot", async (t) => {
  const held = new Map<string, Uint8Array>();
  const app = mountShards(new Hono().onError((e, c) => errorResponse(e, c)), {
    shards: { shard: (_owner, hash) => Promise.resolve(held.get(hash)) },
  });
  const doFetch = ((input: string) => app.request(input)) as typeof fetch;
  // One stored file (3 KiB in 3 blocks, 2 + 1 shards each) and one inline file.
  const fileKey = generateDataKey();
  const content = randomBytes(3000);
  const codec = createCodec({ k: 2, m: 1 });
  const blocks = [];
  for (let i = 0; i < 3; i++) {
    const part = content.subarray(i * 1024, (i + 1) * 1024);
    const ct = await encryptBlock(await importDataKey(fileKey), i, 3, part);
    const data = splitBlock(ct, 2).shards;
    const shards = [...data, ...codec.encode(data)];
    const ids = [];
    for (const s of shards) {
      const sid = await shardId(s);
      held.set(sid, s.slice());
      ids.push(sid);
    }
    blocks.push({ len: ct.length, shards: ids });
  }
  const manifest: FileManifest = { v: 1, size: 3000, blockSize: 1024, k: 2, m: 1, blocks };
  const snapshot: LinkSnapshot = {
    v: 1,
    created: 1,
    files: [
      { path: "note.txt", size: 2, inline: new Uint8Array([104, 105]) },
      { path: "dir/data.bin", size: 3000, key: fileKey, manifest: encodeManifest(manifest) },
    ],
  };
  const plain = encodeSnapshot(snapshot);
  const key = generateDataKey();
  const shards = await storeCopies(held, plain, key);
  const ref = encodeLinkRef({ v: 1, owner: OWNER, size: plain.length, shards });
  const cap = parseLink(`/l/#${encodeCapability({ v: 1, ref, key })}`);
  const opts = { base: "http://gw", fetch: doFetch };

  const link = await openLink(cap, opts);
  assertEquals(link.snapshot, snapshot);
  const read = async (i: number) => {
    const parts = [];
    for await (const p of readLinkedFile(link, link.snapshot.files[i]!, opts)) parts.push(p);
    return new Uint8Array(parts.flatMap((p) => [...p]));
  };
  assertEquals(await read(1), content);
  assertEquals(await read(0), new Uint8Array([104, 105]));

  await t.step("a missing copy is read from another", async () => {
    const first = held.get(shards[0]!)!;
    held.delete(shards[0]!);
    assertEquals((await openLink(cap, opts)).snapshot, snapshot);
    held.set(shards[0]!, first);
  });
  await t.step("a wrong key says wrong key or tampered", async () => {
    const e = await assertRejects(
      () => openLink({ ...cap, key: generateDataKey() }, opts),
      LinkOpenError,
    );
    assertEquals((e as LinkOpenError).reason, "wrong-key");
  });
  await t.step("a shard changed on the gateway is never used", async () => {
    const saved = shards.map((s) => held.get(s)!);
    // With k = 1 the first parity shard can equal the data shard (same id): flip each id once.
    for (const s of new Set(shards)) held.set(s, held.get(s)!.map((b) => b ^ 1));
    const e = await assertRejects(() => openLink(cap, opts), LinkOpenError);
    assertEquals((e as LinkOpenError).reason, "missing");
    shards.forEach((s, i) => held.set(s, saved[i]!));
  });
  await t.step("an expired capability is refused before any fetch", async () => {
    const e = await assertRejects(
      () => openLink({ ...cap, expires: 5 }, { ...opts, fetch: () => Promise.reject() }),
      LinkOpenError,
    );
    assertEquals((e as LinkOpenError).reason, "expired");
  });
  await t.step("a ref that is not one is damaged", async () => {
    const e = await assertRejects(
      () => openLink({ ...cap, ref: new Uint8Array([1, 2, 3]) }, opts),
      LinkOpenError,
    );
    assertEquals((e as LinkOpenError).reason, "damaged");
  });
  await t.step("deleted shards say the data is gone", async () => {
    for (const s of shards) held.delete(s);
    const e = await assertRejects(() => openLink(cap, opts), LinkOpenError);
    assertEquals((e as LinkOpenError).reason, "missing");
  });
});

Deno.test("LinkBook persists links, lists their objects to keep, and retries a failed expiry", async () => {
  const state = memoryState();
  const deleted: string[][] = [];
  let failing = true;
  const book = new LinkBook(state, {
    deleteShards: (ids) => {
      if (failing) return Promise.reject(new Error("a supplier is out of reach"));
      deleted.push(ids);
      return Promise.resolve();
    },
  });
  const entry = (id: string, expires?: number) => ({
    id,
    path: "/a",
    created: 1,
    ...(expires !== undefined ? { expires } : {}),
    files: 1,
    bytes: 3,
    size: 100,
    shards: [id.padEnd(52, "a"), OWNER],
  });
  await book.add(entry("aaaaaaaaaaaa", 1_000));
  await book.add(entry("bbbbbbbbbbbb"));
  assertEquals(book.kept().map((o) => [o.k, o.m, o.blocks[0]!.length]), [[1, 1, 2], [1, 1, 2]]);
  // The delete fails: the link stays, kept, and is tried again later.
  assertEquals(await book.expireDue(2_000), 0);
  const reloaded = new LinkBook(state, { deleteShards: () => Promise.resolve() });
  await reloaded.load();
  assertEquals(reloaded.list().map((l) => l.id).sort(), ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]);
  failing = false;
  assertEquals(await book.expireDue(2_000), 1);
  assertEquals(deleted.length, 1);
  assertEquals(book.list().map((l) => l.id), ["bbbbbbbbbbbb"]);
  await assertRejects(() => book.remove("cccccccccccc"), LinkNotFoundError);
  await book.remove("bbbbbbbbbbbb");
  assertEquals(book.kept(), []);
});

Deno.test("LinkBook pins the versions a link shows until the last link showing them ends", async () => {
  const deleted: string[] = [];
  const used = new Set<string>();
  const book = new LinkBook(memoryState(), {
    deleteShards: (ids) => (deleted.push(...ids), Promise.resolve()),
    inUse: () => Promise.resolve(used),
  });
  const [a, b, c] = [id(), id(), id()];
  const pins = [{ k: 1, m: 1, blocks: [[a, b]] }];
  const entry = (lid: string, snapshot: string) => ({
    id: lid,
    path: "/f",
    created: 1,
    files: 1,
    bytes: 1,
    size: 10,
    shards: [snapshot, snapshot],
    pins,
  });
  const s1 = id(), s2 = id();
  await book.add(entry("111111111111", s1));
  await book.add(entry("222222222222", s2));
  assert(book.isPinned(a) && book.isPinned(b) && !book.isPinned(c));
  // Listed once for the keep list, beside the two snapshot objects.
  assertEquals(book.kept().length, 3);
  await book.remove("111111111111");
  assertEquals(deleted, [s1, s1], "another link still shows the version");
  assert(book.isPinned(a));
  used.add(b); // the catalog still holds b (say, another version shares it)
  deleted.length = 0;
  await book.remove("222222222222");
  assertEquals(deleted, [s2, s2, a]);
  assert(!book.isPinned(a) && !book.isPinned(b));
});
