/**
 * The terrain generator (worlds/): deterministic bytes pinned by known-answer vectors, seamless
 * borders (between chunks and across the wrap of the 32-bit chunk indices), and properties that
 * hold over many coordinates chosen by a seeded generator (so any failure reproduces).
 */
import {
  assertChunk,
  Biome,
  BIOME_COUNT,
  type Chunk,
  CHUNK_SIZE,
  encodeChunk,
  fade,
  generateChunk,
  GENERATOR_ID,
  hashPoint,
  isTree,
  MAX_CHUNK_BYTES,
  NOISE_ONE,
  sampleNoise,
  SEA_LEVEL,
} from "../worlds/mod.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./_assert.ts";

const VECTORS = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/world_chunks.json", import.meta.url)),
) as {
  generator: string;
  chunks: { seed: number; x: number; z: number; length: number; sha256: string }[];
};

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A small seeded generator (mulberry32) so "random" coordinates are the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

Deno.test("generateChunk() returns the same bytes for the same seed and coordinates", () => {
  for (const [x, z] of [[0, 0], [-5, 9], [2147483647, -2147483648]]) {
    const a = encodeChunk(generateChunk({ seed: 99 }, x!, z!));
    const b = encodeChunk(generateChunk({ seed: 99, generator: GENERATOR_ID }, x!, z!));
    assertEquals(a, b, `chunk (${x}, ${z})`);
  }
});

Deno.test("generateChunk() gives different terrain for a different seed or place", () => {
  const base = generateChunk({ seed: 1 }, 10, -10);
  assertNotEquals(generateChunk({ seed: 2 }, 10, -10).heights, base.heights);
  assertNotEquals(generateChunk({ seed: 1 }, 11, -10).heights, base.heights);
  assertNotEquals(generateChunk({ seed: 1 }, -10, 10).heights, base.heights, "no mirror symmetry");
});

Deno.test("generateChunk() matches the known-answer vectors byte for byte", async (t) => {
  assertEquals(VECTORS.generator, GENERATOR_ID, "vectors belong to this generator");
  assert(VECTORS.chunks.some((c) => c.x < 0 && c.z < 0), "vectors cover negative coordinates");
  for (const v of VECTORS.chunks) {
    await t.step(`seed ${v.seed} chunk (${v.x}, ${v.z})`, async () => {
      const bytes = encodeChunk(generateChunk({ seed: v.seed }, v.x, v.z));
      assertEquals(bytes.length, v.length, "encoded length");
      assertEquals(await sha256Hex(bytes), v.sha256, "SHA-256 of the encoded chunk");
    });
  }
});

Deno.test("generateChunk() refuses bad seeds, coordinates and generators", async (t) => {
  const cases: [string, () => unknown, string][] = [
    ["a negative seed", () => generateChunk({ seed: -1 }, 0, 0), "got -1"],
    ["a seed past 32 bits", () => generateChunk({ seed: 2 ** 32 }, 0, 0), "got 4294967296"],
    ["a fractional seed", () => generateChunk({ seed: 1.5 }, 0, 0), "got 1.5"],
    ["an x past 32 bits", () => generateChunk({ seed: 1 }, 2 ** 31, 0), "x must be"],
    ["a z below 32 bits", () => generateChunk({ seed: 1 }, 0, -(2 ** 31) - 1), "z must be"],
    ["a NaN coordinate", () => generateChunk({ seed: 1 }, NaN, 0), "got NaN"],
    ["an unknown generator", () => generateChunk({ seed: 1, generator: "x" }, 0, 0), '"x"'],
  ];
  for (const [name, fn, says] of cases) {
    await t.step(`it refuses ${name}`, () => void assertThrows(fn, RangeError, says));
  }
});

/** Largest |Δheight| between east-west neighbours across `a`'s east border into `b`. */
function eastSeam(a: Chunk, b: Chunk): number[] {
  const out = [];
  for (let z = 0; z < CHUNK_SIZE; z++) {
    out.push(Math.abs(a.heights[z * 32 + 31]! - b.heights[z * 32]!));
  }
  return out;
}

/** |Δheight| between east-west neighbours inside a chunk. */
function interior(c: Chunk): number[] {
  const out = [];
  for (let z = 0; z < CHUNK_SIZE; z++) {
    for (let x = 1; x < CHUNK_SIZE; x++) {
      out.push(Math.abs(c.heights[z * 32 + x]! - c.heights[z * 32 + x - 1]!));
    }
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Swaps x and z so the east-west seam check also checks north-south borders. */
function transpose(c: Chunk): Chunk {
  const heights = new Uint16Array(1024);
  for (let i = 0; i < 1024; i++) heights[(i & 31) * 32 + (i >> 5)] = c.heights[i]!;
  return { ...c, heights };
}

Deno.test("neighbouring chunks continue each other's terrain at their borders", () => {
  const next = rng(7);
  const border: number[] = [], inside: number[] = [];
  for (let k = 0; k < 40; k++) {
    const seed = next(), x = (next() | 0) >> 4, z = (next() | 0) >> 4;
    const c = generateChunk({ seed }, x, z);
    const east = generateChunk({ seed }, x + 1, z), south = generateChunk({ seed }, x, z + 1);
    border.push(...eastSeam(c, east), ...eastSeam(transpose(c), transpose(south)));
    inside.push(...interior(c), ...interior(east), ...interior(transpose(c)));
  }
  // A seam would show as a jump at the border that the terrain never makes inside a chunk.
  const worst = Math.max(...border), worstInside = Math.max(...inside);
  assert(worst <= worstInside, `border step ${worst} > largest interior step ${worstInside}`);
  const ratio = mean(border) / mean(inside);
  assert(ratio > 0.6 && ratio < 1.6, `border steps average ${ratio.toFixed(2)}× interior ones`);
});

Deno.test("the world continues without a seam across the limits of the chunk indices", () => {
  for (const seed of [0, 42, 4294967295]) {
    for (const z of [-2147483648, -1, 0, 2147483647]) {
      const last = generateChunk({ seed }, 2147483647, z),
        first = generateChunk({ seed }, -2147483648, z);
      const steps = interior(last).concat(interior(first));
      const seam = Math.max(...eastSeam(last, first));
      assert(seam <= Math.max(...steps), `seed ${seed} z ${z}: wrap step ${seam}`);
      // And north-south: chunk z = 2^31 − 1 continues into z = −2^31.
      const top = generateChunk({ seed }, z, 2147483647),
        bottom = generateChunk({ seed }, z, -2147483648);
      const ns = Math.max(...eastSeam(transpose(top), transpose(bottom)));
      assert(ns <= Math.max(...interior(transpose(top)), ...interior(transpose(bottom)), 16));
    }
  }
});

Deno.test("generated chunks are valid and bounded wherever they are", () => {
  const next = rng(11);
  for (let k = 0; k < 200; k++) {
    const seed = next(), x = next() | 0, z = next() | 0;
    const c = generateChunk({ seed }, x, z);
    assertChunk(c);
    assertEquals([c.generator, c.seed, c.x, c.z], [GENERATOR_ID, seed, x, z]);
    assert(c.objects.length <= 320, `${c.objects.length} objects: one per cell at most`);
    for (let i = 0; i < 1024; i++) {
      const wet = c.heights[i]! < SEA_LEVEL;
      assertEquals(c.water[i], wet ? SEA_LEVEL : 0, `water at column ${i}`);
      assertEquals(c.biomes[i] === Biome.Ocean, wet, `ocean biome exactly under water at ${i}`);
    }
    for (const o of c.objects) {
      const col = (o.z >> 3) * 32 + (o.x >> 3);
      assert(c.water[col] === 0, `object ${JSON.stringify(o)} under water`);
      if (isTree(o.kind)) {
        const h = c.heights[col]!,
          slopes = [col - 1, col + 1, col - 32, col + 32]
            .filter((n) => n >= 0 && n < 1024 && Math.abs((n & 31) - (col & 31)) <= 1)
            .map((n) => Math.abs(c.heights[n]! - h));
        assert(Math.max(...slopes) <= 12, `a tree on a slope of ${Math.max(...slopes)}`);
      }
    }
    assert(encodeChunk(c).length <= MAX_CHUNK_BYTES);
  }
});

Deno.test("every biome occurs somewhere in a sample of the world", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      for (const b of generateChunk({ seed: 7 }, i * 37 - 300, j * 37 - 300).biomes) seen.add(b);
    }
  }
  assertEquals([...seen].sort((a, b) => a - b), [...Array(BIOME_COUNT).keys()]);
});

Deno.test("noise is bounded, zero at lattice points and the same sampled from any window", () => {
  const a = new Int32Array(64 * 64), b = new Int32Array(16 * 16);
  for (const [x0, z0] of [[-32, -32], [2 ** 36 - 40, -(2 ** 36)], [1000, 77]]) {
    sampleNoise(5, 1, 4, x0!, z0!, 64, a);
    // A window starting elsewhere sees the same world: samples depend only on world coordinates.
    sampleNoise(5, 1, 4, x0! + 13, z0! + 21, 16, b);
    for (let j = 0; j < 16; j++) {
      for (let i = 0; i < 16; i++) assertEquals(b[j * 16 + i], a[(j + 21) * 64 + i + 13]);
    }
    for (let i = 0; i < a.length; i++) {
      assert(Math.abs(a[i]!) <= NOISE_ONE, `sample ${a[i]} out of range`);
      const x = x0! + (i & 63), z = z0! + (i >> 6);
      if (x % 16 === 0 && z % 16 === 0) assertEquals(a[i], 0, "gradient noise is 0 on the lattice");
    }
  }
  assertThrows(() => sampleNoise(5, 1, 17, 0, 0, 8, a), RangeError, "2^17");
  assertThrows(() => sampleNoise(5, 1, 4, 0, 0, 65, a), RangeError, "got 65");
});

Deno.test("the fade curve and the hash are exact integers", () => {
  assertEquals([fade(0), fade(32768), fade(65536)], [0, 32768, 65536]);
  for (let t = 1, last = 0; t <= 65536; t++) {
    const f = fade(t);
    assert(f >= last, `fade falls from ${last} to ${f} at ${t}`);
    last = f;
  }
  assertEquals(hashPoint(1, 2, 3, 4), hashPoint(1, 2, 3, 4));
  assertNotEquals(hashPoint(1, 2, 3, 4), hashPoint(1, 3, 3, 4), "salts separate uses");
  assertNotEquals(hashPoint(1, 2, 3, 4), hashPoint(1, 2, 3 + 2 ** 32, 4), "high bits count");
  assertNotEquals(hashPoint(1, 2, 3, 4), hashPoint(1, 2, 4, 3), "x and z are not symmetric");
});
