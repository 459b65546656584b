// This module is browser compatible.
/**
 * The WebAssembly SIMD kernel (kernel.wat, embedded by _kernel_wasm.ts): compiling it, the
 * memory layout of one instance, and running its `dotN` functions.
 *
 * Each instance owns one memory, never grown after views into it are handed out (growing would
 * detach them). The first 64 KiB page holds the nibble tables and address lists of one pass;
 * shard slots follow, each padded to a multiple of 64 bytes because the kernel works in 32-byte
 * steps (the padding's bytes are scratch, never part of a shard's view).
 * @module
 */
import { KERNEL_RELAXED, KERNEL_SIMD } from "./_kernel_wasm.ts";
import { gfNibbleTable } from "./gf256.ts";

/** Which build of the kernel: relaxed SIMD (`i8x16.relaxed_swizzle`) or plain SIMD. */
export type WasmVariant = "wasm-relaxed" | "wasm-simd";

const TABLES = 0; // k × 4 × 32 ≤ 32,640 bytes for k ≤ 255
const SOURCES = 32768; // k i32 addresses
const OUTPUTS = SOURCES + 1024; // 4 i32 addresses
/** Address of the first shard slot. */
export const SLOTS = 65536;
const PAGE = 65536;

/** Bytes a slot for a shard of `size` bytes takes: a multiple of 64, the kernel's step padded. */
export function slotStride(size: number): number {
  return Math.ceil(size / 64) * 64;
}

/** Decodes base64 with `atob`, which every browser, worker and Deno has. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The kernel's bytes for a variant. */
export function kernelBytes(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  return fromBase64(variant === "wasm-relaxed" ? KERNEL_RELAXED : KERNEL_SIMD);
}

/** Nibble tables of an r × k matrix, split into passes of at most four rows. */
export interface WasmPlan {
  readonly r: number;
  readonly k: number;
  /** Per pass: its first row, its width (1..4) and its k × width × 32 bytes of tables. */
  readonly passes: readonly { row: number; width: number; tables: Uint8Array }[];
}

/** Renders the nibble tables of `rows` (r × k, row-major) in kernel.wat's layout. */
export function wasmPrepare(rows: Uint8Array, r: number, k: number): WasmPlan {
  const passes = [];
  for (let row = 0; row < r; row += 4) {
    const width = Math.min(4, r - row);
    const tables = new Uint8Array(k * width * 32);
    for (let j = 0; j < k; j++) {
      for (let q = 0; q < width; q++) {
        gfNibbleTable(rows[(row + q) * k + j]!, tables, (j * width + q) * 32);
      }
    }
    passes.push({ row, width, tables });
  }
  return { r, k, passes };
}

type Dot = (tables: number, sources: number, k: number, outputs: number, len: number) => void;

/** One kernel instance and its memory, with room for `slotBytes` of shard slots. */
export class WasmSpace {
  /** The instance's memory; `SLOTS` onwards is the caller's. */
  readonly memory: WebAssembly.Memory;
  readonly #dots: Dot[];

  constructor(module: WebAssembly.Module, slotBytes: number) {
    const pages = Math.ceil((SLOTS + slotBytes) / PAGE);
    try {
      this.memory = new WebAssembly.Memory({ initial: pages });
    } catch (e) {
      throw new RangeError(
        `Cannot allocate ${slotBytes} bytes of WebAssembly memory for shards: ${
          (e as Error).message
        }`,
      );
    }
    const { exports } = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.#dots = [1, 2, 3, 4].map((w) => exports[`dot${w}`] as Dot);
  }

  /**
   * Writes `plan`'s rows applied to the shards at addresses `sources` into the shards at
   * `outputs`, `len` bytes each (rounded up to 32: slots are padded for it).
   */
  run(plan: WasmPlan, sources: readonly number[], outputs: readonly number[], len: number): void {
    const bytes = new Uint8Array(this.memory.buffer);
    const words = new Uint32Array(this.memory.buffer, 0, SLOTS / 4);
    for (let j = 0; j < plan.k; j++) words[SOURCES / 4 + j] = sources[j]!;
    const steps = Math.ceil(len / 32) * 32;
    for (const { row, width, tables } of plan.passes) {
      bytes.set(tables, TABLES);
      for (let q = 0; q < width; q++) words[OUTPUTS / 4 + q] = outputs[row + q]!;
      this.#dots[width - 1]!(TABLES, SOURCES, plan.k, OUTPUTS, steps);
    }
  }
}

/**
 * Columns per shard copied through the scratch space per step. Copying into WebAssembly memory
 * costs about as much as encoding (FACTS.md), so the step keeps the copies and the kernel's reads
 * in L2: 16 KiB × 14 shards is 224 KiB for 10+4. Measured over 64 MiB: 16-64 KiB steps all gave
 * ~2.4 GB/s for 10+4, 4 KiB steps ~10% less, and 256 KiB steps ~25% less for 4+2.
 */
const SCRATCH_STEP = 16384;

/**
 * Runs the kernel over shards that live outside its memory, copying them in and the results out
 * in steps of `SCRATCH_STEP` columns through one lazily made scratch instance.
 */
export class WasmScratch {
  readonly #module: WebAssembly.Module;
  #space: WasmSpace | null = null;
  #slots = 0;

  constructor(module: WebAssembly.Module) {
    this.#module = module;
  }

  /** `dst[q] = plan row q · src` for `len` bytes, through the scratch memory. */
  dot(plan: WasmPlan, src: readonly Uint8Array[], dst: readonly Uint8Array[], len: number): void {
    const k = plan.k, r = plan.r, step = Math.min(SCRATCH_STEP, slotStride(len));
    if (this.#space === null || this.#slots < k + r) {
      this.#space = new WasmSpace(this.#module, (k + r) * SCRATCH_STEP);
      this.#slots = k + r;
    }
    const space = this.#space;
    const at = (i: number) => SLOTS + i * step;
    const sources = src.map((_, j) => at(j));
    const outputs = dst.map((_, q) => at(k + q));
    const bytes = new Uint8Array(space.memory.buffer);
    for (let off = 0; off < len; off += step) {
      const c = Math.min(step, len - off);
      for (let j = 0; j < k; j++) bytes.set(src[j]!.subarray(off, off + c), sources[j]!);
      space.run(plan, sources, outputs, c);
      for (let q = 0; q < r; q++) {
        dst[q]!.set(bytes.subarray(outputs[q]!, outputs[q]! + c), off);
      }
    }
  }
}
