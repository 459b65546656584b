// This module is browser compatible.
/**
 * The pure TypeScript kernel: needs no WebAssembly, so it runs where compiling is refused
 * (Cloudflare Workers, pages whose CSP lacks 'wasm-unsafe-eval') or SIMD is missing.
 *
 * Per-coefficient 256-entry product tables, four rows interleaved into one `Uint32Array(256)` per
 * source: entry x holds c0·x | c1·x << 8 | c2·x << 16 | c3·x << 24, so one lookup per source byte
 * yields that byte's term for four outputs at once. Measured for 10+4 over 64 MiB on this
 * project's machine (BENCHMARKS.md, "Erasure coding"): 0.6-0.8 GB/s, against ~0.13 GB/s for the
 * textbook loop that makes one pass over a parity shard per coefficient with one 256-byte table
 * (four times the table lookups, and a load and store of the output per lookup).
 * @module
 */
import { GF_EXP, GF_LOG } from "./gf256.ts";

/** Columns processed per step: the 16 KiB accumulator stays in L1 between sources. */
const CHUNK = 4096;

/** Packed product tables for an r × k matrix, ready for `tsDot`. */
export interface TsPlan {
  readonly r: number;
  readonly k: number;
  /** One group per four rows: k tables of 256 packed products. */
  readonly groups: readonly (readonly Uint32Array[])[];
}

/** Builds the packed tables of the r × k matrix `rows` (row-major). */
export function tsPrepare(rows: Uint8Array, r: number, k: number): TsPlan {
  const groups: Uint32Array[][] = [];
  for (let g = 0; g < r; g += 4) {
    const tables: Uint32Array[] = [];
    for (let j = 0; j < k; j++) {
      const t = new Uint32Array(256);
      for (let q = 0; q < 4 && g + q < r; q++) {
        const c = rows[(g + q) * k + j]!;
        if (c === 0) continue;
        const lc = GF_LOG[c]!, shift = 8 * q;
        for (let x = 1; x < 256; x++) t[x] = t[x]! | (GF_EXP[lc + GF_LOG[x]!]! << shift);
      }
      tables.push(t);
    }
    groups.push(tables);
  }
  return { r, k, groups };
}

/** `dst[q][i] = XOR over j of rows[q][j] · src[j][i]` for i < len (dst never aliases src). */
export function tsDot(
  plan: TsPlan,
  src: readonly Uint8Array[],
  dst: readonly Uint8Array[],
  len: number,
): void {
  const acc = new Uint32Array(CHUNK);
  const { k, r } = plan;
  plan.groups.forEach((tables, gi) => {
    const g = gi * 4, width = Math.min(4, r - g);
    for (let off = 0; off < len; off += CHUNK) {
      const c = Math.min(CHUNK, len - off);
      accumulate(acc, tables, src, k, off, c);
      scatter(acc, dst, g, width, off, c);
    }
  });
}

function accumulate(
  acc: Uint32Array,
  tables: readonly Uint32Array[],
  src: readonly Uint8Array[],
  k: number,
  off: number,
  c: number,
): void {
  {
    const t = tables[0]!, s = src[0]!;
    for (let i = 0; i < c; i++) acc[i] = t[s[off + i]!]!;
  }
  let j = 1;
  // Two sources per sweep halve the accumulator's loads and stores.
  for (; j + 1 < k; j += 2) {
    const t = tables[j]!, s = src[j]!, u = tables[j + 1]!, v = src[j + 1]!;
    for (let i = 0; i < c; i++) acc[i] = acc[i]! ^ t[s[off + i]!]! ^ u[v[off + i]!]!;
  }
  if (j < k) {
    const t = tables[j]!, s = src[j]!;
    for (let i = 0; i < c; i++) acc[i] = acc[i]! ^ t[s[off + i]!]!;
  }
}

function scatter(
  acc: Uint32Array,
  dst: readonly Uint8Array[],
  g: number,
  width: number,
  off: number,
  c: number,
): void {
  if (width === 4) {
    const o0 = dst[g]!, o1 = dst[g + 1]!, o2 = dst[g + 2]!, o3 = dst[g + 3]!;
    for (let i = 0; i < c; i++) {
      const v = acc[i]!;
      o0[off + i] = v;
      o1[off + i] = v >>> 8;
      o2[off + i] = v >>> 16;
      o3[off + i] = v >>> 24;
    }
    return;
  }
  for (let q = 0; q < width; q++) {
    const o = dst[g + q]!, shift = 8 * q;
    for (let i = 0; i < c; i++) o[off + i] = acc[i]! >>> shift;
  }
}
