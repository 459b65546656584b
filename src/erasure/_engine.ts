// This module is browser compatible.
/**
 * One interface over the two kernels, so the codec and its arenas are written once.
 * @module
 */
import { type KernelChoice, type KernelName, selectKernel } from "./detect.ts";
import { tsDot, type TsPlan, tsPrepare } from "./_ts_kernel.ts";
import {
  SLOTS,
  slotStride,
  type WasmPlan,
  wasmPrepare,
  WasmScratch,
  WasmSpace,
} from "./_wasm_kernel.ts";

/** Prepared tables of a coding matrix (opaque outside the engine that made them). */
export type Plan = TsPlan | WasmPlan;

/** n shard buffers owned by an engine, and a way to run a plan over them by index. */
export interface ShardStore {
  /** The shards' views, each exactly `size` bytes. */
  readonly shards: Uint8Array[];
  /** `shards[outputs[q]] = plan row q · shards[sources]` in place, without copying. */
  run(plan: Plan, sources: readonly number[], outputs: readonly number[]): void;
}

/** A kernel behind one interface. */
export interface Engine {
  readonly name: KernelName;
  /** Prepares the r × k matrix `rows` (row-major) for `dot` and `ShardStore.run`. */
  prepare(rows: Uint8Array, r: number, k: number): Plan;
  /** `dst[q] = plan row q · src` over `len` bytes of arrays anywhere in memory. */
  dot(plan: Plan, src: readonly Uint8Array[], dst: readonly Uint8Array[], len: number): void;
  /** Allocates `n` zeroed shards of `size` bytes that `run` reaches without copying. */
  store(n: number, size: number): ShardStore;
}

/** The engine for `choice` (see `selectKernel`). */
export function createEngine(choice: KernelChoice): Engine {
  const picked = selectKernel(choice);
  if (picked.name === "ts") return tsEngine();
  const { name, module } = picked;
  const scratch = new WasmScratch(module);
  return {
    name,
    prepare: wasmPrepare,
    dot: (plan, src, dst, len) => scratch.dot(plan as WasmPlan, src, dst, len),
    store(n, size) {
      const stride = slotStride(size);
      const space = new WasmSpace(module, n * stride);
      const addr = (i: number) => SLOTS + i * stride;
      const shards = Array.from(
        { length: n },
        (_, i) => new Uint8Array(space.memory.buffer, addr(i), size),
      );
      return {
        shards,
        run: (plan, sources, outputs) =>
          space.run(plan as WasmPlan, sources.map(addr), outputs.map(addr), size),
      };
    },
  };
}

function tsEngine(): Engine {
  return {
    name: "ts",
    prepare: tsPrepare,
    dot: (plan, src, dst, len) => tsDot(plan as TsPlan, src, dst, len),
    store(n, size) {
      const buffer = new ArrayBuffer(n * size);
      const shards = Array.from({ length: n }, (_, i) => new Uint8Array(buffer, i * size, size));
      return {
        shards,
        run: (plan, sources, outputs) =>
          tsDot(
            plan as TsPlan,
            sources.map((i) => shards[i]!),
            outputs.map((i) => shards[i]!),
            size,
          ),
      };
    },
  };
}
