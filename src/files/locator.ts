/**
 * Where the owner's node believes each shard lives. It is only a hint (nobody signs placement):
 * readers verify every shard against its id, and when the hint is missing or wrong they ask the
 * suppliers they know (`has`). Persisted in the node state so a restart keeps the hints.
 */
import { decode, encode } from "../encoding/cbor.ts";
import type { NodeState } from "../node/state.ts";

const FILE = "placement.cbor";

/** Shard id → suppliers believed to hold it. */
export class ShardLocator {
  #map = new Map<string, string[]>();
  #state?: NodeState;
  #dirty = false;

  constructor(state?: NodeState) {
    this.#state = state;
  }

  /** Loads persisted hints (format version 1). */
  async load(): Promise<void> {
    const bytes = await this.#state?.read(FILE);
    if (!bytes) return;
    const f = decode(bytes, { what: "placement", maxBytes: 256 << 20 }) as {
      v?: number;
      rows?: [string, string[]][];
    };
    if (f?.v === 1) { for (const [id, sups] of f.rows ?? []) this.#map.set(id, sups); }
  }

  /** Suppliers believed to hold `id`. */
  suppliersFor(id: string): string[] {
    return this.#map.get(id) ?? [];
  }

  /** Shards `supplier` is believed to hold (a scan of every hint: for audits, not hot paths). */
  heldBy(supplier: string): string[] {
    const ids: string[] = [];
    for (const [id, sups] of this.#map) if (sups.includes(supplier)) ids.push(id);
    return ids;
  }

  /** Every supplier named by some hint. */
  suppliers(): string[] {
    const all = new Set<string>();
    for (const sups of this.#map.values()) for (const s of sups) all.add(s);
    return [...all];
  }

  /** Notes that `supplier` holds `id`. */
  record(id: string, supplier: string): void {
    const list = this.#map.get(id) ?? [];
    if (!list.includes(supplier)) {
      this.#map.set(id, [...list, supplier]);
      this.#dirty = true;
    }
  }

  /** Notes that `supplier` no longer holds `id`. */
  forget(id: string, supplier: string): void {
    const list = this.#map.get(id);
    if (!list?.includes(supplier)) return;
    const rest = list.filter((s) => s !== supplier);
    if (rest.length) this.#map.set(id, rest);
    else this.#map.delete(id);
    this.#dirty = true;
  }

  /** Saves the hints if they changed. */
  async save(): Promise<void> {
    if (!this.#dirty || !this.#state) return;
    this.#dirty = false;
    await this.#state.write(FILE, encode({ v: 1, rows: [...this.#map] }));
  }
}
