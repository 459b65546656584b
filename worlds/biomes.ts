// This module is browser compatible.
/**
 * Biomes and surface materials: their ids (bytes in encoded chunks, so an id never changes
 * meaning; adding one needs a new codec version) and how terrain-v1 chooses them from height,
 * slope, temperature and moisture. Thresholds are Q15 (32768 = 1.0) and height units (1/16 m).
 * @module
 */

/** Biome ids. */
export const Biome = {
  Ocean: 0,
  Beach: 1,
  Plains: 2,
  Forest: 3,
  Desert: 4,
  Savanna: 5,
  Taiga: 6,
  Mountains: 7,
  Snow: 8,
} as const;
/** A biome id. */
export type Biome = typeof Biome[keyof typeof Biome];
/** Biome names by id (for HUDs and logs). */
export const BIOME_NAMES: readonly string[] = Object.keys(Biome).map((k) => k.toLowerCase());
/** Biome ids are below this. */
export const BIOME_COUNT = BIOME_NAMES.length;

/** Surface material ids: what the ground is made of (the client colours and textures by it). */
export const Material = {
  Grass: 0,
  DryGrass: 1,
  Dirt: 2,
  Sand: 3,
  Gravel: 4,
  Rock: 5,
  Snow: 6,
} as const;
/** A material id. */
export type Material = typeof Material[keyof typeof Material];
/** Material names by id. */
export const MATERIAL_NAMES: readonly string[] = Object.keys(Material).map((k) =>
  k.replace(/[A-Z]/g, (c, i) => (i ? "-" : "") + c.toLowerCase())
);
/** Material ids are below this. */
export const MATERIAL_COUNT = MATERIAL_NAMES.length;

/** What decides a column's biome and material; all integers. */
export interface ColumnClimate {
  /** Ground height in 1/16 m. */
  height: number;
  /** Steepest rise to a 4-neighbour, in 1/16 m per column (16 is 45°). */
  slope: number;
  /** Q15 temperature, already cooled with altitude. */
  temperature: number;
  /** Q15 moisture. */
  moisture: number;
  /** Q15 0..1: how much this column belongs to a mountain range. */
  mountains: number;
}

const M = 16; // height units per metre

/** The biome of a column (terrain-v1's rules; changing them changes bytes, so a new generator). */
export function classifyBiome(c: ColumnClimate, seaLevel: number): Biome {
  if (c.height < seaLevel) return Biome.Ocean;
  if (c.height > seaLevel + 150 * M) return Biome.Snow;
  if (c.mountains > 11469 && c.height > seaLevel + 60 * M) return Biome.Mountains;
  if (c.temperature < -18022) return Biome.Snow; // below -0.55
  if (c.height < seaLevel + 24 && c.slope < M) return Biome.Beach; // within 1.5 m of the sea
  if (c.temperature < -6554) return Biome.Taiga; // below -0.2
  if (c.temperature > 8192) return c.moisture < -1638 ? Biome.Desert : Biome.Savanna;
  return c.moisture > 1638 ? Biome.Forest : Biome.Plains;
}

/** The surface material of a column of `biome`. */
export function surfaceMaterial(biome: Biome, c: ColumnClimate, seaLevel: number): Material {
  if (biome === Biome.Ocean) return seaLevel - c.height < 3 * M ? Material.Sand : Material.Gravel;
  if (biome === Biome.Snow) return c.slope > 28 ? Material.Rock : Material.Snow;
  if (c.slope > 20) return Material.Rock; // steeper than about 51°: bare cliff
  switch (biome) {
    case Biome.Beach:
    case Biome.Desert:
      return Material.Sand;
    case Biome.Mountains:
      return c.slope > 9 ? Material.Rock : Material.Gravel;
    case Biome.Savanna:
      return Material.DryGrass;
    default:
      return c.slope > 12 ? Material.Dirt : Material.Grass;
  }
}
