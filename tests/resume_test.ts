/**
 * Resuming an interrupted put on real nodes: only the missing blocks travel again and the
 * version keeps the saved key; a source that changed (same size and mtime) gets a new key and a
 * full upload; and no block index is ever encrypted from two different plaintexts under one key
 * (checked by computing the shard ids such an encryption would give and finding none sent).
 */
import { encryptBlock, generateDataKey, importDataKey } from "../src/crypto/block.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { toHex } from "../src/encoding/bytes.ts";
import { createCodec } from "../src/erasure/mod.ts";
import { splitBlock } from "../src/erasure/split.ts";
import { Catalog } from "../src/catalog/mod.ts";
import {
  type BlockRef,
  decodeManifest,
  getFile,
  putFile,
  ResumeMismatchError,
  UploadJournal,
} from "../src/files/mod.ts";
import { memoryState } from "../src/node/state.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./_assert.ts";
import { chunks, collect, startStorageNet, type StorageNet } from "./_storage_net.ts";

const BS = 64 * 1024; // small blocks: many of them, quickly
const K = 4, M = 2;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Records every shard id the customer sends. */
function spyPuts(net: StorageNet): string[] {
  const sent: string[] = [];
  const real = net.customer.putShard.bind(net.customer);
  net.customer.putShard = (supplier, id, bytes, signal) => {
    sent.push(id);
    return real(supplier, id, bytes, signal);
  };
  return sent;
}

/** The shard ids block `index` of `data` gets under `key`. */
async function idsUnder(key: Uint8Array, data: Uint8Array, index: number): Promise<string[]> {
  const count = Math.ceil(data.length / BS);
  const plain = data.subarray(index * BS, (index + 1) * BS);
  const { shards } = splitBlock(
    await encryptBlock(await importDataKey(key), index, count, plain),
    K,
  );
  return await Promise.all([...shards, ...createCodec({ k: K, m: M }).encode(shards)].map(shardId));
}

Deno.test({
  name:
    "putFile() never encrypts a block whose plaintext differs from the one recorded for its index",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const sent = spyPuts(net);
    const data = randomBytes(8 * BS), key = generateDataKey();
    const started: number[] = [];
    const err = await assertRejects(
      () =>
        putFile(chunks(data), data.length, {
          customer: net.customer,
          locator: net.locator,
          suppliers: net.hired,
          k: K,
          m: M,
          key,
          blockSize: BS,
          resume: {
            started: new Map([[0, randomBytes(32)]]), // block 0 was begun from other bytes
            placed: new Map(),
          },
          onBlockStarted: (i) => (started.push(i), Promise.resolve()),
        }),
      ResumeMismatchError,
    );
    assertEquals((err as ResumeMismatchError).index, 0);
    const forbidden = new Set(await idsUnder(key, data, 0));
    assert(!sent.some((id) => forbidden.has(id)), "block 0 was encrypted and sent");
    assert(!started.includes(0), "block 0 must not be recorded again");
  },
});

Deno.test({
  name: "putFile() reuses placed blocks whose shards are all held, and places the others again",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const data = randomBytes(12 * BS + 777), key = generateDataKey();
    const base = {
      customer: net.customer,
      locator: net.locator,
      suppliers: net.hired,
      k: K,
      m: M,
      key,
      blockSize: BS,
    };
    const started = new Map<number, Uint8Array>(), placed = new Map<number, BlockRef>();
    const ctl = new AbortController();
    await assertRejects(() =>
      putFile(chunks(data), data.length, {
        ...base,
        signal: ctl.signal,
        onBlockStarted: (i, h) => (started.set(i, h), Promise.resolve()),
        onBlockPlaced: (i, ref) => {
          placed.set(i, ref);
          if (placed.size === 5) ctl.abort();
        },
      })
    );
    assert(placed.size >= 5 && placed.size < 13, `${placed.size} blocks placed`);
    for (const [i, h] of started) {
      assertEquals(h, await sha256(data.subarray(i * BS, (i + 1) * BS)));
    }
    // One placed block loses a shard at its supplier: it must be placed again, not reused.
    const [lost, lostRef] = [...placed][0]!;
    const holder = net.locator.suppliersFor(lostRef.shards[2]!)[0]!;
    assertEquals(await net.customer.deleteShards(holder, [lostRef.shards[2]!]), 1);
    net.locator.forget(lostRef.shards[2]!, holder);

    const sent = spyPuts(net);
    const again = await putFile(chunks(data), data.length, {
      ...base,
      resume: { started, placed },
      onBlockStarted: (i, h) => (started.set(i, h), Promise.resolve()),
    });
    const reused = placed.size - 1;
    assertEquals(again.resumed, reused * BS);
    assertEquals(sent.length, (13 - reused) * (K + M), "only the blocks not reused are sent");
    assertEquals(again.manifest.blocks[lost], lostRef, "the same ciphertext, so the same ids");
    for (const [i, ref] of placed) assertEquals(again.manifest.blocks[i], ref);
    const back = await collect(
      getFile(again.manifest, key, {
        customer: net.customer,
        locator: net.locator,
        fallback: net.hired,
      }),
    );
    assertEquals(back, data);
  },
});

/** A catalog with a journal, and a put that is aborted once `after` blocks are placed. */
async function setup(net: StorageNet) {
  const journal = new UploadJournal(memoryState());
  const catalog = new Catalog({
    node: net.owner,
    customer: net.customer,
    locator: net.locator,
    suppliers: () => net.hired,
    journal,
    k: K,
    m: M,
    blockSize: BS,
  });
  await catalog.open();
  // Every (key, block) → the plaintext hashes recorded for it, from the journal's own calls.
  const recorded = new Map<string, Set<string>>();
  const real = journal.started.bind(journal);
  journal.started = (id, i, h) => {
    const key = toHex(journal.entries.find((e) => e.id === id)!.key);
    const seen = recorded.get(`${key}/${i}`) ?? new Set();
    recorded.set(`${key}/${i}`, seen.add(toHex(h)));
    return real(id, i, h);
  };
  const interrupt = async (path: string, data: Uint8Array, mtime: number, after: number) => {
    const ctl = new AbortController();
    await assertRejects(() =>
      catalog.put(path, chunks(data), data.length, {
        mtime,
        signal: ctl.signal,
        onProgress: (p) => p.blocks >= after && ctl.abort(),
      })
    );
    return journal.find(path.slice(1), data.length, mtime)!;
  };
  return { journal, catalog, recorded, interrupt };
}

Deno.test({
  name: "an interrupted put resumes with its saved key and sends only the blocks not yet stored",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const { journal, catalog, recorded, interrupt } = await setup(net);
    const old = randomBytes(3 * BS);
    await catalog.put("/f.bin", chunks(old), old.length, { mtime: 1 });
    const data = randomBytes(40 * BS - 5), mtime = 1_700_000_000_000;
    const first = spyPuts(net);
    const entry = await interrupt("/f.bin", data, mtime, 6);
    const placed = entry.placed.size;
    assert(placed >= 6 && placed < 40, `${placed} blocks placed`);
    const savedKey = entry.key;
    // The catalog is untouched: the previous version is still the newest, and reads back.
    assertEquals((await catalog.versions("/f.bin")).length, 1);
    assertEquals(await collect((await catalog.get("/f.bin")).stream), old);

    const beforeResume = first.length;
    const stats = { resumed: 0 };
    const v = await catalog.put("/f.bin", chunks(data), data.length, { mtime, stats });
    assertEquals(v.key, savedKey, "the version keeps the saved key");
    assertEquals(stats.resumed, placed * BS);
    const ids = new Set(decodeManifest(v.manifest!).blocks.flatMap((b) => b.shards));
    const resent = first.slice(beforeResume).filter((id) => ids.has(id));
    assertEquals(resent.length, (40 - placed) * (K + M), "only the missing blocks travel");
    assert(
      first.slice(0, beforeResume).every((id) => ids.has(id)),
      "every shard the interrupted put sent belongs to the version: no strays",
    );
    // Each supplier holds the version's shards exactly once.
    const held = (await Promise.all(net.hired.map((s) => net.customer.list(s))))
      .flatMap((l) => l.shards.map(([id]) => id)).filter((id) => ids.has(id));
    assertEquals(held.length, ids.size);
    assertEquals(await collect((await catalog.get("/f.bin")).stream), data);
    assertEquals(journal.entries.length, 0, "a finished put leaves no entry");
    for (const [block, hashes] of recorded) assertEquals(hashes.size, 1, block);
  },
});

Deno.test({
  name: "a source that changed with the same size and mtime starts a new version with a new key",
  ...opts,
  async fn(t) {
    await using net = await startStorageNet(6);
    const { journal, catalog, recorded, interrupt } = await setup(net);
    const sent = spyPuts(net);
    const mtime = 1_700_000_000_000;
    const data = randomBytes(40 * BS);

    await t.step("a changed block that was begun: refused, then a fresh key", async () => {
      const entry = await interrupt("/a.bin", data, mtime, 5);
      const oldKey = entry.key;
      assert(entry.started.has(0), "block 0 was begun");
      const changed = data.slice();
      changed[10] = changed[10]! ^ 1; // block 0
      await assertRejects(
        () => catalog.put("/a.bin", chunks(changed), changed.length, { mtime }),
        ResumeMismatchError,
      );
      assertEquals(journal.entries.length, 0, "the stale entry is dropped");
      const before = sent.length;
      const stats = { resumed: 0 };
      const v = await catalog.put("/a.bin", chunks(changed), changed.length, { mtime, stats });
      assertNotEquals(v.key, oldKey);
      assertEquals(stats.resumed, 0);
      const ids = new Set(decodeManifest(v.manifest!).blocks.flatMap((b) => b.shards));
      assertEquals(sent.slice(before).filter((id) => ids.has(id)).length, 40 * (K + M));
      assertEquals(await collect((await catalog.get("/a.bin")).stream), changed);
      // What breaking GCM would take: block 0 of the new bytes under the old key. Its shards
      // that differ from the old block's (a one-byte change leaves some equal) were never sent.
      const before0 = new Set(await idsUnder(oldKey, data, 0));
      const forbidden = (await idsUnder(oldKey, changed, 0)).filter((id) => !before0.has(id));
      assert(forbidden.length >= 1 + M, `${forbidden.length} differing shards`);
      assert(!sent.some((id) => forbidden.includes(id)), "block 0 was re-encrypted");
    });

    await t.step("a changed block that was never begun is safe under the saved key", async () => {
      const entry = await interrupt("/b.bin", data, mtime, 5);
      assert(!entry.started.has(39));
      const placed = entry.placed.size; // the entry's maps grow as the resume goes on
      const changed = data.slice();
      changed[39 * BS + 1] = changed[39 * BS + 1]! ^ 1; // the last block
      const stats = { resumed: 0 };
      const v = await catalog.put("/b.bin", chunks(changed), changed.length, { mtime, stats });
      assertEquals(v.key, entry.key);
      assertEquals(stats.resumed, placed * BS);
      assertEquals(await collect((await catalog.get("/b.bin")).stream), changed);
    });

    await t.step("no (key, block) was ever recorded with two plaintexts", () => {
      assert(recorded.size > 40, `${recorded.size} blocks recorded`);
      for (const [block, hashes] of recorded) assertEquals(hashes.size, 1, block);
    });
  },
});

Deno.test({
  name: "a put whose version already holds the saved key starts afresh (its entry outlived it)",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const { journal, catalog } = await setup(net);
    const data = randomBytes(5 * BS), mtime = 42;
    const v1 = await catalog.put("/c.bin", chunks(data), data.length, { mtime });
    // As if the node died between storing the version and dropping its entry.
    const stale = (await journal.begin({
      path: "c.bin",
      size: data.length,
      mtime,
      key: v1.key,
      blockSize: BS,
      k: K,
      m: M,
    }))!;
    for (const [i, ref] of decodeManifest(v1.manifest!).blocks.entries()) {
      await journal.started(stale.id, i, await sha256(data.subarray(i * BS, (i + 1) * BS)));
      await journal.placed(stale.id, i, ref);
    }
    const stats = { resumed: 0 };
    const v2 = await catalog.put("/c.bin", chunks(data), data.length, { mtime, stats });
    assertNotEquals(v2.key, v1.key, "two versions must never share shards");
    assertEquals(stats.resumed, 0);
    assertEquals(await catalog.prune("/c.bin", 1), 1);
    assertEquals(await collect((await catalog.get("/c.bin")).stream), data);
  },
});
