/**
 * Generates `world_chunks.json`: SHA-256 of encoded terrain-v1 chunks at fixed (seed, x, z), so
 * `tests/world_gen_test.ts` (in Deno) and `tests/world_browser_test.ts` (in Chromium, on the main
 * thread and in a Web Worker) pin the generator's output byte for byte. Coordinates include
 * negative ones, the limits of the 32-bit chunk indices, and seeds at both ends of their range.
 *
 * Run once per generator: `deno run -A tests/vectors/world_make_chunks.ts`. It refuses to
 * overwrite the file: changed bytes mean a new generator id (and new vectors beside these), never
 * edited ones.
 * @module
 */
import {
  CHUNK_FORMAT_VERSION,
  encodeChunk,
  generateChunk,
  GENERATOR_ID,
} from "../../worlds/mod.ts";

const OUT = new URL("./world_chunks.json", import.meta.url);

const POINTS: [number, number, number][] = [
  [0, 0, 0],
  [42, 0, 0],
  [42, -1, -1],
  [42, 1, -1],
  [42, -37, 12],
  [7, -56, -168],
  [7, 31, -40],
  [123456789, -123456, 654321],
  [42, 2147483647, -2147483648],
  [4294967295, -2147483648, 2147483647],
];

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

try {
  await Deno.stat(OUT);
  console.error(`${OUT.pathname} exists; a changed generator gets a new id and a new file`);
  Deno.exit(1);
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
const chunks = [];
for (const [seed, x, z] of POINTS) {
  const bytes = encodeChunk(generateChunk({ seed }, x, z)) as Uint8Array<ArrayBuffer>;
  chunks.push({ seed, x, z, length: bytes.length, sha256: await sha256Hex(bytes) });
}
const doc = {
  description: "SHA-256 of encodeChunk(generateChunk({ seed }, x, z)); see world_make_chunks.ts",
  generator: GENERATOR_ID,
  format: CHUNK_FORMAT_VERSION,
  chunks,
};
await Deno.writeTextFile(OUT, JSON.stringify(doc, null, 2) + "\n");
console.log(`wrote ${chunks.length} vectors to ${OUT.pathname}`);
