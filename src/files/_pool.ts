// This module is browser compatible.
/**
 * Reuse of the data path's large buffers within one put or get. A buffer taken per block and
 * dropped is garbage that V8 collects late: the buffers of a block in flight live long enough to
 * reach the old generation, whose garbage waits for a full collection, and the buffers WebCrypto
 * and the network hand back are allocated outside V8 and never prompt one (BENCHMARKS.md, "The
 * owner's memory, measured alone"). A few buffers taken and given back instead stay the same few.
 */

/** Free items kept for reuse; `take` makes a new one when none is free. */
export class Pool<T> {
  readonly #make: () => T;
  readonly #max: number;
  readonly #free: T[] = [];

  /** A pool that makes items with `make` and keeps at most `max` free ones. */
  constructor(make: () => T, max: number) {
    this.#make = make;
    this.#max = max;
  }

  /** A free item, or a new one. */
  take(): T {
    return this.#free.pop() ?? this.#make();
  }

  /** Gives an item back; the caller must not use it any more. */
  give(item: T): void {
    if (this.#free.length < this.#max) this.#free.push(item);
  }
}
