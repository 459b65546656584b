/**
 * The crypto libp2p-noise runs with: noise's own default, with its ChaCha20-Poly1305 (every
 * transport frame, up to 64 KiB) optionally replaced by the WebAssembly kernel. Where the kernel
 * cannot run (no WebAssembly SIMD), noise keeps its default, which is node:crypto; both speak the
 * same RFC 8439, so peers never notice which one runs.
 *
 * `MOTE_NOISE_CIPHER` (`wasm` or `node`) overrides the default: a diagnostic switch, so a
 * benchmark can measure both in one run (bench/storage_e2e.ts), not a setting.
 *
 * Not browser compatible: noise's default crypto imports node:crypto.
 * @module
 */
import type { ICryptoInterface } from "@chainsafe/libp2p-noise";
import { defaultCrypto } from "@chainsafe/libp2p-noise/crypto";
import type { ChaCha20Poly1305 } from "./aead.ts";
import { chachaKernel } from "./detect.ts";

/** Which ChaCha20-Poly1305 noise uses: the WebAssembly kernel, or node:crypto (noise's own). */
export type NoiseCipher = "wasm" | "node";

/** The environment variable that overrides {@linkcode DEFAULT_NOISE_CIPHER}. */
export const NOISE_CIPHER_ENV = "MOTE_NOISE_CIPHER";

/**
 * The cipher noise runs unless `MOTE_NOISE_CIPHER` says otherwise: node:crypto. The kernel made
 * no measurable difference end to end, and node:crypto is faster per frame whenever its buffers
 * are warm (BENCHMARKS.md, "ChaCha20-Poly1305 for noise"); the kernel stays one switch away.
 */
export const DEFAULT_NOISE_CIPHER: NoiseCipher = "node";

/** The cipher `MOTE_NOISE_CIPHER` asks for, else {@linkcode DEFAULT_NOISE_CIPHER}. */
export function noiseCipherFromEnv(): NoiseCipher {
  let value: string | undefined;
  try {
    value = Deno.env.get(NOISE_CIPHER_ENV);
  } catch {
    return DEFAULT_NOISE_CIPHER; // no permission to read the environment
  }
  if (value === undefined || value === "") return DEFAULT_NOISE_CIPHER;
  if (value === "wasm" || value === "node") return value;
  throw new TypeError(
    `Cannot choose a noise cipher: ${NOISE_CIPHER_ENV} must be wasm or node, got "${value}"`,
  );
}

/**
 * Noise's crypto with `cipher`'s ChaCha20-Poly1305; `wasm` where `kernel` (the shared kernel
 * unless a test passes another) cannot run gives node:crypto.
 */
export function noiseCrypto(
  cipher: NoiseCipher = noiseCipherFromEnv(),
  kernel: () => ChaCha20Poly1305 | string = chachaKernel,
): ICryptoInterface {
  const aead = cipher === "wasm" ? kernel() : "node:crypto was asked for";
  if (typeof aead === "string") return defaultCrypto;
  return {
    ...defaultCrypto,
    // noise passes a frame in pieces (a Uint8ArrayList) when it was written in pieces, and opens
    // in place: `dst` is the frame's own bytes, so opening allocates nothing.
    chaCha20Poly1305Encrypt: (plaintext, nonce, ad, k) => aead.seal(k, nonce, ad, plaintext),
    chaCha20Poly1305Decrypt: (ciphertext, nonce, ad, k, dst) =>
      aead.open(k, nonce, ad, ciphertext, dst),
  };
}

/** The cipher {@linkcode noiseCrypto} would run for `cipher` here. */
export function effectiveNoiseCipher(cipher: NoiseCipher = noiseCipherFromEnv()): NoiseCipher {
  return cipher === "wasm" && typeof chachaKernel() !== "string" ? "wasm" : "node";
}
