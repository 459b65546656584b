/**
 * Shared by the erasure benchmarks: the workloads (encode and decode with 2 lost data shards, for
 * 4+2 and 10+4 over 64 MiB of data), timing, and the ISA-L reference driver.
 * @module
 */
import { type Codec, createCodec, type KernelName, type ShardArena } from "../src/erasure/mod.ts";

/** The maps the storage issue asks to measure. */
export const BENCH_MAPS = [{ k: 4, m: 2 }, { k: 10, m: 4 }] as const;

/** One prepared workload: a codec, plain shards and an arena holding the same data. */
export interface Workload {
  readonly codec: Codec;
  readonly k: number;
  readonly m: number;
  /** k × shardSize: the bytes every figure is divided by. */
  readonly dataBytes: number;
  readonly data: Uint8Array[];
  readonly parity: Uint8Array[];
  readonly arena: ShardArena;
  /** Encode into the arena, in place (no copy). */
  encodeArena(): void;
  /** Encode plain arrays into preallocated parity arrays (copies through WebAssembly memory). */
  encodeArrays(): void;
  /** Rebuild data shards 0 and 1 in the arena, in place. */
  decodeArena(): void;
  /** `reconstruct()` on plain arrays with shards 0 and 1 missing (allocates the 2 results). */
  decodeArrays(): void;
}

/** Builds a workload of `bytes` of data split over k shards, on `kernel`. */
export function workload(k: number, m: number, bytes: number, kernel: KernelName): Workload {
  const codec = createCodec({ k, m, kernel });
  const size = Math.ceil(bytes / k);
  const arena = codec.allocShards(size);
  let state = 1;
  for (const shard of arena.data) {
    for (let i = 0; i < size; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      shard[i] = state >>> 24;
    }
  }
  const data = arena.data.map((s) => s.slice());
  const parity = Array.from({ length: m }, () => new Uint8Array(size));
  arena.encode();
  const slots = [null, null, ...data.slice(2), ...arena.parity];
  return {
    codec,
    k,
    m,
    dataBytes: k * size,
    data,
    parity,
    arena,
    encodeArena: () => arena.encode(),
    encodeArrays: () => codec.encodeInto(data, parity),
    decodeArena: () => arena.reconstruct([0, 1]),
    decodeArrays: () => void codec.reconstruct(slots),
  };
}

/** The fastest of `reps` runs of `fn`, in seconds, after one warm-up run. */
export function best(fn: () => void, reps: number): number {
  fn();
  let min = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min / 1000;
}

/** One ISA-L figure from `bench/isal/rs bench`. */
export interface IsalFigure {
  map: string;
  op: "encode" | "decode";
  bytes: number;
  seconds: number;
  mbps: number;
}

const ISAL_DIR = new URL("./isal/", import.meta.url).pathname;

/**
 * Builds (`make`) and runs the ISA-L driver; null with the reason when it cannot (no C compiler
 * or no `libisal-dev`).
 */
export async function runIsal(mib: number, reps: number): Promise<IsalFigure[] | string> {
  try {
    const make = await new Deno.Command("make", { args: ["-s", "-C", ISAL_DIR] }).output();
    if (!make.success) return `make failed: ${new TextDecoder().decode(make.stderr).trim()}`;
    const run = await new Deno.Command(`${ISAL_DIR}rs`, {
      args: ["bench", String(mib), String(reps)],
    }).output();
    if (!run.success) return `bench/isal/rs failed: ${new TextDecoder().decode(run.stderr)}`;
    return new TextDecoder().decode(run.stdout).trim().split("\n").map((l) => JSON.parse(l));
  } catch (e) {
    return `cannot run the ISA-L driver: ${(e as Error).message}`;
  }
}

/** Reads `--name N` or `--name=N` as a positive integer, or `fallback`. */
export function flag(name: string, fallback: number): number {
  const args = Deno.args;
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const text = args[i]!.includes("=") ? args[i]!.split("=")[1] : args[i + 1];
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
  return n;
}
