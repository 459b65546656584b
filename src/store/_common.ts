// This module is browser compatible.
/** Pieces shared by the shard store backends: input checks, per-shard locks, usage accounting. */
import { QuotaExceededError, ShardCorruptError, ShardIdMismatchError } from "./errors.ts";
import type { ShardStore, ShardStoreOptions } from "./shard_store.ts";

/** 52 characters of lower-case base32: a SHA-256-sized node id or shard id. */
export const ID_RE = /^[a-z2-7]{52}$/;

function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 64 ? `${text.slice(0, 60)}…` : text;
}

/** Throws `SyntaxError` unless `customer` and `id` are both 52 characters of `a-z2-7`. */
export function checkKey(customer: string, id: string): void {
  checkCustomer(customer);
  if (typeof id !== "string" || !ID_RE.test(id)) {
    throw new SyntaxError(`Invalid shard id ${show(id)}: expected 52 characters a-z, 2-7`);
  }
}

/** Throws `SyntaxError` unless `customer` is 52 characters of `a-z2-7`. */
export function checkCustomer(customer: string): void {
  if (typeof customer !== "string" || !ID_RE.test(customer)) {
    throw new SyntaxError(
      `Invalid customer ${show(customer)}: expected a node id of 52 characters a-z, 2-7`,
    );
  }
}

/** Checks the options every backend takes; returns them for chaining. */
export function checkOptions<T extends ShardStoreOptions>(opts: T): T {
  if (typeof opts?.shardId !== "function") {
    throw new TypeError("Shard store options need a shardId function");
  }
  const max = opts.maxShardBytes;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`maxShardBytes must be a non-negative integer, got ${show(max)}`);
  }
  if (opts.quota !== undefined && typeof opts.quota !== "function") {
    throw new TypeError("Shard store option quota must be a function");
  }
  return opts;
}

/**
 * Checks a shard before it is stored and returns a private copy of its bytes: the copy is what
 * gets hashed and written, so a caller changing its buffer mid-write cannot store bytes that
 * differ from the ones checked.
 */
export async function preparePut(
  opts: ShardStoreOptions,
  customer: string,
  id: string,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  checkKey(customer, id);
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot store shard ${id}: bytes must be a Uint8Array, got ${show(bytes)}`);
  }
  if (bytes.length > opts.maxShardBytes) {
    throw new RangeError(
      `Cannot store shard ${id}: ${bytes.length} bytes is over the ${opts.maxShardBytes}-byte limit`,
    );
  }
  signal?.throwIfAborted();
  // Uint8Array.prototype.slice, not bytes.slice(): a Node Buffer's own slice() is a view.
  const copy = Uint8Array.prototype.slice.call(bytes);
  const actual = await opts.shardId(copy);
  if (actual !== id) throw new ShardIdMismatchError(id, actual);
  signal?.throwIfAborted();
  return copy;
}

/** Throws `ShardCorruptError` unless `bytes` hash to `id`. */
export async function verify(
  opts: ShardStoreOptions,
  customer: string,
  id: string,
  bytes: Uint8Array,
): Promise<Uint8Array> {
  const actual = await opts.shardId(bytes);
  if (actual !== id) {
    throw new ShardCorruptError(customer, id, `its ${bytes.length} bytes have the id ${actual}`);
  }
  return bytes;
}

/** Runs async work one at a time per key (one shard's put, get and delete never interleave). */
export class KeyedLock {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = prev.then(() => new Promise<void>((r) => release = r));
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * Bytes and shard counts per customer, plus bytes reserved by puts in flight. Reserving checks
 * the quota and books the bytes in one synchronous step, so concurrent puts cannot together
 * exceed a quota that each alone would fit.
 */
export class UsageBook {
  #stored = new Map<string, { bytes: number; count: number }>();
  #reserved = new Map<string, number>();

  add(customer: string, size: number): void {
    const e = this.#stored.get(customer) ?? { bytes: 0, count: 0 };
    e.bytes += size;
    e.count += 1;
    this.#stored.set(customer, e);
  }

  remove(customer: string, size: number): void {
    const e = this.#stored.get(customer);
    if (!e) return;
    e.bytes -= size;
    e.count -= 1;
    if (e.count <= 0) this.#stored.delete(customer);
  }

  usage(customer: string): number {
    return this.#stored.get(customer)?.bytes ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const e of this.#stored.values()) sum += e.bytes;
    return sum;
  }

  customers(): string[] {
    return [...this.#stored.keys()];
  }

  /** Books `size` bytes for a put, or throws `QuotaExceededError`; returns the release function. */
  reserve(customer: string, size: number, quota: number | undefined): () => void {
    // A broken quota (NaN, negative) fails closed: NaN would compare as "fits" below.
    if (quota !== undefined && !(typeof quota === "number" && quota >= 0)) {
      throw new RangeError(
        `Invalid quota for customer ${customer}: expected a non-negative number of bytes, got ${quota}`,
      );
    }
    const used = this.usage(customer) + (this.#reserved.get(customer) ?? 0);
    if (quota !== undefined && used + size > quota) {
      throw new QuotaExceededError(customer, used, size, quota);
    }
    this.#reserved.set(customer, (this.#reserved.get(customer) ?? 0) + size);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#reserved.get(customer) ?? 0) - size;
      if (left > 0) this.#reserved.set(customer, left);
      else this.#reserved.delete(customer);
    };
  }
}

/** Tracks operations in flight so `close()` can wait for them and refuse new ones. */
export class Lifecycle {
  #closed = false;
  #pending = new Set<Promise<unknown>>();

  constructor(readonly where: string) {}

  /** Runs an operation unless the store is closed. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot use the shard store at ${this.where}: it is closed`));
    }
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      // Input checks throw synchronously; callers still get a rejection.
      return Promise.reject(e);
    }
    this.#pending.add(p);
    const forget = () => this.#pending.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Throws when closed (for iterators, which cannot go through `run`). */
  check(): void {
    if (this.#closed) throw new Error(`Cannot use the shard store at ${this.where}: it is closed`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight (scans of large stores). */
export async function forEachLimit<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let r = it.next(); !r.done; r = it.next()) await fn(r.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** The usage methods both backends share: customers, per-customer usage and the total. */
export function usageMethods(
  book: UsageBook,
  life: Lifecycle,
): Pick<ShardStore, "customers" | "usage" | "totalUsage"> {
  return {
    async *customers(): AsyncIterable<string> {
      life.check();
      yield* book.customers();
    },
    usage: (customer) =>
      life.run(() => {
        checkCustomer(customer);
        return Promise.resolve(book.usage(customer));
      }),
    totalUsage: () => life.run(() => Promise.resolve(book.total())),
  };
}
