// This module is browser compatible.
/**
 * Runtime kernel selection, the one place that asks what the runtime can do.
 *
 * 1. `WebAssembly.validate` on a tiny module using `i8x16.swizzle` tells whether SIMD exists, and
 *    one using `i8x16.relaxed_swizzle` whether relaxed SIMD does (validation compiles nothing,
 *    so it works even where compiling is refused).
 * 2. The best supported build is compiled synchronously (both builds are under 4 KiB, the limit
 *    Chrome puts on synchronous compilation on the main thread). A runtime that refuses
 *    compilation (Cloudflare Workers: "Wasm code generation disallowed by embedder"; a page
 *    whose CSP lacks 'wasm-unsafe-eval') throws here.
 * 3. The compiled kernel encodes a small known input and must agree with the TypeScript kernel.
 *
 * Any failure falls back: relaxed → plain SIMD → TypeScript. Results are cached per variant,
 * since they depend only on the runtime.
 * @module
 */
import { PROBE_RELAXED, PROBE_SIMD } from "./_kernel_wasm.ts";
import { cauchyMatrix } from "./matrix.ts";
import { tsDot, tsPrepare } from "./_ts_kernel.ts";
import {
  fromBase64,
  kernelBytes,
  wasmPrepare,
  WasmScratch,
  type WasmVariant,
} from "./_wasm_kernel.ts";

/** The kernels: WebAssembly with relaxed SIMD, WebAssembly with SIMD, or pure TypeScript. */
export type KernelName = WasmVariant | "ts";

/** What `createCodec` accepts: a kernel, any WebAssembly one ("wasm"), or the best ("auto"). */
export type KernelChoice = "auto" | "wasm" | KernelName;

const CHOICES: readonly string[] = ["auto", "wasm", "wasm-relaxed", "wasm-simd", "ts"];

const cache = new Map<WasmVariant, WebAssembly.Module | string>();

/** Whether this runtime validates a module (false when WebAssembly itself is missing). */
function validates(base64: string): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(fromBase64(base64));
  } catch {
    return false;
  }
}

/** A 4 + 2 encode of 100 bytes by both kernels must agree, or the build is not used. */
function selfTest(module: WebAssembly.Module): boolean {
  const k = 4, m = 2, len = 100;
  const rows = cauchyMatrix(k, m).subarray(k * k);
  const src = Array.from(
    { length: k },
    (_, j) => Uint8Array.from({ length: len }, (_, i) => i * 37 + j * 101),
  );
  const want = [new Uint8Array(len), new Uint8Array(len)];
  const got = [new Uint8Array(len), new Uint8Array(len)];
  tsDot(tsPrepare(rows, m, k), src, want, len);
  new WasmScratch(module).dot(wasmPrepare(rows, m, k), src, got, len);
  return want.every((w, q) => w.every((b, i) => b === got[q]![i]));
}

/**
 * The compiled module of a WebAssembly build, or the reason it cannot be used here
 * (unsupported, refused, or wrong answers).
 */
export function wasmModule(variant: WasmVariant): WebAssembly.Module | string {
  let hit = cache.get(variant);
  if (hit === undefined) {
    hit = tryCompile(variant);
    cache.set(variant, hit);
  }
  return hit;
}

/** `wasmModule` without the cache: what this runtime does with the build right now. */
export function tryCompile(variant: WasmVariant): WebAssembly.Module | string {
  if (typeof WebAssembly !== "object") return "WebAssembly is not available";
  if (!validates(PROBE_SIMD)) return "WebAssembly SIMD is not supported";
  if (variant === "wasm-relaxed" && !validates(PROBE_RELAXED)) {
    return "WebAssembly relaxed SIMD is not supported";
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(kernelBytes(variant));
  } catch (e) {
    return `compiling WebAssembly was refused: ${(e as Error).message}`;
  }
  try {
    return selfTest(module) ? module : "the kernel disagreed with the TypeScript kernel";
  } catch (e) {
    return `the kernel failed its self-test: ${(e as Error).message}`;
  }
}

/**
 * The kernel `choice` resolves to here, with its module; throws when a forced one is missing.
 * `modules` is `wasmModule` except in tests.
 */
export function selectKernel(
  choice: KernelChoice,
  modules: (variant: WasmVariant) => WebAssembly.Module | string = wasmModule,
): { name: "ts" } | { name: WasmVariant; module: WebAssembly.Module } {
  if (!CHOICES.includes(choice)) {
    throw new TypeError(
      `Cannot select a kernel: expected one of ${CHOICES.join(", ")}, got ${
        JSON.stringify(choice)
      }`,
    );
  }
  if (choice === "ts") return { name: "ts" };
  const order: WasmVariant[] = choice === "auto" || choice === "wasm"
    ? ["wasm-relaxed", "wasm-simd"]
    : [choice];
  const reasons: string[] = [];
  for (const name of order) {
    const module = modules(name);
    if (typeof module !== "string") return { name, module };
    reasons.push(`${name}: ${module}`);
  }
  if (choice === "auto") return { name: "ts" };
  throw new Error(`Cannot use the ${choice} kernel: ${reasons.join("; ")}`);
}

/** Which kernels this runtime can run, and why not where it cannot; the best comes first. */
export function kernelSupport(): { name: KernelName; available: boolean; reason?: string }[] {
  const wasm = (["wasm-relaxed", "wasm-simd"] as const).map((name) => {
    const m = wasmModule(name);
    return typeof m === "string"
      ? { name, available: false, reason: m }
      : { name, available: true };
  });
  return [...wasm, { name: "ts", available: true }];
}
