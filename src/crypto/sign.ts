// This module is browser compatible.
/**
 * Ed25519 signatures with domain separation: every signature covers a type tag naming what is
 * signed, so a signature on one kind of object can never be replayed as another.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { concat, utf8 } from "../encoding/bytes.ts";

/** Bytes of an Ed25519 public key, secret key and signature. */
export const SIGN_PUBLIC_BYTES = 32, SIGN_SECRET_BYTES = 32, SIGNATURE_BYTES = 64;

/** The exact message signed for `tag` and `payload`: `"mote/sig/v1\0" ‖ tag ‖ "\0" ‖ payload`. */
export function signedMessage(tag: string, payload: Uint8Array): Uint8Array {
  if (tag.length === 0 || tag.includes("\0")) {
    throw new TypeError(`Invalid signature tag "${tag}": must be non-empty and contain no NUL`);
  }
  return concat(utf8("mote/sig/v1\0" + tag + "\0"), payload);
}

/** Signs `payload` under the type tag `tag`. */
export function sign(secretKey: Uint8Array, tag: string, payload: Uint8Array): Uint8Array {
  return ed25519.sign(signedMessage(tag, payload), secretKey);
}

/** Verifies a tagged signature; returns false (never throws) for malformed keys or signatures. */
export function verify(
  publicKey: Uint8Array,
  tag: string,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== SIGN_PUBLIC_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, signedMessage(tag, payload), publicKey);
  } catch {
    return false;
  }
}

/** Derives the Ed25519 public key of a secret key. */
export function signPublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}
