// This module is browser compatible.
/**
 * The public gateway app (`--gateway-port`, default 8181): what the node serves to anyone. It
 * never shares an origin with the node API. Routes now: `GET /` (an information page) and
 * `GET /records/:ns/:key` (the raw signed record bytes, which anyone can verify), and with a
 * {@linkcode SiteSource} hosted sites (`sites.ts`: `<address>.<host>` and `/s/<address>/…`), and
 * with a {@linkcode ShardSource} `GET /shards/:hash?owner=…` (`shards.ts`: shard ciphertext over
 * HTTP, which edge gateways read sites through), and with a {@linkcode WorldSource} worlds
 * (`worlds.ts`: `/w/<address>/meta`, chunks, the chunk WebSocket and the client page).
 *
 * Every request passes the per-client rate limit and the size caps first. Hosted sites are then
 * answered outside Hono (`siteHandler`), and hot site files from remembered responses (`hot.ts`).
 */
import { Hono } from "hono";
import { errorResponse, HttpError, SECURITY_HEADERS } from "./errors.ts";
import type { SiteSource } from "./site_source.ts";
import { siteHandler } from "./sites.ts";
import { mountShards, type ShardSource } from "./shards.ts";
import { HotResponses } from "./hot.ts";
import type { UpgradeWebSocket } from "hono/ws";
import type { WorldSource } from "./world_source.ts";
import { mountWorlds, type WorldClientAssets } from "./worlds.ts";
import type { LiveHub } from "./world_live.ts";
import { type LinkPageAssets, mountLinkPage } from "./links.ts";

/** A source of signed record bytes (a node's DHT view, or an edge cache). */
export interface RecordSource {
  /** The best known record bytes at `/mote/<ns>/<hash>`, with its sequence number. */
  record(ns: string, hash: string): Promise<{ bytes: Uint8Array; seq: number } | undefined>;
}

/** Options for {@linkcode createPublicApp}. */
export interface PublicAppOptions {
  records: RecordSource;
  /** Who serves: shown on the information page. */
  info: () => { id: string; version: string };
  /** Per-client admission (rate limit); false answers 429. */
  admit?: (client: string) => boolean;
  /** Hosted sites: served by subdomain and under `/s/` only when given. */
  sites?: SiteSource;
  /** Shard ciphertext by hash: `GET /shards/:hash?owner=…` only when given. */
  shards?: ShardSource;
  /** Answer repeated plain GETs of hot site files from remembered responses (default true). */
  hot?: boolean;
  /** Worlds: `/w/<address>/…` only when given. */
  worlds?: WorldSource;
  /** The runtime's WebSocket upgrade (hono/deno's on nodes): `/w/<address>/ws` only when given. */
  upgradeWebSocket?: UpgradeWebSocket;
  /** The world client's bundle: the page at `/w/<address>/` only when given (nodes, not the edge). */
  worldClient?: WorldClientAssets;
  /** Live presence and edit notices on world sockets (`world_live.ts`). */
  live?: LiveHub;
  /** The quick link page's script: `/l/` (links opened in the browser) only when given. */
  linkPage?: LinkPageAssets;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Adds the security headers to a response of our own (its headers are mutable). */
function secure(res: Response): Response {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
  return res;
}

/** Bindings passed by the server: the client's address. */
export type PublicEnv = { Bindings: { remoteAddr?: string } };

const NS_RE = /^[a-z][a-z0-9-]{0,15}$/;
const HASH_RE = /^[a-z2-7]{52}$/;

/** Builds the public gateway app. */
export function createPublicApp(opts: PublicAppOptions): Hono<PublicEnv> {
  const app = new Hono<PublicEnv>();
  app.use(async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    return undefined;
  });
  app.onError((err, c) => errorResponse(err, c, opts.log));
  app.notFound((c) => c.json({ error: "Not found" }, 404));
  if (opts.shards) mountShards(app, { shards: opts.shards });
  if (opts.linkPage) mountLinkPage(app, { assets: opts.linkPage });
  if (opts.worlds) {
    mountWorlds(app, {
      worlds: opts.worlds,
      ...(opts.upgradeWebSocket ? { upgradeWebSocket: opts.upgradeWebSocket } : {}),
      ...(opts.worldClient ? { client: opts.worldClient } : {}),
      ...(opts.live ? { live: opts.live } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }
  const sites = opts.sites && siteHandler({ sites: opts.sites, log: opts.log });
  const hot = opts.sites && opts.hot !== false ? new HotResponses() : undefined;
  const routed = app.fetch;
  // Every request comes in here: the rate limit and size caps first, then hosted sites (a site
  // host owns every path, "/" included) outside Hono, so a site response is built once with all
  // its headers; hot files straight from their remembered responses; the rest through the app.
  app.fetch = (req, env, ctx) => {
    const client = (env as PublicEnv["Bindings"] | undefined)?.remoteAddr ?? "local";
    if (opts.admit && !opts.admit(client)) {
      return secure(Response.json({ error: "Too many requests" }, {
        status: 429,
        headers: { "Retry-After": "1" },
      }));
    }
    if ((req.headers.get("host")?.length ?? 0) > 255 || req.url.length > 8192) {
      return secure(
        Response.json({ error: "Request line or Host header too long" }, { status: 414 }),
      );
    }
    if (sites) {
      const key = hot?.keyOf(req);
      const hit = key === undefined ? undefined : hot!.answer(key);
      if (hit) return hit;
      const res = sites.handle(req);
      if (res) {
        return res.then((r) => {
          secure(r);
          if (key !== undefined) hot!.keep(key, r);
          return r;
        });
      }
    }
    return routed(req, env, ctx);
  };

  app.get("/", (c) => {
    const { id, version } = opts.info();
    c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mote gateway</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head>
<body><h1>Mote gateway</h1><p>A public gateway of the Mote network, served by node <code>${id}</code> (version ${version}).</p>
<p>Signed records are at <code>/records/&lt;namespace&gt;/&lt;key&gt;</code>.</p></body></html>`,
    );
  });

  app.get("/records/:ns/:key", async (c) => {
    const ns = c.req.param("ns"), key = c.req.param("key");
    if (!NS_RE.test(ns)) throw new HttpError(400, `"${ns.slice(0, 40)}" is not a record namespace`);
    if (!HASH_RE.test(key)) throw new HttpError(400, `"${key.slice(0, 60)}" is not a record key`);
    const found = await opts.records.record(ns, key);
    if (!found) throw new HttpError(404, `No record at /mote/${ns}/${key}`);
    const etag = `"${found.seq}"`;
    c.header("ETag", etag);
    // Records change (a higher sequence replaces a lower one), so caches must check back soon.
    c.header("Cache-Control", "public, max-age=30");
    c.header("Access-Control-Allow-Origin", "*");
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    c.header("Content-Type", "application/cbor");
    return c.body(found.bytes as Uint8Array<ArrayBuffer>);
  });
  return app;
}
