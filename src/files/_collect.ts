// This module is browser compatible.
/**
 * Private to `src/files`: bounds the garbage a large put or get leaves behind. Every block moves
 * megabytes through buffers that die young (network frames, WebCrypto's outputs); V8 frees an
 * ArrayBuffer's memory only when it collects the object holding it, and it counts that memory
 * loosely, so on a 2 GiB transfer the owner's RSS rose 100–150 MiB over what the data path holds
 * (BENCHMARKS.md, "The owner's memory"). When the runtime exposes `gc` (`mote start` runs Deno
 * with `--expose-gc`), this asks for a collection, scheduled rather than run at once, after every
 * `COLLECT_EVERY` bytes the data path moved. Elsewhere (browsers, workers, tests run without the
 * flag) it does nothing.
 */

/** Bytes moved between two collections. */
export const COLLECT_EVERY = 16 << 20;

type Gc = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => unknown;
const gc = (globalThis as { gc?: Gc }).gc;
let moved = 0;

/** Notes `bytes` moved by a put or get; may schedule a collection. */
export function noteMoved(bytes: number): void {
  if (!gc) return;
  moved += bytes;
  if (moved < COLLECT_EVERY) return;
  moved = 0;
  try {
    // Asynchronous: V8 runs it as a task soon, without stopping the caller for the whole pause.
    void gc({ type: "major", execution: "async" });
  } catch {
    // An older engine without options: nothing is worth stalling a transfer for.
  }
}
