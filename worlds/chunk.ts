// This module is browser compatible.
/**
 * The chunk: a square of 32 × 32 columns of terrain, the unit that is generated, edited, encoded,
 * served and cached. Columns are stored row by row (`index = z * 32 + x`, x fastest, x east and z
 * south), so one index addresses a column's height, biome, material and water alike.
 * @module
 */
import { BIOME_COUNT, MATERIAL_COUNT } from "./biomes.ts";
import { OBJECT_KIND_COUNT } from "./objects.ts";

/** Columns along each side of a chunk. A column is 1 m across. */
export const CHUNK_SIZE = 32;
/** Columns in a chunk (32 × 32). */
export const CHUNK_COLUMNS = CHUNK_SIZE * CHUNK_SIZE;
/** Height steps per metre: heights are fixed point with 4 fractional bits (1/16 m). */
export const HEIGHT_UNITS_PER_METRE = 16;
/** The highest height value (4095 = 255.9375 m); 12 bits, so the codec's residuals stay small. */
export const MAX_HEIGHT = 4095;
/** The sea's surface, in height units (64 m): water fills generated columns below it. */
export const SEA_LEVEL = 64 * HEIGHT_UNITS_PER_METRE;
/** Objects per chunk at most (one per column on average); the generator places at most 320. */
export const MAX_OBJECTS = CHUNK_COLUMNS;
/** Object positions are in 1/8 of a column: 0..255 across a chunk. */
export const OBJECT_STEPS_PER_COLUMN = 8;
/** Half the world's width in metres: 2^32 chunks of 32 m, centred on 0 (the world wraps). */
export const HALF_WORLD_METRES = 2 ** 36;

/** Wraps a coordinate in metres into the world's [−2^36, 2^36). */
export function wrapMetres(v: number): number {
  const w = 2 * HALF_WORLD_METRES;
  return ((((v + HALF_WORLD_METRES) % w) + w) % w) - HALF_WORLD_METRES;
}

/**
 * One object standing on the terrain (a tree, a rock…). All fields are bytes.
 * - `x`, `z`: position inside the chunk in 1/8 column (column `x >> 3`, centred at `x / 8 + 1/16`);
 *   the object stands on its column's height.
 * - `kind`: an {@linkcode ObjectKind}.
 * - `rotation`: turn about the vertical axis in 1/256 of a full turn.
 * - `scale`: size factor in 1/64 (64 is the kind's natural size, 0..255 is 0 to 3.98×).
 */
export interface ChunkObject {
  readonly x: number;
  readonly z: number;
  readonly kind: number;
  readonly rotation: number;
  readonly scale: number;
}

/** A chunk's content. Arrays hold {@linkcode CHUNK_COLUMNS} entries, indexed `z * 32 + x`. */
export interface Chunk {
  /** The generator that made the terrain (`terrain-v1`); part of the chunk's URL. */
  readonly generator: string;
  /** The world's seed, an unsigned 32-bit integer. */
  readonly seed: number;
  /** Chunk coordinates: signed 32-bit chunk indices (the chunk spans columns 32x..32x+31). */
  readonly x: number;
  readonly z: number;
  /** Ground height per column in 1/16 m, 0..{@linkcode MAX_HEIGHT}. */
  readonly heights: Uint16Array;
  /** Biome per column (a {@linkcode Biome}). */
  readonly biomes: Uint8Array;
  /** Surface material per column (a {@linkcode Material}). */
  readonly materials: Uint8Array;
  /** Water surface per column in 1/16 m, or 0 for a dry column; when set it is above the ground. */
  readonly water: Uint16Array;
  /** Objects in canonical order (see {@linkcode compareObjects}). */
  readonly objects: readonly ChunkObject[];
}

/**
 * The canonical order of objects: by position (z, then x), then kind, rotation and scale. Encoded
 * chunks list objects in this order so one chunk has exactly one encoding (its hash is its name).
 */
export function compareObjects(a: ChunkObject, b: ChunkObject): number {
  return a.z - b.z || a.x - b.x || a.kind - b.kind || a.rotation - b.rotation ||
    a.scale - b.scale;
}

/** Throws a RangeError unless `v` is a signed 32-bit integer (a chunk coordinate). */
export function assertChunkCoord(name: string, v: number): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new RangeError(`Chunk ${name} must be a signed 32-bit integer, got ${v}`);
  }
}

/** Throws a RangeError unless `seed` is an unsigned 32-bit integer. */
export function assertSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`A world seed must be an integer from 0 to 4294967295, got ${seed}`);
  }
}

/** Generator ids: 1..32 characters of lower-case letters, digits, `.` and `-` (URL-safe). */
export const GENERATOR_ID_PATTERN = /^[a-z0-9][a-z0-9.-]{0,31}$/;

/**
 * Checks every field of a chunk against the form above; throws a TypeError for a wrong shape and a
 * RangeError naming the first value out of range (and where it is).
 */
export function assertChunk(c: Chunk): void {
  if (typeof c !== "object" || c === null) throw new TypeError(`A chunk must be an object`);
  if (typeof c.generator !== "string" || !GENERATOR_ID_PATTERN.test(c.generator)) {
    throw new RangeError(
      `Chunk generator must be 1-32 of [a-z0-9.-], got ${JSON.stringify(c.generator)}`,
    );
  }
  assertSeed(c.seed);
  assertChunkCoord("x", c.x);
  assertChunkCoord("z", c.z);
  const arrays = [
    ["heights", c.heights, Uint16Array],
    ["biomes", c.biomes, Uint8Array],
    ["materials", c.materials, Uint8Array],
    ["water", c.water, Uint16Array],
  ] as const;
  for (const [name, a, type] of arrays) {
    if (!(a instanceof type) || a.length !== CHUNK_COLUMNS) {
      throw new TypeError(`Chunk ${name} must be a ${type.name} of ${CHUNK_COLUMNS} entries`);
    }
  }
  for (let i = 0; i < CHUNK_COLUMNS; i++) {
    const at = `column (${i & 31}, ${i >> 5})`;
    const h = c.heights[i]!, w = c.water[i]!;
    if (h > MAX_HEIGHT) throw new RangeError(`Height ${h} at ${at} is above ${MAX_HEIGHT}`);
    if (c.biomes[i]! >= BIOME_COUNT) {
      throw new RangeError(`Biome ${c.biomes[i]} at ${at} is not below ${BIOME_COUNT}`);
    }
    if (c.materials[i]! >= MATERIAL_COUNT) {
      throw new RangeError(`Material ${c.materials[i]} at ${at} is not below ${MATERIAL_COUNT}`);
    }
    if (w !== 0 && (w <= h || w > MAX_HEIGHT)) {
      throw new RangeError(`Water ${w} at ${at} must be 0 or above the ground (${h}) and ≤ 4095`);
    }
  }
  if (!Array.isArray(c.objects)) throw new TypeError("Chunk objects must be an array");
  if (c.objects.length > MAX_OBJECTS) {
    throw new RangeError(`A chunk holds at most ${MAX_OBJECTS} objects, got ${c.objects.length}`);
  }
  c.objects.forEach(assertObject);
}

function assertObject(o: ChunkObject, i: number): void {
  for (const f of ["x", "z", "kind", "rotation", "scale"] as const) {
    const v = o[f];
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new RangeError(`Object ${i}: ${f} must be a byte, got ${v}`);
    }
  }
  if (o.kind >= OBJECT_KIND_COUNT) {
    throw new RangeError(`Object ${i}: kind ${o.kind} is not below ${OBJECT_KIND_COUNT}`);
  }
}
