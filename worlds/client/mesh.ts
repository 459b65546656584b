// This module is browser compatible.
/**
 * Chunk meshing: a decoded chunk becomes plain typed arrays (terrain, water surface, object
 * instance matrices) that a Web Worker transfers to the page without copying. No Three.js here,
 * so the seam rule is tested in Deno.
 *
 * **Seams.** Terrain vertices stand at column centres: chunk (x, z) has 33 × 33 of them, the last
 * row and column being the first column of the east and south neighbours. Those border heights
 * (and the west/north ones used for normals) are not in the chunk, so they come from the generator
 * itself: terrain-v1 computes its height field over the chunk plus a one-column border, in world
 * coordinates, and that border is exactly the neighbour's heights. Normals use backward
 * differences (h[i] − h[i−1]), so the vertex shared by two chunks gets the same normal from both.
 * Neighbouring chunks therefore share edge vertices bit for bit, with no skirts and no cracks.
 * (Edited chunks keep this while edits leave border columns alone; a chunk of an unknown generator
 * repeats its own edge, which can leave a step at its east and south borders.)
 * @module
 */
import { Biome, Material } from "../biomes.ts";
import { type Chunk, CHUNK_COLUMNS, CHUNK_SIZE, HEIGHT_UNITS_PER_METRE } from "../chunk.ts";
import { GENERATOR_ID } from "../generate.ts";
import { mix32 } from "../noise.ts";
import { OBJECT_KIND_COUNT } from "../objects.ts";
import { terrain, WINDOW } from "../_terrain.ts";

/** Vertices along a side of a chunk's terrain mesh (columns plus the neighbour's first). */
export const GRID = CHUNK_SIZE + 1;

/** A chunk's meshes as transferable typed arrays; positions are metres inside the chunk. */
export interface ChunkMesh {
  readonly x: number;
  readonly z: number;
  readonly terrain: {
    readonly positions: Float32Array;
    readonly normals: Float32Array;
    /** sRGB bytes, three per vertex (a normalized attribute). */
    readonly colors: Uint8Array;
    readonly indices: Uint16Array;
  };
  /** The water surface, or null for a dry chunk. */
  readonly water: {
    readonly positions: Float32Array;
    readonly indices: Uint16Array;
  } | null;
  /** Column-major 4 × 4 instance matrices, 16 floats per object, one entry per kind present. */
  readonly objects: readonly { readonly kind: number; readonly matrices: Float32Array }[];
  /** Ground height in metres at each vertex (GRID × GRID), for walking. */
  readonly ground: Float32Array;
  /** Biome per column (for the HUD). */
  readonly biomes: Uint8Array;
  /**
   * Bounding spheres `[x, y, z, radius]` in chunk metres: of the terrain and water, and of every
   * object (null without objects). Computed here so the page does not walk vertices and instances
   * on the main thread (Three.js would, for frustum culling).
   */
  readonly bounds: readonly [number, number, number, number];
  readonly objectBounds: readonly [number, number, number, number] | null;
}

/**
 * The furthest any object shape reaches from its origin at scale 1, in metres (the tallest, a
 * pine, is 8 m). objects.ts keeps its shapes within it; object bounds rely on it.
 */
export const MAX_SHAPE_EXTENT = 8;

// sRGB surface colours per material; grass takes a biome tint (below).
const MATERIAL_RGB: readonly (readonly [number, number, number])[] = [
  [92, 142, 62], // grass
  [164, 156, 86], // dry grass
  [122, 96, 66], // dirt
  [216, 198, 142], // sand
  [132, 126, 116], // gravel
  [118, 112, 106], // rock
  [240, 244, 250], // snow
];
const GRASS_BY_BIOME: Partial<Record<number, readonly [number, number, number]>> = {
  [Biome.Forest]: [70, 122, 50],
  [Biome.Taiga]: [78, 112, 84],
  [Biome.Savanna]: [150, 150, 74],
  [Biome.Mountains]: [96, 124, 76],
};

/**
 * The ground heights (in 1/16 m) over the chunk plus a one-column border, 34 × 34 row by row
 * (`(z + 1) * 34 + x + 1`): the chunk's own heights inside, the generator's at the border.
 */
export function groundWindow(chunk: Chunk): Int32Array {
  const out = new Int32Array(WINDOW * WINDOW);
  if (chunk.generator === GENERATOR_ID) {
    out.set(terrain(chunk.seed, chunk.x, chunk.z).height);
  }
  for (let z = -1; z <= CHUNK_SIZE; z++) {
    for (let x = -1; x <= CHUNK_SIZE; x++) {
      const inside = x >= 0 && z >= 0 && x < CHUNK_SIZE && z < CHUNK_SIZE;
      if (!inside && chunk.generator === GENERATOR_ID) continue;
      const cx = Math.min(CHUNK_SIZE - 1, Math.max(0, x));
      const cz = Math.min(CHUNK_SIZE - 1, Math.max(0, z));
      out[(z + 1) * WINDOW + x + 1] = chunk.heights[cz * CHUNK_SIZE + cx]!;
    }
  }
  return out;
}

/** Builds a chunk's meshes (see the module doc for the seam rule). */
export function meshChunk(chunk: Chunk): ChunkMesh {
  const win = groundWindow(chunk);
  const n = GRID * GRID, unit = 1 / HEIGHT_UNITS_PER_METRE;
  const positions = new Float32Array(n * 3), normals = new Float32Array(n * 3);
  const colors = new Uint8Array(n * 3), ground = new Float32Array(n);
  for (let j = 0, v = 0; j < GRID; j++) {
    for (let i = 0; i < GRID; i++, v++) {
      const w = (j + 1) * WINDOW + i + 1;
      const h = win[w]! * unit;
      ground[v] = h;
      positions[v * 3] = i + 0.5;
      positions[v * 3 + 1] = h;
      positions[v * 3 + 2] = j + 0.5;
      // Backward differences: both chunks sharing a vertex compute the same normal.
      const dx = (win[w]! - win[w - 1]!) * unit, dz = (win[w]! - win[w - WINDOW]!) * unit;
      const len = Math.sqrt(dx * dx + 1 + dz * dz);
      normals[v * 3] = -dx / len;
      normals[v * 3 + 1] = 1 / len;
      normals[v * 3 + 2] = -dz / len;
      const col = Math.min(j, CHUNK_SIZE - 1) * CHUNK_SIZE + Math.min(i, CHUNK_SIZE - 1);
      columnColor(chunk, col, colors, v * 3);
    }
  }
  const indices = new Uint16Array(CHUNK_COLUMNS * 6);
  for (let j = 0, k = 0; j < CHUNK_SIZE; j++) {
    for (let i = 0; i < CHUNK_SIZE; i++) {
      const a = j * GRID + i, b = a + 1, c = a + GRID, d = c + 1;
      // Counter-clockwise seen from above (+y), so the default front face is the top.
      indices.set([a, c, b, b, c, d], k);
      k += 6;
    }
  }
  let lo = Infinity, hi = -Infinity;
  for (const h of ground) (lo = Math.min(lo, h)), (hi = Math.max(hi, h));
  for (const w of chunk.water) if (w) hi = Math.max(hi, w / HEIGHT_UNITS_PER_METRE);
  const half = GRID / 2, mid = (lo + hi) / 2;
  return {
    x: chunk.x,
    z: chunk.z,
    terrain: { positions, normals, colors, indices },
    water: waterMesh(chunk),
    objects: objectMatrices(chunk),
    ground,
    biomes: chunk.biomes.slice(),
    bounds: [half, mid, half, Math.hypot(half, half, (hi - lo) / 2)],
    objectBounds: objectBounds(chunk),
  };
}

/** A sphere around every object: the box of their feet, grown by the largest shape's reach. */
function objectBounds(chunk: Chunk): ChunkMesh["objectBounds"] {
  if (chunk.objects.length === 0) return null;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, z0 = Infinity, z1 = -Infinity;
  let scale = 0;
  for (const o of chunk.objects) {
    const y = chunk.heights[(o.z >> 3) * CHUNK_SIZE + (o.x >> 3)]! / HEIGHT_UNITS_PER_METRE;
    const x = o.x / 8, z = o.z / 8;
    (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x)), (z0 = Math.min(z0, z)), (z1 = Math.max(z1, z));
    (y0 = Math.min(y0, y)), (y1 = Math.max(y1, y)), (scale = Math.max(scale, o.scale / 64));
  }
  const r = Math.hypot(x1 - x0, y1 - y0, z1 - z0) / 2 + 0.2 + MAX_SHAPE_EXTENT * scale;
  return [(x0 + x1) / 2 + 0.1, (y0 + y1) / 2, (z0 + z1) / 2 + 0.1, r];
}

function columnColor(chunk: Chunk, col: number, out: Uint8Array, at: number): void {
  const m = chunk.materials[col]!;
  const base = (m === Material.Grass ? GRASS_BY_BIOME[chunk.biomes[col]!] : undefined) ??
    MATERIAL_RGB[m] ?? MATERIAL_RGB[0]!;
  // A little per-column variation (a hash of the world column, not Math.random) breaks up flat
  // colour the way a texture would; ±7 %.
  const wx = chunk.x * CHUNK_SIZE + (col & 31), wz = chunk.z * CHUNK_SIZE + (col >> 5);
  const f = 0.93 + (mix32(Math.imul(wx, 0x27d4eb2d) ^ wz) & 255) / 255 * 0.14;
  for (let c = 0; c < 3; c++) out[at + c] = Math.min(255, Math.round(base[c]! * f));
}

/** Water as one quad per run of wet columns with the same level along a row. */
function waterMesh(chunk: Chunk): ChunkMesh["water"] {
  const quads: number[] = [];
  for (let z = 0; z < CHUNK_SIZE; z++) {
    let x = 0;
    while (x < CHUNK_SIZE) {
      const w = chunk.water[z * CHUNK_SIZE + x]!;
      let end = x + 1;
      while (end < CHUNK_SIZE && chunk.water[z * CHUNK_SIZE + end] === w) end++;
      if (w !== 0) quads.push(x, end, z, w / HEIGHT_UNITS_PER_METRE);
      x = end;
    }
  }
  if (quads.length === 0) return null;
  const count = quads.length / 4;
  const positions = new Float32Array(count * 12), indices = new Uint16Array(count * 6);
  for (let q = 0; q < count; q++) {
    const [x0, x1, z, y] = [quads[q * 4]!, quads[q * 4 + 1]!, quads[q * 4 + 2]!, quads[q * 4 + 3]!];
    positions.set([x0, y, z, x1, y, z, x0, y, z + 1, x1, y, z + 1], q * 12);
    const v = q * 4;
    indices.set([v, v + 2, v + 1, v + 1, v + 2, v + 3], q * 6);
  }
  return { positions, indices };
}

/** Instance matrices per kind: rotation about y, uniform scale, standing on the column's height. */
function objectMatrices(chunk: Chunk): ChunkMesh["objects"] {
  const counts = new Array<number>(OBJECT_KIND_COUNT).fill(0);
  for (const o of chunk.objects) counts[o.kind]!++;
  const byKind = counts.map((c) => new Float32Array(c * 16));
  const fill = new Array<number>(OBJECT_KIND_COUNT).fill(0);
  for (const o of chunk.objects) {
    const col = (o.z >> 3) * CHUNK_SIZE + (o.x >> 3);
    const a = o.rotation / 256 * 2 * Math.PI, s = o.scale / 64;
    const c = Math.cos(a) * s, sn = Math.sin(a) * s;
    const y = chunk.heights[col]! / HEIGHT_UNITS_PER_METRE;
    byKind[o.kind]!.set(
      [c, 0, -sn, 0, 0, s, 0, 0, sn, 0, c, 0, o.x / 8 + 1 / 16, y, o.z / 8 + 1 / 16, 1],
      fill[o.kind]! * 16,
    );
    fill[o.kind]!++;
  }
  return byKind.flatMap((matrices, kind) => matrices.length ? [{ kind, matrices }] : []);
}

/** The buffers of a mesh, for a postMessage transfer list. */
export function meshBuffers(m: ChunkMesh): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [
    m.terrain.positions,
    m.terrain.normals,
    m.terrain.colors,
    m.terrain.indices,
    m.ground,
    m.biomes,
    ...(m.water ? [m.water.positions, m.water.indices] : []),
    ...m.objects.map((o) => o.matrices),
  ];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** Bytes a mesh holds (for the decoded-chunk LRU's budget). */
export function meshBytes(m: ChunkMesh): number {
  let n = 0;
  for (const b of meshBuffers(m)) n += b.byteLength;
  return n;
}
