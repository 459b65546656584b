// This module is browser compatible.
/**
 * Write requests and the supplier-side check. A writer holding a folder's write secret signs,
 * for one shard on one supplier, exactly: the type tag (`"sharing/write/v1"`, in the signed
 * message), the owner id, the folder's record key and policy sequence, the supplier id, the shard
 * id, its size, a fresh nonce and an expiry. {@linkcode checkWrite} accepts it only when signed by
 * the latest policy's write key, for this supplier, unexpired, unseen, and within the byte cap.
 */
import { randomBytes } from "../crypto/hash.ts";
import { sign, verify } from "../crypto/sign.ts";
import { toHex } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { SharingError } from "./errors.ts";
import type { WritePolicy } from "./write_key.ts";

const TAG = "sharing/write/v1";
/** Longest a request may live: a supplier must remember its nonce that long. */
export const MAX_WRITE_TTL_MS = 10 * 60 * 1000;
/** Bytes of a request nonce. */
export const WRITE_NONCE_BYTES = 16;

/** A writer's signed request to store one shard. */
export interface WriteRequest {
  readonly v: 1;
  readonly owner: string;
  readonly folder: string;
  readonly seq: number;
  readonly supplier: string;
  readonly shard: Uint8Array;
  readonly size: number;
  readonly nonce: Uint8Array;
  readonly expires: number;
  readonly sig: Uint8Array;
}

/** What the writer fills in; the nonce is drawn fresh when omitted. */
export type WriteRequestInit = Omit<WriteRequest, "v" | "sig" | "nonce"> & { nonce?: Uint8Array };

function body(r: Omit<WriteRequest, "sig">): Uint8Array {
  const { v, owner, folder, seq, supplier, shard, size, nonce, expires } = r;
  return encode({ v, owner, folder, seq, supplier, shard, size, nonce, expires });
}

/** Signs a write request with a folder's write secret. */
export function signWriteRequest(writeSecret: Uint8Array, init: WriteRequestInit): WriteRequest {
  const r = { v: 1 as const, ...init, nonce: init.nonce ?? randomBytes(WRITE_NONCE_BYTES) };
  if (r.shard.length !== 32 || r.nonce.length !== WRITE_NONCE_BYTES) {
    throw new RangeError(`Write request shard id is 32 bytes and nonce ${WRITE_NONCE_BYTES}`);
  }
  return { ...r, sig: sign(writeSecret, TAG, body(r)) };
}

/** Encodes a write request. */
export function encodeWriteRequest(r: WriteRequest): Uint8Array {
  return encode({ ...r });
}

/** Decodes a write request (shape and bounds only; {@linkcode checkWrite} verifies it). */
export function decodeWriteRequest(bytes: Uint8Array): WriteRequest {
  const what = "write request";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: 512 }), what, [
    "v",
    "owner",
    "folder",
    "seq",
    "supplier",
    "shard",
    "size",
    "nonce",
    "expires",
    "sig",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid write request: unsupported version ${String(m.v)}`);
  return {
    v: 1,
    owner: readString(m, "owner", what, 52),
    folder: readString(m, "folder", what, 52),
    seq: readUint(m, "seq", what),
    supplier: readString(m, "supplier", what, 52),
    shard: readBytes(m, "shard", what, { exact: 32 }),
    size: readUint(m, "size", what),
    nonce: readBytes(m, "nonce", what, { exact: WRITE_NONCE_BYTES }),
    expires: readUint(m, "expires", what),
    sig: readBytes(m, "sig", what, { exact: 64 }),
  };
}

/** Nonces seen and not yet expired, bounded: when full, new requests wait rather than evict. */
export class SeenNonces {
  readonly #seen = new Map<string, number>();
  constructor(readonly max = 100_000) {}
  /** Whether `nonce` was seen (and is still remembered). */
  has(nonce: Uint8Array): boolean {
    return this.#seen.has(toHex(nonce));
  }
  /** Remembers `nonce` until `expires`; throws `SharingError` ("busy") when full. */
  add(nonce: Uint8Array, expires: number, now: number): void {
    if (this.#seen.size >= this.max) this.prune(now);
    if (this.#seen.size >= this.max) {
      throw new SharingError("busy", `Too many live write nonces (${this.max}); try again later`);
    }
    this.#seen.set(toHex(nonce), expires);
  }
  /** Forgets nonces whose requests expired (a replay of them is refused as expired). */
  prune(now: number): void {
    for (const [k, exp] of this.#seen) if (exp < now) this.#seen.delete(k);
  }
  /** How many nonces are remembered. */
  get size(): number {
    return this.#seen.size;
  }
}

/** Bytes accepted per write key, on one supplier. */
export class WriteUsage {
  readonly #used = new Map<string, number>();
  /** Bytes accepted under `writePub`. */
  used(writePub: Uint8Array): number {
    return this.#used.get(toHex(writePub)) ?? 0;
  }
  /** Counts `bytes` against `writePub`. */
  add(writePub: Uint8Array, bytes: number): void {
    this.#used.set(toHex(writePub), this.used(writePub) + bytes);
  }
}

/**
 * The supplier-side check. `policy` is the latest verified policy the supplier knows for the
 * folder; `supplier` is the checking supplier's own id. On success the nonce is remembered and
 * the size counted; on refusal (`SharingError`) nothing changes.
 */
export function checkWrite(
  r: WriteRequest,
  policy: WritePolicy,
  seen: SeenNonces,
  usage: WriteUsage,
  opts: { supplier: string; now?: number },
): void {
  const now = opts.now ?? Date.now();
  if (r.owner !== policy.owner || r.folder !== policy.folder) {
    throw new SharingError("wrong-target", `Write request is for another owner or folder`);
  }
  if (r.supplier !== opts.supplier) {
    throw new SharingError("wrong-target", `Write request is for supplier ${r.supplier}`);
  }
  if (r.seq !== policy.seq) {
    const stale = r.seq < policy.seq;
    throw new SharingError(
      stale ? "stale-policy" : "unknown-policy",
      `Write request names policy ${r.seq}, the latest known is ${policy.seq}`,
    );
  }
  if (!verify(policy.writePub, TAG, body(r), r.sig)) {
    throw new SharingError(
      "bad-signature",
      "Write request is not signed by the folder's write key",
    );
  }
  if (r.expires < now) {
    throw new SharingError("expired", `Write request expired ${now - r.expires} ms ago`);
  }
  if (r.expires > now + MAX_WRITE_TTL_MS) {
    throw new SharingError(
      "bad-expiry",
      `Write request expiry is over ${MAX_WRITE_TTL_MS} ms ahead`,
    );
  }
  if (seen.has(r.nonce)) throw new SharingError("replayed", "Write request nonce was already used");
  const used = usage.used(policy.writePub);
  if (used + r.size > policy.byteCap) {
    throw new SharingError(
      "over-cap",
      `Write of ${r.size} bytes exceeds the cap: ${used} of ${policy.byteCap} bytes used`,
    );
  }
  seen.add(r.nonce, r.expires, now);
  usage.add(policy.writePub, r.size);
}
