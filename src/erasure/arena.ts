// This module is browser compatible.
/**
 * Shard arenas: shard buffers allocated inside the kernel's own memory (WebAssembly memory for
 * the WASM kernels), so data written there is encoded or rebuilt in place, without the copy in
 * and out that plain arrays need. That copy costs about as much as the encoding itself
 * (FACTS.md), so the storage pipeline should write into an arena when it can.
 * @module
 */
import { checkBytes, checkIndices } from "./_checks.ts";
import { type CodecCore, rebuildPlan } from "./_rebuild.ts";

/**
 * k + m shard buffers of one size owned by a codec's kernel. The views stay valid for the arena's
 * life (its memory never grows); the arena is freed by the garbage collector when unreferenced.
 */
export interface ShardArena {
  /** Data shards. */
  readonly k: number;
  /** Parity shards. */
  readonly m: number;
  /** Bytes in every shard. */
  readonly shardSize: number;
  /** All n = k + m shards: data shards first, then parity. Write into these views. */
  readonly shards: readonly Uint8Array[];
  /** `shards.slice(0, k)`. */
  readonly data: readonly Uint8Array[];
  /** `shards.slice(k)`. */
  readonly parity: readonly Uint8Array[];
  /**
   * Copies `block` into the data shards, zero-padding the last (as `splitBlock` does).
   * @throws {RangeError} when the block is longer than k × shardSize.
   */
  setBlock(block: Uint8Array): void;
  /** Computes the parity shards from the data shards, in place. */
  encode(): void;
  /**
   * Rebuilds the shards listed in `missing` (any of the n indices, at most m of them) from the
   * others, in place. Every shard not listed must hold its correct bytes.
   */
  reconstruct(missing: readonly number[]): void;
}

/** An arena of shards of `shardSize` bytes on a codec's kernel. */
export function createArena(core: CodecCore, shardSize: number): ShardArena {
  if (!Number.isSafeInteger(shardSize) || shardSize < 0) {
    throw new RangeError(
      `Cannot allocate shards: shardSize must be a non-negative integer, got ${shardSize}`,
    );
  }
  const { k, m, engine } = core;
  const n = k + m;
  const store = engine.store(n, shardSize);
  const shards = Object.freeze(store.shards);
  const dataIdx = Array.from({ length: k }, (_, i) => i);
  const parityIdx = Array.from({ length: m }, (_, i) => k + i);
  return {
    k,
    m,
    shardSize,
    shards,
    data: Object.freeze(shards.slice(0, k)),
    parity: Object.freeze(shards.slice(k)),
    setBlock(block) {
      checkBytes("Cannot set the arena's block", "block", block);
      if (block.length > k * shardSize) {
        throw new RangeError(
          `Cannot set the arena's block: ${block.length} bytes exceed ${k} × ${shardSize}`,
        );
      }
      for (let i = 0; i < k; i++) {
        const part = block.subarray(i * shardSize, (i + 1) * shardSize);
        shards[i]!.set(part);
        shards[i]!.fill(0, part.length);
      }
    },
    encode() {
      store.run(core.parityPlan, dataIdx, parityIdx);
    },
    reconstruct(missing) {
      const targets = checkIndices("Cannot reconstruct in the arena", missing, n, m);
      if (targets.length === 0) return;
      const lost = new Set(targets);
      const available = shards.map((_, i) => i).filter((i) => !lost.has(i));
      const { plan, sources } = rebuildPlan(core, available, targets);
      store.run(plan, sources, targets);
    },
  };
}
