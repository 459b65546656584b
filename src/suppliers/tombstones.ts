/**
 * The shards each customer deleted lately, as a supplier saw the signed deletes: a customer's
 * scrubbers work from a keep list that can be older than a delete (the owner removes a file, or
 * replaces a folder object, before its next list goes out), and must neither rebuild such shards
 * nor blame the supplier for not holding them. Kept for {@linkcode TOMBSTONE_MS}, at most
 * {@linkcode MAX_TOMBSTONES} in all (the oldest go first), in `deleted-shards.cbor`.
 */
import { decode, encode } from "../encoding/cbor.ts";
import type { NodeState } from "../node/state.ts";

const FILE = "deleted-shards.cbor";
/** How long a delete is remembered (ms): longer than an owner waits to send its next list. */
export const TOMBSTONE_MS = 7 * 24 * 3600_000;
/** Most deletes remembered across customers. */
export const MAX_TOMBSTONES = 100_000;

/** Recent deletes per customer. */
export class Tombstones {
  #state: NodeState;
  /** customer → shard id → time of the delete. */
  #rows?: Map<string, Map<string, number>>;

  constructor(state: NodeState) {
    this.#state = state;
  }

  async #load(): Promise<Map<string, Map<string, number>>> {
    if (this.#rows) return this.#rows;
    const rows = new Map<string, Map<string, number>>();
    const bytes = await this.#state.read(FILE);
    if (bytes) {
      const f = decode(bytes, { what: "tombstones", maxBytes: 32 << 20 }) as {
        v?: number;
        rows?: [string, [string, number][]][];
      };
      if (f?.v === 1) { for (const [c, list] of f.rows ?? []) rows.set(c, new Map(list)); }
    }
    return this.#rows = rows;
  }

  /** Notes that `customer` deleted `ids` at `now`. */
  async add(customer: string, ids: readonly string[], now: number = Date.now()): Promise<void> {
    const rows = await this.#load();
    let row = rows.get(customer);
    if (!row) rows.set(customer, row = new Map());
    for (const id of ids) row.set(id, now);
    this.#trim(now);
    await this.#state.write(FILE, encode({ v: 1, rows: [...rows].map(([c, r]) => [c, [...r]]) }));
  }

  /** Ids `customer` deleted within the last {@linkcode TOMBSTONE_MS}. */
  async of(customer: string, now: number = Date.now()): Promise<string[]> {
    const row = (await this.#load()).get(customer);
    if (!row) return [];
    return [...row].filter(([, at]) => now - at < TOMBSTONE_MS).map(([id]) => id);
  }

  #trim(now: number) {
    const rows = this.#rows!;
    let total = 0;
    for (const [c, row] of rows) {
      for (const [id, at] of row) if (now - at >= TOMBSTONE_MS) row.delete(id);
      if (row.size === 0) rows.delete(c);
      total += row.size;
    }
    if (total <= MAX_TOMBSTONES) return;
    const all = [...rows].flatMap(([c, row]) => [...row].map(([id, at]) => [c, id, at] as const));
    all.sort((a, b) => a[2] - b[2]);
    for (const [c, id] of all.slice(0, total - MAX_TOMBSTONES)) rows.get(c)?.delete(id);
  }
}
