// This module is browser compatible.
/**
 * terrain-v1's fields over a chunk plus a one-column border (34 × 34 samples, so slopes at the
 * chunk's edge see the neighbour's columns): ground height, temperature, moisture and how
 * mountainous each column is. Every field is a sum of noise octaves in world coordinates.
 *
 * Shape, in metres above the sea: a continental field (periods 4096..512 m) mapped through a
 * piecewise-linear profile gives oceans (−40 m), coasts and highlands (+45 m); rolling hills
 * (periods 256..8 m, ±20 m at the largest) are damped to a third at sea; mountain ranges (a mask of
 * period 2048 m) raise ridged noise (periods 512..128 m) up to 140 m on land.
 * @module
 */
import { CHUNK_SIZE, MAX_HEIGHT, SEA_LEVEL } from "./chunk.ts";
import { NOISE_ONE, sampleNoise } from "./noise.ts";

/** Samples along each side of the window: the chunk and one column either side. */
export const WINDOW = CHUNK_SIZE + 2;
const N = WINDOW * WINDOW;
const ONE = NOISE_ONE;

// Salts name each octave's lattice; changing one changes every chunk (a new generator id).
const CONTINENT = [[12, 0], [11, 1], [10, 2], [9, 3]] as const; // [log2 period, weight shift]
const HILLS = [[8, 320], [7, 160], [6, 80], [5, 40], [4, 16], [3, 8]] as const; // [log2, 1/16 m]
const RIDGES = [[9, 1], [8, 2], [7, 3]] as const;
const SALT_CONTINENT = 0x100, SALT_HILLS = 0x200, SALT_MASK = 0x300, SALT_RIDGE = 0x400;
const SALT_TEMPERATURE = 0x500, SALT_MOISTURE = 0x600;

// The continental profile: Q15 continentalness → height above the sea in 1/16 m.
const KNOT_C = [-ONE, -11469, -2621, 0, 1966, 14746, ONE];
const KNOT_H = [-640, -288, -64, 8, 48, 384, 720];
const MOUNTAIN_HEIGHT = 140 * 16;

/** terrain-v1's fields over the window, row by row (`index = (z + 1) * 34 + (x + 1)`). */
export interface Terrain {
  height: Int32Array;
  temperature: Int32Array;
  moisture: Int32Array;
  mountains: Int32Array;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function profile(c: number): number {
  c = clamp(c, -ONE, ONE);
  let k = 1;
  while (k < KNOT_C.length - 1 && c > KNOT_C[k]!) k++;
  const c0 = KNOT_C[k - 1]!, h0 = KNOT_H[k - 1]!;
  // A division by a non-power of two: IEEE 754 rounds it correctly, so every engine agrees.
  return h0 + Math.floor(((c - c0) * (KNOT_H[k]! - h0)) / (KNOT_C[k]! - c0));
}

// Fields reused by every call, as noise.ts does: generation is synchronous and each page or worker
// has its own module instance. Halves the garbage a chunk leaves.
const n = new Int32Array(N), cont = new Int32Array(N), hills = new Int32Array(N);
const ridge = new Int32Array(N), mask = new Int32Array(N);
const FIELDS: Terrain = {
  height: new Int32Array(N),
  temperature: new Int32Array(N),
  moisture: new Int32Array(N),
  mountains: new Int32Array(N),
};

/**
 * Computes the fields for chunk (`cx`, `cz`) of the world with `seed`. The arrays returned are
 * overwritten by the next call: read them before generating another chunk.
 */
export function terrain(seed: number, cx: number, cz: number): Terrain {
  const x0 = cx * CHUNK_SIZE - 1, z0 = cz * CHUNK_SIZE - 1;
  const octave = (salt: number, log2: number) => sampleNoise(seed, salt, log2, x0, z0, WINDOW, n);
  const { height, temperature, moisture, mountains } = FIELDS;
  cont.fill(0), hills.fill(0), ridge.fill(0);
  for (const [log2, shift] of CONTINENT) {
    octave(SALT_CONTINENT + log2, log2);
    for (let i = 0; i < N; i++) cont[i]! += n[i]! >> shift;
  }
  for (const [log2, amp] of HILLS) {
    octave(SALT_HILLS + log2, log2);
    for (let i = 0; i < N; i++) hills[i]! += (n[i]! * amp) >> 15;
  }
  octave(SALT_MASK, 11);
  for (let i = 0; i < N; i++) {
    const m = clamp((n[i]! - 3277) * 3, 0, ONE); // ranges where the mask is above 0.1
    mask[i] = (m * m) >> 15; // eased in, so ranges rise from the plains gradually
  }
  for (const [log2, shift] of RIDGES) {
    octave(SALT_RIDGE + log2, log2);
    for (let i = 0; i < N; i++) {
      const r = ONE - Math.abs(n[i]!); // sharp crests where the noise crosses zero
      ridge[i]! += ((r * r) >> 15) >> shift;
    }
  }
  octave(SALT_TEMPERATURE + 12, 12);
  temperature.set(n);
  octave(SALT_TEMPERATURE + 8, 8);
  for (let i = 0; i < N; i++) temperature[i]! += n[i]! >> 2;
  octave(SALT_MOISTURE + 11, 11);
  moisture.set(n);
  octave(SALT_MOISTURE + 7, 7);
  for (let i = 0; i < N; i++) moisture[i]! += n[i]! >> 2;

  for (let i = 0; i < N; i++) {
    const c = cont[i]!;
    const land = clamp((c + 3277) * 4, 0, ONE); // 0 below continentalness −0.1, 1 from 0.15
    const mnt = (mask[i]! * land) >> 15;
    const hillWeight = 10923 + ((land * 21845) >> 15); // a third at sea, whole on land
    const h = SEA_LEVEL + profile(c) + ((hills[i]! * hillWeight) >> 15) +
      ((((mnt * ridge[i]!) >> 15) * MOUNTAIN_HEIGHT) >> 15);
    height[i] = clamp(h, 0, MAX_HEIGHT);
    mountains[i] = mnt;
    // Air cools with altitude: 1.0 colder 256 m above the sea.
    temperature[i]! -= Math.max(0, height[i]! - SEA_LEVEL) * 8;
  }
  return FIELDS;
}
