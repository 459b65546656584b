// This module is browser compatible.
/**
 * Where terrain-v1 puts objects. Two layers of jittered grids in world coordinates: large objects
 * (trees, boulders) get one chance per 4 × 4 column cell, small ones (bushes, rocks, flowers) one
 * per 2 × 2 cell. A cell's hash picks the column, whether anything grows there (by the column's
 * biome) and what. Cells never straddle chunks, so each object is decided by exactly one chunk,
 * and the grid keeps trees apart without looking at neighbours.
 * @module
 */
import { CHUNK_SIZE, type ChunkObject, compareObjects } from "./chunk.ts";
import { hashPoint, mix32, WORLD_COLUMNS, wrap } from "./noise.ts";
import { isTree, ObjectKind as K } from "./objects.ts";

/** Steepest slope (1/16 m per column) a tree grows on: 12 is about 37°. */
const TREE_SLOPE = 12;

interface Layer {
  salt: number;
  log2Cell: number;
  /** Per biome id: chance out of 256 that a cell holds an object. */
  density: readonly number[];
  /** Per biome id: [kind, cumulative weight out of 256], … */
  kinds: readonly (readonly (readonly [number, number])[])[];
}

// Per biome id (ocean has none): ocean, beach, plains, forest, desert, savanna, taiga, mountains, snow.
const LAYERS: readonly Layer[] = [{
  salt: 0x1000,
  log2Cell: 2,
  density: [0, 18, 20, 200, 12, 40, 190, 30, 14],
  kinds: [
    [],
    [[K.Palm, 256]],
    [[K.Oak, 205], [K.Boulder, 256]],
    [[K.Oak, 154], [K.Birch, 243], [K.Boulder, 256]],
    [[K.Cactus, 218], [K.Boulder, 256]],
    [[K.Oak, 180], [K.Boulder, 256]],
    [[K.Pine, 243], [K.Boulder, 256]],
    [[K.Pine, 77], [K.Boulder, 256]],
    [[K.Pine, 154], [K.Boulder, 256]],
  ],
}, {
  salt: 0x2000,
  log2Cell: 1,
  density: [0, 8, 60, 50, 20, 40, 30, 40, 12],
  kinds: [
    [],
    [[K.Rock, 256]],
    [[K.Bush, 64], [K.Flowers, 230], [K.Rock, 256]],
    [[K.Bush, 154], [K.Flowers, 205], [K.Rock, 256]],
    [[K.DeadBush, 180], [K.Rock, 256]],
    [[K.DeadBush, 128], [K.Bush, 205], [K.Rock, 256]],
    [[K.Bush, 102], [K.Rock, 256]],
    [[K.Rock, 256]],
    [[K.Rock, 256]],
  ],
}];

/** Natural size range per kind, in 1/64 (64 = 1×). */
const SCALE: readonly (readonly [number, number])[] = [
  [51, 83], // oak
  [51, 77], // birch
  [51, 90], // pine
  [58, 77], // palm
  [45, 77], // cactus
  [48, 128], // boulder
  [45, 83], // bush
  [32, 96], // rock
  [51, 77], // flowers
  [45, 70], // dead bush
];

/** The objects of chunk (`cx`, `cz`), in canonical order, from its columns' biomes and slopes. */
export function placeObjects(
  seed: number,
  cx: number,
  cz: number,
  biomes: Uint8Array,
  slopes: Uint8Array,
): ChunkObject[] {
  const out: ChunkObject[] = [];
  const taken = new Uint8Array(biomes.length); // a small object never shares a tree's column
  for (const layer of LAYERS) {
    const side = 1 << layer.log2Cell, cells = CHUNK_SIZE >> layer.log2Cell;
    const world = WORLD_COLUMNS / side;
    for (let b = 0; b < cells; b++) {
      const wz = wrap(cz * cells + b, world);
      for (let a = 0; a < cells; a++) {
        const h = hashPoint(seed, layer.salt, wrap(cx * cells + a, world), wz);
        const x = a * side + (h & (side - 1)), z = b * side + ((h >>> 4) & (side - 1));
        const col = z * CHUNK_SIZE + x, biome = biomes[col]!;
        if (taken[col] || ((h >>> 8) & 255) >= layer.density[biome]!) continue;
        const r = (h >>> 16) & 255, kinds = layer.kinds[biome]!;
        const kind = kinds.find(([, upTo]) => r < upTo)![0];
        if (isTree(kind) && slopes[col]! > TREE_SLOPE) continue;
        const j = mix32(h ^ 0x5bd1e995), [lo, hi] = SCALE[kind]!;
        taken[col] = 1;
        out.push({
          x: x * 8 + (j & 7),
          z: z * 8 + ((j >>> 3) & 7),
          kind,
          rotation: (j >>> 6) & 255,
          scale: lo + ((((j >>> 14) & 255) * (hi - lo + 1)) >> 8),
        });
      }
    }
  }
  return out.sort(compareObjects);
}
