/** Helpers shared by the benchmark scripts: statistics, flags, bounded waits, quiet nodes. */
import { createLogger } from "../src/log/mod.ts";
import { memoryState } from "../src/node/state.ts";
import type { NodeOptions } from "../src/node/node.ts";
import type { Namespace } from "../src/records/mod.ts";

/** The extra record namespace every benchmark node accepts. */
export const BENCH_NAMESPACE: Namespace = { name: "bench", maxValue: 4096, maxName: 64 };

/** Nearest-rank percentile (`p` in 0..100) of samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** `median p95 max` of samples, in ms with one decimal. */
export function summary(samples: readonly number[]): string {
  const f = (x: number) => x.toFixed(1).padStart(7);
  return `median ${f(percentile(samples, 50))} ms  p95 ${f(percentile(samples, 95))} ms  max ${
    f(percentile(samples, 100))
  } ms  (n=${samples.length})`;
}

/** Reads `--name N` or `--name=N` as a positive integer, or `fallback`. */
export function intFlag(name: string, fallback: number, args = Deno.args): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let text: string | undefined;
    if (a === `--${name}`) text = args[i + 1];
    else if (a.startsWith(`--${name}=`)) text = a.slice(name.length + 3);
    else continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`--${name} must be a positive integer, got "${text}"`);
    }
    return n;
  }
  return fallback;
}

/** Polls `done` every `every` ms until it returns true or `ms` pass; returns whether it did. */
export async function waitFor(done: () => boolean, ms: number, every = 100): Promise<boolean> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
  return true;
}

/** Settles `p` or gives up after `ms` (the promise keeps running; the caller moves on). */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options for an in-memory loopback node that logs nothing below errors and nowhere. */
export function quietNodeOptions(
  bootstrap: string[],
  namespaces: Namespace[] = [BENCH_NAMESPACE],
): NodeOptions {
  return {
    state: memoryState(),
    log: createLogger({ level: "error", sinks: [] }),
    host: "127.0.0.1",
    tcpPort: 0,
    wsPort: -1,
    bootstrap,
    nickname: "",
    loopback: true,
    recordLifetime: 36 * 3600_000,
    republishInterval: 3600_000,
    maxRecords: 100_000,
    maxRecordsPerSigner: 1024,
    rateLimit: 100,
    announce: [],
    gatewayUrls: [],
    namespaces,
  };
}

/** Resident set size of a process in bytes, from `/proc/<pid>/status` (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`No VmRSS line in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
