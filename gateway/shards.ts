// This module is browser compatible.
/**
 * `GET /shards/<hash>?owner=<node id>` on the public gateway: a shard's ciphertext over plain
 * HTTP, so gateways without libp2p (the edge entry, `edge.ts`) can read sites through any node.
 * Knowing the hash is the capability, as on the libp2p shard protocol; the bytes are ciphertext
 * named by their Merkle root, so a reader checks them against the hash and they never change:
 * `Cache-Control: public, max-age=31536000, immutable`, `ETag: "<hash>"` (an `If-None-Match`
 * naming it answers 304 without looking the shard up), `HEAD`, and
 * `Access-Control-Allow-Origin: *`. `owner` is required because suppliers store shards per
 * customer. 400 for a malformed hash or owner, 404 when the shard is nowhere to be found, 503
 * with `Retry-After` when the source is busy.
 * @module
 */
import type { Env, Hono } from "hono";
import { HttpError } from "./errors.ts";

/** Where a gateway gets shards (a node: its own store, else the owner's suppliers). */
export interface ShardSource {
  /**
   * The shard `hash` stored for `owner`, checked against its hash, or undefined when it cannot
   * be found. Throws {@linkcode ShardsBusyError} when too many fetches are in flight.
   */
  shard(owner: string, hash: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
}

/** Raised by a {@linkcode ShardSource} at capacity: the gateway answers 503 with Retry-After. */
export class ShardsBusyError extends Error {
  override name = "ShardsBusyError";
  /** Seconds to wait before asking again. */
  readonly retryAfter: number;
  constructor(message = "Too many shard fetches in flight, try again shortly", retryAfter = 1) {
    super(message);
    this.retryAfter = retryAfter;
  }
}

/** A shard hash, and a node id: 52 characters of lower-case base32. */
export const SHARD_HASH_RE = /^[a-z2-7]{52}$/;

/** How long anyone may keep a shard: it never changes. */
export const SHARD_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Serves `GET /shards/:hash?owner=…` from `shards` on `app`. */
export function mountShards<E extends Env>(app: Hono<E>, opts: { shards: ShardSource }): Hono<E> {
  app.get("/shards/:hash", async (c) => {
    c.header("Access-Control-Allow-Origin", "*");
    const hash = c.req.param("hash");
    const owner = c.req.query("owner");
    if (!SHARD_HASH_RE.test(hash)) {
      throw new HttpError(400, `"${hash.slice(0, 60)}" is not a shard hash`);
    }
    if (owner === undefined || !SHARD_HASH_RE.test(owner)) {
      throw new HttpError(400, "?owner= must be the node id of the shard's owner");
    }
    const etag = `"${hash}"`;
    // The hash names the bytes: whoever holds this tag holds them.
    const inm = c.req.header("if-none-match");
    if (inm !== undefined && noneMatch(inm, etag)) {
      c.header("ETag", etag);
      c.header("Cache-Control", SHARD_CACHE_CONTROL);
      return c.body(null, 304);
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await opts.shards.shard(owner, hash, c.req.raw.signal);
    } catch (e) {
      if (e instanceof ShardsBusyError) {
        c.header("Retry-After", String(e.retryAfter));
        return c.json({ error: e.message }, 503);
      }
      throw e;
    }
    if (!bytes) throw new HttpError(404, `No shard ${hash} of ${owner} could be found`);
    c.header("ETag", etag);
    c.header("Cache-Control", SHARD_CACHE_CONTROL);
    c.header("Content-Type", "application/octet-stream");
    // Set here as well: a HEAD answer drops the body, and the length with it otherwise.
    c.header("Content-Length", String(bytes.byteLength));
    // The bytes as they came from the store or the supplier: no copy.
    return c.body(bytes as Uint8Array<ArrayBuffer>);
  });
  return app;
}

function noneMatch(header: string, etag: string): boolean {
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((t) => t.replace(/^W\//, "") === etag);
}
