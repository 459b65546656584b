// This module is browser compatible.
/**
 * terrain-v1: the chunk of a world at chunk coordinates (x, z), from the world's seed alone.
 * Pure and synchronous, so it runs the same on a gateway, in a page or in a Web Worker.
 * @module
 */
import { classifyBiome, type ColumnClimate, surfaceMaterial } from "./biomes.ts";
import {
  assertChunkCoord,
  assertSeed,
  type Chunk,
  CHUNK_COLUMNS,
  CHUNK_SIZE,
  SEA_LEVEL,
} from "./chunk.ts";
import { placeObjects } from "./_placement.ts";
import { terrain, WINDOW } from "./_terrain.ts";

/**
 * The generator's id, written into encoded chunks and chunk URLs (`/w/<world>/c/terrain-v1/…`).
 * Any change to the bytes this module produces for some input, however small, must come with a new
 * id (`terrain-v2`): caches, hashes and edits merged over chunks all name the generator's output.
 */
export const GENERATOR_ID = "terrain-v1";

/** A world's generation parameters. */
export interface WorldParams {
  /** Unsigned 32-bit seed: different seeds give unrelated worlds. */
  readonly seed: number;
  /** The generator to use; only {@linkcode GENERATOR_ID} is built in (the default). */
  readonly generator?: string;
}

/**
 * Generates chunk (`cx`, `cz`) of a world: the same bytes on every engine for the same seed,
 * generator and coordinates. Coordinates are signed 32-bit chunk indices; the world wraps at their
 * limits without a seam.
 *
 * @example
 * ```ts
 * import { generateChunk } from "./generate.ts";
 * const chunk = generateChunk({ seed: 42 }, -3, 7);
 * console.assert(chunk.heights.length === 32 * 32);
 * ```
 */
export function generateChunk(params: WorldParams, cx: number, cz: number): Chunk {
  const generator = params.generator ?? GENERATOR_ID;
  if (generator !== GENERATOR_ID) {
    throw new RangeError(
      `Unknown world generator ${JSON.stringify(generator)}: this build has "${GENERATOR_ID}"`,
    );
  }
  assertSeed(params.seed);
  assertChunkCoord("x", cx);
  assertChunkCoord("z", cz);
  const seed = params.seed;
  const t = terrain(seed, cx, cz);
  const heights = new Uint16Array(CHUNK_COLUMNS), water = new Uint16Array(CHUNK_COLUMNS);
  const biomes = new Uint8Array(CHUNK_COLUMNS), materials = new Uint8Array(CHUNK_COLUMNS);
  const slopes = new Uint8Array(CHUNK_COLUMNS);
  const c: ColumnClimate = { height: 0, slope: 0, temperature: 0, moisture: 0, mountains: 0 };
  for (let z = 0, col = 0; z < CHUNK_SIZE; z++) {
    for (let x = 0; x < CHUNK_SIZE; x++, col++) {
      const w = (z + 1) * WINDOW + x + 1, h = t.height[w]!;
      c.height = h;
      c.slope = Math.min(
        255,
        Math.max(
          Math.abs(h - t.height[w - 1]!),
          Math.abs(h - t.height[w + 1]!),
          Math.abs(h - t.height[w - WINDOW]!),
          Math.abs(h - t.height[w + WINDOW]!),
        ),
      );
      c.temperature = t.temperature[w]!;
      c.moisture = t.moisture[w]!;
      c.mountains = t.mountains[w]!;
      const biome = classifyBiome(c, SEA_LEVEL);
      heights[col] = h;
      biomes[col] = biome;
      materials[col] = surfaceMaterial(biome, c, SEA_LEVEL);
      water[col] = h < SEA_LEVEL ? SEA_LEVEL : 0;
      slopes[col] = c.slope;
    }
  }
  const objects = placeObjects(seed, cx, cz, biomes, slopes);
  return { generator, seed, x: cx, z: cz, heights, biomes, materials, water, objects };
}
