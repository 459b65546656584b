// This module is browser compatible.
/**
 * A shard store over any unstorage instance (memory in tests; fs-lite, Deno KV, S3, Redis… by
 * configuration).
 *
 * Keys: `s:<customer>:<id>` holds the shard's bytes (`setItemRaw`) and `m:<customer>:<id>` its
 * record `{ size, storedAt }` (JSON). The store owns every `s:` and `m:` key of the storage it
 * is given: to share one storage, give it `prefixStorage(storage, "shards")`. One store per
 * storage: usage is counted in memory.
 *
 * Atomicity: unstorage has no rename, and a single key's write is atomic in the usual drivers
 * (memory, KV stores, object stores) but not in fs-lite, which truncates and rewrites a file;
 * nothing is atomic across keys. So the record is the commit point: `put` writes the bytes,
 * then the record, and a shard exists only once its record does; `delete` removes the record
 * first. A crash can therefore leave at worst bytes with no record (an uncommitted write), which
 * nobody can read, which the next `put` of that shard overwrites, and which `sweepTemporary()`
 * (run on open) removes. Every read checks the bytes against the id, so any other damage shows
 * up as `ShardCorruptError`, never as wrong bytes.
 *
 * Usage is recomputed on open from the records (one `getKeys` and one read per shard), so it is
 * right after any restart without a separate counter to drift. fs-lite's `getKeys` walks its
 * whole directory whatever the prefix, so `list()` costs a full walk there: for a supplier's
 * disk, prefer `openFsShardStore`.
 * @module
 */
import type { Storage } from "unstorage";
import {
  checkCustomer,
  checkKey,
  checkOptions,
  forEachLimit,
  ID_RE,
  KeyedLock,
  Lifecycle,
  preparePut,
  UsageBook,
  usageMethods,
  verify,
} from "./_common.ts";
import { ShardCorruptError } from "./errors.ts";
import type { ShardInfo, ShardStore, ShardStoreOptions } from "./shard_store.ts";

interface ShardRecord {
  size: number;
  storedAt: number;
}

const dataKey = (customer: string, id: string) => `s:${customer}:${id}`;
const recordKey = (customer: string, id: string) => `m:${customer}:${id}`;

/** A damaged record still marks the shard as stored (its bytes are checked on read) but sizes 0. */
function parseRecord(value: unknown): ShardRecord {
  const r = value as Partial<ShardRecord> | null;
  const ok = typeof r === "object" && r !== null && Number.isSafeInteger(r.size) &&
    r.size! >= 0 && Number.isFinite(r.storedAt);
  return ok ? { size: r.size!, storedAt: r.storedAt! } : { size: 0, storedAt: 0 };
}

/**
 * Opens a shard store over an unstorage instance: counts usage from the stored records and
 * sweeps uncommitted writes. The caller keeps ownership of `storage` (`close()` leaves it open).
 *
 * ```ts
 * import { createStorage } from "unstorage";
 * import memoryDriver from "unstorage/drivers/memory";
 * import { openUnstorageShardStore } from "./unstorage_store.ts";
 * import { sha256 } from "../crypto/hash.ts";
 * import { toBase32 } from "../encoding/base32.ts";
 *
 * const shardId = async (b: Uint8Array) => toBase32(await sha256(b));
 * const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
 *   shardId,
 *   maxShardBytes: 1 << 20,
 *   quota: () => 10 * 2 ** 30, // 10 GiB per customer
 * });
 * const customer = "a".repeat(52);
 * const bytes = new TextEncoder().encode("hello");
 * await store.put(customer, await shardId(bytes), bytes); // "stored"
 * await store.usage(customer); // 5
 * await store.close();
 * ```
 */
export async function openUnstorageShardStore(
  storage: Storage,
  options: ShardStoreOptions,
): Promise<ShardStore> {
  const opts = checkOptions(options);
  const book = new UsageBook();
  const lock = new KeyedLock();
  const life = new Lifecycle("unstorage");

  /** Every well-formed shard key, as `customer:id`, split into committed and bytes-present. */
  async function scan() {
    const records = new Set<string>(), data = new Set<string>();
    for (const key of await storage.getKeys()) {
      const [kind, customer, id, more] = key.split(":");
      if (more !== undefined || !ID_RE.test(customer ?? "") || !ID_RE.test(id ?? "")) continue;
      if (kind === "m") records.add(`${customer}:${id}`);
      else if (kind === "s") data.add(`${customer}:${id}`);
    }
    return { records, data };
  }

  async function sweep(data: Set<string>, records: Set<string>): Promise<number> {
    let removed = 0;
    await forEachLimit([...data].filter((k) => !records.has(k)), 16, (k) =>
      // Under the shard's lock, a put in flight has either committed or cleaned up by now.
      lock.run(k, async () => {
        const [customer, id] = k.split(":") as [string, string];
        if (await storage.hasItem(recordKey(customer, id))) return;
        if (!await storage.hasItem(dataKey(customer, id))) return;
        await storage.removeItem(dataKey(customer, id));
        removed++;
      }));
    return removed;
  }

  const { records, data } = await scan();
  await forEachLimit(records, 32, async (k) => {
    const [customer, id] = k.split(":") as [string, string];
    book.add(customer, parseRecord(await storage.getItem(recordKey(customer, id))).size);
  });
  await sweep(data, records);

  return {
    put: (customer, id, bytes, putOpts = {}) =>
      life.run(async () => {
        const { signal } = putOpts;
        const copy = await preparePut(opts, customer, id, bytes, signal);
        return await lock.run(`${customer}:${id}`, async () => {
          if (await storage.hasItem(recordKey(customer, id))) return "exists" as const;
          signal?.throwIfAborted();
          const release = book.reserve(customer, copy.length, opts.quota?.(customer));
          try {
            await storage.setItemRaw(dataKey(customer, id), copy);
            signal?.throwIfAborted();
            const record: ShardRecord = { size: copy.length, storedAt: Date.now() };
            await storage.setItem(recordKey(customer, id), record);
            book.add(customer, copy.length);
            return "stored" as const;
          } catch (e) {
            await storage.removeItem(recordKey(customer, id)).catch(() => {});
            await storage.removeItem(dataKey(customer, id)).catch(() => {});
            throw e;
          } finally {
            release();
          }
        });
      }),

    get: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        const [committed, raw] = await lock.run(`${customer}:${id}`, () =>
          Promise.all([
            storage.hasItem(recordKey(customer, id)),
            storage.getItemRaw(dataKey(customer, id)),
          ]));
        if (!committed) return null;
        if (raw === null || raw === undefined) {
          throw new ShardCorruptError(customer, id, "its bytes are missing");
        }
        if (!(raw instanceof Uint8Array)) {
          throw new ShardCorruptError(customer, id, `its stored value is a ${typeof raw}`);
        }
        // A copy, always: fs-lite hands back a Node Buffer and memory its own stored array.
        return await verify(opts, customer, id, new Uint8Array(raw));
      }),

    has: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        return await storage.hasItem(recordKey(customer, id));
      }),

    delete: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        return await lock.run(`${customer}:${id}`, async () => {
          const value = await storage.getItem(recordKey(customer, id));
          if (value === null || value === undefined) return false;
          // Record first: from here on the shard is gone even if removing the bytes fails.
          await storage.removeItem(recordKey(customer, id));
          book.remove(customer, parseRecord(value).size);
          await storage.removeItem(dataKey(customer, id));
          return true;
        });
      }),

    async *list(customer): AsyncIterable<ShardInfo> {
      checkCustomer(customer);
      life.check();
      const prefix = `m:${customer}:`;
      for (const key of await storage.getKeys(prefix)) {
        const id = key.slice(prefix.length);
        if (!key.startsWith(prefix) || !ID_RE.test(id)) continue;
        const value = await storage.getItem(key);
        if (value === null || value === undefined) continue; // deleted meanwhile
        yield { id, ...parseRecord(value) };
      }
    },

    ...usageMethods(book, life),

    sweepTemporary: () =>
      life.run(async () => {
        const { records, data } = await scan();
        return await sweep(data, records);
      }),

    close: () => life.close(),
  };
}
