// This module is browser compatible.
/**
 * Cryptographic primitives: tagged Ed25519 signatures, X25519 agreement, SHA-256 and randomness;
 * block encryption for the data path, key wrapping to people (HPKE), and Merkle storage proofs.
 * @module
 */
export * from "./agree.ts";
export * from "./block.ts";
export * from "./hash.ts";
export * from "./hpke.ts";
export * from "./merkle.ts";
export * from "./sign.ts";
