// This module is browser compatible.
/**
 * The one canonical binary encoding: deterministic CBOR (RFC 8949 §4.2) through `cborg`.
 *
 * Encoding is deterministic (sorted map keys, shortest integers, no indefinite lengths). Decoding
 * is strict, size-limited, and `decodeCanonical` also rejects any input that is not exactly the
 * canonical encoding of what it decodes to, so one value has exactly one accepted byte form
 * (signatures are checked over bytes, and two forms of one record would be two records).
 */
import { decode as cborDecode, encode as cborEncode, rfc8949EncodeOptions } from "cborg";
import { equals } from "./bytes.ts";
import { DecodeError } from "./errors.ts";

/** Default upper bound for any decoded value: 1 MiB. Callers pass tighter limits. */
export const DEFAULT_MAX_BYTES = 1 << 20;

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
} as const;

const ENCODE_OPTIONS = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    // The decoder refuses these, so the encoder must never produce them.
    undefined: () => {
      throw new TypeError("Cannot encode undefined: omit the property instead");
    },
    number: (n: number) => {
      if (!Number.isFinite(n)) throw new TypeError(`Cannot encode the non-finite number ${n}`);
      return null;
    },
  },
};

/** Encodes a value canonically. `undefined`, NaN and infinities are a `TypeError`. */
export function encode(value: unknown): Uint8Array {
  const out = cborEncode(value, ENCODE_OPTIONS);
  // Under Deno cborg may hand back a Node Buffer cut from a shared pool (its slice() is a view
  // and its .buffer spans other data): always return a plain, owned Uint8Array.
  return Object.getPrototypeOf(out) === Uint8Array.prototype ? out : new Uint8Array(out);
}

/** Options for {@linkcode decode}. */
export interface DecodeOptions {
  /** Reject inputs longer than this (bytes). */
  maxBytes?: number;
  /** What is being decoded, for error messages. */
  what?: string;
}

/** Decodes strict CBOR with a size limit, throwing {@linkcode DecodeError} on any problem. */
export function decode(bytes: Uint8Array, opts: DecodeOptions = {}): unknown {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const what = opts.what ?? "value";
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError(`Cannot decode ${what}: expected bytes, got ${typeof bytes}`);
  }
  if (bytes.length > max) {
    throw new DecodeError(`Cannot decode ${what}: ${bytes.length} bytes exceeds the ${max} limit`);
  }
  try {
    return cborDecode(bytes, DECODE_OPTIONS);
  } catch (e) {
    throw new DecodeError(`Cannot decode ${what}: ${(e as Error).message}`);
  }
}

/** Like {@linkcode decode}, and also rejects bytes that are not the canonical form. */
export function decodeCanonical(bytes: Uint8Array, opts: DecodeOptions = {}): unknown {
  const value = decode(bytes, opts);
  if (!equals(encode(value), bytes)) {
    throw new DecodeError(`Cannot decode ${opts.what ?? "value"}: not in canonical form`);
  }
  return value;
}
