// This module is browser compatible.
/**
 * Remembers, per record key, the best record version this node has accepted, so a republished
 * stale record can never roll anything back. Bounded: past `maxEntries` the least recently
 * touched key is forgotten (a forgotten key still only accepts validly signed records).
 */
import { decode, encode } from "../encoding/cbor.ts";
import { compareRecords, isConflict, type Ordered } from "./order.ts";

/** The outcome of offering a record version to the memory. */
export type SeqVerdict = "new" | "same" | "newer" | "conflict-won" | "stale" | "conflict-lost";

/** Per-key memory of the highest accepted record version. */
export class SeqMemory {
  #entries = new Map<string, Ordered>();
  readonly maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** The best version seen for `key`, if any. */
  get(key: string): Ordered | undefined {
    return this.#entries.get(key);
  }

  /** Judges `r` against the best version seen, without remembering it. */
  judge(key: string, r: Ordered): SeqVerdict {
    const best = this.#entries.get(key);
    if (!best) return "new";
    const c = compareRecords(r, best);
    if (c === 0) return "same";
    if (c > 0) return isConflict(r, best) ? "conflict-won" : "newer";
    return isConflict(r, best) ? "conflict-lost" : "stale";
  }

  /** Remembers `r` if it is at least as good as the best seen; returns the verdict. */
  offer(key: string, r: Ordered): SeqVerdict {
    const verdict = this.judge(key, r);
    if (verdict === "stale" || verdict === "conflict-lost") return verdict;
    this.#entries.delete(key);
    this.#entries.set(key, { seq: r.seq, ts: r.ts, sig: r.sig });
    while (this.#entries.size > this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return verdict;
  }

  /** Serialises the memory (for persisting across restarts). */
  export(): Uint8Array {
    // Format version 1: { v: 1, rows: [[key, seq, ts, sig], …] }.
    return encode({ v: 1, rows: [...this.#entries].map(([k, r]) => [k, r.seq, r.ts, r.sig]) });
  }

  /** Loads a serialised memory, keeping the better of stored and current entries. */
  import(bytes: Uint8Array): void {
    const file = decode(bytes, { what: "seq memory", maxBytes: 64 << 20 }) as {
      v?: unknown;
      rows?: unknown;
    };
    if (file?.v !== 1 || !Array.isArray(file.rows)) {
      throw new TypeError(`Invalid seq memory: expected format version 1, got ${String(file?.v)}`);
    }
    const rows = file.rows;
    for (const row of rows) {
      if (
        !Array.isArray(row) || typeof row[0] !== "string" || typeof row[1] !== "number" ||
        typeof row[2] !== "number" || !(row[3] instanceof Uint8Array)
      ) continue;
      this.offer(row[0], { seq: row[1], ts: row[2], sig: row[3] });
    }
  }
}
