// This module is browser compatible.
/**
 * Arithmetic in GF(2^8) with the reduction polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and
 * generator 2: the field Intel ISA-L's erasure code uses, so our parity bytes match its parity
 * bytes for the same matrix and input.
 * @module
 */

/** The reduction polynomial, as ISA-L's `gf_mul` and its log tables use it. */
export const GF_POLY = 0x11d;

/** `GF_EXP[i]` is 2^i; doubled in length so `GF_EXP[log a + log b]` needs no modulo. */
export const GF_EXP: Uint8Array = new Uint8Array(512);
/** `GF_LOG[a]` is the discrete log of `a` base 2 (`GF_LOG[0]` is unused). */
export const GF_LOG: Uint8Array = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLY;
  }
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!;
}

/** The product of two field elements. */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}

/** The multiplicative inverse of a non-zero field element (ISA-L's `gf_inv`). */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError("Cannot invert 0 in GF(2^8)");
  return GF_EXP[255 - GF_LOG[a]!]!;
}

/** The full 256-entry table of `c · x` for every byte `x`. */
export function gfMulTable(c: number): Uint8Array {
  const t = new Uint8Array(256);
  for (let x = 1; x < 256; x++) t[x] = gfMul(c, x);
  return t;
}

/**
 * Writes the 32-byte split table of `c` at `out[at..at+32]`: `c · x` for the low nibbles x = 0..15,
 * then `c · (x << 4)` for the high nibbles. Since multiplication distributes over XOR,
 * `c · b = lo[b & 15] ^ hi[b >> 4]`: the layout ISA-L's `gf_vect_mul_init` writes and SIMD
 * byte shuffles look up 16 lanes at a time.
 */
export function gfNibbleTable(c: number, out: Uint8Array, at: number): void {
  for (let x = 0; x < 16; x++) {
    out[at + x] = gfMul(c, x);
    out[at + 16 + x] = gfMul(c, x << 4);
  }
}
