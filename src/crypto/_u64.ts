// This module is browser compatible.
/** Private helper: fixed-width big-endian integers for hash and AAD framing. */

/** Writes a non-negative safe integer as u64 big-endian into `out` at `offset`. */
export function writeU64(out: Uint8Array, offset: number, n: number): void {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(offset, BigInt(n));
}

/** A non-negative safe integer as 8 bytes, big-endian. */
export function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, n);
  return out;
}
