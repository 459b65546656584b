/**
 * A typed event bus for live updates (peers coming and going, records published, and later
 * progress of uploads). Every subscriber has a bounded queue: a subscriber that does not keep up
 * loses its oldest events and is told how many it missed, so a slow browser tab can never grow
 * the node's memory.
 */

/** One event. */
export interface NodeEvent {
  /** Event type, such as `peer:connect`. */
  type: string;
  /** When it happened (ms since the epoch). */
  at: number;
  /** JSON-serialisable details. */
  data: Record<string, unknown>;
}

/** A subscription: an async iterable of events, closed by `close()` or the signal. */
export interface Subscription extends AsyncIterable<NodeEvent> {
  close(): void;
  /** Events dropped because the queue was full. */
  readonly dropped: number;
}

/** Publish/subscribe for node events. */
export class EventBus {
  #subs = new Set<{ push(e: NodeEvent): void; end(): void }>();
  readonly maxSubscribers: number;

  constructor(maxSubscribers = 64) {
    this.maxSubscribers = maxSubscribers;
  }

  /** Number of live subscriptions. */
  get subscribers(): number {
    return this.#subs.size;
  }

  /** Sends an event to every subscriber. */
  emit(type: string, data: Record<string, unknown> = {}): void {
    const e = { type, at: Date.now(), data };
    for (const s of this.#subs) s.push(e);
  }

  /** Subscribes with a queue of at most `maxQueue` events. Throws when too many subscribe. */
  subscribe(opts: { maxQueue?: number; signal?: AbortSignal } = {}): Subscription {
    if (this.#subs.size >= this.maxSubscribers) {
      throw new RangeError(`Too many event subscribers (limit ${this.maxSubscribers})`);
    }
    const max = opts.maxQueue ?? 256;
    const queue: NodeEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false, dropped = 0;
    const entry = {
      push(e: NodeEvent) {
        if (queue.length >= max) {
          queue.shift();
          dropped++;
        }
        queue.push(e);
        wake?.();
      },
      end() {
        closed = true;
        wake?.();
      },
    };
    this.#subs.add(entry);
    const close = () => {
      this.#subs.delete(entry);
      opts.signal?.removeEventListener("abort", close);
      entry.end();
    };
    if (opts.signal?.aborted) close();
    else opts.signal?.addEventListener("abort", close, { once: true });
    return {
      close,
      get dropped() {
        return dropped;
      },
      async *[Symbol.asyncIterator]() {
        try {
          while (true) {
            while (queue.length > 0) yield queue.shift()!;
            if (closed) return;
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
        } finally {
          close();
        }
      },
    };
  }

  /** Ends every subscription. */
  closeAll(): void {
    for (const s of this.#subs) s.end();
    this.#subs.clear();
  }
}
