// This module is browser compatible.
/**
 * Token-bucket rate limiting per key (a peer id, a client address). Memory is bounded: the
 * least recently used buckets are forgotten past `maxKeys`, which at worst gives a forgotten
 * client a fresh bucket.
 */

/** Per-key token buckets. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  readonly rate: number;
  readonly burst: number;
  readonly maxKeys: number;
  #now: () => number;

  /** `rate` tokens per second, at most `burst` saved up. */
  constructor(rate: number, burst = rate * 2, maxKeys = 10_000, now: () => number = Date.now) {
    if (!(rate > 0) || !(burst >= 1)) {
      throw new RangeError(`Rate limit needs rate > 0 and burst ≥ 1, got ${rate} and ${burst}`);
    }
    this.rate = rate;
    this.burst = burst;
    this.maxKeys = maxKeys;
    this.#now = now;
  }

  /** Takes `cost` tokens for `key`; false when the bucket is empty (the call should be refused). */
  take(key: string, cost = 1): boolean {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      // A clock that steps backwards must not put the bucket in debt.
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.rate);
      b.at = now;
    } else {
      b = { tokens: this.burst, at: now };
      if (this.#buckets.size >= this.maxKeys) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    this.#buckets.set(key, b);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }
}
