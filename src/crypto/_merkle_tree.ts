// This module is browser compatible.
/**
 * Private to `src/crypto`: the RFC 6962 Merkle tree over leaf hashes, independent of how leaves
 * are cut or hashed (so tests can check it against the Certificate Transparency vectors).
 *
 * Leaf hash = SHA-256(0x00 ‖ leaf), inner node = SHA-256(0x01 ‖ left ‖ right); a tree of n > 1
 * leaves splits at the largest power of two below n (RFC 6962 §2.1).
 */
import { sha256 } from "@noble/hashes/sha2.js";

/** Bytes of a hash. */
export const HASH_BYTES = 32;

const LEAF_PREFIX = new Uint8Array([0]);

/** SHA-256(0x00 ‖ leaf), synchronously through `@noble/hashes`. */
export function leafHashSync(leaf: Uint8Array): Uint8Array {
  return sha256.create().update(LEAF_PREFIX).update(leaf).digest();
}

/** Hashes `bytes` cut into `leafSize` leaves (at least one, possibly empty) with `@noble/hashes`. */
export function hashLeavesSync(bytes: Uint8Array, leafSize: number): Uint8Array {
  const n = Math.max(1, Math.ceil(bytes.length / leafSize));
  const out = new Uint8Array(n * HASH_BYTES);
  for (let i = 0; i < n; i++) {
    out.set(leafHashSync(bytes.subarray(i * leafSize, (i + 1) * leafSize)), i * HASH_BYTES);
  }
  return out;
}

/**
 * The levels of the tree over `leafHashes` (n hashes, concatenated), leaves first, root last.
 *
 * Each level pairs nodes (2i, 2i + 1) and carries an unpaired last node up unchanged. That builds
 * exactly RFC 6962's tree: its left subtrees are always complete (a power of two), so only the
 * rightmost node of a level can lack a sibling, and promoting it is the recursion's `MTH(D[k:n])`
 * for a one-node right part. Inner nodes use `@noble/hashes` synchronously: at 65 bytes a WebCrypto
 * call costs 3–4× more (BENCHMARKS.md, "Block encryption and storage proofs").
 */
export function buildLevels(leafHashes: Uint8Array): Uint8Array[] {
  if (leafHashes.length === 0 || leafHashes.length % HASH_BYTES !== 0) {
    throw new RangeError(
      `Cannot build a Merkle tree: ${leafHashes.length} bytes of leaf hashes is not a positive multiple of ${HASH_BYTES}`,
    );
  }
  const levels = [leafHashes];
  const buf = new Uint8Array(1 + 2 * HASH_BYTES);
  buf[0] = 1;
  let level = leafHashes;
  while (level.length > HASH_BYTES) {
    const count = level.length / HASH_BYTES;
    const next = new Uint8Array(Math.ceil(count / 2) * HASH_BYTES);
    for (let i = 0; i + 1 < count; i += 2) {
      buf.set(level.subarray(i * HASH_BYTES, (i + 2) * HASH_BYTES), 1);
      next.set(sha256(buf), (i / 2) * HASH_BYTES);
    }
    if (count % 2 === 1) {
      next.set(level.subarray((count - 1) * HASH_BYTES), next.length - HASH_BYTES);
    }
    levels.push(next);
    level = next;
  }
  return levels;
}

/** The audit path of leaf `index` (RFC 6962 §2.1.1 order: leaf level first), concatenated. */
export function auditPath(levels: readonly Uint8Array[], index: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let m = index;
  for (let l = 0; l < levels.length - 1; l++) {
    const level = levels[l]!;
    const sibling = m % 2 === 0 ? m + 1 : m - 1;
    if (sibling * HASH_BYTES < level.length) {
      parts.push(level.subarray(sibling * HASH_BYTES, (sibling + 1) * HASH_BYTES));
    }
    m = Math.floor(m / 2);
  }
  const out = new Uint8Array(parts.length * HASH_BYTES);
  parts.forEach((p, i) => out.set(p, i * HASH_BYTES));
  return out;
}

/**
 * The root implied by a leaf hash, its index, the tree size and an audit path, following RFC 9162
 * §2.1.3.2; `null` when the path cannot belong to a tree of that size (too short, too long).
 */
export function rootFromPath(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: Uint8Array,
): Uint8Array | null {
  if (index < 0 || index >= size || path.length % HASH_BYTES !== 0) return null;
  const buf = new Uint8Array(1 + 2 * HASH_BYTES);
  buf[0] = 1;
  let fn = index, sn = size - 1, r = leafHash;
  for (let o = 0; o < path.length; o += HASH_BYTES) {
    if (sn === 0) return null;
    const p = path.subarray(o, o + HASH_BYTES);
    if (fn % 2 === 1 || fn === sn) {
      buf.set(p, 1);
      buf.set(r, 1 + HASH_BYTES);
      r = sha256(buf);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      buf.set(r, 1);
      buf.set(p, 1 + HASH_BYTES);
      r = sha256(buf);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
