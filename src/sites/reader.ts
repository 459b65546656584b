/**
 * Sites as a node's gateway serves them ({@linkcode SiteSource}): the newest `site` record from
 * the DHT (checked against its key, which is the address), the index it points to, and files
 * read from the owner's suppliers, found through the DHT (those announcing they serve the owner),
 * so any node serves any site with the owner offline. Every shard is verified against its id
 * before use; a supplier that serves a tampered shard is passed over for another.
 *
 * Each read asks the suppliers in a fresh random order, so visitors' requests spread over them.
 * Small files (≤ 1 MiB) are kept in memory, least recently used first out, within a byte budget;
 * larger ones stream as their blocks decode.
 */
import type { Site, SiteFile, SiteSource } from "../../gateway/site_source.ts";
import { SITE_ADDRESS_RE } from "../../gateway/site_source.ts";
import { openMember } from "../catalog/pack.ts";
import { shardId } from "../crypto/merkle.ts";
import { concat, toHex } from "../encoding/bytes.ts";
import { decodeManifest, getFile, ShardLocator } from "../files/mod.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { MoteNode } from "../node/node.ts";
import { memoryState } from "../node/state.ts";
import { Customer, MAX_SHARD } from "../suppliers/mod.ts";
import { decodeSiteRecord } from "./record.ts";
import { decodeSiteIndex, type IndexEntry, type SiteIndex } from "./site_index.ts";
import { shuffle } from "../net/shuffle.ts";

/** How long a resolved site is used before its record is looked up again (ms). */
const SITE_TTL = 15_000;
/** How long the list of an owner's suppliers is used (ms). */
const SUPPLIERS_TTL = 60_000;
/** Sites remembered at most. */
const MAX_SITES = 256;
/** Largest file kept in memory. */
const HOT_FILE = 1 << 20;

interface Resolved {
  owner: string;
  index: SiteIndex;
}

/** Options of {@linkcode NodeSiteSource}. */
export interface NodeSiteSourceOptions {
  /** Bytes of small files kept in memory (default 64 MiB). */
  cacheBytes?: number;
}

/** Serves sites from the network through a node. */
export class NodeSiteSource implements SiteSource {
  #node: MoteNode;
  #customer: Customer;
  #locator = new ShardLocator();
  #sites = new Map<string, { at: number; site: Site | undefined }>();
  #inner = new WeakMap<Site, Resolved>();
  #suppliers = new Map<string, { at: number; ids: Promise<string[]> }>();
  #hot = new Map<string, Uint8Array>();
  #hotBytes = 0;
  #budget: number;

  constructor(node: MoteNode, opts: NodeSiteSourceOptions = {}) {
    this.#node = node;
    this.#budget = opts.cacheBytes ?? 64 << 20;
    this.#customer = new Customer(node, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: 15_000,
    });
  }

  async site(address: string, signal?: AbortSignal): Promise<Site | undefined> {
    if (!SITE_ADDRESS_RE.test(address)) return undefined;
    const now = Date.now();
    const cached = this.#sites.get(address);
    if (cached && now - cached.at < SITE_TTL) return cached.site;
    const site = await this.#resolve(address, signal);
    this.#sites.delete(address);
    this.#sites.set(address, { at: now, site });
    if (this.#sites.size > MAX_SITES) this.#sites.delete(this.#sites.keys().next().value!);
    return site;
  }

  async #resolve(address: string, signal?: AbortSignal): Promise<Site | undefined> {
    // The validator checks the record against its key: the address is self-certifying.
    const r = await this.#node.resolve({ ns: "site", hash: address }, { timeout: 10_000, signal });
    if (!r) return undefined;
    const v = decodeSiteRecord(r.record.value);
    if (v.removed) return undefined;
    const owner = nodeIdOf(r.record.signer);
    const bytes = v.index.inline ??
      await new Response(
        getFile(
          decodeManifest(v.index.manifest!),
          v.index.key,
          await this.#readOpts(owner, signal),
        ),
      ).bytes();
    const index = decodeSiteIndex(bytes);
    const files = new Map<string, SiteFile>();
    for (const [path, e] of index.files) {
      const encodings = {
        ...(e.br ? { br: e.br.size } : {}),
        ...(e.gzip ? { gzip: e.gzip.size } : {}),
      };
      files.set(path, {
        path,
        size: e.size,
        type: e.type,
        modified: e.mtime,
        hash: toHex(e.hash),
        ...(e.br || e.gzip ? { encodings } : {}),
      });
    }
    const site: Site = {
      address,
      seq: r.record.seq,
      published: v.published,
      files,
      ...(index.redirects !== undefined ? { redirects: index.redirects } : {}),
    };
    this.#inner.set(site, { owner, index });
    return site;
  }

  /** The suppliers serving `owner`, found in the DHT (remembered for a minute). */
  #suppliersOf(owner: string): Promise<string[]> {
    const now = Date.now();
    const c = this.#suppliers.get(owner);
    if (c && now - c.at < SUPPLIERS_TTL) return c.ids;
    const ids = this.#customer.findServing(owner, { timeout: 10_000 }).then((f) =>
      f.map((s) => s.id)
    );
    this.#suppliers.set(owner, { at: now, ids });
    ids.catch(() => this.#suppliers.delete(owner));
    if (this.#suppliers.size > MAX_SITES) {
      this.#suppliers.delete(this.#suppliers.keys().next().value!);
    }
    return ids;
  }

  async #readOpts(owner: string, signal?: AbortSignal) {
    // A fresh random order per read spreads visitors over the suppliers.
    const fallback = shuffle(await this.#suppliersOf(owner));
    if (fallback.length === 0) throw new Error("No supplier of this site could be found");
    return { customer: this.#customer, locator: this.#locator, owner, fallback, signal };
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
    if (opts.encoding) {
      // A stored compressed copy, always whole (ranges are served from the plaintext).
      const copy = e[opts.encoding];
      if (!copy) throw new RangeError(`No ${opts.encoding} copy of ${file.path} is stored`);
      if (copy.size <= HOT_FILE) return once(await this.#small(inner.owner, copy, opts.signal));
      return getFile(decodeManifest(copy.manifest!), copy.key, {
        ...await this.#readOpts(inner.owner, opts.signal),
      });
    }
    const start = opts.range?.start ?? 0, end = Math.min(opts.range?.end ?? e.size, e.size);
    if (e.size <= HOT_FILE) {
      const bytes = await this.#small(inner.owner, e, opts.signal);
      return once(bytes.subarray(start, end));
    }
    return getFile(decodeManifest(e.manifest!), e.key, {
      ...await this.#readOpts(inner.owner, opts.signal),
      range: { start, end },
    });
  }

  cached(site: Site, file: SiteFile, encoding?: "br" | "gzip"): Uint8Array | undefined {
    const e = this.#inner.get(site)?.index.files.get(file.path);
    const form = encoding ? e?.[encoding] : e;
    if (!form) return undefined;
    return form.inline ?? (form.size <= HOT_FILE ? this.#hot.get(toHex(form.key)) : undefined);
  }

  /** A small file's bytes, from memory when read lately. */
  async #small(
    owner: string,
    e: Pick<IndexEntry, "key" | "manifest" | "inline" | "pack">,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    if (e.inline) return e.inline;
    const id = toHex(e.key);
    const hit = this.#hot.get(id);
    if (hit) {
      this.#hot.delete(id);
      this.#hot.set(id, hit);
      return hit;
    }
    let bytes: Uint8Array;
    if (e.pack) {
      const pack = await this.#whole(owner, e.pack.manifest, e.pack.key, signal);
      bytes = await openMember(e.key, pack.subarray(e.pack.offset, e.pack.offset + e.pack.length));
    } else bytes = await this.#whole(owner, e.manifest!, e.key, signal);
    this.#hot.set(id, bytes);
    this.#hotBytes += bytes.length;
    while (this.#hotBytes > this.#budget && this.#hot.size > 1) {
      const [k, v] = this.#hot.entries().next().value!;
      this.#hot.delete(k);
      this.#hotBytes -= v.length;
    }
    return bytes;
  }

  async #whole(owner: string, manifest: Uint8Array, key: Uint8Array, signal?: AbortSignal) {
    const parts: Uint8Array[] = [];
    for await (
      const p of getFile(decodeManifest(manifest), key, await this.#readOpts(owner, signal))
    ) parts.push(p);
    return parts.length === 1 ? parts[0]! : concat(...parts);
  }
}

function once(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}
