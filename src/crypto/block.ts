// This module is browser compatible.
/**
 * Block encryption for the data path: AES-256-GCM through WebCrypto under a fresh random data key
 * per file version.
 *
 * - Nonce = 4 zero bytes ‖ u64be(block index). A counter nonce is safe only because a data key is
 *   never reused: every file version gets a new one from {@linkcode generateDataKey}.
 * - AAD = `"mote/block/v1"` ‖ u64be(index) ‖ u64be(count) ‖ u8(index === count − 1). Binding the
 *   index, the count and the last-block flag means blocks cannot be swapped, dropped, or the file
 *   cut short at a block boundary without {@linkcode decryptBlock} failing.
 */
import { concat, utf8 } from "../encoding/bytes.ts";
import { randomBytes } from "./hash.ts";
import { writeU64 } from "./_u64.ts";

/** Bytes of a data key (AES-256). */
export const DATA_KEY_BYTES = 32;
/** Bytes of the GCM tag appended to every encrypted block. */
export const BLOCK_TAG_BYTES = 16;
/** The default plaintext block size: 4 MiB. */
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/**
 * The largest plaintext block accepted: 64 MiB. GCM allows far more (2^36 − 32 bytes), but the
 * pipeline's blocks are 4 MiB, and a bound keeps a bad caller from allocating without limit.
 */
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;

const AAD_TAG = utf8("mote/block/v1");

/** Raised when a block fails authentication: wrong key, position, count, or damaged bytes. */
export class BlockAuthError extends Error {
  /** Always `"BlockAuthError"`. */
  override name = "BlockAuthError";
  /** The index of the block that failed. */
  readonly index: number;
  /** An error for block `index`. */
  constructor(index: number, message: string) {
    super(message);
    this.index = index;
  }
}

/** A fresh random 256-bit data key. Use it for one file version only. */
export function generateDataKey(): Uint8Array {
  return randomBytes(DATA_KEY_BYTES);
}

/** Imports a raw 32-byte data key as a non-extractable AES-GCM `CryptoKey`. */
export async function importDataKey(raw: Uint8Array): Promise<CryptoKey> {
  if (!(raw instanceof Uint8Array)) {
    throw new TypeError(`Cannot import data key: expected bytes, got ${typeof raw}`);
  }
  if (raw.length !== DATA_KEY_BYTES) {
    throw new RangeError(
      `Cannot import data key: must be ${DATA_KEY_BYTES} bytes, got ${raw.length}`,
    );
  }
  return await crypto.subtle.importKey("raw", raw.slice(), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/**
 * The number of blocks of a file of `size` bytes. An empty file is one empty block, so every
 * file has a last block carrying the end-of-file flag.
 */
export function blockCount(size: number, blockSize: number = DEFAULT_BLOCK_SIZE): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Invalid file size: must be a non-negative safe integer, got ${size}`);
  }
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`Invalid block size: must be 1 to ${MAX_BLOCK_SIZE}, got ${blockSize}`);
  }
  return size === 0 ? 1 : Math.ceil(size / blockSize);
}

/** Encrypts block `index` of `count`; returns ciphertext ‖ 16-byte tag. */
export async function encryptBlock(
  key: CryptoKey,
  index: number,
  count: number,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  checkArgs("encrypt", key, index, count, plaintext);
  if (plaintext.length > MAX_BLOCK_SIZE) {
    throw new RangeError(
      `Cannot encrypt block ${index}: ${plaintext.length} bytes exceeds the ${MAX_BLOCK_SIZE} limit`,
    );
  }
  const out = await crypto.subtle.encrypt(
    params(index, count),
    key,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  return new Uint8Array(out);
}

/**
 * Decrypts block `index` of `count`. Throws {@linkcode BlockAuthError} when the block does not
 * authenticate under this key at this position in a file of this many blocks.
 */
export async function decryptBlock(
  key: CryptoKey,
  index: number,
  count: number,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  checkArgs("decrypt", key, index, count, ciphertext);
  if (ciphertext.length > MAX_BLOCK_SIZE + BLOCK_TAG_BYTES) {
    throw new RangeError(
      `Cannot decrypt block ${index}: ${ciphertext.length} bytes exceeds the ${
        MAX_BLOCK_SIZE + BLOCK_TAG_BYTES
      } limit`,
    );
  }
  if (ciphertext.length < BLOCK_TAG_BYTES) {
    throw new BlockAuthError(
      index,
      `Block ${index} of ${count} failed authentication: ${ciphertext.length} bytes is shorter than the tag`,
    );
  }
  try {
    const out = await crypto.subtle.decrypt(
      params(index, count),
      key,
      ciphertext as Uint8Array<ArrayBuffer>,
    );
    return new Uint8Array(out);
  } catch {
    throw new BlockAuthError(
      index,
      `Block ${index} of ${count} failed authentication (wrong key, position, count or damaged data)`,
    );
  }
}

function checkArgs(op: string, key: CryptoKey, index: number, count: number, data: Uint8Array) {
  if (!(key instanceof CryptoKey)) {
    throw new TypeError(`Cannot ${op} block: key must be a CryptoKey, got ${typeof key}`);
  }
  const alg = key.algorithm as AesKeyAlgorithm;
  if (alg.name !== "AES-GCM" || alg.length !== DATA_KEY_BYTES * 8) {
    throw new TypeError(
      `Cannot ${op} block: key must be AES-GCM with 256 bits, got ${alg.name}/${alg.length}`,
    );
  }
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Cannot ${op} block: count must be a positive safe integer, got ${count}`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`Cannot ${op} block: index must be 0 to ${count - 1}, got ${index}`);
  }
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${op} block ${index}: expected bytes, got ${typeof data}`);
  }
}

function params(index: number, count: number): AesGcmParams {
  const iv = new Uint8Array(12);
  writeU64(iv, 4, index);
  const tail = new Uint8Array(17);
  writeU64(tail, 0, index);
  writeU64(tail, 8, count);
  tail[16] = index === count - 1 ? 1 : 0;
  return {
    name: "AES-GCM",
    iv,
    additionalData: concat(AAD_TAG, tail) as Uint8Array<ArrayBuffer>,
    tagLength: BLOCK_TAG_BYTES * 8,
  };
}
