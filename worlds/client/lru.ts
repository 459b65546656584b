// This module is browser compatible.
/**
 * A least-recently-used cache bounded by bytes rather than entries: decoded chunks differ in size
 * (a chunk of sea meshes to a few KiB, a forest with 100 trees to several times that), so an entry
 * count would bound memory badly. Map keeps insertion order, so re-inserting on use makes the first
 * key the least recently used.
 * @module
 */

/** A byte-budgeted LRU. `onEvict` hears about every entry pushed out by the budget. */
export class ByteLru<K, V> {
  readonly #map = new Map<K, { value: V; bytes: number }>();
  readonly #budget: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;
  #bytes = 0;

  constructor(budgetBytes: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isFinite(budgetBytes) || budgetBytes < 0) {
      throw new RangeError(
        `An LRU budget must be a non-negative number of bytes, got ${budgetBytes}`,
      );
    }
    this.#budget = budgetBytes;
    this.#onEvict = onEvict;
  }

  /** Bytes held now; never above the budget after a call returns. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The budget in bytes. */
  get budget(): number {
    return this.#budget;
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** Whether `key` is held (does not count as a use). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** The value of `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** Marks `key` used without reading it. */
  touch(key: K): void {
    this.get(key);
  }

  /**
   * Stores `value` of `bytes`, then evicts least recently used entries until within budget. An
   * entry larger than the whole budget is not kept (returns false).
   */
  set(key: K, value: V, bytes: number): boolean {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(`An LRU entry size must be a non-negative number, got ${bytes}`);
    }
    this.delete(key);
    if (bytes > this.#budget) return false;
    this.#map.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#map) {
      if (this.#bytes <= this.#budget) break;
      this.#map.delete(k);
      this.#bytes -= e.bytes;
      this.#onEvict?.(k, e.value);
    }
    return true;
  }

  /** Removes `key` (no eviction callback: the caller chose to). */
  delete(key: K): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#map.delete(key);
    this.#bytes -= e.bytes;
    return true;
  }
}
