/**
 * Shard store costs for 1 MiB shards, per backend: a put, a get and a delete of one shard
 * (`put+get`), and a get alone (read and verify). Every put and get hashes the shard, so each
 * group's baseline is that hashing alone (SHA-256 of 1 MiB, the test stand-in for the Merkle
 * root). Run with `deno bench -A bench/store_bench.ts`; figures are in BENCHMARKS.md.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import fsLiteDriver from "unstorage/drivers/fs-lite";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import {
  openFsShardStore,
  openUnstorageShardStore,
  type ShardStore,
  type ShardStoreOptions,
} from "../src/store/mod.ts";

const MiB = 1 << 20;
const shardId = async (b: Uint8Array) => toBase32(await sha256(b));
const OPTS: ShardStoreOptions = { shardId, maxShardBytes: MiB };
const customer = toBase32(randomBytes(32));

// A pool of distinct shards, so each put writes (a put of a shard already held only checks).
const pool = await Promise.all(Array.from({ length: 16 }, async () => {
  const bytes = randomBytes(MiB);
  return { bytes, id: await shardId(bytes) };
}));

const root = await Deno.makeTempDir({ prefix: "mote-store-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const stores: [string, ShardStore][] = [
  [
    "unstorage memory",
    await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), OPTS),
  ],
  [
    "unstorage fs-lite",
    await openUnstorageShardStore(
      createStorage({ driver: fsLiteDriver({ base: `${root}/fs-lite` }) }),
      OPTS,
    ),
  ],
  ["fs (fsync)", await openFsShardStore(`${root}/fs`, OPTS)],
  ["fs (no fsync)", await openFsShardStore(`${root}/fs-nosync`, { ...OPTS, fsync: false })],
];

Deno.bench({
  name: "baseline: SHA-256 of 1 MiB twice (the put and get checks)",
  group: "put+get",
  baseline: true,
  fn: async () => {
    await sha256(pool[0]!.bytes);
    await sha256(pool[0]!.bytes);
  },
});

for (const [name, store] of stores) {
  let i = 0;
  Deno.bench({
    name: `${name}: put + get + delete of 1 MiB`,
    group: "put+get",
    fn: async () => {
      const { bytes, id } = pool[i++ % pool.length]!;
      await store.put(customer, id, bytes);
      await store.get(customer, id);
      await store.delete(customer, id);
    },
  });
}

Deno.bench({
  name: "baseline: SHA-256 of 1 MiB (the get check)",
  group: "get",
  baseline: true,
  fn: async () => {
    await sha256(pool[0]!.bytes);
  },
});

// Outside the pool: the put+get rows delete what they put.
const heldBytes = randomBytes(MiB);
const held = { bytes: heldBytes, id: await shardId(heldBytes) };
for (const [name, store] of stores) {
  await store.put(customer, held.id, held.bytes);
  Deno.bench({
    name: `${name}: get of 1 MiB`,
    group: "get",
    fn: async () => {
      if (!await store.get(customer, held.id)) throw new Error("the held shard is missing");
    },
  });
}
