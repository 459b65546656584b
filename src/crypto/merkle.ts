// This module is browser compatible.
/**
 * Storage proofs. A shard's id is a Merkle root over its 4 KiB leaves that also binds its length,
 * so anyone holding only the id can check that a supplier still has challenged leaves, without the
 * rest of the data or any key.
 *
 * - Tree: RFC 6962 §2.1 (leaf = SHA-256(0x00 ‖ leaf), inner = SHA-256(0x01 ‖ left ‖ right), split
 *   at the largest power of two below n). An empty shard is one empty leaf, so its tree root is
 *   SHA-256(0x00).
 * - Id bytes = SHA-256(0x02 ‖ u64be(shardLength) ‖ treeRoot); the id as text is lower-case base32,
 *   52 characters.
 */
import { fromBase32, toBase32 } from "../encoding/base32.ts";
import { concat, equals } from "../encoding/bytes.ts";
import { sha256Sync } from "./hash.ts";
import { auditPath, buildLevels, HASH_BYTES, rootFromPath } from "./_merkle_tree.ts";
import { u64be } from "./_u64.ts";
import { nativeCreateHash, nativeHash } from "./_native_hash.ts";

const LEAF_PREFIX_BYTE = new Uint8Array([0]);

/** Bytes per leaf: 4 KiB. */
export const LEAF_SIZE = 4096;
/** Characters of a shard id (base32 of 32 bytes). */
export const SHARD_ID_LENGTH = 52;
/** The most leaves one proof may cover (a challenge is tens of leaves). */
export const MAX_PROOF_LEAVES = 1024;

/**
 * WebCrypto digests in flight while hashing leaves. A 4 KiB digest costs ~10 µs, mostly per-call
 * overhead; 16 in flight was fastest for 16 MiB shards and as fast as any for 1 MiB, and makes
 * `shardId` 2.2–2.8× faster than hashing with `@noble/hashes` (BENCHMARKS.md, "Block encryption
 * and storage proofs").
 */
const LEAF_HASH_WINDOW = 16;
/** Deeper than any shard of up to 2^53 bytes can need. */
const MAX_PATH_HASHES = 64;

/** A proof that a shard holds the leaves at some indexes: the leaves and their audit paths. */
export interface MerkleProof {
  /** The leaf bytes, one per challenged index, in the order of the indexes. */
  leaves: Uint8Array[];
  /** Each leaf's audit path: its sibling hashes from the leaf level up, concatenated. */
  paths: Uint8Array[];
}

/** The number of leaves of a shard of `length` bytes (an empty shard is one empty leaf). */
export function leafCount(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Invalid shard length: must be a non-negative safe integer, got ${length}`,
    );
  }
  return length === 0 ? 1 : Math.ceil(length / LEAF_SIZE);
}

/** The shard id (52 base32 characters) of `bytes`. */
export async function shardId(bytes: Uint8Array): Promise<string> {
  checkBytes(bytes, "compute shard id");
  const levels = buildLevels(await hashLeaves(bytes));
  return toBase32(idBytes(bytes.length, levels[levels.length - 1]!));
}

/** Builds a proof for the leaves at `leafIndexes` (each `0 ≤ i < leafCount(bytes.length)`). */
export async function merkleProof(
  bytes: Uint8Array,
  leafIndexes: readonly number[],
): Promise<MerkleProof> {
  checkBytes(bytes, "build Merkle proof");
  const n = leafCount(bytes.length);
  if (!Array.isArray(leafIndexes) || leafIndexes.length > MAX_PROOF_LEAVES) {
    throw new RangeError(
      `Cannot build Merkle proof: expected up to ${MAX_PROOF_LEAVES} leaf indexes, got ${
        Array.isArray(leafIndexes) ? leafIndexes.length : typeof leafIndexes
      }`,
    );
  }
  for (const i of leafIndexes) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`Cannot build Merkle proof: leaf index must be 0 to ${n - 1}, got ${i}`);
    }
  }
  const levels = buildLevels(await hashLeaves(bytes));
  return {
    leaves: leafIndexes.map((i) => bytes.slice(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)),
    paths: leafIndexes.map((i) => auditPath(levels, i)),
  };
}

/**
 * Checks a proof against a shard id and length. Returns false, never throws, for anything that is
 * not a valid proof of every listed leaf (including malformed input and an empty challenge).
 */
export async function verifyMerkleProof(
  id: string,
  shardLength: number,
  leafIndexes: readonly number[],
  proof: MerkleProof,
): Promise<boolean> {
  try {
    if (typeof id !== "string" || id.length !== SHARD_ID_LENGTH) return false;
    const expected = fromBase32(id);
    if (!Number.isSafeInteger(shardLength) || shardLength < 0) return false;
    const n = leafCount(shardLength);
    const { leaves, paths } = proof;
    const k = leafIndexes.length;
    if (k === 0 || k > MAX_PROOF_LEAVES || leaves.length !== k || paths.length !== k) return false;
    for (let j = 0; j < k; j++) {
      const i = leafIndexes[j]!, leaf = leaves[j], path = paths[j];
      if (!Number.isSafeInteger(i) || i < 0 || i >= n) return false;
      if (!(leaf instanceof Uint8Array) || leaf.length !== leafLength(shardLength, i)) return false;
      if (!(path instanceof Uint8Array) || path.length > MAX_PATH_HASHES * HASH_BYTES) return false;
    }
    const hashes = await Promise.all(leaves.map(leafHash));
    let root: Uint8Array | null = null;
    for (let j = 0; j < k; j++) {
      const r = rootFromPath(hashes[j]!, leafIndexes[j]!, n, paths[j]!);
      if (r === null || (root !== null && !equals(r, root))) return false;
      root = r;
    }
    return equals(idBytes(shardLength, root!), expected);
  } catch {
    return false;
  }
}

/**
 * Picks up to `count` distinct leaf indexes of a shard of `length` bytes, uniformly at random, in
 * ascending order (every leaf when the shard has fewer). `random(bound)` must return a uniform
 * integer in `[0, bound)`; it defaults to `crypto.getRandomValues`, and tests pass a seeded one.
 */
export function challengeIndexes(
  length: number,
  count: number,
  random: (bound: number) => number = secureRandomInt,
): number[] {
  const n = leafCount(length);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Invalid challenge count: must be a non-negative integer, got ${count}`);
  }
  const k = Math.min(count, n);
  // Floyd's algorithm: k draws, each subset of size k equally likely.
  const picked = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = random(j + 1);
    if (!Number.isSafeInteger(t) || t < 0 || t > j) {
      throw new RangeError(`random(${j + 1}) must return an integer in [0, ${j + 1}), got ${t}`);
    }
    picked.add(picked.has(t) ? j : t);
  }
  return [...picked].sort((a, b) => a - b);
}

function idBytes(length: number, treeRoot: Uint8Array): Uint8Array {
  return sha256Sync(concat(new Uint8Array([2]), u64be(length), treeRoot));
}

function leafLength(shardLength: number, index: number): number {
  return Math.min(LEAF_SIZE, shardLength - index * LEAF_SIZE);
}

async function leafHash(leaf: Uint8Array): Promise<Uint8Array> {
  const buf = new Uint8Array(1 + leaf.length);
  buf.set(leaf, 1);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

/** All leaf hashes of `bytes`, concatenated, through WebCrypto with a window of digests in flight. */
async function hashLeaves(bytes: Uint8Array): Promise<Uint8Array> {
  const n = leafCount(bytes.length);
  const out = new Uint8Array(n * HASH_BYTES);
  if (nativeHash) {
    // One buffer holds the prefix byte and each leaf in turn: hash() takes one input.
    const buf = new Uint8Array(1 + LEAF_SIZE);
    for (let i = 0; i < n; i++) {
      const leaf = bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      buf.set(leaf, 1);
      out.set(nativeHash("sha256", buf.subarray(0, 1 + leaf.length), "buffer"), i * HASH_BYTES);
    }
    return out;
  }
  if (nativeCreateHash) {
    for (let i = 0; i < n; i++) {
      const leaf = bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      out.set(
        nativeCreateHash("sha256").update(LEAF_PREFIX_BYTE).update(leaf).digest(),
        i * HASH_BYTES,
      );
    }
    return out;
  }
  let next = 0;
  const worker = async () => {
    // Each worker reuses one buffer, only after its previous digest has finished.
    const buf = new Uint8Array(1 + LEAF_SIZE);
    while (next < n) {
      const i = next++;
      const leaf = bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      buf.set(leaf, 1);
      const digest = await crypto.subtle.digest("SHA-256", buf.subarray(0, 1 + leaf.length));
      out.set(new Uint8Array(digest), i * HASH_BYTES);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LEAF_HASH_WINDOW, n) }, worker));
  return out;
}

function checkBytes(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${what}: expected bytes, got ${typeof bytes}`);
  }
}

/** A uniform integer in [0, bound) from `crypto.getRandomValues`, by rejection sampling. */
function secureRandomInt(bound: number): number {
  if (!Number.isSafeInteger(bound) || bound < 1) {
    throw new RangeError(`Invalid random bound: must be a positive safe integer, got ${bound}`);
  }
  const words = new Uint32Array(2);
  // 53 random bits; reject the top partial range so every residue is equally likely.
  const limit = Math.floor(2 ** 53 / bound) * bound;
  for (;;) {
    crypto.getRandomValues(words);
    const x = (words[0]! >>> 11) * 2 ** 32 + words[1]!;
    if (x < limit) return x % bound;
  }
}
