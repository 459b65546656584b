// This module is browser compatible.
/**
 * Signed, versioned mutable records: creation, verification, keys, ordering, and the memory of
 * the highest accepted version per key.
 * @module
 */
export * from "./errors.ts";
export * from "./namespace.ts";
export * from "./order.ts";
export * from "./record.ts";
export * from "./seq_memory.ts";
export * from "./validator.ts";
