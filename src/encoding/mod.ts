// This module is browser compatible.
/**
 * Canonical encoding for everything Mote signs, sends or stores: deterministic CBOR with size
 * limits and typed decode errors, plus base32/hex/base64 and byte helpers.
 * @module
 */
export * from "./base32.ts";
export * from "./bytes.ts";
export * from "./cbor.ts";
export * from "./errors.ts";
export * from "./shape.ts";
