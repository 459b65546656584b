// This module is browser compatible.
/**
 * Splitting a block into k equal data shards and joining them back.
 *
 * Padding: every data shard is `shardSize = ceil(block.length / k)` bytes; the last data shard
 * (and, for a block shorter than k bytes, the shards past its end) is padded with zero bytes to
 * that size. The padding is not recorded anywhere: the caller keeps the block's length (in its
 * manifest) and passes it to `joinShards`, which drops the padding again.
 * @module
 */
import { checkBytes } from "./_checks.ts";

/** The data shards of a block and their common size. */
export interface SplitBlock {
  /** k data shards of `shardSize` bytes each. */
  readonly shards: Uint8Array[];
  /** `ceil(block.length / k)`: the size of every shard. */
  readonly shardSize: number;
}

/**
 * Splits `block` into `k` data shards of `ceil(block.length / k)` bytes. Whole shards are views
 * into `block` (no copy: do not modify the block while they are in use); the zero-padded tail
 * shard(s) are new arrays.
 *
 * @example
 * ```ts
 * import { joinShards, splitBlock } from "./mod.ts";
 * const block = new TextEncoder().encode("hello, mote");
 * const { shards, shardSize } = splitBlock(block, 4); // 4 shards of 3 bytes, 1 byte of padding
 * if (shardSize !== 3 || joinShards(shards, block.length).length !== 11) throw new Error();
 * ```
 */
export function splitBlock(block: Uint8Array, k: number): SplitBlock {
  checkBytes("Cannot split a block", "block", block);
  if (!Number.isInteger(k) || k < 1 || k > 255) {
    throw new RangeError(`Cannot split a block: k must be an integer from 1 to 255, got ${k}`);
  }
  const shardSize = Math.ceil(block.length / k);
  const shards: Uint8Array[] = [];
  for (let i = 0; i < k; i++) {
    const start = i * shardSize;
    const end = start + shardSize;
    if (end <= block.length) {
      shards.push(block.subarray(start, end));
    } else {
      const padded = new Uint8Array(shardSize);
      if (start < block.length) padded.set(block.subarray(start));
      shards.push(padded);
    }
  }
  return { shards, shardSize };
}

/**
 * Concatenates data shards (in order) into a new array and cuts it to `length`, the original
 * block length, dropping the zero padding `splitBlock` added.
 *
 * @throws {RangeError} when the shards differ in size or hold fewer than `length` bytes.
 */
export function joinShards(dataShards: readonly Uint8Array[], length: number): Uint8Array {
  if (!Array.isArray(dataShards) || dataShards.length === 0) {
    throw new TypeError("Cannot join shards: expected a non-empty array of data shards");
  }
  dataShards.forEach((s, i) => checkBytes("Cannot join shards", `data shard ${i}`, s));
  const size = dataShards[0]!.length;
  dataShards.forEach((s, i) => {
    if (s.length !== size) {
      throw new RangeError(
        `Cannot join shards: data shard ${i} is ${s.length} bytes, but shard 0 is ${size}`,
      );
    }
  });
  const capacity = size * dataShards.length;
  if (!Number.isSafeInteger(length) || length < 0 || length > capacity) {
    throw new RangeError(
      `Cannot join shards: length must be an integer from 0 to ${capacity} (${dataShards.length} × ${size} bytes), got ${length}`,
    );
  }
  const out = new Uint8Array(length);
  for (let i = 0, at = 0; at < length; i++, at += size) {
    out.set(dataShards[i]!.subarray(0, Math.min(size, length - at)), at);
  }
  return out;
}
