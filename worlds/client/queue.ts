// This module is browser compatible.
/**
 * A bounded priority queue (binary min-heap: lower priority values come out first). Chunk
 * priorities depend on where the player is and where they are heading, so the streamer
 * re-scores every queued item when the player crosses into another chunk ({@linkcode
 * PriorityQueue.rescore}) instead of keeping stale priorities. Bounded so a player flying fast
 * cannot grow it without limit: when full, a better item pushes out the worst one.
 * @module
 */

interface Entry<T> {
  item: T;
  priority: number;
}

/** A min-heap of items with numeric priorities, holding at most `capacity` items. */
export class PriorityQueue<T> {
  #heap: Entry<T>[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`A queue capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** Items queued. */
  get size(): number {
    return this.#heap.length;
  }

  /** The most items it holds. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Adds `item`. When full, the worst item (highest priority value) is pushed out and returned if
   * `item` beats it; otherwise `item` itself is returned (not queued). Returns undefined when
   * nothing was dropped.
   */
  push(item: T, priority: number): T | undefined {
    if (Number.isNaN(priority)) throw new RangeError("A queue priority must not be NaN");
    if (this.#heap.length >= this.#capacity) {
      let worst = 0;
      for (let i = 1; i < this.#heap.length; i++) {
        if (this.#heap[i]!.priority > this.#heap[worst]!.priority) worst = i;
      }
      const w = this.#heap[worst]!;
      if (w.priority <= priority) return item;
      this.#heap[worst] = { item, priority };
      this.#heapify();
      return w.item;
    }
    this.#heap.push({ item, priority });
    this.#up(this.#heap.length - 1);
    return undefined;
  }

  /** The item with the lowest priority value, removed. */
  pop(): T | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.#down(0);
    }
    return top.item;
  }

  /** The item that {@linkcode pop} would return, left in place. */
  peek(): T | undefined {
    return this.#heap[0]?.item;
  }

  /** Removes every item for which `drop` is true; returns them. */
  removeWhere(drop: (item: T) => boolean): T[] {
    const out: T[] = [];
    this.#heap = this.#heap.filter((e) => drop(e.item) ? (out.push(e.item), false) : true);
    this.#heapify();
    return out;
  }

  /** Gives every item a new priority and restores heap order (O(n)). */
  rescore(priority: (item: T) => number): void {
    for (const e of this.#heap) e.priority = priority(e.item);
    this.#heapify();
  }

  /** Items in no particular order. */
  *items(): IterableIterator<T> {
    for (const e of this.#heap) yield e.item;
  }

  #heapify(): void {
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.priority <= h[i]!.priority) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.priority < h[m]!.priority) m = l;
      if (r < h.length && h[r]!.priority < h[m]!.priority) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
