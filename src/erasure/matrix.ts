// This module is browser compatible.
/**
 * The coding matrices: ISA-L's Cauchy encoding matrix and the decoding rows that rebuild lost
 * shards from any k survivors. Matrices are row-major `Uint8Array`s over GF(2^8).
 * @module
 */
import { gfInv, gfMul } from "./gf256.ts";

/**
 * The n × k systematic encoding matrix exactly as ISA-L's `gf_gen_cauchy1_matrix(a, n, k)` builds
 * it: the k × k identity on top, then row i (k ≤ i < n), column j is `1 / (i ^ j)`. Every k × k
 * submatrix of it is invertible (a Cauchy matrix with x_i = i, y_j = j, all distinct), so any k
 * of the n shards decode. ISA-L's plain `gf_gen_rs_matrix` (Vandermonde rows) lacks that
 * guarantee past small maps, which is why the Cauchy form is used.
 */
export function cauchyMatrix(k: number, m: number): Uint8Array {
  const n = k + m;
  if (n > 256) throw new RangeError(`Cannot build a Cauchy matrix: k + m = ${n} exceeds 256`);
  const a = new Uint8Array(n * k);
  for (let i = 0; i < k; i++) a[i * k + i] = 1;
  for (let i = k; i < n; i++) {
    for (let j = 0; j < k; j++) a[i * k + j] = gfInv(i ^ j);
  }
  return a;
}

/** The inverse of a k × k matrix by Gauss-Jordan elimination; throws when it is singular. */
export function invertMatrix(src: Uint8Array, k: number): Uint8Array {
  const a = src.slice(0, k * k);
  const out = new Uint8Array(k * k);
  for (let i = 0; i < k; i++) out[i * k + i] = 1;
  for (let col = 0; col < k; col++) {
    let pivot = col;
    while (pivot < k && a[pivot * k + col] === 0) pivot++;
    if (pivot === k) throw new RangeError("Cannot invert a singular matrix");
    if (pivot !== col) {
      swapRows(a, k, pivot, col);
      swapRows(out, k, pivot, col);
    }
    const scale = gfInv(a[col * k + col]!);
    scaleRow(a, k, col, scale);
    scaleRow(out, k, col, scale);
    for (let r = 0; r < k; r++) {
      const f = a[r * k + col]!;
      if (r === col || f === 0) continue;
      for (let c = 0; c < k; c++) {
        a[r * k + c] = a[r * k + c]! ^ gfMul(f, a[col * k + c]!);
        out[r * k + c] = out[r * k + c]! ^ gfMul(f, out[col * k + c]!);
      }
    }
  }
  return out;
}

function swapRows(a: Uint8Array, k: number, x: number, y: number): void {
  for (let c = 0; c < k; c++) {
    const t = a[x * k + c]!;
    a[x * k + c] = a[y * k + c]!;
    a[y * k + c] = t;
  }
}

function scaleRow(a: Uint8Array, k: number, r: number, f: number): void {
  for (let c = 0; c < k; c++) a[r * k + c] = gfMul(f, a[r * k + c]!);
}

/**
 * The rows that rebuild shards `targets` (indices 0..n-1) from the k survivors `sources` (indices
 * in ascending order): `rows[t] · (shards at sources)` is shard `targets[t]`. A lost data shard's
 * row is the matching row of the inverse of the survivors' encoding rows; a lost parity shard's
 * row is its encoding row times that inverse (how ISA-L's examples rebuild parity).
 */
export function decodeRows(
  encode: Uint8Array,
  k: number,
  sources: readonly number[],
  targets: readonly number[],
): Uint8Array {
  const sub = new Uint8Array(k * k);
  sources.forEach((s, r) => sub.set(encode.subarray(s * k, s * k + k), r * k));
  const inv = invertMatrix(sub, k);
  const rows = new Uint8Array(targets.length * k);
  targets.forEach((t, r) => {
    if (t < k) {
      rows.set(inv.subarray(t * k, t * k + k), r * k);
      return;
    }
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc ^= gfMul(encode[t * k + i]!, inv[i * k + c]!);
      rows[r * k + c] = acc;
    }
  });
  return rows;
}
