// This module is browser compatible.
/**
 * ChaCha20-Poly1305 (RFC 8439) as a hand-written WebAssembly SIMD kernel, for noise's transport
 * frames: `seal` and `open` on a shared instance, `chachaKernel` to ask whether it runs here.
 *
 * noise.ts, which plugs the kernel into libp2p-noise, is left out of this module because noise's
 * default crypto imports node:crypto; `src/net/p2p.ts` imports it directly.
 * @module
 */
export * from "./aead.ts";
export * from "./detect.ts";
