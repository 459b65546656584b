/**
 * The repair queue: shards a put could not place. Entries keep the block's shard ids and
 * length, not bytes, so the queue stays small on disk; a retry fetches any k shards of the block,
 * rebuilds the missing ones (they are byte-identical: their ids were fixed at upload), checks
 * them against their ids and places them on a supplier that does not hold that block yet.
 */
import { shardId } from "../crypto/merkle.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { createCodec } from "../erasure/mod.ts";
import type { NodeState } from "../node/state.ts";
import type { Customer } from "../suppliers/customer.ts";
import type { ShardLocator } from "./locator.ts";

const FILE = "repair-queue.cbor";
/** Blocks rebuilt at once. */
const REPAIR_PARALLEL = 4;

/** One block with shards still to place. */
export interface RepairEntry {
  k: number;
  m: number;
  /** The block's k + m shard ids. */
  shards: string[];
  /** Indexes of the shards not yet placed. */
  missing: number[];
}

/** Persisted queue of under-replicated blocks. */
export class RepairQueue {
  #entries = new Map<string, RepairEntry>();
  #state?: NodeState;

  constructor(state?: NodeState) {
    this.#state = state;
  }

  /** Number of shards waiting. */
  get pendingShards(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.missing.length;
    return n;
  }

  /** Loads the saved queue (format version 1). */
  async load(): Promise<void> {
    const bytes = await this.#state?.read(FILE);
    if (!bytes) return;
    const f = decode(bytes, { what: "repair queue", maxBytes: 64 << 20 }) as {
      v?: number;
      entries?: RepairEntry[];
    };
    if (f?.v === 1) { for (const e of f.entries ?? []) this.#entries.set(e.shards[0]!, e); }
  }

  /** Adds missing shards of a block. */
  async add(entry: RepairEntry): Promise<void> {
    await this.addAll([entry]);
  }

  /** Adds missing shards of several blocks, saving once. */
  async addAll(entries: readonly RepairEntry[]): Promise<void> {
    for (const entry of entries) {
      const prev = this.#entries.get(entry.shards[0]!);
      const missing = [...new Set([...(prev?.missing ?? []), ...entry.missing])].sort((a, b) =>
        a - b
      );
      this.#entries.set(entry.shards[0]!, { ...entry, missing });
    }
    if (entries.length) await this.#save();
  }

  /** The blocks waiting, keyed by their first shard id. */
  entries(): [string, RepairEntry][] {
    return [...this.#entries].map(([k, e]) => [k, { ...e, missing: [...e.missing] }]);
  }

  /**
   * Keeps only the shards `stillMissing` says are missing (a scrubber drops those it has since
   * seen listed by a supplier: rebuilt by another scrubber, or a supplier back from a failure).
   */
  async retainMissing(stillMissing: (shardId: string) => boolean): Promise<void> {
    for (const [key, e] of [...this.#entries]) {
      const missing = e.missing.filter((j) => stillMissing(e.shards[j]!));
      if (missing.length) this.#entries.set(key, { ...e, missing });
      else this.#entries.delete(key);
    }
    await this.#save();
  }

  /** Forgets blocks whose shards are all gone from the catalog (removed or pruned files). */
  async retain(live: (firstShard: string) => boolean): Promise<void> {
    for (const k of [...this.#entries.keys()]) if (!live(k)) this.#entries.delete(k);
    await this.#save();
  }

  /**
   * Tries to place every waiting shard; returns how many were placed. A block whose shards
   * cannot be fetched or placed now stays queued for the next round.
   */
  async retry(
    opts: {
      customer: Customer;
      locator: ShardLocator;
      suppliers: string[];
      signal?: AbortSignal;
      /** Only the blocks this accepts (by first shard id) are tried now. */
      only?: (key: string, entry: RepairEntry) => boolean;
      /** Told of every shard placed, with its size. */
      onPlaced?: (id: string, supplier: string, bytes: number) => void;
      /**
       * Place only on suppliers holding nothing of the block (otherwise one loss could cost two
       * shards); a block with no such supplier waits. The owner's queue may double up to place a
       * put's pending shards at all; a scrubber, which can hire, waits for a fresh supplier.
       */
      spread?: boolean;
    },
  ): Promise<number> {
    let placed = 0;
    const queue = [...this.#entries].filter(([k, e]) => opts.only?.(k, e) ?? true);
    // A few blocks at once: each waits on k fetches and a put, not on the CPU.
    const worker = async () => {
      while (queue.length && !opts.signal?.aborted) {
        const [key, e] = queue.shift()!;
        try {
          // Not `placed += await …`: that reads `placed` before the wait, losing other workers' counts.
          const n = await this.#repairBlock(e, opts);
          placed += n;
        } catch {
          continue;
        }
        if (e.missing.length === 0) this.#entries.delete(key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REPAIR_PARALLEL, queue.length) }, worker));
    await this.#save();
    await opts.locator.save();
    return placed;
  }

  async #repairBlock(
    e: RepairEntry,
    o: {
      customer: Customer;
      locator: ShardLocator;
      suppliers: string[];
      onPlaced?: (id: string, supplier: string, bytes: number) => void;
      spread?: boolean;
    },
  ) {
    const fresh = o.suppliers.filter((s) =>
      !e.shards.some((id) => o.locator.suppliersFor(id).includes(s))
    );
    if (o.spread && fresh.length < e.missing.length) {
      throw new Error(`${fresh.length} suppliers hold nothing of this block; waiting for more`);
    }
    const n = e.k + e.m;
    const got: (Uint8Array | null)[] = new Array(n).fill(null);
    const fetchShard = async (j: number) => {
      for (const s of o.locator.suppliersFor(e.shards[j]!)) {
        try {
          got[j] = await o.customer.getShard(s, e.shards[j]!);
          return true;
        } catch { /* try the next holder */ }
      }
      return false;
    };
    // The first k present shards in parallel (data shards first: decoding is then cheapest);
    // the others only to make up for any that fail.
    const order = [...Array(n).keys()].filter((j) => !e.missing.includes(j));
    let have = (await Promise.all(order.slice(0, e.k).map(fetchShard))).filter(Boolean).length;
    for (const j of order.slice(e.k)) {
      if (have >= e.k) break;
      if (await fetchShard(j)) have++;
    }
    if (have < e.k) throw new Error(`only ${have} of ${e.k} shards reachable`);
    const all = createCodec({ k: e.k, m: e.m }).repair(got);
    const holders = new Set(e.shards.flatMap((id) => o.locator.suppliersFor(id)));
    let placed = 0;
    for (const j of [...e.missing]) {
      const bytes = all[j]!;
      if (await shardId(bytes) !== e.shards[j]) {
        throw new Error(`rebuilt shard ${j} does not match its id`);
      }
      // Prefer a supplier that holds nothing of this block, so losing one supplier costs one shard.
      const candidates = [
        ...o.suppliers.filter((s) => !holders.has(s)),
        ...(o.spread ? [] : o.suppliers),
      ];
      for (const s of candidates) {
        try {
          await o.customer.putShard(s, e.shards[j]!, bytes);
          o.locator.record(e.shards[j]!, s);
          o.onPlaced?.(e.shards[j]!, s, bytes.length);
          holders.add(s);
          e.missing = e.missing.filter((x) => x !== j);
          placed++;
          break;
        } catch { /* try another supplier */ }
      }
    }
    return placed;
  }

  async #save(): Promise<void> {
    await this.#state?.write(FILE, encode({ v: 1, entries: [...this.#entries.values()] }));
  }
}
