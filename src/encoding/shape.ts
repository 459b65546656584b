// This module is browser compatible.
/**
 * Field readers for decoded CBOR maps. Each throws {@linkcode DecodeError} naming the field and
 * what it received, so a malformed record is rejected with a precise message.
 */
import { DecodeError } from "./errors.ts";

/** A decoded CBOR map. */
export type Fields = Record<string, unknown>;

/** Asserts the value is a plain map with exactly the given keys (optional ones may be absent). */
export function readMap(
  v: unknown,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Fields {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new DecodeError(`Invalid ${what}: expected a map, got ${describe(v)}`);
  }
  const m = v as Fields;
  for (const k of required) {
    if (!(k in m)) throw new DecodeError(`Invalid ${what}: missing field "${k}"`);
  }
  const allowed = new Set([...required, ...optional]);
  for (const k of Object.keys(m)) {
    if (!allowed.has(k)) throw new DecodeError(`Invalid ${what}: unexpected field "${k}"`);
  }
  return m;
}

/** Reads a non-negative safe integer. */
export function readUint(m: Fields, key: string, what: string): number {
  const v = m[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new DecodeError(
      `Invalid ${what}: "${key}" must be a non-negative integer, got ${describe(v)}`,
    );
  }
  return v;
}

/** Reads a string of at most `max` UTF-16 units. */
export function readString(m: Fields, key: string, what: string, max: number): string {
  const v = m[key];
  if (typeof v !== "string") {
    throw new DecodeError(`Invalid ${what}: "${key}" must be a string, got ${describe(v)}`);
  }
  if (v.length > max) {
    throw new DecodeError(`Invalid ${what}: "${key}" is ${v.length} characters, limit ${max}`);
  }
  return v;
}

/** Reads a byte string, optionally of an exact length or bounded length. */
export function readBytes(
  m: Fields,
  key: string,
  what: string,
  len: { exact?: number; max?: number },
): Uint8Array {
  const v = m[key];
  if (!(v instanceof Uint8Array)) {
    throw new DecodeError(`Invalid ${what}: "${key}" must be bytes, got ${describe(v)}`);
  }
  if (len.exact !== undefined && v.length !== len.exact) {
    throw new DecodeError(`Invalid ${what}: "${key}" must be ${len.exact} bytes, got ${v.length}`);
  }
  if (len.max !== undefined && v.length > len.max) {
    throw new DecodeError(`Invalid ${what}: "${key}" is ${v.length} bytes, limit ${len.max}`);
  }
  return v;
}

/** Reads an array of at most `max` strings, each at most `maxLen` long. */
export function readStrings(
  m: Fields,
  key: string,
  what: string,
  max: number,
  maxLen: number,
): string[] {
  const v = m[key];
  if (!Array.isArray(v)) {
    throw new DecodeError(`Invalid ${what}: "${key}" must be an array, got ${describe(v)}`);
  }
  if (v.length > max) {
    throw new DecodeError(`Invalid ${what}: "${key}" has ${v.length} items, limit ${max}`);
  }
  return v.map((x, i) => readString({ [i]: x }, String(i), `${what}.${key}`, maxLen));
}

/** A short description of a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "string") return `"${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  if (typeof v === "number") return String(v);
  return typeof v;
}
