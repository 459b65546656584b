/**
 * The shard store: the behaviour suite against every supported backend (unstorage memory,
 * unstorage fs-lite, the direct file-system store), then what is particular to each backend.
 */
import { createStorage, type Storage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import fsLiteDriver from "unstorage/drivers/fs-lite";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import {
  openFsShardStore,
  openUnstorageShardStore,
  ShardCorruptError,
  type ShardStoreOptions,
} from "../src/store/mod.ts";
import {
  randomNodeId,
  randomShard,
  shardStoreSuite,
  type StoreBed,
  testShardId,
  tree,
} from "./_store_suite.ts";

const OPTS: ShardStoreOptions = { shardId: testShardId, maxShardBytes: 1 << 20 };

/** A temporary directory holding the store in `store/` beside a file it must never touch. */
async function tempRoot(): Promise<{ root: string; dir: string }> {
  const root = await Deno.makeTempDir({ prefix: "mote-store-" });
  await Deno.writeTextFile(`${root}/victim.txt`, "must survive");
  return { root, dir: `${root}/store` };
}

function unstorageBed(storage: Storage, root?: string): StoreBed {
  return {
    open: (opts) => openUnstorageShardStore(storage, opts),
    async flipBit(customer, id, index) {
      const key = `s:${customer}:${id}`;
      const bytes = new Uint8Array((await storage.getItemRaw(key)) as Uint8Array);
      bytes[index]! ^= 1;
      await storage.setItemRaw(key, bytes);
    },
    async leaveCrashLeftover(customer, id, bytes) {
      // Bytes written (half of them: fs-lite rewrites files in place), the record never was.
      await storage.setItemRaw(`s:${customer}:${id}`, bytes.slice(0, bytes.length >> 1));
    },
    async snapshot() {
      const keys = await storage.getKeys();
      const lines = await Promise.all(keys.map(async (k) => {
        const raw = await storage.getItemRaw(k);
        return `${k} ${raw instanceof Uint8Array ? raw.length : JSON.stringify(raw)}`;
      }));
      return lines.sort();
    },
    surroundings: root ? () => tree(root) : undefined,
    async cleanup() {
      await storage.dispose();
      if (root) await Deno.remove(root, { recursive: true });
    },
  };
}

shardStoreSuite({
  name: "unstorage memory",
  bed: () => Promise.resolve(unstorageBed(createStorage({ driver: memoryDriver() }))),
});

shardStoreSuite({
  name: "unstorage fs-lite",
  async bed() {
    const { root, dir } = await tempRoot();
    return unstorageBed(createStorage({ driver: fsLiteDriver({ base: dir }) }), root);
  },
});

shardStoreSuite({
  name: "fs",
  async bed() {
    const { root, dir } = await tempRoot();
    const path = (c: string, id: string) => `${dir}/${c}/${id.slice(0, 2)}/${id}`;
    return {
      open: (opts) => openFsShardStore(dir, opts),
      async flipBit(customer, id, index) {
        const bytes = await Deno.readFile(path(customer, id));
        bytes[index]! ^= 1;
        await Deno.writeFile(path(customer, id), bytes);
      },
      async leaveCrashLeftover(customer, id, bytes) {
        await Deno.mkdir(`${dir}/${customer}/${id.slice(0, 2)}`, { recursive: true });
        const tmp = `${dir}/${customer}/${id.slice(0, 2)}/.${id}.${crypto.randomUUID()}.tmp`;
        await Deno.writeFile(tmp, bytes.slice(0, bytes.length >> 1));
      },
      // Files only: directories made for a swept leftover may stay.
      snapshot: async () => (await tree(dir).catch(() => [])).filter((l) => !l.endsWith("/")),
      surroundings: () => tree(root),
      cleanup: () => Deno.remove(root, { recursive: true }),
    };
  },
});

Deno.test("fs: openFsShardStore() lays shards out by customer and id prefix, owner-only", async () => {
  const { root, dir } = await tempRoot();
  try {
    const store = await openFsShardStore(dir, OPTS);
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(100);
    await store.put(customer, id, bytes);
    await store.close();
    assertEquals(await tree(dir), [
      `/${customer}/`,
      `/${customer}/${id.slice(0, 2)}/`,
      `/${customer}/${id.slice(0, 2)}/${id} 100`,
    ]);
    if (Deno.build.os !== "windows") {
      for (const d of [dir, `${dir}/${customer}`, `${dir}/${customer}/${id.slice(0, 2)}`]) {
        assertEquals((await Deno.stat(d)).mode! & 0o777, 0o700, d);
      }
      assertEquals(
        (await Deno.stat(`${dir}/${customer}/${id.slice(0, 2)}/${id}`)).mode! & 0o777,
        0o600,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fs: usage is recomputed on open from the files actually there", async () => {
  const { root, dir } = await tempRoot();
  try {
    let store = await openFsShardStore(dir, OPTS);
    const customer = randomNodeId();
    const a = await randomShard(300), b = await randomShard(200);
    await store.put(customer, a.id, a.bytes);
    await store.put(customer, b.id, b.bytes);
    await store.close();
    // An operator removes a file by hand while the node is stopped; stray files are ignored.
    await Deno.remove(`${dir}/${customer}/${a.id.slice(0, 2)}/${a.id}`);
    await Deno.writeTextFile(`${dir}/${customer}/notes.txt`, "hello");
    store = await openFsShardStore(dir, OPTS);
    assertEquals(await store.usage(customer), 200);
    assertEquals(await store.has(customer, a.id), false);
    await store.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("unstorage: a shard keeps its bytes under s: and its record under m:", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const store = await openUnstorageShardStore(storage, OPTS);
  const customer = randomNodeId();
  const { bytes, id } = await randomShard(10);
  await store.put(customer, id, bytes);
  assertEquals((await storage.getKeys()).sort(), [`m:${customer}:${id}`, `s:${customer}:${id}`]);
  const record = await storage.getItem(`m:${customer}:${id}`) as Record<string, unknown>;
  assertEquals(record.size, 10);
  assert(typeof record.storedAt === "number");
  await store.close();
});

Deno.test("unstorage: get() of a shard whose record survived but bytes did not throws ShardCorruptError", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const store = await openUnstorageShardStore(storage, OPTS);
  const customer = randomNodeId();
  const { bytes, id } = await randomShard(10);
  await store.put(customer, id, bytes);
  await storage.removeItem(`s:${customer}:${id}`);
  await assertRejects(() => store.get(customer, id), ShardCorruptError, "missing");
  assertEquals(await store.delete(customer, id), true);
  assertEquals(await store.usage(customer), 0);
  await store.close();
});

Deno.test("shard stores refuse bad options", async (t) => {
  const storage = createStorage({ driver: memoryDriver() });
  for (
    const [name, opts, cls] of [
      ["negative maxShardBytes", { ...OPTS, maxShardBytes: -1 }, RangeError],
      ["fractional maxShardBytes", { ...OPTS, maxShardBytes: 1.5 }, RangeError],
      ["no shardId", { maxShardBytes: 1 }, TypeError],
    ] as const
  ) {
    await t.step(name, async () => {
      await assertRejects(
        () => openUnstorageShardStore(storage, opts as unknown as ShardStoreOptions),
        cls,
      );
    });
  }
});

Deno.test("put() refuses to store when the quota function returns a broken quota", async (t) => {
  for (const quota of [NaN, -1]) {
    await t.step(String(quota), async () => {
      const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
        ...OPTS,
        quota: () => quota,
      });
      const { bytes, id } = await randomShard(10);
      await assertRejects(() => store.put(randomNodeId(), id, bytes), RangeError, "Invalid quota");
      assertEquals(await store.totalUsage(), 0);
      await store.close();
    });
  }
});
