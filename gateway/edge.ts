// This module is browser compatible.
/**
 * The public gateway for edge runtimes (Deno Deploy, `deno serve`, Cloudflare Workers): the same
 * app as a node's (`createPublicApp`: hosted sites by subdomain and under `/s/<address>/`, and
 * `/records/:ns/:key`), with no libp2p, no file system and no runtime-specific API. Everything
 * comes over HTTP from node gateways, the seeds: signed records from `<seed>/records/…`, verified
 * and never rolled back (`edge_records.ts`), and file bytes from shards at
 * `<seed>/shards/<hash>?owner=…`, each checked against its hash, erasure-decoded and decrypted
 * here (`edge_reader.ts`). A seed can withhold, never forge. Worlds: `/w/<address>/meta` and
 * chunks from verified world records (chunks are generated here); not the client page, which
 * only nodes build, and a chunk WebSocket only when the runtime's `upgradeWebSocket` is passed.
 *
 * ```ts
 * import { createEdgeApp } from "./edge.ts";
 * const app = createEdgeApp({ seeds: ["https://gw1.example.org", "https://gw2.example.org"] });
 * Deno.serve(app.fetch);
 * ```
 *
 * The default export (`{ fetch }`) is what `deno serve` and Workers call; it reads the seeds from
 * `MOTE_SEEDS` (comma-separated URLs): Workers pass it in their env argument, Deno Deploy and
 * `deno serve` have it in `Deno.env`. See docs/edge.md.
 * @module
 */
import type { Hono } from "hono";
import type { Storage } from "unstorage";
import meta from "../deno.json" with { type: "json" };
import { layeredCache, memoryCache } from "./edge_cache.ts";
import { HttpRecordSource } from "./edge_records.ts";
import { EdgeSiteSource, HttpShards } from "./edge_reader.ts";
import { createPublicApp, type PublicEnv } from "./public.ts";
import type { UpgradeWebSocket } from "hono/ws";
import { RecordWorldSource } from "./world_source.ts";
import { runtimeUpgradeWebSocket } from "./edge_socket.ts";
import { EdgeShardSource } from "./edge_shards.ts";
import type { LinkPageAssets } from "./links.ts";

/** Options of {@linkcode createEdgeApp}. */
export interface EdgeAppOptions {
  /** Node gateway base URLs (http or https), e.g. `https://gw.example.org`. */
  seeds: readonly string[];
  /**
   * Where verified shards (by hash: they never change) and records (asked again after
   * `recordTtl`) are kept; by default memory, at most `cacheBytes`. Any unstorage instance works
   * (Workers KV, Deno KV…): give it a `prefixStorage` of its own.
   */
  cache?: Storage;
  /** Bytes of the default memory cache (32 MiB: Workers isolates have 128 MB). */
  cacheBytes?: number;
  /**
   * A second-level cache shared by several gateway instances behind one load balancer (unstorage
   * over Redis: `gateway/edge_redis.ts`). Records and verified shards are written to it; a shard
   * one instance fetched is served by the others from it, verified again. Its failures cost
   * only its hits.
   */
  sharedCache?: Storage;
  /** The fetch used to reach the seeds (the global one by default). */
  fetch?: typeof fetch;
  /** How long a record is used before the seeds are asked again (ms, default 15000). */
  recordTtl?: number;
  /** Shard fetches one read may have in flight (default 8). */
  fetchesPerRead?: number;
  /** Bytes of small files kept decrypted in memory (default 16 MiB). */
  memoryBytes?: number;
  /** Per-client admission (rate limit); false answers 429. Edge platforms usually have their own. */
  admit?: (client: string) => boolean;
  /** What the information page calls this gateway (default "edge"). */
  name?: string;
  /** The runtime's WebSocket upgrade (e.g. `hono/cloudflare-workers`'): `/w/<address>/ws`. */
  upgradeWebSocket?: UpgradeWebSocket;
  /**
   * The quick link page's built script (`src/node/web_bundle.ts`): `/l/` only when given, with
   * `/shards/` (verified shards through the seeds) for the page to read from.
   */
  linkPage?: LinkPageAssets;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** The edge gateway app, and what it reads through (for metrics and tests). */
export type EdgeApp = Hono<PublicEnv> & { shards: HttpShards; records: HttpRecordSource };

/** Builds the public gateway app for an edge runtime. */
export function createEdgeApp(opts: EdgeAppOptions): EdgeApp {
  const seeds = parseSeeds(opts.seeds);
  const cache = opts.cache ?? memoryCache(opts.cacheBytes);
  const doFetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const shared = opts.sharedCache;
  const records = new HttpRecordSource({
    seeds,
    cache: shared
      ? layeredCache(cache, shared, (error) => opts.log?.("the shared cache failed", { error }))
      : cache,
    fetch: doFetch,
    ...(opts.recordTtl !== undefined ? { ttl: opts.recordTtl } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const shards = new HttpShards({
    fetch: doFetch,
    cache,
    ...(shared ? { shared } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const sites = new EdgeSiteSource({
    seeds,
    records,
    shards,
    ...(opts.fetchesPerRead !== undefined ? { fetchesPerRead: opts.fetchesPerRead } : {}),
    ...(opts.memoryBytes !== undefined ? { memoryBytes: opts.memoryBytes } : {}),
  });
  const worlds = new RecordWorldSource(
    async (address) => (await records.resolve("world", address))?.record,
    {
      records: async (ns, hash) => (await records.resolve(ns, hash))?.record,
      ...(opts.log ? { editOptions: { log: opts.log } } : {}),
    },
  );
  const app = createPublicApp({
    records,
    sites,
    worlds,
    ...(opts.upgradeWebSocket ? { upgradeWebSocket: opts.upgradeWebSocket } : {}),
    ...(opts.linkPage
      ? { linkPage: opts.linkPage, shards: new EdgeShardSource({ seeds, shards }) }
      : {}),
    info: () => ({ id: opts.name ?? "edge", version: meta.version }),
    ...(opts.admit ? { admit: opts.admit } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  return Object.assign(app, { shards, records });
}

/** Checks and normalizes seed URLs (http or https, no trailing slash, no duplicates). */
export function parseSeeds(seeds: readonly string[] | string): string[] {
  const list = typeof seeds === "string" ? seeds.split(",") : seeds;
  const out: string[] = [];
  for (const raw of list) {
    const s = raw.trim();
    if (s === "") continue;
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new TypeError(`Seed "${s.slice(0, 100)}" is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Seed "${s.slice(0, 100)}" is not an http(s) URL`);
    }
    if (url.search || url.hash || url.username || url.password) {
      throw new TypeError(`Seed "${s.slice(0, 100)}" must be a base URL (no query or credentials)`);
    }
    const base = (url.origin + url.pathname).replace(/\/+$/, "");
    if (!out.includes(base)) out.push(base);
  }
  if (out.length === 0) throw new RangeError("The edge gateway needs at least one seed URL");
  return out;
}

/** A setting from a Workers env argument, else `Deno.env` or `process.env` where they exist. */
export function envSetting(env: unknown, name: string): string | undefined {
  if (env && typeof env === "object" && name in env) {
    const v = (env as Record<string, unknown>)[name];
    if (typeof v === "string") return v;
  }
  const g = globalThis as {
    Deno?: { env?: { get?: (k: string) => string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    const v = g.Deno?.env?.get?.(name);
    if (v !== undefined) return v;
  } catch {
    // No permission to read the environment: fall through.
  }
  return g.process?.env?.[name];
}

/** The client's address: `deno serve` passes it in its second argument, Workers in a header. */
function clientOf(req: Request, second: unknown): string | undefined {
  const info = second as { remoteAddr?: { hostname?: unknown } } | undefined;
  const host = info?.remoteAddr?.hostname;
  if (typeof host === "string") return host;
  return req.headers.get("cf-connecting-ip") ?? undefined;
}

/** Workers' execution context, as Hono takes it. */
type Ctx = Parameters<Hono["fetch"]>[2];

/** What `deno serve` and Workers call: `{ fetch }`. */
export interface EdgeEntry {
  fetch(req: Request, envOrInfo?: unknown, ctx?: unknown): Response | Promise<Response>;
}

/**
 * An entry for `deno serve` and Workers that builds its app on the first request, from
 * `MOTE_SEEDS` (comma-separated node gateway URLs) and whatever else `build` reads from the
 * environment (`env` is Workers' env argument, or `deno serve`'s connection info).
 */
export function edgeEntry(build: (seeds: string[], env: unknown) => EdgeApp): EdgeEntry {
  let built: { seeds: string; app: EdgeApp } | undefined;
  return {
    fetch(req, envOrInfo, ctx) {
      const seeds = envSetting(envOrInfo, "MOTE_SEEDS");
      if (!seeds) {
        return Response.json(
          { error: "The edge gateway is not configured: set MOTE_SEEDS to node gateway URLs" },
          { status: 500 },
        );
      }
      if (built?.seeds !== seeds) built = { seeds, app: build(parseSeeds(seeds), envOrInfo) };
      const remoteAddr = clientOf(req, envOrInfo);
      return built.app.fetch(req, remoteAddr ? { remoteAddr } : {}, ctx as Ctx);
    },
  };
}

/**
 * The entry `deno serve gateway/edge.ts` and Workers (`main = "gateway/edge.ts"`) call, with the
 * runtime's world socket (chunks only) where it has one (`edge_socket.ts`).
 */
export default edgeEntry((seeds) => {
  const upgradeWebSocket = runtimeUpgradeWebSocket();
  return createEdgeApp({ seeds, ...(upgradeWebSocket ? { upgradeWebSocket } : {}) });
});
