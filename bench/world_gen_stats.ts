/**
 * Percentiles and sizes for worlds/ chunks: times generating, encoding and decoding 2000 different
 * terrain-v1 chunks (after 200 to warm up) and prints p50/p95/p99/max of each, and bytes per chunk
 * as encoded and gzipped alone (CompressionStream, as a gateway would send one chunk).
 * `deno bench` prints p75/p99 only; this gives the p50/p95 that issue 7's goal (p95 ≤ 2 ms to
 * generate) is stated in. Run with `deno run bench/world_gen_stats.ts [--chunks N] [--seed N]`.
 */
import { intFlag, percentile } from "./_util.ts";
import { decodeChunk, encodeChunk, generateChunk } from "../worlds/mod.ts";

const COUNT = intFlag("chunks", 2000), SEED = intFlag("seed", 20261124), WARM = 200;

// Chunks along a seeded random walk: neighbours as a moving player loads them, with jumps now and
// then to new regions, so biomes, coasts and mountains all appear.
let state = SEED;
const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
let x = 0, z = 0;
const coords: [number, number][] = [];
for (let i = 0; i < COUNT + WARM; i++) {
  if (next() % 64 === 0) [x, z] = [(next() | 0) >> 8, (next() | 0) >> 8];
  else if (next() & 1) x += (next() & 2) - 1;
  else z += (next() & 2) - 1;
  coords.push([x, z]);
}

async function gzipLength(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const gen: number[] = [], enc: number[] = [], dec: number[] = [];
const encoded: Uint8Array[] = [], objects: number[] = [];
for (let i = 0; i < coords.length; i++) {
  const [cx, cz] = coords[i]!;
  const t0 = performance.now();
  const chunk = generateChunk({ seed: SEED }, cx, cz);
  const t1 = performance.now();
  const bytes = encodeChunk(chunk);
  const t2 = performance.now();
  decodeChunk(bytes);
  const t3 = performance.now();
  if (i < WARM) continue;
  gen.push(t1 - t0), enc.push(t2 - t1), dec.push(t3 - t2);
  encoded.push(bytes), objects.push(chunk.objects.length);
}
// Compressed after timing, so the streams' garbage does not land in the generator's figures.
const raw = encoded.map((b) => b.length), gz: number[] = [];
for (const b of encoded) gz.push(await gzipLength(b));

const ms = (xs: number[]) =>
  [50, 95, 99, 100].map((p) => `p${p === 100 ? "max" : p} ${percentile(xs, p).toFixed(3)}`)
    .join("  ");
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
console.log(`${COUNT} chunks of seed ${SEED} (after ${WARM} to warm up), ms per chunk:`);
console.log(`  generate  ${ms(gen)}`);
console.log(`  encode    ${ms(enc)}`);
console.log(`  decode    ${ms(dec)}`);
console.log(
  `bytes per chunk: encoded mean ${mean(raw).toFixed(0)} (p95 ${percentile(raw, 95)}, max ${
    percentile(raw, 100)
  }), gzipped mean ${mean(gz).toFixed(0)} (p95 ${percentile(gz, 95)}); objects mean ${
    mean(objects).toFixed(1)
  }, max ${percentile(objects, 100)}`,
);
