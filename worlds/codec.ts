// This module is browser compatible.
/**
 * The chunk codec: a compact, versioned, canonical binary form (byte layout in docs/worlds.md).
 * Heights are predicted from their west, north and north-west neighbours (LOCO-I's median edge
 * detector) and stored as zigzag varint residuals, which smooth terrain keeps to one byte; biomes,
 * materials and water are run-length coded; objects are five bytes each. A chunk has exactly one
 * encoding (shortest varints, maximal runs, objects in canonical order), so its SHA-256 names it.
 * Decoding checks every length and value and rejects anything else with a RangeError (a value or
 * length out of range) or a SyntaxError (malformed structure).
 * @module
 */
import { BIOME_COUNT, MATERIAL_COUNT } from "./biomes.ts";
import {
  assertChunk,
  type Chunk,
  CHUNK_COLUMNS,
  CHUNK_SIZE,
  type ChunkObject,
  compareObjects,
  GENERATOR_ID_PATTERN,
  MAX_HEIGHT,
  MAX_OBJECTS,
} from "./chunk.ts";
import { OBJECT_KIND_COUNT } from "./objects.ts";
import { ByteReader, ByteWriter } from "./_bytes.ts";
import { readRuns, writeRuns } from "./_runs.ts";

/** The first four bytes of an encoded chunk: ASCII "MWCK" (Mote world chunk). */
export const CHUNK_MAGIC: Uint8Array = new Uint8Array([0x4d, 0x57, 0x43, 0x4b]);
/** The encoding's version byte. A decoder reads only its own version. */
export const CHUNK_FORMAT_VERSION = 1;
/**
 * No encoded chunk is longer: the worst case (every run of length one, 1024 objects) is 14,388
 * bytes. Decoding refuses longer input before reading it.
 */
export const MAX_CHUNK_BYTES = 16384;

/** The predicted height at column `i` from already known columns west, north and north-west. */
function predict(h: Uint16Array, i: number): number {
  const x = i & (CHUNK_SIZE - 1);
  if (i < CHUNK_SIZE) return x === 0 ? 0 : h[i - 1]!;
  const b = h[i - CHUNK_SIZE]!;
  if (x === 0) return b;
  const a = h[i - 1]!, c = h[i - CHUNK_SIZE - 1]!;
  if (c >= Math.max(a, b)) return Math.min(a, b);
  if (c <= Math.min(a, b)) return Math.max(a, b);
  return a + b - c;
}

/** Encodes a chunk (objects are written in canonical order; duplicates are refused). */
export function encodeChunk(chunk: Chunk): Uint8Array {
  assertChunk(chunk);
  const objects = [...chunk.objects].sort(compareObjects);
  for (let i = 1; i < objects.length; i++) {
    if (compareObjects(objects[i - 1]!, objects[i]!) === 0) {
      throw new RangeError(
        `Cannot encode chunk: object ${JSON.stringify(objects[i])} is listed twice`,
      );
    }
  }
  const w = new ByteWriter(MAX_CHUNK_BYTES);
  w.bytes(CHUNK_MAGIC);
  w.u8(CHUNK_FORMAT_VERSION);
  w.u8(chunk.generator.length);
  for (let i = 0; i < chunk.generator.length; i++) w.u8(chunk.generator.charCodeAt(i));
  w.u32(chunk.seed);
  w.i32(chunk.x);
  w.i32(chunk.z);
  const h = chunk.heights;
  for (let i = 0; i < CHUNK_COLUMNS; i++) {
    const r = h[i]! - predict(h, i);
    w.varint(r >= 0 ? r * 2 : -r * 2 - 1);
  }
  writeRuns(w, chunk.biomes);
  writeRuns(w, chunk.materials);
  writeRuns(w, chunk.water);
  w.varint(objects.length);
  for (const o of objects) {
    w.u8(o.x);
    w.u8(o.z);
    w.u8(o.kind);
    w.u8(o.rotation);
    w.u8(o.scale);
  }
  return w.done();
}

/** Decodes and checks an encoded chunk. */
export function decodeChunk(bytes: Uint8Array): Chunk {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode chunk: expected a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length > MAX_CHUNK_BYTES) {
    throw new RangeError(
      `Cannot decode chunk: ${bytes.length} bytes is over the ${MAX_CHUNK_BYTES}-byte limit`,
    );
  }
  const r = new ByteReader(bytes);
  const magic = r.take(4, "the magic");
  if (!magic.every((b, i) => b === CHUNK_MAGIC[i])) {
    const hex = [...magic].map((b) => b.toString(16).padStart(2, "0")).join("");
    throw new SyntaxError(`Cannot decode chunk: bad magic 0x${hex}, expected 0x4d57434b ("MWCK")`);
  }
  const version = r.u8("the version");
  if (version !== CHUNK_FORMAT_VERSION) {
    throw new RangeError(
      `Cannot decode chunk: unsupported version ${version} (this decoder reads version ${CHUNK_FORMAT_VERSION})`,
    );
  }
  const idLength = r.u8("the generator id length");
  const generator = String.fromCharCode(...r.take(idLength, "the generator id"));
  if (!GENERATOR_ID_PATTERN.test(generator)) {
    throw new SyntaxError(
      `Cannot decode chunk: generator id ${JSON.stringify(generator)} is not 1-32 of [a-z0-9.-]`,
    );
  }
  const seed = r.u32("the seed"), x = r.i32("the x coordinate"), z = r.i32("the z coordinate");
  const heights = new Uint16Array(CHUNK_COLUMNS);
  for (let i = 0; i < CHUNK_COLUMNS; i++) {
    const v = r.varint("a height residual", 2 * MAX_HEIGHT);
    const h = predict(heights, i) + (v & 1 ? -(v + 1) / 2 : v / 2);
    if (h < 0 || h > MAX_HEIGHT) {
      throw new RangeError(
        `Cannot decode chunk: height ${h} at column (${i & 31}, ${
          i >> 5
        }) is outside 0..${MAX_HEIGHT}`,
      );
    }
    heights[i] = h;
  }
  const biomes = readRuns(r, new Uint8Array(CHUNK_COLUMNS), "biome", BIOME_COUNT - 1);
  const materials = readRuns(r, new Uint8Array(CHUNK_COLUMNS), "material", MATERIAL_COUNT - 1);
  const water = readRuns(r, new Uint16Array(CHUNK_COLUMNS), "water", MAX_HEIGHT);
  for (let i = 0; i < CHUNK_COLUMNS; i++) {
    if (water[i] !== 0 && water[i]! <= heights[i]!) {
      throw new RangeError(
        `Cannot decode chunk: water ${water[i]} at column (${i & 31}, ${i >> 5}) is not above ` +
          `the ground (${heights[i]})`,
      );
    }
  }
  const objects = readObjects(r);
  if (r.left !== 0) {
    throw new RangeError(`Cannot decode chunk: ${r.left} trailing byte(s) after the objects`);
  }
  return { generator, seed, x, z, heights, biomes, materials, water, objects };
}

function readObjects(r: ByteReader): ChunkObject[] {
  const count = r.varint("the object count", MAX_OBJECTS);
  r.need(count * 5, `${count} objects`);
  const objects: ChunkObject[] = [];
  for (let i = 0; i < count; i++) {
    const b = r.take(5, "an object");
    const o = { x: b[0]!, z: b[1]!, kind: b[2]!, rotation: b[3]!, scale: b[4]! };
    if (o.kind >= OBJECT_KIND_COUNT) {
      throw new RangeError(
        `Cannot decode chunk: object ${i} has kind ${o.kind}, not below ${OBJECT_KIND_COUNT}`,
      );
    }
    if (i > 0 && compareObjects(objects[i - 1]!, o) >= 0) {
      throw new SyntaxError(
        `Cannot decode chunk: object ${i} is not after object ${i - 1} in canonical order`,
      );
    }
    objects.push(o);
  }
  return objects;
}
