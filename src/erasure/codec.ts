// This module is browser compatible.
/**
 * The Reed-Solomon codec: k data shards, m parity shards, any k of the k + m rebuild the rest.
 * @module
 */
import { checkMap, checkShardList, checkSlots } from "./_checks.ts";
import { createEngine } from "./_engine.ts";
import { createCore, rebuildPlan } from "./_rebuild.ts";
import { createArena, type ShardArena } from "./arena.ts";
import type { KernelChoice, KernelName } from "./detect.ts";

/** Options of `createCodec`. */
export interface CodecOptions {
  /** Data shards, 1..255. */
  k: number;
  /** Parity shards, at least 1, with k + m ≤ 256. */
  m: number;
  /**
   * Which kernel computes: "auto" (default) the fastest this runtime runs, falling back to "ts";
   * "wasm" the best WebAssembly build, or an error; "wasm-relaxed", "wasm-simd" or "ts" exactly
   * that kernel (for tests and benchmarks), or an error.
   */
  kernel?: KernelChoice;
}

/** A k + m Reed-Solomon codec over GF(2^8), byte-compatible with ISA-L's Cauchy code. */
export interface Codec {
  /** Data shards. */
  readonly k: number;
  /** Parity shards. */
  readonly m: number;
  /** k + m. */
  readonly n: number;
  /** The kernel in use. */
  readonly kernel: KernelName;
  /**
   * The m parity shards of `data` (k shards of one length), as new arrays of that length.
   * @throws {TypeError|RangeError} on a wrong count, a non-Uint8Array or unequal lengths.
   */
  encode(data: readonly Uint8Array[]): Uint8Array[];
  /** Like `encode`, writing into the caller's m `parity` arrays (same length as the data). */
  encodeInto(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void;
  /**
   * The k data shards from any k of the n shards: `shards[i]` is shard i or `null`/`undefined`
   * when lost. Data shards that are present are returned as they are (the same arrays, not
   * copies); lost ones are rebuilt into new arrays.
   * @throws {RangeError} when fewer than k shards are present or lengths differ.
   */
  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[];
  /** Like `reconstruct`, but returns all n shards, rebuilding lost parity shards too. */
  repair(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[];
  /**
   * Allocates n shards of `shardSize` bytes inside the kernel's memory, to be filled, encoded and
   * rebuilt in place without copies (see `ShardArena`).
   */
  allocShards(shardSize: number): ShardArena;
}

/**
 * Creates a codec for k data and m parity shards.
 *
 * @example
 * ```ts
 * import { createCodec } from "./mod.ts";
 * const codec = createCodec({ k: 4, m: 2 });
 * const data = [1, 2, 3, 4].map((x) => new Uint8Array(8).fill(x));
 * const parity = codec.encode(data);
 * const back = codec.reconstruct([null, data[1], null, data[3], ...parity]);
 * if (back[0]![0] !== 1 || back[2]![0] !== 3) throw new Error("not rebuilt");
 * ```
 */
export function createCodec(options: CodecOptions): Codec {
  const { k, m, kernel = "auto" } = options ?? {};
  checkMap(k, m);
  const core = createCore(k, m, createEngine(kernel));
  const { engine } = core;
  const n = k + m;

  const encodeInto = (data: readonly Uint8Array[], parity: readonly Uint8Array[]) => {
    const size = checkShardList("Cannot encode", "data shard", data, k);
    const out = checkShardList("Cannot encode", "parity shard", parity, m);
    if (out !== size) {
      throw new RangeError(`Cannot encode: parity shards are ${out} bytes, data shards ${size}`);
    }
    engine.dot(core.parityPlan, data, parity, size);
  };

  /** Rebuilds the shards `targets` (lost ones) from those present, into new arrays. */
  const rebuild = (
    shards: readonly (Uint8Array | null | undefined)[],
    what: string,
    all: boolean,
  ) => {
    const { present, size } = checkSlots(what, shards, k, n);
    const out = shards.slice(0, all ? n : k) as (Uint8Array | null | undefined)[];
    const targets = out.flatMap((s, i) => (s ? [] : [i]));
    if (targets.length > 0) {
      const { plan, sources } = rebuildPlan(core, present, targets);
      const made = targets.map(() => new Uint8Array(size));
      engine.dot(plan, sources.map((i) => shards[i]!), made, size);
      targets.forEach((t, q) => (out[t] = made[q]!));
    }
    return out as Uint8Array[];
  };

  return {
    k,
    m,
    n,
    kernel: engine.name,
    encode(data) {
      const size = checkShardList("Cannot encode", "data shard", data, k);
      const parity = Array.from({ length: m }, () => new Uint8Array(size));
      engine.dot(core.parityPlan, data, parity, size);
      return parity;
    },
    encodeInto,
    reconstruct: (shards) => rebuild(shards, "Cannot reconstruct", false),
    repair: (shards) => rebuild(shards, "Cannot repair", true),
    allocShards: (shardSize) => createArena(core, shardSize),
  };
}
