// This module is browser compatible.
/**
 * Worlds on the public gateway, over a {@linkcode WorldSource} (a node's DHT, or the edge's
 * records over HTTP):
 *
 * - `GET /w/<address>/meta`: the world record as JSON `{ address, name, owner, seed, generator,
 *   region, title, grants, seq, created, e }` (`e`: the edits digest of a region without edits),
 *   `Cache-Control: public, max-age=15`, ETag by sequence.
 * - `GET /w/<address>/c/<generator>/<x>/<z>?e=<digest>`: one encoded chunk, generated here from
 *   the world's seed (deterministic, so every gateway sends the same bytes) and kept in an LRU
 *   bounded by bytes. With `e` equal to the region's current edits digest the answer is immutable
 *   (a year, strong ETag: the SHA-256 of the bytes); with a missing or stale `e` it is a 302 to the
 *   current URL, so caches only ever key on URLs whose bytes never change.
 * - `GET /w/<address>/ws`: a WebSocket streaming chunks (`_world_socket.ts`), when the runtime's
 *   `upgradeWebSocket` is passed in (hono/deno's on nodes), with players' presence and edit
 *   notices when a `live` hub is (`world_live.ts`).
 * - `GET /w/<address>/` and `/w/<address>/client.js`: the world client page and its bundle, when
 *   `client` assets are passed in (nodes build them; the edge cannot, so there the page is 404
 *   and meta, chunks and the socket are what it serves).
 *
 * Bad input is a 400 that says what was wrong: a malformed address, generator id, coordinate
 * (decimal signed 32-bit, no leading zeros) or digest; an unknown world is a 404, as is a
 * generator other than the world's own.
 *
 * Player edits: when the source resolves them (`WorldSource.edits`), a chunk is the generated
 * chunk with its region's verified edit batches merged (`applyEdits`), under the region's digest
 * `editsDigest(editPairs(batches))`; chunks are cached by (world, chunk, digest), so a new batch
 * gives new URLs and never changes the bytes of an old one. `GET /w/<address>/r/<rx>/<rz>` says
 * a region's current digest and editors (`max-age=2`), for pages that refetch after an edit.
 * @module
 */
import type { Context, Env, Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { encodeChunk } from "../worlds/codec.ts";
import { applyEdits } from "../worlds/merge.ts";
import { GENERATOR_ID_PATTERN } from "../worlds/chunk.ts";
import { EDITS_DIGEST_RE, NO_EDITS } from "../worlds/edits.ts";
import { generateChunk, GENERATOR_ID } from "../worlds/generate.ts";
import { HttpError } from "./errors.ts";
import { SOCKET_LIMITS, type SocketLimits, worldSocket } from "./_world_socket.ts";
import { type World, WORLD_ADDRESS_RE, type WorldSource } from "./world_source.ts";
import { NO_REGION_EDITS, type RegionEdits } from "./region_edits.ts";
import type { LiveHub } from "./world_live.ts";

/** The world client's built assets (see `src/node/web_bundle.ts`). */
export interface WorldClientAssets {
  load(): Promise<{ js: Uint8Array; hash: string }>;
}

/** Options of {@linkcode mountWorlds}. */
export interface WorldsOptions {
  worlds: WorldSource;
  /** The runtime's WebSocket upgrade (hono/deno, hono/cloudflare-workers); no `/ws` without. */
  upgradeWebSocket?: UpgradeWebSocket;
  /** The client page's bundle; no page without (the edge). */
  client?: WorldClientAssets;
  /**
   * The page may offer editing (the node's own UI origin, where same-origin script can get the
   * API token): it carries `data-edit="1"`, and only then does the client ask for the token.
   */
  editable?: boolean;
  /** Bytes of encoded chunks kept in memory (default 32 MiB, about 25,000 chunks). */
  cacheBytes?: number;
  /** Limits of each WebSocket. */
  socketLimits?: SocketLimits;
  /** Most WebSockets open at once (default 1000); more get a 503. */
  maxSockets?: number;
  /**
   * Live presence and edit notices on the sockets (`world_live.ts`): a node's hub relays them
   * to other gateways over gossip; without one, sockets serve chunks only.
   */
  live?: LiveHub;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** The Content-Security-Policy of the world page: its own scripts and workers, WebGL, no inline script. */
export const WORLD_PAGE_CSP: string = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  // Three.js and HUDs set element styles from script; no inline <script> is ever allowed.
  "style-src 'self' 'unsafe-inline'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const COORD_RE = /^(0|-?[1-9][0-9]{0,9})$/;
const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;
const IMMUTABLE = "public, max-age=31536000, immutable";

/** Adds the world routes to `app`. */
export function mountWorlds<E extends Env>(app: Hono<E>, opts: WorldsOptions): Hono<E> {
  const chunks = new ChunkCache(opts.cacheBytes ?? 32 << 20);
  const maxSockets = opts.maxSockets ?? 1000;
  let sockets = 0;

  const world = async (c: Context): Promise<World> => {
    const address = c.req.param("address") ?? "";
    if (!WORLD_ADDRESS_RE.test(address)) {
      throw new HttpError(
        400,
        `"${address.slice(0, 60)}" is not a world address (52 lower-case base32 characters)`,
      );
    }
    // No request signal: one lookup serves every request for the address meanwhile.
    const w = await opts.worlds.world(address);
    if (!w) throw new HttpError(404, `No world at ${address}`);
    return w;
  };
  /** The verified edits of the region holding chunk (x, z). */
  const regionEdits = (w: World, x: number, z: number): Promise<RegionEdits> => {
    const side = w.value.region;
    return opts.worlds.edits?.(w, Math.floor(x / side), Math.floor(z / side)) ??
      Promise.resolve(NO_REGION_EDITS);
  };
  /** The encoded chunk and its ETag, made once per (generator, seed, x, z, world's edits). */
  const chunk = (w: World, x: number, z: number, edits: RegionEdits): Cached => {
    const { seed, generator } = w.value;
    // Unedited chunks are shared by every world of the seed; a digest names edits of one world.
    const key = `${generator}/${seed}/${x}/${z}/${edits.e}` +
      (edits.batches.length ? `/${w.address}` : "");
    const hit = chunks.get(key);
    if (hit) return hit;
    const generated = generateChunk({ seed, generator }, x, z);
    const merged = edits.batches.length ? applyEdits(generated, edits.batches) : generated;
    const made: Cached = { bytes: encodeChunk(merged) };
    chunks.set(key, made);
    return made;
  };
  /** The chunk's strong ETag: its SHA-256, computed once (sockets never need it). */
  const etagOf = async (c: Cached) => c.etag ??= `"${await hex(c.bytes)}"`;

  app.get("/w/:address", (c) => {
    const address = c.req.param("address");
    if (!WORLD_ADDRESS_RE.test(address)) {
      throw new HttpError(400, `"${address.slice(0, 60)}" is not a world address`);
    }
    return c.redirect(`/w/${address}/`, 301);
  });

  app.get("/w/:address/meta", async (c) => {
    const w = await world(c);
    const etag = `"${w.seq}"`;
    c.header("Cache-Control", "public, max-age=15");
    c.header("Access-Control-Allow-Origin", "*");
    c.header("ETag", etag);
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    const v = w.value;
    return c.json({
      address: w.address,
      name: w.name,
      owner: w.owner,
      seed: v.seed,
      generator: v.generator,
      region: v.region,
      title: v.title ?? null,
      grants: v.grants,
      seq: w.seq,
      created: v.created,
      e: NO_EDITS,
    });
  });

  app.get("/w/:address/c/:generator/:x/:z", async (c) => {
    const gen = c.req.param("generator");
    if (!GENERATOR_ID_PATTERN.test(gen)) {
      throw new HttpError(400, `"${gen.slice(0, 40)}" is not a generator id`);
    }
    const x = coord(c.req.param("x"), "x"), z = coord(c.req.param("z"), "z");
    const e = c.req.query("e");
    if (e !== undefined && !EDITS_DIGEST_RE.test(e)) {
      throw new HttpError(400, `e=${e.slice(0, 70)} is not an edits digest (64 hex digits)`);
    }
    const w = await world(c);
    if (gen !== w.value.generator) {
      throw new HttpError(
        404,
        `World ${w.address} is generated by ${w.value.generator}, not ${gen}`,
      );
    }
    if (gen !== GENERATOR_ID) {
      throw new HttpError(
        501,
        `This gateway cannot generate ${gen} chunks (it has ${GENERATOR_ID})`,
      );
    }
    c.header("Access-Control-Allow-Origin", "*");
    const edits = await regionEdits(w, x, z);
    if (e !== edits.e) {
      c.header("Cache-Control", "public, max-age=15");
      return c.redirect(`/w/${w.address}/c/${gen}/${x}/${z}?e=${edits.e}`, 302);
    }
    const made = chunk(w, x, z, edits);
    const etag = await etagOf(made);
    c.header("Cache-Control", IMMUTABLE);
    c.header("ETag", etag);
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    c.header("Content-Type", "application/octet-stream");
    return c.body(made.bytes as Uint8Array<ArrayBuffer>);
  });

  app.get("/w/:address/r/:rx/:rz", async (c) => {
    const rx = coord(c.req.param("rx"), "region x"), rz = coord(c.req.param("rz"), "region z");
    const w = await world(c);
    const side = w.value.region;
    const edits = await regionEdits(w, rx * side, rz * side);
    c.header("Cache-Control", "public, max-age=2");
    c.header("Access-Control-Allow-Origin", "*");
    return c.json({
      rx,
      rz,
      e: edits.e,
      editors: edits.batches.map((b) => ({ editor: b.editor, seq: b.seq }))
        .sort((a, b) => a.editor < b.editor ? -1 : 1),
    });
  });

  app.get("/w/:address/ws", async (c) => {
    const upgrade = opts.upgradeWebSocket;
    if (!upgrade) {
      throw new HttpError(501, "This gateway does not serve world sockets: fetch ./c/… instead");
    }
    const w = await world(c);
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "This is a WebSocket: connect with Upgrade: websocket");
    }
    if (sockets >= maxSockets) {
      c.header("Retry-After", "5");
      throw new HttpError(503, `This gateway has ${maxSockets} world sockets open; try later`);
    }
    sockets++;
    let open = true;
    const done = () => {
      if (open) (open = false), sockets--;
    };
    try {
      return await upgrade(
        c,
        worldSocket(
          async (x, z) => chunk(w, x, z, await regionEdits(w, x, z)).bytes,
          opts.socketLimits ?? SOCKET_LIMITS,
          {
            onClose: done,
            onDrop: (code, reason) =>
              opts.log?.("dropped a world socket", { address: w.address, code, reason }),
            // On the node's own UI origin the player is the node's owner: its presence says so.
            ...(opts.live
              ? { live: (send) => opts.live!.attach(w, send, { own: opts.editable === true }) }
              : {}),
          },
        ),
      );
    } catch (e) {
      done();
      throw e;
    }
  });

  if (opts.client) {
    const client = opts.client;
    const load = async () => {
      try {
        return await client.load();
      } catch (e) {
        opts.log?.("the world client could not be built", { error: e });
        throw new HttpError(503, `The world client is not available here: ${(e as Error).message}`);
      }
    };
    app.get("/w/:address/", async (c) => {
      const w = await world(c);
      const { hash } = await load();
      c.header("Content-Security-Policy", WORLD_PAGE_CSP);
      c.header("Cache-Control", "no-cache");
      return c.html(pageHtml(w, hash, opts.editable === true));
    });
    app.get("/w/:address/client.js", async (c) => {
      const { js, hash } = await load();
      const etag = `"${hash}"`;
      c.header("ETag", etag);
      // The page links `client.js?v=<hash>`: that URL's bytes never change.
      c.header("Cache-Control", c.req.query("v") === hash ? IMMUTABLE : "no-cache");
      if (c.req.header("if-none-match") === etag) return c.body(null, 304);
      c.header("Content-Type", "text/javascript; charset=utf-8");
      return c.body(js as Uint8Array<ArrayBuffer>);
    });
  } else {
    app.get("/w/:address/", async (c) => {
      const w = await world(c);
      throw new HttpError(
        404,
        `This gateway serves world ${w.address}'s meta and chunks, not its client page: open it on a node's gateway`,
      );
    });
  }
  return app;
}

function coord(text: string, name: string): number {
  const v = COORD_RE.test(text) ? Number(text) : NaN;
  if (!(v >= I32_MIN && v <= I32_MAX)) {
    throw new HttpError(
      400,
      `Chunk ${name} "${text.slice(0, 20)}" is not a signed 32-bit decimal integer`,
    );
  }
  return v;
}

async function hex(bytes: Uint8Array): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function pageHtml(w: World, hash: string, editable: boolean): string {
  const title = escapeHtml(w.value.title || w.name);
  // No inline script: the bundle finds the world by reading ./meta relative to the page.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, user-scalable=no">
<meta name="color-scheme" content="dark">
<link rel="icon" href="data:,">
<title>${title} · Mote world</title>
<script type="module" src="./client.js?v=${hash}"></script>
</head>
<body>
<div id="world" data-address="${w.address}"${
    editable ? ' data-edit="1"' : ""
  }><noscript>This world needs JavaScript and WebGL.</noscript></div>
</body>
</html>
`;
}

/** An encoded chunk, and its ETag once an HTTP answer needed it. */
interface Cached {
  bytes: Uint8Array;
  etag?: string;
}

/** Encoded chunks by key, least recently used out first, bounded by bytes. */
class ChunkCache {
  readonly #map = new Map<string, Cached>();
  readonly #budget: number;
  #bytes = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get(key: string) {
    const v = this.#map.get(key);
    if (v) this.#map.delete(key), this.#map.set(key, v);
    return v;
  }

  set(key: string, v: Cached): void {
    const old = this.#map.get(key);
    if (old) this.#bytes -= old.bytes.length, this.#map.delete(key);
    if (v.bytes.length > this.#budget) return;
    this.#map.set(key, v);
    this.#bytes += v.bytes.length;
    for (const [k, e] of this.#map) {
      if (this.#bytes <= this.#budget) break;
      this.#map.delete(k);
      this.#bytes -= e.bytes.length;
    }
  }
}
