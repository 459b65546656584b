// This module is browser compatible.
/**
 * Packing small files. A file too large to live inline in its folder object but small enough to
 * be wasteful as shards of its own is encrypted under its own fresh key (as a one-block file),
 * and the ciphertexts of a batch of such files are concatenated into one pack, stored like any
 * file (under a fresh pack key, erasure-coded). Each member's version records the pack's manifest
 * and key and its own offset, length and key.
 *
 * The pack key only opens the concatenation of ciphertexts: sharing one member (its version
 * entry) gives away the pack key and that member's key, never its neighbours' keys. Packs never
 * span folders, so whether a pack is still needed is known from its folder alone.
 */
import {
  BLOCK_TAG_BYTES,
  decryptBlock,
  encryptBlock,
  generateDataKey,
  importDataKey,
} from "../crypto/block.ts";
import { decodeManifest } from "../files/manifest.ts";

/** Largest file packed with others (larger ones are stored on their own). */
export const PACK_FILE_MAX = 256 * 1024;
/** Largest pack (one block at the default block size). */
export const PACK_MAX = 4 << 20;
/** Most files in one pack. */
export const PACK_MEMBERS_MAX = 1024;

/** Where a packed file lives, as its version records it. */
export interface PackRef {
  /** The pack's encoded manifest. */
  readonly manifest: Uint8Array;
  /** The pack's own data key. */
  readonly key: Uint8Array;
  /** The member's ciphertext within the pack. */
  readonly offset: number;
  readonly length: number;
}

/** Packs small files: each encrypted alone, then concatenated. */
export class PackBuilder {
  #parts: Uint8Array[] = [];
  #size = 0;

  /** Bytes in the pack so far. */
  get size(): number {
    return this.#size;
  }

  /** Members so far. */
  get count(): number {
    return this.#parts.length;
  }

  /** Whether a file of `plainSize` bytes still fits. */
  fits(plainSize: number): boolean {
    return this.#parts.length < PACK_MEMBERS_MAX &&
      this.#size + plainSize + BLOCK_TAG_BYTES <= PACK_MAX;
  }

  /** Encrypts one member under a fresh key; returns the key and where its ciphertext sits. */
  async add(plain: Uint8Array): Promise<{ key: Uint8Array; offset: number; length: number }> {
    if (plain.length > PACK_FILE_MAX) {
      throw new RangeError(`${plain.length} bytes is too large to pack (${PACK_FILE_MAX} at most)`);
    }
    if (!this.fits(plain.length)) throw new RangeError("The pack is full");
    const key = generateDataKey();
    const ct = await encryptBlock(await importDataKey(key), 0, 1, plain);
    const offset = this.#size;
    this.#parts.push(ct);
    this.#size += ct.length;
    return { key, offset, length: ct.length };
  }

  /** The pack's plaintext (the members' ciphertexts, in order). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Identifies a pack by its first shard id (a fresh key makes every pack's shards unique). */
export function packId(manifest: Uint8Array): string {
  return decodeManifest(manifest).blocks[0]!.shards[0]!;
}

/** Opens a member's ciphertext (cut from its pack) with the member's key. */
export async function openMember(key: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  return await decryptBlock(await importDataKey(key), 0, 1, ciphertext);
}
