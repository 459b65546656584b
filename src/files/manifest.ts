// This module is browser compatible.
/**
 * A file version's manifest: how its encrypted blocks were cut into shards. It names shard ids
 * only (never where they live: placement is what suppliers announce), and it lives inside the
 * encrypted folder object, so the ids (the capability to fetch ciphertext) stay private.
 *
 * Format version 1: `{ v: 1, size, blockSize, k, m, blocks: [{ len, shards: [id × (k + m)] }] }`
 * where `len` is the encrypted block's length (plaintext + 16-byte tag).
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readMap, readUint } from "../encoding/shape.ts";

/** One encrypted block and its k + m shard ids (index = shard number). */
export interface BlockRef {
  readonly len: number;
  readonly shards: readonly string[];
}

/** How one file version is stored. */
export interface FileManifest {
  readonly v: 1;
  readonly size: number;
  readonly blockSize: number;
  readonly k: number;
  readonly m: number;
  readonly blocks: readonly BlockRef[];
}

const ID_RE = /^[a-z2-7]{52}$/;

/** Encodes a manifest canonically. */
export function encodeManifest(m: FileManifest): Uint8Array {
  return encode({ ...m, blocks: m.blocks.map((b) => ({ len: b.len, shards: [...b.shards] })) });
}

/** Decodes and checks a manifest (shapes, counts and sizes agree). */
export function decodeManifest(bytes: Uint8Array, maxBytes = 64 << 20): FileManifest {
  const what = "file manifest";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes }), what, [
    "v",
    "size",
    "blockSize",
    "k",
    "m",
    "blocks",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const k = readUint(m, "k", what), mm = readUint(m, "m", what);
  const size = readUint(m, "size", what), blockSize = readUint(m, "blockSize", what);
  if (k < 1 || mm < 1 || k + mm > 256 || blockSize < 1) {
    throw new DecodeError(`Invalid ${what}: bad code or block size`);
  }
  if (!Array.isArray(m.blocks)) throw new DecodeError(`Invalid ${what}: "blocks" must be an array`);
  const expected = size === 0 ? 1 : Math.ceil(size / blockSize);
  if (m.blocks.length !== expected) {
    throw new DecodeError(
      `Invalid ${what}: ${m.blocks.length} blocks for ${size} bytes (expected ${expected})`,
    );
  }
  const blocks = m.blocks.map((b, i) => {
    const r = readMap(b, `${what} block ${i}`, ["len", "shards"]);
    const shards = r.shards;
    if (
      !Array.isArray(shards) || shards.length !== k + mm ||
      !shards.every((s) => typeof s === "string" && ID_RE.test(s))
    ) {
      throw new DecodeError(`Invalid ${what}: block ${i} must list ${k + mm} shard ids`);
    }
    const plain = i < expected - 1 ? blockSize : size - blockSize * (expected - 1);
    const len = readUint(r, "len", what);
    if (len !== plain + 16) {
      throw new DecodeError(`Invalid ${what}: block ${i} is ${len} bytes, expected ${plain + 16}`);
    }
    return { len, shards: shards as string[] };
  });
  return { v: 1, size, blockSize, k, m: mm, blocks };
}
