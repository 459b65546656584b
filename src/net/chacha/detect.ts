// This module is browser compatible.
/**
 * Whether the ChaCha20-Poly1305 kernel runs here, asked once: compiling it needs WebAssembly
 * SIMD and bulk memory, and a runtime may refuse to compile at all (a page whose CSP lacks
 * 'wasm-unsafe-eval', Cloudflare Workers). The compiled kernel must then reproduce the tag of
 * RFC 8439's AEAD example (section 2.8.2), or it is not used.
 * @module
 */
import { KERNEL } from "./_kernel_wasm.ts";
import { type Bytes, ChaCha20Poly1305 } from "./aead.ts";

/** Decodes base64 with `atob`, which every browser, worker and Deno has. */
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** RFC 8439 section 2.8.2: its key, nonce, AAD, plaintext and the tag they must give. */
function selfTest(aead: ChaCha20Poly1305): boolean {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const nonce = fromHex("070000004041424344454647");
  const ad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const text = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the " +
      "future, sunscreen would be it.",
  );
  const sealed = aead.seal(key, nonce, ad, text);
  const tag = Array.from(sealed.subarray(text.length), (b) => b.toString(16).padStart(2, "0"));
  if (tag.join("") !== "1ae10b594f09e26a7e902ecbd0600691") return false;
  const back = aead.open(key, nonce, ad, sealed);
  return back.every((b, i) => b === text[i]);
}

let cached: ChaCha20Poly1305 | string | undefined;

/**
 * The shared kernel instance, or why this runtime cannot run it (no WebAssembly SIMD, compiling
 * refused, or wrong answers).
 */
export function chachaKernel(): ChaCha20Poly1305 | string {
  return cached ??= tryKernel();
}

/** `chachaKernel` without the cache: what this runtime does with the kernel right now. */
export function tryKernel(
  bytes: Uint8Array<ArrayBuffer> = fromBase64(KERNEL),
): ChaCha20Poly1305 | string {
  if (typeof WebAssembly !== "object") return "WebAssembly is not available";
  let aead: ChaCha20Poly1305;
  try {
    aead = new ChaCha20Poly1305(new WebAssembly.Module(bytes));
  } catch (e) {
    return `the kernel does not compile here (it needs WebAssembly SIMD): ${(e as Error).message}`;
  }
  try {
    return selfTest(aead) ? aead : "the kernel got RFC 8439's AEAD example wrong";
  } catch (e) {
    return `the kernel failed its self-test: ${(e as Error).message}`;
  }
}

function kernel(): ChaCha20Poly1305 {
  const k = chachaKernel();
  if (typeof k === "string") throw new Error(`Cannot use the ChaCha20-Poly1305 kernel: ${k}`);
  return k;
}

/**
 * ChaCha20-Poly1305 encryption (RFC 8439) on the shared kernel: the ciphertext followed by the
 * 16-byte tag. Throws when the kernel cannot run here (see {@linkcode chachaKernel}).
 *
 * @example
 * ```ts
 * import { open, seal } from "./detect.ts";
 * const key = new Uint8Array(32), nonce = new Uint8Array(12), ad = new Uint8Array(0);
 * const sealed = seal(key, nonce, ad, new TextEncoder().encode("hi"));
 * if (new TextDecoder().decode(open(key, nonce, ad, sealed)) !== "hi") throw new Error();
 * ```
 */
export function seal(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Bytes,
): Uint8Array {
  return kernel().seal(key, nonce, ad, plaintext);
}

/**
 * ChaCha20-Poly1305 decryption (RFC 8439) on the shared kernel; throws when the tag does not
 * match. `dst`, if given, receives the plaintext (it may be the ciphertext's own bytes).
 */
export function open(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  sealed: Bytes,
  dst?: Uint8Array,
): Uint8Array {
  return kernel().open(key, nonce, ad, sealed, dst);
}
