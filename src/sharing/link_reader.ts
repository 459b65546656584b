// This module is browser compatible.
/**
 * Opening a quick link where the key is: in the browser (the `/l/` page), or anywhere with
 * `fetch`. Shards come from a gateway's `GET /shards/<id>?owner=<owner>` (ciphertext, any
 * gateway), are checked against their ids (Merkle roots) before use, and are decoded and
 * decrypted here by the node's own read path (`files/get.ts`: data shards first, parity when one
 * fails, AES-256-GCM per block). Only shard ids and the owner's id ever reach the gateway; the
 * key stays in the fragment and in this code.
 */
import { BlockAuthError } from "../crypto/block.ts";
import { shardId } from "../crypto/merkle.ts";
import { DecodeError } from "../encoding/errors.ts";
import { getFile, NotEnoughShardsError, type ShardFetcher } from "../files/get.ts";
import { decodeManifest } from "../files/manifest.ts";
import type { Capability } from "./link.ts";
import {
  decodeLinkRef,
  decodeSnapshot,
  type LinkSnapshot,
  refManifest,
  type SnapshotFile,
} from "./link_snapshot.ts";

/** Largest shard accepted (a 4 MiB block's shard and room; a snapshot copy is at most 2 MiB). */
const MAX_SHARD = (4 << 20) + 4096;
/** Time for one shard (ms). */
const SHARD_TIMEOUT = 30_000;
/**
 * Answers of 503 (the gateway has its most fetches in flight) are waited out, each for its
 * Retry-After (at most 3 s), until the shard's time is up: a page reading a block asks for k
 * shards at once (and a block ahead), which can meet a node gateway's limit of 8 fetches for
 * everyone.
 */
const MAX_RETRY_AFTER = 3_000;
/**
 * Wait on slow data shards before also asking for parity (ms): longer than a node's own 1.5 s,
 * since through a gateway each shard is a fetch from a supplier first, and parity asked too early
 * only adds to a busy gateway's load.
 */
const HEDGE_MS = 5_000;

/** Why a link could not be opened or read. */
export type LinkFailure = "expired" | "missing" | "wrong-key" | "damaged";

/** Raised when a link cannot be opened or a file of it read; `message` is for people. */
export class LinkOpenError extends Error {
  override name = "LinkOpenError";
  readonly reason: LinkFailure;
  constructor(reason: LinkFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Where and how shards are fetched. */
export interface LinkReaderOptions {
  /** The gateway's base URL ("" for the page's own origin). */
  base: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** An opened link: whose data it is and what it lists. */
export interface OpenedLink {
  owner: string;
  snapshot: LinkSnapshot;
}

/** Fetches and decrypts a link's snapshot. Throws {@linkcode LinkOpenError}. */
export async function openLink(
  cap: Capability,
  opts: LinkReaderOptions & { now?: number },
): Promise<OpenedLink> {
  const now = opts.now ?? Date.now();
  if (cap.expires !== undefined && cap.expires <= now) {
    throw new LinkOpenError(
      "expired",
      `This link expired on ${new Date(cap.expires).toUTCString()}; its owner's node deletes ` +
        `what it pointed to.`,
    );
  }
  let ref;
  try {
    ref = decodeLinkRef(cap.ref);
  } catch (e) {
    throw new LinkOpenError("damaged", `This link is damaged: ${(e as Error).message}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await collect(getFile(refManifest(ref), cap.key, readOptions(ref.owner, opts)));
  } catch (e) {
    throw explain(e, "the link's snapshot");
  }
  try {
    return { owner: ref.owner, snapshot: decodeSnapshot(bytes) };
  } catch (e) {
    throw new LinkOpenError("damaged", `The link's snapshot is malformed: ${(e as Error).message}`);
  }
}

/**
 * Streams one file of an opened link, block by block (a few blocks in flight). A stream error
 * is a {@linkcode LinkOpenError}.
 */
export function readLinkedFile(
  link: OpenedLink,
  file: SnapshotFile,
  opts: LinkReaderOptions,
): ReadableStream<Uint8Array> {
  if (file.inline) {
    const bytes = file.inline;
    return new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) });
  }
  const inner = getFile(
    decodeManifest(file.manifest!),
    file.key!,
    readOptions(link.owner, opts),
  ).getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await inner.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (e) {
        c.error(explain(e, file.path));
      }
    },
    cancel: (why) => inner.cancel(why),
  }, { highWaterMark: 0 });
}

function readOptions(owner: string, opts: LinkReaderOptions) {
  return {
    customer: httpShards(opts.fetch ?? ((i, init) => globalThis.fetch(i, init))),
    locator: NO_HINTS,
    owner,
    fallback: [opts.base],
    hedge: HEDGE_MS,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

/** The read path's errors, said for people. */
function explain(e: unknown, what: string): LinkOpenError {
  if (e instanceof LinkOpenError) return e;
  if (e instanceof NotEnoughShardsError) {
    return new LinkOpenError(
      "missing",
      `The data of ${what} could not be found: the link expired or was removed, or the owner's ` +
        `storage is out of reach right now.`,
    );
  }
  if (e instanceof BlockAuthError) {
    return new LinkOpenError(
      "wrong-key",
      `${what} does not decrypt: the link's key is wrong or the data was tampered with.`,
    );
  }
  if (e instanceof DecodeError || e instanceof RangeError) {
    return new LinkOpenError("damaged", `${what} is malformed: ${(e as Error).message}`);
  }
  return new LinkOpenError("missing", `Reading ${what} failed: ${(e as Error).message}`);
}

/** Hints: none, the one gateway is asked for every shard. */
const NO_HINTS = {
  suppliersFor: () => [],
  record() {},
  forget() {},
  save: () => Promise.resolve(),
};

/** Shards over HTTP from one gateway, each checked against its id. */
function httpShards(doFetch: typeof fetch): ShardFetcher {
  return {
    async getShard(base, id, owner, signal, into) {
      if (!owner) throw new TypeError("A shard is fetched with its owner's node id");
      const timeout = AbortSignal.timeout(SHARD_TIMEOUT);
      const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response;
      for (;;) {
        res = await doFetch(`${base}/shards/${id}?owner=${owner}`, {
          signal: both,
          // The page's own address (and its fragment) never goes with the request.
          referrerPolicy: "no-referrer",
          credentials: "omit",
        });
        if (res.status !== 503) break;
        await res.body?.cancel();
        const after = Number(res.headers.get("retry-after"));
        // The pause ends early, with an abort, when the shard's time is up.
        await pause(
          Number.isFinite(after) ? Math.min(Math.max(after * 1000, 200), MAX_RETRY_AFTER) : 1000,
          both,
        );
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`The gateway answered ${res.status} for shard ${id}`);
      }
      const length = Number(res.headers.get("content-length") ?? NaN);
      if (length > MAX_SHARD || (into && Number.isFinite(length) && length !== into.length)) {
        await res.body?.cancel();
        throw new Error(`Shard ${id} is ${length} bytes, not what was expected`);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > MAX_SHARD) throw new Error(`Shard ${id} is over ${MAX_SHARD} bytes`);
      if (await shardId(bytes) !== id) throw new Error(`Shard ${id} does not match its id`);
      if (!into) return bytes;
      if (bytes.length !== into.length) throw new Error(`Shard ${id} has the wrong length`);
      into.set(bytes);
      return into;
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const p of s) {
    parts.push(p);
    total += p.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
