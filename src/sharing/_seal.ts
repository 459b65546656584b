// This module is browser compatible.
/**
 * Symmetric key wrapping under a group key: AES-256-GCM through WebCrypto with a random 96-bit
 * nonce, the blob being `nonce ‖ ciphertext ‖ tag`. Random nonces are safe here because a group
 * key seals at most a few thousand keys per epoch (far below GCM's 2^32 random-nonce bound).
 */
import { randomBytes } from "../crypto/hash.ts";
import { SharingError } from "./errors.ts";

const NONCE_BYTES = 12, TAG_BYTES = 16;
/** Bytes of a key sealed under a group key: nonce, a 32-byte key, tag. */
export const SEALED_KEY_BYTES = NONCE_BYTES + 32 + TAG_BYTES;

function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

async function aesKey(key: Uint8Array, use: KeyUsage): Promise<CryptoKey> {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new RangeError(`A group key must be 32 bytes, got ${(key as Uint8Array)?.length}`);
  }
  return await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, [use]);
}

/** Seals a 32-byte `key` under `groupKey`, bound to `aad`. */
export async function sealUnder(
  groupKey: Uint8Array,
  key: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (key.length !== 32) {
    throw new RangeError(`Cannot seal key: must be 32 bytes, got ${key.length}`);
  }
  const iv = randomBytes(NONCE_BYTES);
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: buf(iv), additionalData: buf(aad) },
    await aesKey(groupKey, "encrypt"),
    buf(key),
  );
  const out = new Uint8Array(SEALED_KEY_BYTES);
  out.set(iv);
  out.set(new Uint8Array(ct), NONCE_BYTES);
  return out;
}

/** Opens a blob from {@linkcode sealUnder}; throws `SharingError` ("bad-wrap") on any failure. */
export async function openUnder(
  groupKey: Uint8Array,
  blob: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (blob.length !== SEALED_KEY_BYTES) {
    throw new SharingError(
      "bad-wrap",
      `Cannot open key: sealed key must be ${SEALED_KEY_BYTES} bytes, got ${blob.length}`,
    );
  }
  const k = await aesKey(groupKey, "decrypt");
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: buf(blob.subarray(0, NONCE_BYTES)), additionalData: buf(aad) },
      k,
      buf(blob.subarray(NONCE_BYTES)),
    );
    return new Uint8Array(pt);
  } catch {
    throw new SharingError(
      "bad-wrap",
      "Cannot open key: it does not open with this group key (wrong key, epoch, or damaged)",
    );
  }
}
