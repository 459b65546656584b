// This module is browser compatible.
/**
 * Cryptographic primitives: tagged Ed25519 signatures, X25519 agreement, SHA-256 and randomness.
 * @module
 */
export * from "./agree.ts";
export * from "./hash.ts";
export * from "./sign.ts";
