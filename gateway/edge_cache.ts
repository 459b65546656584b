// This module is browser compatible.
/**
 * The edge gateway's default cache: unstorage over a memory driver bounded in bytes, least
 * recently used first out. unstorage's own memory driver never forgets anything, and an edge
 * isolate has little memory (128 MB on Workers), so the default cannot grow with every shard
 * read. Any other unstorage instance (Workers KV, Deno KV, Redis…) can be given instead.
 * @module
 */
import { createStorage, defineDriver, type Storage, type StorageValue } from "unstorage";

/** Bytes a value takes, roughly (strings count two bytes a character). */
function sizeOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === "string") return value.length * 2;
  return 64;
}

/** An unstorage driver keeping at most `maxBytes` in memory, dropping the least recently used. */
export const boundedMemoryDriver = defineDriver((opts: { maxBytes?: number } = {}) => {
  const max = opts.maxBytes ?? 32 << 20;
  const data = new Map<string, unknown>();
  let bytes = 0;
  const remove = (key: string) => {
    if (!data.has(key)) return;
    bytes -= sizeOf(data.get(key));
    data.delete(key);
  };
  const get = (key: string): StorageValue => {
    if (!data.has(key)) return null;
    const v = data.get(key);
    data.delete(key);
    data.set(key, v);
    return v as StorageValue;
  };
  const set = (key: string, value: unknown) => {
    remove(key);
    const size = sizeOf(value);
    if (size > max) return;
    data.set(key, value);
    bytes += size;
    while (bytes > max) remove(data.keys().next().value!);
  };
  return {
    name: "bounded-memory",
    hasItem: (key: string) => data.has(key),
    getItem: get,
    getItemRaw: get,
    setItem: set,
    setItemRaw: set,
    removeItem: remove,
    getKeys: () => [...data.keys()],
    clear: (base: string) => {
      for (const key of [...data.keys()]) if (!base || key.startsWith(base)) remove(key);
    },
  };
});

/** A memory cache of at most `maxBytes` (32 MiB by default). */
export function memoryCache(maxBytes = 32 << 20): Storage {
  return createStorage({ driver: boundedMemoryDriver({ maxBytes }) });
}

/**
 * `local` in front of `shared`: reads try `local` first and copy a `shared` hit into it; writes
 * go to both. For what is verified on every read anyway (records); shards are read from a
 * shared cache with their own check (`HttpShards`). A failing shared cache (Redis down) only
 * costs its hits: its errors are passed to `onError` and the answer is local.
 */
export function layeredCache(
  local: Storage,
  shared: Storage,
  onError: (error: unknown) => void = () => {},
): Storage {
  const quiet = <T>(p: Promise<T>, fallback: T) =>
    p.catch((error) => {
      onError(error);
      return fallback;
    });
  return createStorage({
    driver: defineDriver((_: Record<never, never>) => ({
      name: "layered",
      hasItem: async (key: string) =>
        await local.hasItem(key) || await quiet(shared.hasItem(key), false),
      getItem: async (key: string) => {
        const hit = await local.getItem(key);
        if (hit !== null) return hit;
        const v = await quiet(shared.getItem(key), null);
        if (v !== null) await local.setItem(key, v);
        return v;
      },
      setItem: async (key: string, value: string) => {
        await Promise.all([
          local.setItem(key, value),
          quiet(shared.setItem(key, value), undefined),
        ]);
      },
      removeItem: async (key: string) => {
        await Promise.all([local.removeItem(key), quiet(shared.removeItem(key), undefined)]);
      },
      getKeys: (base: string) => local.getKeys(base),
      clear: (base: string) => local.clear(base),
    }))({}),
  });
}
