/**
 * The edge gateway for several instances behind one load balancer: the app of `edge.ts` with a
 * second-level cache in Redis (unstorage's Redis driver), so a shard or record one instance
 * fetched is served by every other from Redis (shards verified again there). For `deno serve`
 * (or Node), not Workers: Redis is reached over TCP.
 *
 * ```sh
 * MOTE_SEEDS=https://gw1.example.org,https://gw2.example.org \
 * MOTE_REDIS_URL=redis://127.0.0.1:6379 \
 *   deno serve --allow-net --allow-env --allow-sys gateway/edge_redis.ts
 * ```
 *
 * Bound Redis's memory (`maxmemory` with `allkeys-lru`): shards are evicted like any cache
 * entry and fetched again from the seeds when missing. See docs/edge.md.
 * @module
 */
import { createStorage, type Storage } from "unstorage";
import redisDriver from "unstorage/drivers/redis";
import { createEdgeApp, edgeEntry, envSetting } from "./edge.ts";

/** An unstorage cache over Redis at `url`, its keys under `base` (default "mote"). */
export function redisCache(url: string, base = "mote"): Storage {
  if (!/^rediss?:\/\//.test(url)) {
    throw new TypeError(`MOTE_REDIS_URL "${url.slice(0, 100)}" is not a redis:// URL`);
  }
  return createStorage({
    driver: redisDriver({
      url,
      base,
      // Give up on a call after 2 s, and retry it once, while Redis is away or slow: a cache
      // miss is cheaper than a visitor waiting.
      connectTimeout: 2_000,
      commandTimeout: 2_000,
      maxRetriesPerRequest: 1,
    }),
  });
}

/** Closes `cache` on SIGTERM: `deno serve` stops listening then, but an open Redis connection
 * would keep the process alive for ever. */
function closeOnTerm(cache: Storage): void {
  const deno = (globalThis as {
    Deno?: { addSignalListener?: (signal: "SIGTERM", handler: () => void) => void };
  }).Deno;
  deno?.addSignalListener?.("SIGTERM", () => void cache.dispose());
}

export default edgeEntry((seeds, env) => {
  const url = envSetting(env, "MOTE_REDIS_URL");
  const log = (msg: string, fields: Record<string, unknown>) =>
    console.error(JSON.stringify({ msg, ...fields, error: String(fields.error ?? "") }));
  const shared = url ? redisCache(url) : undefined;
  if (shared) closeOnTerm(shared);
  return createEdgeApp({ seeds, log, ...(shared ? { sharedCache: shared } : {}) });
});
