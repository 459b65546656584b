// This module is browser compatible.
/**
 * Seeded integer hashing and 2D gradient ("Perlin") noise in fixed point, sampled over a square
 * window of world columns.
 *
 * Determinism: engines may round `Math.sin`, `exp` or `pow` differently, so nothing here uses them.
 * Every value is an integer held exactly in a double (every intermediate is below 2^53), and the
 * only operations are `+`, `-`, `*`, `Math.imul`, shifts and `Math.floor` of a division by a power
 * of two, all of which IEEE 754 and ECMAScript define exactly. The same inputs give the same
 * integers in Deno, browsers, workers and edge runtimes.
 *
 * Noise is a function of world coordinates only, so neighbouring chunks agree on their shared
 * border without knowing about each other.
 * @module
 */

/**
 * World columns wrap at 2^37 (2^32 chunks of 32), so the 32-bit chunk index space closes into a
 * seamless torus: chunk 2^31 − 1 continues into chunk −2^31 with no edge.
 */
export const WORLD_COLUMNS = 2 ** 37;
/** Noise values are Q15: 32768 is 1.0; samples lie within about ±32768. */
export const NOISE_ONE = 32768;
/** The largest noise period, 2^16 columns (the fade is computed in Q16 of a cell). */
export const MAX_LOG2_PERIOD = 16;
/** The widest window {@linkcode sampleNoise} fills (a chunk plus a border is 34). */
export const MAX_WINDOW = 64;

const Q16 = 65536;
const TWO_32 = 4294967296;

/** A 32-bit integer finaliser with low bias (Wellons' "lowbias32"); a bijection on 32 bits. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes a lattice point: the world seed, a salt naming the use (one per noise octave or object
 * layer) and two non-negative integer coordinates below 2^37. Returns an unsigned 32-bit integer.
 */
export function hashPoint(seed: number, salt: number, x: number, z: number): number {
  // ToUint32 (`>>> 0`) is arithmetic mod 2^32, exact for integers below 2^53.
  const hi = Math.floor(x / TWO_32) | (Math.floor(z / TWO_32) << 16);
  let h = mix32(seed ^ Math.imul(salt, 0x9e3779b9));
  h = mix32(h ^ (x >>> 0));
  h = mix32(h ^ (z >>> 0));
  return hi === 0 ? h : mix32(h ^ hi);
}

/** `v` mod `m` in 0..m−1 for integer `v` (JavaScript's `%` keeps the dividend's sign). */
export function wrap(v: number, m: number): number {
  const r = v % m;
  return r < 0 ? r + m : r;
}

// Sixteen gradient directions at 22.5° steps, length 362 ≈ 256·√2: the √2 scales 2D gradient
// noise's extreme (√½ for unit gradients) to ±1, so samples fill the Q15 range.
// Written as cos over the first half turn; the rest follows by symmetry (sin θ = cos(θ − 90°)).
const COS = [362, 334, 256, 139, 0, -139, -256, -334];
const GX = Int32Array.from({ length: 16 }, (_, i) => i < 8 ? COS[i]! : -COS[i - 8]!);
const GZ = Int32Array.from({ length: 16 }, (_, i) => GX[(i + 12) & 15]!);

/**
 * Perlin's quintic fade 6t⁵ − 15t⁴ + 10t³ of a Q16 `t` (0..65536), in Q16. Horner's rule keeps 32
 * fractional bits between steps (every product stays below 2^52), which makes the result rise
 * monotonically over all 65537 inputs; 16 bits were not enough.
 */
export function fade(t: number): number {
  const a = 6 * t - 15 * Q16; // Q16
  const b = t * a + 10 * Q16 * Q16; // Q32
  const c = Math.floor((t * b) / Q16); // Q32
  const d = Math.floor((t * c) / Q16);
  return Math.floor(Math.floor((t * d) / Q16) / Q16);
}

/** Where each sample of one axis falls: its lattice cell (relative) and Q16 offsets and fades. */
interface Axis {
  first: number; // world lattice index of the window's first cell
  points: number; // lattice points along this axis
  cell: Int32Array;
  t: Int32Array;
  s: Int32Array;
}

function newAxis(): Axis {
  const n = MAX_WINDOW;
  return {
    first: 0,
    points: 0,
    cell: new Int32Array(n),
    t: new Int32Array(n),
    s: new Int32Array(n),
  };
}

// Scratch reused by every call rather than allocated per octave: sampling is synchronous and each
// page or worker has its own module instance, so nothing is shared. Fewer short-lived arrays mean
// fewer young-generation collections landing inside a chunk's generation (see docs/worlds.md).
const AX = newAxis(), AZ = newAxis();
const GRAD_X = new Int32Array((MAX_WINDOW + 1) ** 2), GRAD_Z = new Int32Array(GRAD_X.length);

function axis(into: Axis, origin: number, size: number, log2: number): Axis {
  const period = 2 ** log2;
  const first = Math.floor(origin / period);
  const { cell, t, s } = into;
  for (let i = 0; i < size; i++) {
    const c = Math.floor((origin + i) / period);
    cell[i] = c - first;
    t[i] = (origin + i - c * period) * 2 ** (16 - log2);
    s[i] = fade(t[i]!);
  }
  into.first = first;
  into.points = cell[size - 1]! + 2;
  return into;
}

/**
 * Fills `out` (row by row, `size` × `size`) with one octave of gradient noise of period
 * 2^`log2Period` columns over world columns `x0..x0+size−1` by `z0..z0+size−1`, in Q15.
 * `x0` and `z0` are integers (negative ones too); lattice points are hashed mod the world's wrap.
 */
export function sampleNoise(
  seed: number,
  salt: number,
  log2Period: number,
  x0: number,
  z0: number,
  size: number,
  out: Int32Array,
): void {
  if (!Number.isInteger(log2Period) || log2Period < 0 || log2Period > MAX_LOG2_PERIOD) {
    throw new RangeError(`Noise period must be 2^0..2^16 columns, got 2^${log2Period}`);
  }
  if (!Number.isInteger(size) || size < 1 || size > MAX_WINDOW || out.length < size * size) {
    throw new RangeError(`Noise window must be 1..${MAX_WINDOW} wide and fit out, got ${size}`);
  }
  const ax = axis(AX, x0, size, log2Period), az = axis(AZ, z0, size, log2Period);
  const lattice = WORLD_COLUMNS / 2 ** log2Period, nx = ax.points;
  const gx = GRAD_X, gz = GRAD_Z;
  for (let b = 0; b < az.points; b++) {
    const lz = wrap(az.first + b, lattice);
    for (let a = 0; a < nx; a++) {
      const g = hashPoint(seed, salt, wrap(ax.first + a, lattice), lz) & 15;
      gx[b * nx + a] = GX[g]!;
      gz[b * nx + a] = GZ[g]!;
    }
  }
  for (let j = 0, o = 0; j < size; j++) {
    const row = az.cell[j]! * nx, v = az.t[j]!, sv = az.s[j]!, v1 = v - Q16;
    for (let i = 0; i < size; i++, o++) {
      const c = row + ax.cell[i]!, u = ax.t[i]!, su = ax.s[i]!, u1 = u - Q16;
      const d00 = gx[c]! * u + gz[c]! * v;
      const d10 = gx[c + 1]! * u1 + gz[c + 1]! * v;
      const d01 = gx[c + nx]! * u + gz[c + nx]! * v1;
      const d11 = gx[c + nx + 1]! * u1 + gz[c + nx + 1]! * v1;
      const e0 = d00 + Math.floor(((d10 - d00) * su) / Q16);
      const e1 = d01 + Math.floor(((d11 - d01) * su) / Q16);
      // Dot products are Q24 (gradients Q8 × offsets Q16); the sample is Q15.
      out[o] = Math.floor((e0 + Math.floor(((e1 - e0) * sv) / Q16)) / 512);
    }
  }
}
