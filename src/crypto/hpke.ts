// This module is browser compatible.
/**
 * Wrapping keys to people: HPKE (RFC 9180) base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
 * and AES-256-GCM (`@hpke/core` with `@hpke/dhkem-x25519`), to a person's identity X25519 key.
 *
 * A wrapped key is a self-contained, versioned blob: canonical CBOR `{ v: 1, enc, ct }` where
 * `enc` is the 32-byte ephemeral public key and `ct` the sealed key with its 16-byte tag. The
 * caller's `info` (what the key is for) must match on both sides; it is prefixed with
 * `"mote/key-wrap/v1\0"` before it reaches HPKE.
 */
import { EncapError } from "@hpke/core";
import { decodeCanonical } from "../encoding/cbor.ts";
import { readBytes, readMap, readUint } from "../encoding/shape.ts";
import { hpkeInfo, KEY_WRAP_VERSION, keyWrapSuite, sealKey, toBuffer } from "./_hpke_suite.ts";

export { KEY_WRAP_SUITE } from "./_hpke_suite.ts";

/** Bytes of an X25519 key (public or secret). */
export const AGREE_KEY_BYTES = 32;
/** The longest key that may be wrapped (data keys are 32 bytes). */
export const MAX_WRAPPED_KEY_BYTES = 256;
/** The longest `info` accepted. */
export const MAX_WRAP_INFO_BYTES = 1024;
/** The largest blob `unwrapKey` will decode. */
export const MAX_WRAP_BLOB_BYTES = 512;

const ENC_BYTES = 32, TAG_BYTES = 16;

/** Raised when a wrapped key cannot be opened: wrong recipient key, wrong info, or damaged blob. */
export class KeyWrapError extends Error {
  /** Always `"KeyWrapError"`. */
  override name = "KeyWrapError";
}

/** Wraps `key` to the holder of the X25519 secret matching `recipientAgreePublic`. */
export async function wrapKey(
  recipientAgreePublic: Uint8Array,
  key: Uint8Array,
  info: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(
    "wrap",
    "recipient public key",
    recipientAgreePublic,
    AGREE_KEY_BYTES,
    AGREE_KEY_BYTES,
  );
  checkBytes("wrap", "key", key, 1, MAX_WRAPPED_KEY_BYTES);
  checkBytes("wrap", "info", info, 0, MAX_WRAP_INFO_BYTES);
  try {
    return await sealKey(recipientAgreePublic, key, info);
  } catch (e) {
    // The only input HPKE can still refuse: a public key whose shared secret would be zero.
    if (!(e instanceof EncapError)) throw e;
    throw new RangeError(
      `Cannot wrap key: the recipient public key is not a usable X25519 key (${(e as Error).name})`,
    );
  }
}

/**
 * Opens a blob made by {@linkcode wrapKey}. Throws {@linkcode KeyWrapError} for the wrong secret,
 * the wrong `info`, or a damaged or unknown blob.
 */
export async function unwrapKey(
  recipientAgreeSecret: Uint8Array,
  blob: Uint8Array,
  info: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(
    "unwrap",
    "recipient secret key",
    recipientAgreeSecret,
    AGREE_KEY_BYTES,
    AGREE_KEY_BYTES,
  );
  checkBytes("unwrap", "info", info, 0, MAX_WRAP_INFO_BYTES);
  if (!(blob instanceof Uint8Array)) {
    throw new TypeError(`Cannot unwrap key: blob must be bytes, got ${typeof blob}`);
  }
  let enc: Uint8Array, ct: Uint8Array;
  try {
    const m = readMap(
      decodeCanonical(blob, { maxBytes: MAX_WRAP_BLOB_BYTES, what: "wrapped key" }),
      "wrapped key",
      ["v", "enc", "ct"],
    );
    const v = readUint(m, "v", "wrapped key");
    if (v !== KEY_WRAP_VERSION) throw new Error(`unsupported version ${v}`);
    enc = readBytes(m, "enc", "wrapped key", { exact: ENC_BYTES });
    ct = readBytes(m, "ct", "wrapped key", { max: MAX_WRAPPED_KEY_BYTES + TAG_BYTES });
    if (ct.length <= TAG_BYTES) throw new Error(`"ct" is ${ct.length} bytes, too short`);
  } catch (e) {
    throw new KeyWrapError(`Cannot unwrap key: damaged blob: ${(e as Error).message}`);
  }
  const s = keyWrapSuite();
  const recipientKey = await s.kem.importKey("raw", toBuffer(recipientAgreeSecret), false);
  try {
    const pt = await s.open(
      { recipientKey, enc: toBuffer(enc), info: hpkeInfo(info) },
      toBuffer(ct),
    );
    return new Uint8Array(pt);
  } catch (e) {
    throw new KeyWrapError(
      `Cannot unwrap key: it does not open with this secret key and info (${(e as Error).name})`,
    );
  }
}

function checkBytes(op: string, what: string, v: Uint8Array, min: number, max: number): void {
  if (!(v instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${op} key: ${what} must be bytes, got ${typeof v}`);
  }
  if (v.length < min || v.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new RangeError(`Cannot ${op} key: ${what} must be ${want} bytes, got ${v.length}`);
  }
}
