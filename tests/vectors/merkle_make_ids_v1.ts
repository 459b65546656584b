/**
 * Generates `merkle_ids_v1.json`: the shard ids of a few fixed inputs, so `tests/merkle_test.ts`
 * pins the id format (leaf and node prefixes, the RFC 6962 split, the length binding, base32).
 *
 * Inputs are `pattern(length, seed)`: byte i = (i × 131 + seed × 7 + ⌊i / 4096⌋) mod 256, so every
 * leaf differs and each input is reproducible from two numbers.
 *
 * Run once: `deno run -A tests/vectors/merkle_make_ids_v1.ts`. It refuses to overwrite an existing
 * file (pass `--force` only if the v1 format itself was wrong; a new format gets a new file).
 * @module
 */
import { shardId } from "../../src/crypto/merkle.ts";

const OUT = new URL("./merkle_ids_v1.json", import.meta.url);

/** The fixed input of `length` bytes for `seed` (also defined in tests/merkle_test.ts). */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 7 + Math.floor(i / 4096)) & 255;
  return out;
}

const INPUTS: [string, number, number][] = [
  ["empty shard", 0, 0],
  ["one byte", 1, 1],
  ["one short leaf", 4095, 2],
  ["one full leaf", 4096, 3],
  ["two leaves, the second of one byte", 4097, 4],
  ["three full leaves", 3 * 4096, 5],
  ["four leaves, the last of one byte", 3 * 4096 + 1, 6],
  ["five leaves", 5 * 4096 - 100, 7],
  ["1 MiB + 7 bytes (257 leaves)", (1 << 20) + 7, 8],
];

if (import.meta.main) {
  const exists = await Deno.stat(OUT).then(() => true, () => false);
  if (exists && !Deno.args.includes("--force")) {
    console.error(`${OUT.pathname} exists; refusing to overwrite (see the module doc)`);
    Deno.exit(1);
  }
  const ids = [];
  for (const [name, length, seed] of INPUTS) {
    ids.push({ name, length, seed, id: await shardId(pattern(length, seed)) });
  }
  const out = {
    source: "Generated once by tests/vectors/merkle_make_ids_v1.ts (shard id format v1); " +
      "tests/merkle_test.ts also recomputes each id with an independent recursive RFC 6962 tree.",
    pattern: "byte i = (i * 131 + seed * 7 + floor(i / 4096)) mod 256",
    ids,
  };
  await Deno.writeTextFile(OUT, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${OUT.pathname}`);
}
