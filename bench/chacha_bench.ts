/**
 * ChaCha20-Poly1305 as noise calls it, per 1 MiB of data: node:crypto (noise's default under
 * Deno, the baseline of each group) against the WebAssembly kernel (src/net/chacha), sealing
 * and opening 16 noise frames of 65,519 bytes (noise's largest) and one 1 MiB message. Also the
 * kernel's two halves alone on its 64 KiB window, and noise's other ciphers for reference.
 *
 * Run with `deno bench -A bench/chacha_bench.ts`; figures are in BENCHMARKS.md.
 */
import { nodeCrypto, pureJsCrypto } from "@chainsafe/libp2p-noise/crypto";
import { KERNEL } from "../src/net/chacha/_kernel_wasm.ts";
import { chachaKernel } from "../src/net/chacha/detect.ts";

const kernel = chachaKernel();
if (typeof kernel === "string") throw new Error(`The kernel cannot run here: ${kernel}`);

const MiB = 1 << 20;
/** noise's NOISE_MSG_MAX_LENGTH_BYTES_WITHOUT_TAG: the plaintext of a full transport frame. */
const FRAME = 65_519;
const key = crypto.getRandomValues(new Uint8Array(32));
const nonce = new Uint8Array(12);
const ad = new Uint8Array(0);

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const data = randomBytes(16 * FRAME);
const frames = Array.from({ length: 16 }, (_, i) => data.subarray(i * FRAME, (i + 1) * FRAME));
const sealedFrames = frames.map((f) => kernel.seal(key, nonce, ad, f));
const big = randomBytes(MiB);
const sealedBig = kernel.seal(key, nonce, ad, big);

type Seal = (p: Uint8Array) => unknown;
type Open = (c: Uint8Array) => unknown;
const ciphers: [string, Seal, Open][] = [
  [
    "node:crypto (noise's default)",
    (p) => nodeCrypto.chaCha20Poly1305Encrypt(p, nonce, ad, key),
    (c) => nodeCrypto.chaCha20Poly1305Decrypt(c, nonce, ad, key),
  ],
  [
    "WebAssembly kernel",
    (p) => kernel.seal(key, nonce, ad, p),
    (c) => kernel.open(key, nonce, ad, c),
  ],
];

for (const [name, seal, open] of ciphers) {
  const baseline = name.startsWith("node");
  Deno.bench({
    name: `${name}: seal 16 × 64 KiB frames`,
    group: "seal 16 frames",
    baseline,
    fn: () => frames.forEach(seal),
  });
  Deno.bench({
    name: `${name}: open 16 × 64 KiB frames`,
    group: "open 16 frames",
    baseline,
    fn: () => sealedFrames.forEach(open),
  });
  Deno.bench({
    name: `${name}: seal 1 MiB`,
    group: "seal 1 MiB",
    baseline,
    fn: () => void seal(big),
  });
  Deno.bench({
    name: `${name}: open 1 MiB`,
    group: "open 1 MiB",
    baseline,
    fn: () => void open(sealedBig),
  });
}

Deno.bench({
  name: "pure JS (@noble/ciphers, noise's pureJsCrypto): seal 16 × 64 KiB frames",
  group: "seal 16 frames",
  fn: () => frames.forEach((p) => pureJsCrypto.chaCha20Poly1305Encrypt(p, nonce, ad, key)),
});

// The kernel's halves on one 64 KiB window: ChaCha20 alone, Poly1305 alone, and both fused.
const raw = new WebAssembly.Instance(
  new WebAssembly.Module(Uint8Array.from(atob(KERNEL), (c) => c.charCodeAt(0))),
  {},
).exports as unknown as Record<"xor" | "poly" | "seal", (p: number, len: number) => void>;
const WINDOW = 65536;
Deno.bench({
  name: "ChaCha20 alone",
  group: "kernel 64 KiB",
  baseline: true,
  fn: () => raw.xor(WINDOW, WINDOW),
});
Deno.bench({ name: "Poly1305 alone", group: "kernel 64 KiB", fn: () => raw.poly(WINDOW, WINDOW) });
Deno.bench({
  name: "seal: both, interleaved",
  group: "kernel 64 KiB",
  fn: () => raw.seal(WINDOW, WINDOW),
});
