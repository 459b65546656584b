// This module is browser compatible.
/**
 * Canonical CBOR maps whose last field is a large byte string, handled without copying that
 * string: encoding gives the map's head and the bytes as two chunks (sent one after the other,
 * never joined), and decoding finds the bytes inside a frame that arrived in pieces. `cborg`
 * copies a byte string into its output when it encodes one and slices it out when it decodes, so
 * a 1 MiB shard in a put request or a get answer cost one or two extra copies each way.
 *
 * The wire bytes are exactly `encode()`'s: the head is the canonical encoding of the whole map cut
 * just before the string's bytes, which works only when the string's key sorts last (RFC 8949
 * §4.2.1 orders keys by their encoded bytes, so a shorter key comes first).
 * @module
 */
import { compare, equals } from "./bytes.ts";
import { encode } from "./cbor.ts";

const EMPTY = new Uint8Array(0);

/**
 * `encode({ ...fields, [name]: bytes })` as two chunks: the head and `bytes` itself (not a copy).
 * @throws {RangeError} when `name` does not sort after every key of `fields`.
 */
export function encodeWithTail(
  fields: Record<string, unknown>,
  name: string,
  bytes: Uint8Array,
): [Uint8Array, Uint8Array] {
  return [tailHead(fields, name, bytes.length), bytes];
}

/**
 * The head of `encode({ ...fields, [name]: <length bytes> })`: everything before the bytes.
 * @throws {RangeError} when `name` does not sort after every key of `fields`.
 */
export function tailHead(
  fields: Record<string, unknown>,
  name: string,
  length: number,
): Uint8Array {
  const key = encode(name);
  for (const other of Object.keys(fields)) {
    if (other !== name && compare(encode(other), key) >= 0) {
      throw new RangeError(
        `Cannot put "${name}" last in a canonical map: key "${other}" sorts after it`,
      );
    }
  }
  const whole = encode({ ...fields, [name]: EMPTY });
  // The empty string's header (0x40) ends the canonical encoding; swap in the real length's.
  const head = byteStringHeader(length);
  const out = new Uint8Array(whole.length - 1 + head.length);
  out.set(whole.subarray(0, whole.length - 1));
  out.set(head, whole.length - 1);
  return out;
}

/**
 * Where the byte string lies in a frame (given as chunks, in order) holding exactly the canonical
 * encoding of `{ ...fields, [name]: <bytes> }`: its offset and length, or null when the frame is
 * anything else (the caller then decodes it the general way).
 */
export function findTail(
  chunks: readonly Uint8Array[],
  fields: Record<string, unknown>,
  name: string,
): { offset: number; length: number } | null {
  let total = 0;
  for (const c of chunks) total += c.length;
  const base = tailHead(fields, name, 0).length - 1;
  // The header of a byte string is 1, 2, 3, 5 or 9 bytes; try each length it could give.
  for (const size of [1, 2, 3, 5, 9]) {
    const length = total - base - size;
    if (length < 0 || byteStringHeader(length).length !== size) continue;
    const head = tailHead(fields, name, length);
    if (equals(readRange(chunks, 0, head.length), head)) return { offset: head.length, length };
  }
  return null;
}

/** Copies `into.length` bytes starting at `offset` of the chunks' concatenation into `into`. */
export function copyRange(chunks: readonly Uint8Array[], offset: number, into: Uint8Array): void {
  let at = 0, skip = offset;
  for (const c of chunks) {
    if (at === into.length) break;
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    const part = c.subarray(skip, skip + into.length - at);
    into.set(part, at);
    at += part.length;
    skip = 0;
  }
  if (at !== into.length) {
    throw new RangeError(`Cannot copy ${into.length} bytes at ${offset}: the chunks end first`);
  }
}

function readRange(chunks: readonly Uint8Array[], offset: number, length: number): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(Math.max(0, Math.min(length, total - offset)));
  copyRange(chunks, offset, out);
  return out;
}

/** The canonical header of a byte string of `length` bytes (major type 2, shortest argument). */
function byteStringHeader(length: number): Uint8Array {
  if (length < 24) return new Uint8Array([0x40 + length]);
  if (length < 0x100) return new Uint8Array([0x58, length]);
  if (length < 0x10000) return new Uint8Array([0x59, length >> 8, length & 255]);
  if (length < 2 ** 32) {
    const h = new Uint8Array(5);
    h[0] = 0x5a;
    new DataView(h.buffer).setUint32(1, length);
    return h;
  }
  const h = new Uint8Array(9);
  h[0] = 0x5b;
  new DataView(h.buffer).setBigUint64(1, BigInt(length));
  return h;
}
