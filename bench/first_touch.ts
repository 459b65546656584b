/**
 * What a buffer costs the first time its pages are written, on this machine: the reason noise's
 * 64 KiB frames looked expensive under Deno (BENCHMARKS.md, "ChaCha20-Poly1305 for noise").
 *
 * 1. Pages: a fresh 256 MiB `Uint8Array` written one byte per 4 KiB page, then written again.
 *    The first pass pays one page fault per page; the second pays none.
 * 2. Frames: 12 batches of 100 allocations of a 64 KiB `Uint8Array`, each filled, the median per
 *    batch: what any code that allocates a noise frame per call pays, depending on whether the
 *    allocator hands back memory the process has touched before.
 * 3. Sealing noise frames (65,519 bytes) in alternating batches of 100: node:crypto as noise calls
 *    it (two fresh 64 KiB buffers per frame) and the WebAssembly kernel (one), min/median per
 *    batch.
 *
 * `deno run -A bench/first_touch.ts`
 */
import { nodeCrypto } from "@chainsafe/libp2p-noise/crypto";
import { chachaKernel } from "../src/net/chacha/detect.ts";

const PAGE = 4096;

function touch(bytes: Uint8Array, value: number): number {
  const t = performance.now();
  for (let i = 0; i < bytes.length; i += PAGE) bytes[i] = value;
  return performance.now() - t;
}

for (let round = 0; round < 3; round++) {
  const big = new Uint8Array(256 << 20);
  const pages = big.length / PAGE;
  const first = touch(big, 1);
  const second = touch(big, 2);
  console.log(
    `256 MiB, round ${round}: first write ${(first * 1000 / pages).toFixed(2)} µs per page ` +
      `(${(big.length / first / 1000).toFixed(0)} MB/s), second ${
        (second * 1000 / pages).toFixed(3)
      } µs per page`,
  );
}

const FRAME = 65_535;
const src = new Uint8Array(FRAME).fill(1);
const live: Uint8Array[] = [];
const medians: string[] = [];
for (let batch = 0; batch < 12; batch++) {
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    const frame = new Uint8Array(FRAME);
    frame.set(src);
    times.push(performance.now() - t);
    // Keep some frames alive for a while, as a send queue does.
    live.push(frame);
    if (live.length > 200) live.splice(0, 100);
  }
  times.sort((a, b) => a - b);
  medians.push((times[50]! * 1000).toFixed(0));
}
console.log(`allocate and fill a 64 KiB frame, median µs per batch of 100: ${medians.join(" ")}`);

const kernel = chachaKernel();
if (typeof kernel === "string") throw new Error(`The kernel cannot run here: ${kernel}`);
const key = crypto.getRandomValues(new Uint8Array(32)), nonce = new Uint8Array(12);
const noAd = new Uint8Array(0);
const text = new Uint8Array(1 << 20);
for (let i = 0; i < text.length; i += 65536) crypto.getRandomValues(text.subarray(i, i + 65536));
const sent: unknown[] = [];
function sealBatch(seal: (p: Uint8Array) => unknown): string {
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const p = text.subarray((i % 15) * 65536, (i % 15) * 65536 + 65_519);
    const t = performance.now();
    sent.push(seal(p));
    times.push(performance.now() - t);
    if (sent.length > 200) sent.splice(0, 100);
  }
  times.sort((a, b) => a - b);
  return `${(times[0]! * 1000).toFixed(0)}/${(times[50]! * 1000).toFixed(0)}`;
}
const rows: string[] = [];
for (let batch = 0; batch < 12; batch++) {
  const node = sealBatch((p) => nodeCrypto.chaCha20Poly1305Encrypt(p, nonce, noAd, key));
  const wasm = sealBatch((p) => kernel.seal(key, nonce, noAd, p));
  rows.push(`node:crypto ${node}, kernel ${wasm}`);
}
console.log(`seal a 64 KiB frame, µs min/median per batch of 100:\n  ${rows.join("\n  ")}`);
