/**
 * Reed-Solomon encode and decode (2 lost data shards) for 4+2 and 10+4 over 64 MiB of data, one
 * core, each kernel. Each group's baseline is a plain 64 MiB copy (`TypedArray.set`): FACTS.md
 * found copying into WebAssembly memory to cost about as much as encoding, which is why arenas
 * exist. For ISA-L in the same run, use `deno run -A bench/erasure_compare.ts`.
 *
 *   deno bench -A bench/erasure_bench.ts
 */
import type { KernelName } from "../src/erasure/mod.ts";
import { BENCH_MAPS, workload } from "./erasure_setup.ts";

const BYTES = 64 << 20;
const KERNELS: KernelName[] = ["wasm-relaxed", "wasm-simd", "ts"];
const source = new Uint8Array(BYTES).fill(7), target = new Uint8Array(BYTES);

for (const { k, m } of BENCH_MAPS) {
  const loads = KERNELS.map((kernel) => workload(k, m, BYTES, kernel));
  for (const op of ["encode", "decode"] as const) {
    const group = `${k}+${m} ${op}`;
    // Few iterations: one TypeScript run takes ~0.1-0.2 s.
    const opts = { group, n: 10, warmup: 2 };
    Deno.bench({
      ...opts,
      name: `${group}: copy 64 MiB`,
      baseline: true,
      fn: () => target.set(source),
    });
    for (const w of loads) {
      const arena = op === "encode" ? w.encodeArena : w.decodeArena;
      Deno.bench({ ...opts, name: `${group}: ${w.codec.kernel}, arena`, fn: arena });
      if (w.codec.kernel === "ts") continue;
      const arrays = op === "encode" ? w.encodeArrays : w.decodeArrays;
      Deno.bench({ ...opts, name: `${group}: ${w.codec.kernel}, plain arrays`, fn: arrays });
    }
  }
}
