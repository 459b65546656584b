/**
 * The chunk codec (worlds/codec.ts): round trips of generated and extreme chunks, one encoding per
 * chunk, and rejection of malformed input (each case says what was wrong and what was received).
 * Malformed chunks are assembled field by field here, independently of the encoder.
 */
import {
  type Chunk,
  CHUNK_FORMAT_VERSION,
  type ChunkObject,
  decodeChunk,
  encodeChunk,
  generateChunk,
  MAX_CHUNK_BYTES,
  MAX_HEIGHT,
  MAX_OBJECTS,
  OBJECT_KIND_COUNT,
} from "../worlds/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

Deno.test("decodeChunk() returns what encodeChunk() was given, for generated chunks", () => {
  for (const [seed, x, z] of [[1, 0, 0], [42, -37, 12], [7, -56, -168], [9, 2147483647, -1]]) {
    const chunk = generateChunk({ seed: seed! }, x!, z!);
    const bytes = encodeChunk(chunk);
    assertEquals(decodeChunk(bytes), chunk);
    assertEquals(encodeChunk(decodeChunk(bytes)), bytes, "re-encoding gives the same bytes");
  }
});

function blank(): Chunk {
  return {
    generator: "terrain-v1",
    seed: 0,
    x: 0,
    z: 0,
    heights: new Uint16Array(1024),
    biomes: new Uint8Array(1024),
    materials: new Uint8Array(1024),
    water: new Uint16Array(1024),
    objects: [],
  };
}

Deno.test("the worst-case chunk round-trips within the size bound", () => {
  const c = blank();
  const objects: ChunkObject[] = [];
  for (let i = 0; i < 1024; i++) {
    // A checkerboard defeats the height predictor: every residual is ±4093, two bytes.
    c.heights[i] = ((i & 31) + (i >> 5)) % 2 ? 0 : MAX_HEIGHT - 2;
    c.biomes[i] = i % 2; // runs of one column
    c.materials[i] = i % 2;
    c.water[i] = MAX_HEIGHT - (i % 2); // runs of one column, each level two bytes
    objects.push({
      x: i & 255,
      z: i >> 2,
      kind: i % OBJECT_KIND_COUNT,
      rotation: 255,
      scale: i & 255,
    });
  }
  const chunk = { ...c, generator: "g".repeat(32), seed: 2 ** 32 - 1, x: -(2 ** 31), objects };
  const bytes = encodeChunk(chunk);
  assert(bytes.length <= MAX_CHUNK_BYTES, `${bytes.length} bytes`);
  assertEquals(bytes.length, 14388, "the bound documented in codec.ts");
  assertEquals(decodeChunk(bytes), {
    ...chunk,
    objects: [...objects].sort((a, b) => a.z - b.z || a.x - b.x),
  });
});

Deno.test("encodeChunk() writes objects in canonical order and refuses duplicates", () => {
  const a = { x: 5, z: 9, kind: 1, rotation: 0, scale: 64 }, b = { ...a, x: 4 };
  const bytes = encodeChunk({ ...blank(), objects: [a, b] });
  assertEquals(bytes, encodeChunk({ ...blank(), objects: [b, a] }));
  assertEquals(decodeChunk(bytes).objects, [b, a]);
  assertThrows(() => encodeChunk({ ...blank(), objects: [a, b, a] }), RangeError, "listed twice");
});

Deno.test("encodeChunk() refuses chunks with fields out of range", async (t) => {
  const cases: [string, (c: Chunk) => Chunk, ErrorConstructor, string][] = [
    [
      "a height over 4095",
      (c) => (c.heights[5] = 4096, c),
      RangeError,
      "Height 4096 at column (5, 0)",
    ],
    [
      "a biome id past the last",
      (c) => (c.biomes[40] = 9, c),
      RangeError,
      "Biome 9 at column (8, 1)",
    ],
    ["an unknown material", (c) => (c.materials[0] = 200, c), RangeError, "Material 200"],
    [
      "water below the ground",
      (c) => (c.heights[0] = 900, c.water[0] = 800, c),
      RangeError,
      "Water 800",
    ],
    [
      "a short heights array",
      (c) => ({ ...c, heights: new Uint16Array(10) }),
      TypeError,
      "heights",
    ],
    ["an empty generator id", (c) => ({ ...c, generator: "" }), RangeError, 'got ""'],
    ["a generator id with a slash", (c) => ({ ...c, generator: "a/b" }), RangeError, '"a/b"'],
    ["a coordinate past 32 bits", (c) => ({ ...c, x: 2 ** 31 }), RangeError, "got 2147483648"],
    [
      "an object kind past the last",
      (c) => ({ ...c, objects: [{ x: 0, z: 0, kind: 10, rotation: 0, scale: 0 }] }),
      RangeError,
      "kind 10",
    ],
    [
      "an object position past a byte",
      (c) => ({ ...c, objects: [{ x: 256, z: 0, kind: 0, rotation: 0, scale: 0 }] }),
      RangeError,
      "x must be a byte, got 256",
    ],
    [
      "too many objects",
      (c) => ({ ...c, objects: Array(1025).fill({ x: 0, z: 0, kind: 0, rotation: 0, scale: 0 }) }),
      RangeError,
      "got 1025",
    ],
  ];
  for (const [name, spoil, cls, says] of cases) {
    await t.step(
      `it refuses ${name}`,
      () => void assertThrows(() => encodeChunk(spoil(blank())), cls, says),
    );
  }
});

// --- Malformed input, assembled field by field ---

function varint(v: number): number[] {
  const out = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

interface Parts {
  magic: number[];
  version: number;
  generator: number[];
  header: number[]; // seed, x, z: 12 bytes
  heights: number[];
  biomes: number[];
  materials: number[];
  water: number[];
  objects: number[];
}

/** A valid flat chunk: heights all 1000 (residual 2000 then zeros), one run each, no objects. */
function parts(): Parts {
  return {
    magic: [0x4d, 0x57, 0x43, 0x4b],
    version: CHUNK_FORMAT_VERSION,
    generator: [10, ...new TextEncoder().encode("terrain-v1")],
    header: Array(12).fill(0),
    heights: [...varint(2000), ...Array(1023).fill(0)],
    biomes: [...varint(1024), 2],
    materials: [...varint(1024), 0],
    water: [...varint(1024), 0],
    objects: [0],
  };
}

function assemble(p: Parts): Uint8Array {
  return new Uint8Array([
    ...p.magic,
    p.version,
    ...p.generator,
    ...p.header,
    ...p.heights,
    ...p.biomes,
    ...p.materials,
    ...p.water,
    ...p.objects,
  ]);
}

const obj = (x: number, z: number, kind = 0) => [x, z, kind, 0, 64];

Deno.test("the hand-assembled flat chunk decodes", () => {
  const c = decodeChunk(assemble(parts()));
  assert(c.heights.every((h) => h === 1000) && c.biomes.every((b) => b === 2));
  assertEquals(encodeChunk(c), assemble(parts()));
});

Deno.test("decodeChunk() rejects malformed chunks with a clear error", async (t) => {
  const cases: [string, (p: Parts) => void, ErrorConstructor, string][] = [
    [
      "a bad magic",
      (p) => (p.magic = [0x4d, 0x57, 0x43, 0x4c]),
      SyntaxError,
      "bad magic 0x4d57434c",
    ],
    ["a bad version byte", (p) => (p.version = 2), RangeError, "unsupported version 2"],
    ["an empty generator id", (p) => (p.generator = [0]), SyntaxError, 'generator id ""'],
    ["a generator id in capitals", (p) => (p.generator = [2, 0x41, 0x42]), SyntaxError, '"AB"'],
    ["a height below zero", (p) => (p.heights[0] = 1), RangeError, "height -1 at column (0, 0)"],
    [
      "a height above 4095",
      (p) => (p.heights.splice(0, 2, ...varint(8190)), p.heights[2] = 2),
      RangeError,
      "height 4096 at column (1, 0)",
    ],
    [
      "a height residual past its bound",
      (p) => p.heights.splice(2, 1, ...varint(8191)),
      RangeError,
      "a height residual is 8191",
    ],
    [
      "a varint with a redundant zero byte",
      (p) => p.heights.splice(2, 1, 0x80, 0x00),
      SyntaxError,
      "redundant zero byte",
    ],
    [
      "a varint longer than three bytes",
      (p) => p.heights.splice(2, 1, 0x80, 0x80, 0x80, 0x01),
      RangeError,
      "longer than 3 bytes",
    ],
    [
      "a biome id past the last",
      (p) => (p.biomes = [...varint(1024), 9]),
      RangeError,
      "a biome value is 9 (at offset",
    ],
    [
      "a material id past the last",
      (p) => (p.materials = [...varint(1024), 7]),
      RangeError,
      "a material value is 7",
    ],
    [
      "a run of length zero",
      (p) => (p.biomes = [0, 2, ...varint(1024), 2]),
      SyntaxError,
      "has length 0",
    ],
    [
      "a run past the last column",
      (p) => (p.biomes = [...varint(1000), 2, ...varint(25), 3]),
      RangeError,
      "a biome run of 25 at column 1000 overruns the 24 columns left",
    ],
    [
      "two runs of one value in a row",
      (p) => (p.biomes = [...varint(1000), 2, ...varint(24), 2]),
      SyntaxError,
      "two biome runs of 2 in a row",
    ],
    [
      "water not above the ground",
      (p) => (p.water = [...varint(1024), ...varint(1000)]),
      RangeError,
      "water 1000 at column (0, 0) is not above the ground (1000)",
    ],
    [
      "an object count over the limit",
      (p) => (p.objects = varint(MAX_OBJECTS + 1)),
      RangeError,
      "the object count is 1025",
    ],
    [
      "an object count larger than the objects",
      (p) => (p.objects = [2, ...obj(0, 0)]),
      RangeError,
      "truncated in 2 objects",
    ],
    [
      "an unknown object kind",
      (p) => (p.objects = [1, ...obj(0, 0, 10)]),
      RangeError,
      "object 0 has kind 10",
    ],
    [
      "objects out of order",
      (p) => (p.objects = [2, ...obj(0, 1), ...obj(5, 0)]),
      SyntaxError,
      "object 1 is not after object 0",
    ],
    [
      "the same object twice",
      (p) => (p.objects = [2, ...obj(3, 3), ...obj(3, 3)]),
      SyntaxError,
      "object 1 is not after",
    ],
    [
      "trailing bytes",
      (p) => p.objects.push(0, 0, 0),
      RangeError,
      "3 trailing byte(s) after the objects",
    ],
    [
      "a truncated header",
      (
        p,
      ) => (p.header = [1, 2, 3],
        p.heights = [],
        p.biomes = [],
        p.materials = [],
        p.water = [],
        p.objects = []),
      RangeError,
      "truncated in the seed",
    ],
  ];
  for (const [name, spoil, cls, says] of cases) {
    await t.step(`it rejects ${name}`, () => {
      const p = parts();
      spoil(p);
      assertThrows(() => decodeChunk(assemble(p)), cls, says);
    });
  }
  await t.step("it rejects input over the size limit before reading it", () => {
    const big = new Uint8Array(MAX_CHUNK_BYTES + 1);
    assertThrows(() => decodeChunk(big), RangeError, "16385 bytes is over the 16384-byte limit");
  });
  await t.step("it rejects something that is not bytes", () => {
    assertThrows(() => decodeChunk("MWCK" as unknown as Uint8Array), TypeError, "got string");
  });
});

Deno.test("decodeChunk() rejects every truncation of a chunk", () => {
  const bytes = encodeChunk(generateChunk({ seed: 3 }, -4, 4));
  for (let n = 0; n < bytes.length; n++) {
    assertThrows(() => decodeChunk(bytes.subarray(0, n)), RangeError, "truncated");
  }
});

Deno.test("a chunk with any byte changed is rejected or decodes to a chunk with exactly those bytes", () => {
  // One encoding per chunk: whatever decodes re-encodes to the input, so a hash names one chunk.
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const bytes = encodeChunk(generateChunk({ seed: 8 }, 3, -9));
  let accepted = 0;
  for (let k = 0; k < 3000; k++) {
    const spoilt = bytes.slice();
    spoilt[next() % spoilt.length]! ^= 1 + (next() % 255);
    let chunk: Chunk;
    try {
      chunk = decodeChunk(spoilt);
    } catch (e) {
      assert(e instanceof RangeError || e instanceof SyntaxError, `unexpected ${e}`);
      continue;
    }
    accepted++;
    assertEquals(encodeChunk(chunk), spoilt);
  }
  assert(accepted > 100 && accepted < 3000, `${accepted} of 3000 changed chunks decoded`);
});
