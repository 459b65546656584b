/**
 * The shard store behaviour suite: one set of tests that every backend must pass, so a supplier
 * can move its shards to another backend or unstorage driver with confidence. A backend supplies
 * a `StoreBed`: fresh storage it can open stores over (again, to test reopening) and reach under
 * (to damage bytes or leave what a crash would leave).
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import {
  QuotaExceededError,
  ShardCorruptError,
  ShardIdMismatchError,
  type ShardInfo,
  type ShardStore,
  type ShardStoreOptions,
} from "../src/store/mod.ts";

/** The test stand-in for the Merkle-root shard id: base32 SHA-256 of the bytes. */
export const testShardId = async (bytes: Uint8Array): Promise<string> =>
  toBase32(await sha256(bytes));

/** Storage for one test, with ways to reach under the store. */
export interface StoreBed {
  /** Opens a store over this bed's storage (any number of times, one at a time). */
  open(opts: ShardStoreOptions): Promise<ShardStore>;
  /** Flips one bit of a stored shard's bytes directly in the storage. */
  flipBit(customer: string, id: string, index: number): Promise<void>;
  /** Leaves what a crash in the middle of a put of this shard would leave. */
  leaveCrashLeftover(customer: string, id: string, bytes: Uint8Array): Promise<void>;
  /** Everything held in the storage, as sorted comparable lines. */
  snapshot(): Promise<string[]>;
  /** Everything in the bed's temporary directory and around it, for file-system beds. */
  surroundings?(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** A backend under test. */
export interface StoreBackend {
  name: string;
  bed(): Promise<StoreBed>;
}

const MiB = 1 << 20;

/** A random node id. */
export const randomNodeId = (): string => toBase32(randomBytes(32));

/** Random bytes and their test shard id. */
export async function randomShard(size: number): Promise<{ bytes: Uint8Array; id: string }> {
  const bytes = randomBytes(size);
  return { bytes, id: await testShardId(bytes) };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  return await Array.fromAsync(it);
}

const byId = (a: ShardInfo, b: ShardInfo) => a.id < b.id ? -1 : 1;

interface Ctx {
  bed: StoreBed;
  t: Deno.TestContext;
  /** Opens a store with the suite's defaults overridden by `opts`; closed after the test. */
  open(opts?: Partial<ShardStoreOptions>): Promise<ShardStore>;
}

/** Registers the behaviour suite for one backend. */
export function shardStoreSuite(backend: StoreBackend): void {
  const test = (name: string, fn: (ctx: Ctx) => Promise<void>) =>
    Deno.test(`${backend.name}: ${name}`, async (t) => {
      const bed = await backend.bed();
      const stores: ShardStore[] = [];
      const open = async (opts: Partial<ShardStoreOptions> = {}) => {
        const s = await bed.open({ shardId: testShardId, maxShardBytes: MiB, ...opts });
        stores.push(s);
        return s;
      };
      try {
        await fn({ bed, t, open });
      } finally {
        for (const s of stores) await s.close();
        await bed.cleanup();
      }
    });

  test("get() returns the bytes put() stored, for 0 B, 1 B and 1 MiB", async ({ t, open }) => {
    const store = await open();
    const customer = randomNodeId();
    for (const size of [0, 1, MiB]) {
      await t.step(`${size} bytes`, async () => {
        const { bytes, id } = await randomShard(size);
        assertEquals(await store.put(customer, id, bytes), "stored");
        assert(await store.has(customer, id), "has() after put()");
        const got = await store.get(customer, id);
        assertEquals(got, bytes);
        // The caller owns what it gets: changing it changes nothing stored.
        if (got && got.length > 0) {
          got[0]! ^= 0xff;
          assertEquals(await store.get(customer, id), bytes);
        }
      });
    }
    assertEquals(await store.usage(customer), 1 + MiB);
  });

  test("put() keeps its own copy of the bytes", async ({ open }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(100);
    const original = bytes.slice();
    const pending = store.put(customer, id, bytes);
    bytes[0]! ^= 0xff; // changed while the put is in flight
    assertEquals(await pending, "stored");
    assertEquals(await store.get(customer, id), original);
  });

  test("put() of a shard the customer already has returns exists and counts it once", async ({ open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(1000);
    assertEquals(await store.put(customer, id, bytes), "stored");
    const after = await bed.snapshot();
    assertEquals(await store.put(customer, id, bytes), "exists");
    assertEquals(await store.usage(customer), 1000);
    assertEquals(await bed.snapshot(), after);
  });

  test("one customer deleting its copy leaves another customer's copy of the same bytes intact", async ({ open }) => {
    const store = await open();
    const alice = randomNodeId(), bob = randomNodeId();
    const { bytes, id } = await randomShard(4096);
    assertEquals(await store.put(alice, id, bytes), "stored");
    assertEquals(await store.put(bob, id, bytes), "stored");
    assertEquals(await store.totalUsage(), 8192);
    assertEquals(await store.delete(alice, id), true);
    assertEquals(await store.has(alice, id), false);
    assertEquals(await store.get(alice, id), null);
    assertEquals(await store.get(bob, id), bytes);
    assertEquals(await store.usage(alice), 0);
    assertEquals(await store.usage(bob), 4096);
  });

  test("put() refuses bytes that do not match the shard id and stores nothing", async ({ open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const a = await randomShard(100), b = await randomShard(100);
    const before = await bed.snapshot();
    const e = await assertRejects(() => store.put(customer, a.id, b.bytes), ShardIdMismatchError);
    assertEquals(e.name, "ShardIdMismatchError");
    assert(e.message.includes(a.id) && e.message.includes(b.id), e.message);
    assertEquals(await bed.snapshot(), before);
    assertEquals(await store.has(customer, a.id), false);
    assertEquals(await store.usage(customer), 0);
  });

  test("put() refuses a shard over maxShardBytes with a RangeError and stores nothing", async ({ open, bed }) => {
    const store = await open({ maxShardBytes: 1000 });
    const customer = randomNodeId();
    const fits = await randomShard(1000), over = await randomShard(1001);
    assertEquals(await store.put(customer, fits.id, fits.bytes), "stored");
    const before = await bed.snapshot();
    await assertRejects(() => store.put(customer, over.id, over.bytes), RangeError, "1001 bytes");
    assertEquals(await bed.snapshot(), before);
    assertEquals(await store.usage(customer), 1000);
  });

  test("put() refuses a shard over the customer's quota with the numbers in its message and stores nothing", async ({ open, bed }) => {
    const limited = randomNodeId(), free = randomNodeId();
    const store = await open({ quota: (c) => c === limited ? 3000 : undefined });
    const [a, b, c] = [await randomShard(2000), await randomShard(1500), await randomShard(1000)];
    assertEquals(await store.put(limited, a.id, a.bytes), "stored");
    const before = await bed.snapshot();
    const e = await assertRejects(() => store.put(limited, b.id, b.bytes), QuotaExceededError);
    assertEquals(e.name, "QuotaExceededError");
    for (const n of ["1500", "3500", "3000", "2000"]) assert(e.message.includes(n), e.message);
    const q = e as QuotaExceededError;
    assertEquals([q.customer, q.used, q.size, q.quota], [limited, 2000, 1500, 3000]);
    assertEquals(await bed.snapshot(), before);
    assertEquals(await store.has(limited, b.id), false);
    assertEquals(await store.usage(limited), 2000);
    // Another customer is not limited by this one's quota; an exact fit is allowed.
    assertEquals(await store.put(free, b.id, b.bytes), "stored");
    assertEquals(await store.put(limited, c.id, c.bytes), "stored");
    assertEquals(await store.usage(limited), 3000);
    // A shard already held needs no room.
    assertEquals(await store.put(limited, a.id, a.bytes), "exists");
  });

  test("usage() and totalUsage() count bytes per customer and are the same after reopening", async ({ open }) => {
    let store = await open();
    const alice = randomNodeId(), bob = randomNodeId();
    const shards = await Promise.all([10, 20, 30].map(randomShard));
    for (const s of shards) await store.put(alice, s.id, s.bytes);
    await store.put(bob, shards[0]!.id, shards[0]!.bytes);
    assertEquals(await store.usage(alice), 60);
    assertEquals(await store.usage(bob), 10);
    assertEquals(await store.usage(randomNodeId()), 0);
    assertEquals(await store.totalUsage(), 70);
    await store.delete(alice, shards[1]!.id);
    const listed = (await collect(store.list(alice))).sort(byId);
    await store.close();

    store = await open();
    assertEquals(await store.usage(alice), 40);
    assertEquals(await store.usage(bob), 10);
    assertEquals(await store.totalUsage(), 50);
    assertEquals((await collect(store.list(alice))).sort(byId), listed);
    assertEquals(await store.get(alice, shards[2]!.id), shards[2]!.bytes);
  });

  test("list() and customers() report what is stored", async ({ open }) => {
    const store = await open();
    const alice = randomNodeId(), bob = randomNodeId();
    const since = Date.now();
    const shards = await Promise.all([0, 5, 500].map(randomShard));
    for (const s of shards) await store.put(alice, s.id, s.bytes);
    await store.put(bob, shards[2]!.id, shards[2]!.bytes);
    const until = Date.now();

    const listed = (await collect(store.list(alice))).sort(byId);
    assertEquals(
      listed.map(({ id, size }) => ({ id, size })),
      shards.map(({ id, bytes }) => ({ id, size: bytes.length })).sort((a, b) =>
        a.id < b.id ? -1 : 1
      ),
    );
    // File times may be a few ms coarser than Date.now().
    for (const s of listed) assert(s.storedAt >= since - 2000 && s.storedAt <= until + 2000);
    assertEquals((await collect(store.customers())).sort(), [alice, bob].sort());
    assertEquals(await collect(store.list(randomNodeId())), []);

    for (const s of shards) await store.delete(alice, s.id);
    assertEquals(await collect(store.customers()), [bob]);
    assertEquals(await collect(store.list(alice)), []);
  });

  test("delete() returns false for a shard the customer does not have", async ({ open }) => {
    const store = await open();
    const alice = randomNodeId(), bob = randomNodeId();
    const { bytes, id } = await randomShard(10);
    assertEquals(await store.delete(alice, id), false);
    assertEquals(await store.get(alice, id), null);
    await store.put(bob, id, bytes);
    assertEquals(await store.delete(alice, id), false);
    assertEquals(await store.delete(bob, id), true);
    assertEquals(await store.delete(bob, id), false);
    assertEquals(await store.totalUsage(), 0);
  });

  test("invalid customer and shard id strings are refused with a SyntaxError and touch nothing", async ({ t, open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(10);
    await store.put(customer, id, bytes);
    const before = await bed.snapshot();
    const around = await bed.surroundings?.();
    const bad = [
      "",
      "../x",
      "..",
      id.toUpperCase(),
      id.slice(0, 51),
      id + "a",
      "../" + id.slice(3),
      id.slice(0, 50) + "/x",
      id.slice(0, 50) + ":x",
      id.slice(0, 51) + "1",
      id.slice(0, 51) + "é",
      " " + id.slice(1),
      null as unknown as string,
    ];
    for (const b of bad) {
      await t.step(`${JSON.stringify(b)}`, async () => {
        const calls: [string, () => Promise<unknown>][] = [
          ["put customer", () => store.put(b, id, bytes)],
          ["put id", () => store.put(customer, b, bytes)],
          ["get customer", () => store.get(b, id)],
          ["get id", () => store.get(customer, b)],
          ["has customer", () => store.has(b, id)],
          ["has id", () => store.has(customer, b)],
          ["delete customer", () => store.delete(b, id)],
          ["delete id", () => store.delete(customer, b)],
          ["list", () => collect(store.list(b))],
          ["usage", () => store.usage(b)],
        ];
        for (const [what, call] of calls) {
          const e = await assertRejects(call, SyntaxError);
          assert(/Invalid (customer|shard id)/.test(e.message), `${what}: ${e.message}`);
        }
      });
    }
    assertEquals(await bed.snapshot(), before);
    assertEquals(await bed.surroundings?.(), around);
    assertEquals(await store.get(customer, id), bytes);
  });

  test("get() throws ShardCorruptError, not the bytes, when the stored bytes changed underneath", async ({ open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(1024);
    await store.put(customer, id, bytes);
    await bed.flipBit(customer, id, 700);
    const e = await assertRejects(() => store.get(customer, id), ShardCorruptError, id);
    assertEquals(e.name, "ShardCorruptError");
    // The damaged copy can be deleted and stored again.
    assertEquals(await store.delete(customer, id), true);
    assertEquals(await store.put(customer, id, bytes), "stored");
    assertEquals(await store.get(customer, id), bytes);
    assertEquals(await store.usage(customer), 1024);
  });

  test("concurrent puts of one shard store it once and count it once", async ({ open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(64 * 1024);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.put(customer, id, bytes)),
    );
    assertEquals(results.filter((r) => r === "stored").length, 1);
    assertEquals(results.filter((r) => r === "exists").length, 7);
    assertEquals(await store.usage(customer), 64 * 1024);
    assertEquals(await store.totalUsage(), 64 * 1024);
    assertEquals(await collect(store.list(customer)).then((l) => l.length), 1);
    // Concurrent deletes agree too.
    const deleted = await Promise.all([store.delete(customer, id), store.delete(customer, id)]);
    assertEquals(deleted.sort(), [false, true]);
    assertEquals(await store.totalUsage(), 0);
    assert((await bed.snapshot()).every((line) => !line.includes(id)), "bytes left behind");
  });

  test("concurrent puts of different shards never exceed the quota together", async ({ open }) => {
    const customer = randomNodeId();
    const store = await open({ quota: () => 3000 });
    const shards = await Promise.all(Array.from({ length: 5 }, () => randomShard(1000)));
    const results = await Promise.allSettled(shards.map((s) => store.put(customer, s.id, s.bytes)));
    assertEquals(results.filter((r) => r.status === "fulfilled").length, 3);
    for (const r of results) {
      if (r.status === "rejected") assert(r.reason instanceof QuotaExceededError, String(r.reason));
    }
    assertEquals(await store.usage(customer), 3000);
  });

  test("what a crash leaves in the middle of a put is swept on open and by sweepTemporary()", async ({ open, bed }) => {
    const customer = randomNodeId();
    const kept = await randomShard(100), lost = await randomShard(4096);
    let store = await open();
    await store.put(customer, kept.id, kept.bytes);
    await store.close();
    const clean = await bed.snapshot();

    await bed.leaveCrashLeftover(customer, lost.id, lost.bytes);
    assert(!equalLines(await bed.snapshot(), clean), "the leftover is in the storage");
    store = await open();
    assertEquals(await bed.snapshot(), clean);
    assertEquals(await store.has(customer, lost.id), false);
    assertEquals(await store.usage(customer), 100);

    await bed.leaveCrashLeftover(customer, lost.id, lost.bytes);
    assertEquals(await store.get(customer, lost.id), null);
    assertEquals(await store.sweepTemporary(), 1);
    assertEquals(await bed.snapshot(), clean);
    assertEquals(await store.sweepTemporary(), 0);

    // A leftover never stops the shard from being stored properly later.
    await bed.leaveCrashLeftover(customer, lost.id, lost.bytes);
    assertEquals(await store.put(customer, lost.id, lost.bytes), "stored");
    assertEquals(await store.get(customer, lost.id), lost.bytes);
    assertEquals(await store.usage(customer), 4196);
  });

  test("put() with an aborted signal stores nothing", async ({ open, bed }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(1000);
    const before = await bed.snapshot();
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assertRejects(() => store.put(customer, id, bytes, { signal: ac.signal }), Error, "stop");
    assertEquals(await bed.snapshot(), before);
    assertEquals(await store.usage(customer), 0);
  });

  test("a closed store refuses further calls after finishing those in flight", async ({ open }) => {
    const store = await open();
    const customer = randomNodeId();
    const { bytes, id } = await randomShard(1000);
    const pending = store.put(customer, id, bytes);
    await store.close();
    assertEquals(await pending, "stored");
    await assertRejects(() => store.get(customer, id), Error, "closed");
    await assertRejects(() => store.put(customer, id, bytes), Error, "closed");
    await assertRejects(() => collect(store.customers()), Error, "closed");
    const again = await open();
    assertEquals(await again.get(customer, id), bytes);
  });
}

function equalLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Every file and directory under `root`, as sorted `path size` lines (directories end in /). */
export async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${root}${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory) {
        out.push(`${path}/`);
        await walk(path);
      } else {
        out.push(`${path} ${(await Deno.lstat(root + path)).size}`);
      }
    }
  };
  await walk("");
  return out.sort();
}
