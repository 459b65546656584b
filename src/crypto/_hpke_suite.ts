// This module is browser compatible.
/**
 * Private to `src/crypto`: the one HPKE suite Mote wraps keys with, and the sealing step with an
 * optional fixed ephemeral key (`ekm`), which only tests pass to pin the blob format.
 */
import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { concat, utf8 } from "../encoding/bytes.ts";
import { encode } from "../encoding/cbor.ts";

/** RFC 9180 identifiers of the suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
export const KEY_WRAP_SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0002 } as const;

/** The blob format version. */
export const KEY_WRAP_VERSION = 1;

/** Prefixed to the caller's info, so Mote's key wraps never match another HPKE use of a key. */
const INFO_TAG = utf8("mote/key-wrap/v1\0");

let suite: CipherSuite | undefined;

/** The cipher suite (built on first use). */
export function keyWrapSuite(): CipherSuite {
  suite ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suite;
}

/** The HPKE `info` for a caller's `info`: `"mote/key-wrap/v1\0" ‖ info`. */
export function hpkeInfo(info: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(INFO_TAG, info) as Uint8Array<ArrayBuffer>;
}

/** Copies bytes into a fresh ArrayBuffer of exactly their length (what the HPKE API takes). */
export function toBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/**
 * Seals `key` to `recipientPublic` in HPKE base mode and encodes the blob
 * `{ v: 1, enc, ct }` as canonical CBOR. Inputs are assumed checked.
 */
export async function sealKey(
  recipientPublic: Uint8Array,
  key: Uint8Array,
  info: Uint8Array,
  ekm?: Uint8Array,
): Promise<Uint8Array> {
  const s = keyWrapSuite();
  const recipientPublicKey = await s.kem.importKey("raw", toBuffer(recipientPublic), true);
  const sealed = await s.seal(
    { recipientPublicKey, info: hpkeInfo(info), ...(ekm ? { ekm: toBuffer(ekm) } : {}) },
    toBuffer(key),
  );
  return encode({
    v: KEY_WRAP_VERSION,
    enc: new Uint8Array(sealed.enc),
    ct: new Uint8Array(sealed.ct),
  });
}
