// This module is browser compatible.
/** X25519 key agreement (the basis for wrapping keys to people in later layers). */
import { x25519 } from "@noble/curves/ed25519.js";

/** Derives the X25519 public key of a secret key. */
export function agreePublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/** The raw X25519 shared secret; feed it through a KDF before use. */
export function agreeSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(secretKey, publicKey);
}
