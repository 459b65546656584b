/**
 * A node's {@linkcode ShardSource} for `GET /shards/<hash>?owner=…` on its public gateway: the
 * shard from this node's own store when it supplies the owner and holds it, otherwise from the
 * owner's suppliers over libp2p (those announcing they serve the owner, found through the DHT
 * and remembered for a minute, asked three at a time in a random order), each answer checked
 * against the hash by the customer.
 *
 * Fetches for others are bounded: at most `maxInFlight` (8) at once, a further one is refused at
 * once (the gateway answers 503 with Retry-After) rather than queued, and each has 15 s in all.
 * Concurrent requests for one shard share one fetch. The bytes go out as they arrived: no copy.
 */
import { SHARD_HASH_RE, ShardsBusyError, type ShardSource } from "../../gateway/shards.ts";
import { HttpError } from "../../gateway/errors.ts";
import { shardId } from "../crypto/merkle.ts";
import { Customer, MAX_SHARD, type Supplier } from "../suppliers/mod.ts";
import type { MoteNode } from "./node.ts";
import { memoryState } from "./state.ts";
import { shuffle } from "../net/shuffle.ts";

/** How long the list of an owner's suppliers is used (ms). */
const SUPPLIERS_TTL = 60_000;
/** Owners whose supplier lists are remembered at most. */
const MAX_OWNERS = 256;
/** Suppliers asked at once for a shard this node does not hold. */
const WAVE = 3;

/** Options of {@linkcode NodeShardSource}. */
export interface NodeShardSourceOptions {
  /** This node's supplier, when it supplies storage: shards it holds are served from its store. */
  supplier?: Supplier | null;
  /** Fetches from other suppliers in flight at most (default 8). */
  maxInFlight?: number;
  /** Time for one fetch from other suppliers, finding them included (ms, default 15000). */
  timeout?: number;
}

/** Shards for the public gateway, through a node. */
export class NodeShardSource implements ShardSource {
  readonly #node: MoteNode;
  readonly #supplier: Supplier | null;
  readonly #max: number;
  readonly #timeout: number;
  readonly #customer: Customer;
  readonly #serving = new Map<string, { at: number; ids: Promise<string[]> }>();
  readonly #pending = new Map<string, Promise<Uint8Array | undefined>>();
  #inFlight = 0;

  constructor(node: MoteNode, opts: NodeShardSourceOptions = {}) {
    this.#node = node;
    this.#supplier = opts.supplier ?? null;
    this.#max = opts.maxInFlight ?? 8;
    this.#timeout = opts.timeout ?? 15_000;
    this.#customer = new Customer(node, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: this.#timeout,
    });
  }

  /** Fetches from other suppliers now in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  async shard(owner: string, hash: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    if (!SHARD_HASH_RE.test(owner) || !SHARD_HASH_RE.test(hash)) {
      throw new HttpError(400, "A shard hash and its owner's node id are 52 base32 characters");
    }
    if (this.#supplier) {
      try {
        // The store checks the bytes against the id on every read.
        const held = await this.#supplier.store.get(owner, hash);
        if (held) return held;
      } catch (e) {
        // A corrupt copy here: the supplier's own scrub deals with it; fetch a good one instead.
        this.#node.log.warn("a held shard failed its check; asking other suppliers", {
          owner,
          hash,
          error: e,
        });
      }
    }
    const key = `${owner}:${hash}`;
    let p = this.#pending.get(key);
    if (!p) {
      if (this.#inFlight >= this.#max) throw new ShardsBusyError();
      this.#inFlight++;
      p = this.#fetch(owner, hash).finally(() => {
        this.#inFlight--;
        this.#pending.delete(key);
      });
      this.#pending.set(key, p);
    }
    // A client that goes away stops waiting; the shared fetch ends on its own deadline.
    return await (signal ? abortable(p, signal) : p);
  }

  async #fetch(owner: string, hash: string): Promise<Uint8Array | undefined> {
    const deadline = AbortSignal.timeout(this.#timeout);
    const suppliers = shuffle(await this.#servingOf(owner, deadline));
    // A shard is usually on one supplier of the owner's several: asking a few at once finds it
    // in about one round trip rather than one per supplier asked.
    for (let i = 0; i < suppliers.length && !deadline.aborted; i += WAVE) {
      const losers = new AbortController();
      const signal = AbortSignal.any([deadline, losers.signal]);
      const got = await firstOf(
        suppliers.slice(i, i + WAVE).map((s) => this.#customer.getShard(s, hash, owner, signal)),
      );
      losers.abort();
      // Not there, refused, silent or wrong bytes everywhere in this wave: the next one.
      if (got) return got;
    }
    if (deadline.aborted) {
      throw new HttpError(504, `Fetching shard ${hash} took longer than ${this.#timeout} ms`);
    }
    return undefined;
  }

  /** The suppliers announcing they serve `owner` (remembered for a minute). */
  #servingOf(owner: string, signal: AbortSignal): Promise<string[]> {
    const now = Date.now();
    const hit = this.#serving.get(owner);
    if (hit && now - hit.at < SUPPLIERS_TTL) return abortable(hit.ids, signal);
    const ids = this.#customer.findServing(owner, { timeout: Math.min(10_000, this.#timeout) })
      .then((found) => found.map((f) => f.id).filter((id) => id !== this.#node.id));
    this.#serving.delete(owner);
    this.#serving.set(owner, { at: now, ids });
    // An empty answer (the DHT not ready yet, an unknown owner) is not remembered.
    ids.then((found) => found.length === 0 && this.#serving.delete(owner), () => {
      this.#serving.delete(owner);
    });
    if (this.#serving.size > MAX_OWNERS) this.#serving.delete(this.#serving.keys().next().value!);
    return abortable(ids, signal);
  }
}

/**
 * The first of `ps` to succeed, or undefined when all fail; checked against its id like any
 * answer (the customer verifies it).
 */
function firstOf<T>(ps: Promise<T>[]): Promise<T | undefined> {
  return new Promise((resolve) => {
    let failed = 0;
    for (const p of ps) {
      p.then(resolve, () => {
        if (++failed === ps.length) resolve(undefined);
      });
    }
    if (ps.length === 0) resolve(undefined);
  });
}

/** `p`, or a rejection once `signal` aborts (p goes on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
