// This module is browser compatible.
/** Small helpers of the edge gateway: bounded bodies, seed order, signals and a semaphore. */

export { shuffle } from "../src/net/shuffle.ts";

/**
 * Reads a response body of at most `max` bytes into one array (of exactly `exact` bytes when
 * given): straight into an array of the announced length when there is a Content-Length, so a
 * large shard is copied once from the chunks it arrives in.
 */
export async function readBody(res: Response, max: number, exact?: number): Promise<Uint8Array> {
  const announced = res.headers.get("content-length");
  const known = announced !== null && /^\d{1,15}$/.test(announced) ? Number(announced) : undefined;
  const limit = exact ?? max;
  if (known !== undefined && (known > limit || (exact !== undefined && known !== exact))) {
    await res.body?.cancel();
    throw new RangeError(`The answer is ${known} bytes, expected ${exact ?? `at most ${max}`}`);
  }
  if (!res.body) return new Uint8Array(0);
  const size = known ?? exact;
  const reader = res.body.getReader();
  try {
    if (size !== undefined) {
      const out = new Uint8Array(size);
      let at = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (at + value.byteLength > size) throw new RangeError(`The answer is over ${size} bytes`);
        out.set(value, at);
        at += value.byteLength;
      }
      if (at !== size) throw new RangeError(`The answer ended at ${at} of ${size} bytes`);
      return out;
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) throw new RangeError(`The answer is over ${max} bytes`);
      parts.push(value);
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/** A signal that aborts when any of `signals` does, or after `ms`. */
export function deadline(ms: number, ...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(ms), ...signals.filter((s) => s !== undefined)]);
}

/** At most `limit` tasks at once; the rest wait their turn. */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(go);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal!.reason);
        };
        this.#waiting.push(go);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    } else this.#active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
