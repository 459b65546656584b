// This module is browser compatible.
/**
 * Input checks at the edge of the erasure module's public functions. Messages say what was wrong
 * and what was received.
 * @module
 */

/** What a value is, for an error message. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
}

/** Throws a TypeError unless `v` is a Uint8Array. */
export function checkBytes(what: string, name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new TypeError(`${what}: ${name} must be a Uint8Array, got ${describe(v)}`);
  }
}

/** Throws a RangeError unless k and m form a valid map (k, m ≥ 1 and k + m ≤ 256). */
export function checkMap(k: unknown, m: unknown): void {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > 255) {
    throw new RangeError(`Cannot create a codec: k must be an integer from 1 to 255, got ${k}`);
  }
  if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || k + m > 256) {
    throw new RangeError(
      `Cannot create a codec: m must be an integer from 1 to ${256 - k} (k + m ≤ 256), got ${m}`,
    );
  }
}

/**
 * Checks an array of `count` shards of one length, returning that length.
 * @param what the message prefix, e.g. "Cannot encode"
 * @param label what one entry is called, e.g. "data shard"
 */
export function checkShardList(
  what: string,
  label: string,
  shards: unknown,
  count: number,
): number {
  if (!Array.isArray(shards)) {
    throw new TypeError(
      `${what}: expected an array of ${count} ${label}s, got ${describe(shards)}`,
    );
  }
  if (shards.length !== count) {
    throw new RangeError(`${what}: expected ${count} ${label}s, got ${shards.length}`);
  }
  let size = -1;
  shards.forEach((s, i) => {
    checkBytes(what, `${label} ${i}`, s);
    if (size < 0) size = s.length;
    else if (s.length !== size) {
      throw new RangeError(
        `${what}: ${label} ${i} is ${s.length} bytes, but ${label} 0 is ${size} (shards must be of equal length)`,
      );
    }
  });
  return size;
}

/**
 * Checks n shard slots where `null` or `undefined` marks a missing shard, and returns the
 * indices present and their common length.
 */
export function checkSlots(
  what: string,
  shards: unknown,
  k: number,
  n: number,
): { present: number[]; size: number } {
  if (!Array.isArray(shards)) {
    throw new TypeError(
      `${what}: expected an array of ${n} shards or nulls, got ${describe(shards)}`,
    );
  }
  if (shards.length !== n) {
    throw new RangeError(
      `${what}: expected ${n} shard slots (null for a missing shard), got ${shards.length}`,
    );
  }
  const present: number[] = [];
  let size = -1, first = -1;
  shards.forEach((s, i) => {
    if (s === null || s === undefined) return;
    checkBytes(what, `shard ${i}`, s);
    if (size < 0) [size, first] = [s.length, i];
    else if (s.length !== size) {
      throw new RangeError(
        `${what}: shard ${i} is ${s.length} bytes, but shard ${first} is ${size} (shards must be of equal length)`,
      );
    }
    present.push(i);
  });
  if (present.length < k) {
    throw new RangeError(
      `${what}: only ${present.length} of ${n} shards present, need at least ${k}`,
    );
  }
  return { present, size };
}

/** Checks a list of distinct shard indices below n, at most `max` of them. */
export function checkIndices(what: string, indices: unknown, n: number, max: number): number[] {
  if (!Array.isArray(indices)) {
    throw new TypeError(`${what}: expected an array of shard indices, got ${describe(indices)}`);
  }
  const seen = new Set<number>();
  for (const i of indices) {
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`${what}: shard index must be an integer from 0 to ${n - 1}, got ${i}`);
    }
    if (seen.has(i)) throw new RangeError(`${what}: shard index ${i} is listed twice`);
    seen.add(i);
  }
  if (seen.size > max) {
    throw new RangeError(`${what}: ${seen.size} shards missing, at most ${max} can be rebuilt`);
  }
  return [...seen].sort((a, b) => a - b);
}
