// This module is browser compatible.
/**
 * Bounded byte writing and checked byte reading for the chunk codec. Variable-length integers are
 * unsigned LEB128 of at most 3 bytes (values below 2^21), always in their shortest form, so every
 * value has exactly one encoding.
 * @module
 */

const MAX_VARINT = (1 << 21) - 1;

/** Appends bytes to a buffer of fixed capacity (the codec's size bound). */
export class ByteWriter {
  readonly #buf: Uint8Array;
  #pos = 0;
  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
  }
  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new RangeError(`Cannot encode chunk: it needs more than ${this.#buf.length} bytes`);
    }
  }
  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = v;
  }
  u32(v: number): void {
    this.#room(4);
    new DataView(this.#buf.buffer).setUint32(this.#pos, v, true);
    this.#pos += 4;
  }
  i32(v: number): void {
    this.#room(4);
    new DataView(this.#buf.buffer).setInt32(this.#pos, v, true);
    this.#pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
  varint(v: number): void {
    if (v < 0x80) return this.u8(v);
    if (v < 0x4000) {
      this.u8((v & 0x7f) | 0x80);
      return this.u8(v >>> 7);
    }
    this.u8((v & 0x7f) | 0x80);
    this.u8(((v >>> 7) & 0x7f) | 0x80);
    this.u8(v >>> 14);
  }
  /** The bytes written, as a copy of exactly their length. */
  done(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

/** Reads from bytes, naming the section and offset in every error. */
export class ByteReader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  /** Bytes not yet read. */
  get left(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new RangeError(
        `Cannot decode chunk: truncated in ${what}: needs ${n} byte(s) at offset ${this.pos}, ` +
          `the chunk has ${this.bytes.length}`,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset).getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset).getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    return this.bytes.subarray(this.pos, this.pos += n);
  }
  /** An unsigned LEB128 integer no larger than `max` (at most 2^21 − 1). */
  varint(what: string, max: number): number {
    const start = this.pos;
    let v = 0;
    for (let shift = 0;; shift += 7) {
      const b = this.u8(what);
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        if (b === 0 && shift > 0) {
          throw new SyntaxError(
            `Cannot decode chunk: ${what} at offset ${start} is a varint with a redundant zero byte`,
          );
        }
        break;
      }
      if (shift === 14) {
        throw new RangeError(
          `Cannot decode chunk: ${what} at offset ${start} is a varint longer than 3 bytes`,
        );
      }
    }
    if (v > max || v > MAX_VARINT) {
      throw new RangeError(
        `Cannot decode chunk: ${what} is ${v} (at offset ${start}), over ${max}`,
      );
    }
    return v;
  }
}
