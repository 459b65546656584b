/**
 * Reed-Solomon side by side in one run: Intel ISA-L (bench/isal/rs, C, AVX2), the WebAssembly
 * kernels (relaxed SIMD and plain SIMD) and the TypeScript kernel, encoding and decoding (2 lost
 * data shards) 4+2 and 10+4 over 64 MiB of data on one core. Rounds alternate ISA-L and ours so
 * that load from other work on the machine hits both alike; each figure is the best over rounds.
 *
 *   deno run -A bench/erasure_compare.ts [--mib 64] [--rounds 3] [--reps 5]
 *
 * Throughput is data bytes (k × shard size) per second, as the ISA-L driver counts it.
 */
import type { KernelName } from "../src/erasure/mod.ts";
import { BENCH_MAPS, best, flag, type IsalFigure, runIsal, workload } from "./erasure_setup.ts";

const MIB = flag("mib", 64), ROUNDS = flag("rounds", 3), REPS = flag("reps", 5);
const KERNELS: KernelName[] = ["wasm-relaxed", "wasm-simd", "ts"];
const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
console.log(`# ${cpu}, Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), load ${Deno.loadavg()}`);
console.log(`# ${MIB} MiB of data, ${ROUNDS} rounds × best of ${REPS}\n`);

/** Best seconds per row name, over all rounds. */
const results = new Map<string, { seconds: number; bytes: number }>();
const record = (name: string, seconds: number, bytes: number) => {
  const old = results.get(name);
  if (!old || seconds < old.seconds) results.set(name, { seconds, bytes });
};

let isalNote = "";
for (let round = 0; round < ROUNDS; round++) {
  const isal = await runIsal(MIB, REPS);
  if (typeof isal === "string") isalNote = isal;
  else for (const f of isal as IsalFigure[]) record(`${f.map} ${f.op} isa-l`, f.seconds, f.bytes);
  for (const { k, m } of BENCH_MAPS) {
    for (const kernel of KERNELS) {
      const w = workload(k, m, MIB << 20, kernel);
      // The TypeScript kernel takes ~0.15 s per run: fewer repetitions keep the run short.
      const reps = kernel === "ts" ? Math.min(REPS, 2) : REPS;
      record(`${k}+${m} encode ${kernel}`, best(w.encodeArena, reps), w.dataBytes);
      record(`${k}+${m} decode ${kernel}`, best(w.decodeArena, reps), w.dataBytes);
      if (kernel !== "ts") {
        record(`${k}+${m} encode ${kernel} arrays`, best(w.encodeArrays, reps), w.dataBytes);
        record(`${k}+${m} decode ${kernel} arrays`, best(w.decodeArrays, reps), w.dataBytes);
      }
    }
  }
}

const mbps = (name: string) => {
  const r = results.get(name);
  return r ? r.bytes / r.seconds / 1e6 : NaN;
};
console.log("| map  | op     | kernel                     |   MB/s | × ISA-L |");
console.log("| ---- | ------ | -------------------------- | -----: | ------: |");
for (const { k, m } of BENCH_MAPS) {
  for (const op of ["encode", "decode"]) {
    const base = mbps(`${k}+${m} ${op} isa-l`);
    for (const row of ["isa-l", ...KERNELS.flatMap((x) => [x, `${x} arrays`])]) {
      const v = mbps(`${k}+${m} ${op} ${row}`);
      if (Number.isNaN(v)) continue;
      const label = row === "isa-l"
        ? "ISA-L (C, AVX2)"
        : row.endsWith("arrays")
        ? `${row.replace(" arrays", "")}, plain arrays`
        : `${row}, arena`;
      const ratio = Number.isNaN(base) ? "–" : (v / base).toFixed(2);
      console.log(
        `| ${`${k}+${m}`.padEnd(4)} | ${op} | ${label.padEnd(26)} | ${v.toFixed(0).padStart(6)} | ${
          ratio.padStart(7)
        } |`,
      );
    }
  }
}
if (isalNote) console.log(`\nISA-L not measured: ${isalNote}`);
