/**
 * Chunk costs for endless worlds (worlds/): generating one terrain-v1 chunk, encoding it and
 * decoding it, each over 256 different chunks in turn so no one chunk's shape dominates. The goal
 * (issue 7) is p95 ≤ 2 ms to generate. `deno bench` reports p75/p99; for p50/p95 and bytes per
 * chunk run `bench/world_gen_stats.ts`. Run with `deno bench bench/world_gen.ts`; figures in
 * BENCHMARKS.md and docs/worlds.md.
 */
import { type Chunk, decodeChunk, encodeChunk, generateChunk } from "../worlds/mod.ts";

const SEED = 20261124;
// A 16 × 16 block of chunks straddling the origin: negative and positive coordinates, a mix of land
// and sea, as a player's surroundings would be.
const COORDS = Array.from({ length: 256 }, (_, i) => [(i & 15) - 8, (i >> 4) - 8] as const);
const CHUNKS: Chunk[] = COORDS.map(([x, z]) => generateChunk({ seed: SEED }, x, z));
const ENCODED = CHUNKS.map(encodeChunk);

let g = 0, e = 0, d = 0;
Deno.bench("generate one chunk", { group: "worlds", baseline: true }, () => {
  const [x, z] = COORDS[g++ & 255]!;
  generateChunk({ seed: SEED }, x, z);
});
Deno.bench("encode one chunk", { group: "worlds" }, () => {
  encodeChunk(CHUNKS[e++ & 255]!);
});
Deno.bench("decode one chunk", { group: "worlds" }, () => {
  decodeChunk(ENCODED[d++ & 255]!);
});
