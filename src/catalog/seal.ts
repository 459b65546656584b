// This module is browser compatible.
/**
 * Sealing small values under a long-lived 256-bit key (a folder's read key, the owner's root
 * key): AES-256-GCM with a random 96-bit nonce and a purpose tag as associated data. Long-lived
 * keys only ever seal per-version keys and small pointers, never bulk data, so random nonces
 * stay far from the 2^32-message bound.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "../crypto/hash.ts";
import { concat, utf8 } from "../encoding/bytes.ts";

/** Raised when a sealed value does not open (wrong key, other purpose, or damage). */
export class SealError extends Error {
  override name = "SealError";
}

async function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new RangeError(`A sealing key is 32 bytes, got ${raw.length}`);
  return await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals `plain` under `key` for `purpose`: nonce ‖ ciphertext ‖ tag. */
export async function seal(
  key: Uint8Array,
  purpose: string,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const nonce = randomBytes(12);
  const ct = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv: nonce as Uint8Array<ArrayBuffer>,
      additionalData: utf8(purpose) as Uint8Array<ArrayBuffer>,
    },
    await aesKey(key),
    plain as Uint8Array<ArrayBuffer>,
  );
  return concat(nonce, new Uint8Array(ct));
}

/** Opens a sealed value; throws {@linkcode SealError} when it does not authenticate. */
export async function unseal(
  key: Uint8Array,
  purpose: string,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  if (sealed.length < 28) throw new SealError(`Sealed value too short (${sealed.length} bytes)`);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: sealed.subarray(0, 12) as Uint8Array<ArrayBuffer>,
          additionalData: utf8(purpose) as Uint8Array<ArrayBuffer>,
        },
        await aesKey(key),
        sealed.subarray(12) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    throw new SealError(`Cannot open a sealed ${purpose}: wrong key or damaged`);
  }
}

/** The owner's root sealing key, derived from the identity signing secret (HKDF-SHA256). */
export function rootKey(signSecret: Uint8Array): Uint8Array {
  return hkdf(sha256, signSecret, utf8("mote/catalog-root/v1"), utf8("root sealing key"), 32);
}
