// This module is browser compatible.
/**
 * Reading sites at the edge: a {@linkcode SiteSource} whose records come over HTTP
 * (`edge_records.ts`) and whose files are read through shards fetched over HTTP from node
 * gateways (`GET <seed>/shards/<hash>?owner=<owner>`). The read itself is the node's own
 * (`src/files/get.ts`: k data shards, parity on failure or after a hedge delay, erasure decoding,
 * AES-GCM per block, ranges), with the seeds in the place of suppliers: each shard is checked
 * against its id (its Merkle root) before use, and a seed that answers a bad or missing shard is
 * passed over for the next one. The erasure codec takes its TypeScript kernel where the runtime
 * refuses to compile WebAssembly (Cloudflare Workers), `src/erasure/detect.ts`.
 *
 * Verified shards go into the cache by id (they never change); one read has at most 8 shard
 * fetches in flight, and concurrent reads of one shard share a fetch. Small files (≤ 1 MiB) and
 * the packs they sit in are also kept decrypted in memory, within a byte budget.
 * @module
 */
import type { Storage } from "unstorage";
import { openMember } from "../src/catalog/pack.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { concat, equals, toHex } from "../src/encoding/bytes.ts";
import { getFile, type GetFileOptions, type ShardFetcher } from "../src/files/get.ts";
import { decodeManifest } from "../src/files/manifest.ts";
import { nodeIdOf } from "../src/identity/node_id.ts";
import { decodeSiteRecord } from "../src/sites/record.ts";
import { decodeSiteIndex, type IndexCopy, type SiteIndex } from "../src/sites/site_index.ts";
import { deadline, readBody, Semaphore, shuffle } from "./_edge_http.ts";
import type { HttpRecordSource } from "./edge_records.ts";
import { type Site, SITE_ADDRESS_RE, type SiteFile, type SiteSource } from "./site_source.ts";

/** The largest shard fetched (a 4 MiB block's shard and some room, as suppliers allow). */
export const EDGE_MAX_SHARD = (4 << 20) + 4096;
/** Largest file kept decrypted in memory. */
const HOT_FILE = 1 << 20;
/** Sites remembered at most. */
const MAX_SITES = 256;

/** Options of {@linkcode HttpShards}. */
export interface HttpShardsOptions {
  fetch: typeof fetch;
  cache: Storage;
  /**
   * A second-level cache shared with other gateway instances (unstorage's Redis driver, say).
   * Verified shards are written to it too, and a shard read from it is verified again (whoever
   * else writes there), then kept in `cache`.
   */
  shared?: Storage;
  /** Time for one shard from one seed (ms, default 20000; a node gives itself 15 s). */
  timeout?: number;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Shards over HTTP from node gateways, verified and cached. */
export class HttpShards {
  readonly #fetch: typeof fetch;
  readonly #cache: Storage;
  readonly #shared: Storage | undefined;
  readonly #timeout: number;
  readonly #log: HttpShardsOptions["log"];
  readonly #pending = new Map<string, Promise<Uint8Array>>();
  /** Shards fetched over the network (for tests and metrics). */
  fetched = 0;
  /** Shards found in the shared cache (for tests and metrics). */
  sharedHits = 0;

  constructor(opts: HttpShardsOptions) {
    this.#fetch = opts.fetch;
    this.#cache = opts.cache;
    this.#shared = opts.shared;
    this.#timeout = opts.timeout ?? 20_000;
    this.#log = opts.log;
  }

  /** A fetcher for one read: at most `limit` shard fetches of it in flight. */
  forRead(limit = 8): ShardFetcher {
    const slots = new Semaphore(limit);
    return {
      getShard: (seed, id, owner, signal, into) => this.#get(slots, seed, id, owner, signal, into),
    };
  }

  async #get(
    slots: Semaphore,
    seed: string,
    id: string,
    owner: string | undefined,
    signal: AbortSignal | undefined,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    if (!owner) throw new TypeError("A shard is fetched with its owner's node id");
    let bytes = await this.#cached(id);
    if (!bytes) {
      let p = this.#pending.get(id);
      if (!p) {
        p = slots.run(() => this.#download(seed, id, owner, into?.length, signal), signal)
          .finally(() => this.#pending.delete(id));
        this.#pending.set(id, p);
      }
      bytes = await p;
    }
    if (!into) return bytes;
    if (bytes.length !== into.length) {
      throw new RangeError(`Shard ${id} is ${bytes.length} bytes, not ${into.length}`);
    }
    into.set(bytes);
    return into;
  }

  async #cached(id: string): Promise<Uint8Array | undefined> {
    const local = asBytes(await this.#cache.getItemRaw(`shard:${id}`).catch(() => null));
    if (local || !this.#shared) return local;
    const shared = asBytes(await this.#shared.getItemRaw(`shard:${id}`).catch(() => null));
    if (!shared) return undefined;
    if (await shardId(shared) !== id) {
      this.#log?.("the shared cache holds a shard that does not match its id", { id });
      return undefined;
    }
    this.sharedHits++;
    await this.#cache.setItemRaw(`shard:${id}`, shared).catch(() => {});
    return shared;
  }

  async #download(
    seed: string,
    id: string,
    owner: string,
    exact: number | undefined,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const res = await this.#fetch(`${seed}/shards/${id}?owner=${owner}`, {
      signal: deadline(this.#timeout, signal),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${seed} answered ${res.status} for shard ${id}`);
    }
    const bytes = await readBody(res, EDGE_MAX_SHARD, exact);
    if (await shardId(bytes) !== id) {
      this.#log?.("a seed served a shard that does not match its id", { seed, id });
      throw new Error(`${seed} served a shard that does not match ${id}`);
    }
    this.fetched++;
    // Our own copy: callers are handed views of it or copies, never a buffer they reuse.
    await Promise.all(
      [this.#cache, this.#shared].map((c) =>
        c?.setItemRaw(`shard:${id}`, bytes).catch((error) =>
          this.#log?.("could not cache a shard", { id, error })
        )
      ),
    );
    return bytes;
  }
}

/** Cached bytes as a Uint8Array (drivers hand back either form), or undefined. */
function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return undefined;
}

/** No placement hints at the edge: every read asks the seeds in its own random order. */
const NO_HINTS: GetFileOptions["locator"] = {
  suppliersFor: () => [],
  record: () => {},
  forget: () => {},
  save: () => Promise.resolve(),
};

/** Where a file's (or a stored copy's) bytes are: the index's storage forms. */
type Form = IndexCopy;

/** Options of {@linkcode EdgeSiteSource}. */
export interface EdgeSiteSourceOptions {
  seeds: readonly string[];
  records: HttpRecordSource;
  shards: HttpShards;
  /** Shard fetches in flight per read (default 8). */
  fetchesPerRead?: number;
  /** Bytes of small files and packs kept decrypted in memory (default 16 MiB). */
  memoryBytes?: number;
}

interface Resolved {
  owner: string;
  sig: Uint8Array;
  index: SiteIndex;
}

/** Sites for the edge gateway: HTTP only. */
export class EdgeSiteSource implements SiteSource {
  readonly #seeds: readonly string[];
  readonly #records: HttpRecordSource;
  readonly #shards: HttpShards;
  readonly #perRead: number;
  readonly #budget: number;
  readonly #sites = new Map<string, Site>();
  readonly #inner = new WeakMap<Site, Resolved>();
  readonly #pending = new Map<string, Promise<Site | undefined>>();
  readonly #hot = new Map<string, Uint8Array>();
  #hotBytes = 0;

  constructor(opts: EdgeSiteSourceOptions) {
    this.#seeds = opts.seeds;
    this.#records = opts.records;
    this.#shards = opts.shards;
    this.#perRead = opts.fetchesPerRead ?? 8;
    this.#budget = opts.memoryBytes ?? 16 << 20;
  }

  async site(address: string): Promise<Site | undefined> {
    if (!SITE_ADDRESS_RE.test(address)) return undefined;
    const r = await this.#records.resolve("site", address);
    if (!r) return undefined;
    const known = this.#sites.get(address);
    if (known && equals(this.#inner.get(known)!.sig, r.record.sig)) return known;
    // One index read per site version, whoever asks; it does not depend on one visitor staying.
    const key = `${address}:${toHex(r.record.sig)}`;
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#load(address, r.record).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    return await p;
  }

  async #load(
    address: string,
    record: { signer: Uint8Array; seq: number; sig: Uint8Array; value: Uint8Array },
  ): Promise<Site | undefined> {
    const v = decodeSiteRecord(record.value);
    if (v.removed) {
      this.#sites.delete(address);
      return undefined;
    }
    const owner = nodeIdOf(record.signer);
    const bytes = v.index.inline ??
      await whole(getFile(decodeManifest(v.index.manifest!), v.index.key, this.#readOpts(owner)));
    const index = decodeSiteIndex(bytes);
    const files = new Map<string, SiteFile>();
    for (const [path, e] of index.files) {
      const { br, gzip } = e;
      files.set(path, {
        path,
        size: e.size,
        type: e.type,
        modified: e.mtime,
        hash: toHex(e.hash),
        ...(br || gzip
          ? { encodings: { ...(br ? { br: br.size } : {}), ...(gzip ? { gzip: gzip.size } : {}) } }
          : {}),
      });
    }
    const site: Site = {
      address,
      seq: record.seq,
      published: v.published,
      files,
      ...(index.redirects !== undefined ? { redirects: index.redirects } : {}),
    };
    this.#inner.set(site, { owner, sig: record.sig, index });
    // A newer version only: two loads racing never put an older one back.
    const current = this.#sites.get(address);
    if (!current || current.seq <= site.seq) {
      this.#sites.delete(address);
      this.#sites.set(address, site);
      if (this.#sites.size > MAX_SITES) this.#sites.delete(this.#sites.keys().next().value!);
    }
    return site;
  }

  #readOpts(owner: string, signal?: AbortSignal): GetFileOptions {
    return {
      customer: this.#shards.forRead(this.#perRead),
      locator: NO_HINTS,
      owner,
      // A fresh random order per read spreads visitors over the seeds.
      fallback: shuffle(this.#seeds),
      ...(signal ? { signal } : {}),
    };
  }

  async open(
    site: Site,
    file: SiteFile,
    opts: {
      range?: { start: number; end: number };
      encoding?: "br" | "gzip";
      signal?: AbortSignal;
    } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const inner = this.#inner.get(site);
    const e = inner?.index.files.get(file.path);
    if (!inner || !e) throw new RangeError(`No file ${file.path} in this site`);
    let form: Form = e;
    if (opts.encoding) {
      // A stored compressed copy, always whole (ranges are served from the plaintext).
      const copy = e[opts.encoding];
      if (!copy) throw new RangeError(`No ${opts.encoding} copy of ${file.path} is stored`);
      form = copy;
    }
    const start = opts.encoding ? 0 : opts.range?.start ?? 0;
    const end = Math.min(opts.encoding ? form.size : opts.range?.end ?? form.size, form.size);
    if (form.inline) return once(form.inline.subarray(start, end));
    if (form.pack || form.size <= HOT_FILE) {
      return once((await this.#small(inner.owner, form, opts.signal)).subarray(start, end));
    }
    return getFile(decodeManifest(form.manifest!), form.key, {
      ...this.#readOpts(inner.owner, opts.signal),
      range: { start, end },
    });
  }

  cached(site: Site, file: SiteFile, encoding?: "br" | "gzip"): Uint8Array | undefined {
    const e = this.#inner.get(site)?.index.files.get(file.path);
    const form = encoding ? e?.[encoding] : e;
    if (!form) return undefined;
    return form.inline ??
      (form.pack || form.size <= HOT_FILE ? this.#hot.get(toHex(form.key)) : undefined);
  }

  /** A small file's (or packed member's) bytes, from memory when read lately. */
  async #small(owner: string, f: Form, signal?: AbortSignal): Promise<Uint8Array> {
    const id = toHex(f.key);
    const hit = this.#hotGet(id);
    if (hit) return hit;
    let bytes: Uint8Array;
    if (f.pack) {
      const packId = `pack:${toHex(f.pack.key)}`;
      let pack = this.#hotGet(packId);
      if (!pack) {
        pack = await whole(
          getFile(decodeManifest(f.pack.manifest), f.pack.key, this.#readOpts(owner, signal)),
        );
        this.#hotSet(packId, pack);
      }
      bytes = await openMember(f.key, pack.subarray(f.pack.offset, f.pack.offset + f.pack.length));
    } else {
      bytes = await whole(
        getFile(decodeManifest(f.manifest!), f.key, this.#readOpts(owner, signal)),
      );
    }
    this.#hotSet(id, bytes);
    return bytes;
  }

  #hotGet(id: string): Uint8Array | undefined {
    const hit = this.#hot.get(id);
    if (hit) {
      this.#hot.delete(id);
      this.#hot.set(id, hit);
    }
    return hit;
  }

  #hotSet(id: string, bytes: Uint8Array): void {
    if (bytes.length > this.#budget / 4 || this.#hot.has(id)) return;
    this.#hot.set(id, bytes);
    this.#hotBytes += bytes.length;
    while (this.#hotBytes > this.#budget) {
      const [k, v] = this.#hot.entries().next().value!;
      this.#hot.delete(k);
      this.#hotBytes -= v.length;
    }
  }
}

async function whole(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return parts.length === 1 ? parts[0]! : concat(...parts);
}

function once(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}
