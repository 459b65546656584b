// This module is browser compatible.
/**
 * Write keys: each writable folder has its own Ed25519 key pair. The owner signs a write policy
 * naming the folder (its record key), a sequence number, the write public key and a byte cap; the
 * secret is shared with writers through a `"write"` grant (grants.ts). A writer signs each shard
 * upload for one supplier, and the supplier accepts it only under {@linkcode checkWrite}.
 *
 * Requests name no writer, so suppliers learn nothing of who writes. Revoking a writer rotates
 * the key pair under a higher policy sequence: requests made under the old policy are refused.
 */
import { randomBytes } from "../crypto/hash.ts";
import { sign, signPublicKey, verify } from "../crypto/sign.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import type { IdentityKeys } from "../identity/keys.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import { SharingError } from "./errors.ts";

const POLICY_TAG = "sharing/write-policy/v1";
const ID_RE = /^[a-z2-7]{52}$/;

/** An owner-signed write policy for one folder. */
export interface WritePolicy {
  readonly v: 1;
  readonly owner: string;
  /** The owner's Ed25519 public key (its hash is `owner`). */
  readonly ownerKey: Uint8Array;
  /** The folder's record key hash (52 base32 characters). */
  readonly folder: string;
  readonly seq: number;
  readonly writePub: Uint8Array;
  /** Bytes each supplier accepts under this write key. Always set: "others: write" is capped. */
  readonly byteCap: number;
  readonly sig: Uint8Array;
}

/** What the owner chooses in a policy. */
export type WritePolicyInit = Pick<WritePolicy, "folder" | "seq" | "writePub" | "byteCap">;

function policyBody(p: Omit<WritePolicy, "sig">): Uint8Array {
  const { v, owner, ownerKey, folder, seq, writePub, byteCap } = p;
  return encode({ v, owner, ownerKey, folder, seq, writePub, byteCap });
}

/** Signs a write policy as the folder's owner. */
export function createWritePolicy(owner: IdentityKeys, init: WritePolicyInit): WritePolicy {
  if (!ID_RE.test(init.folder)) throw new SyntaxError(`Invalid folder key "${init.folder}"`);
  if (!Number.isSafeInteger(init.seq) || init.seq < 0) {
    throw new RangeError(`Policy sequence must be a non-negative integer, got ${init.seq}`);
  }
  if (!Number.isSafeInteger(init.byteCap) || init.byteCap <= 0) {
    throw new RangeError(`A write policy needs a positive byte cap, got ${init.byteCap}`);
  }
  if (init.writePub.length !== 32) throw new RangeError("A write public key is 32 bytes");
  const body = { v: 1 as const, owner: owner.id, ownerKey: owner.signPublic, ...init };
  return { ...body, sig: sign(owner.signSecret, POLICY_TAG, policyBody(body)) };
}

/** A fresh write key pair. */
export function generateWriteKey(): { secret: Uint8Array; pub: Uint8Array } {
  const secret = randomBytes(32);
  return { secret, pub: signPublicKey(secret) };
}

/** Rotates a folder's write key (revoking every writer): a new key pair, sequence + 1. */
export function rotateWriteKey(
  owner: IdentityKeys,
  policy: WritePolicy,
  byteCap = policy.byteCap,
): { policy: WritePolicy; secret: Uint8Array } {
  const k = generateWriteKey();
  const next = { folder: policy.folder, seq: policy.seq + 1, writePub: k.pub, byteCap };
  return { policy: createWritePolicy(owner, next), secret: k.secret };
}

/** Encodes a write policy. */
export function encodeWritePolicy(p: WritePolicy): Uint8Array {
  return encode({ ...p });
}

/** Decodes a policy and verifies the owner's signature. Throws `DecodeError` / `SharingError`. */
export function decodeWritePolicy(bytes: Uint8Array): WritePolicy {
  const what = "write policy";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: 512 }), what, [
    "v",
    "owner",
    "ownerKey",
    "folder",
    "seq",
    "writePub",
    "byteCap",
    "sig",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid write policy: unsupported version ${String(m.v)}`);
  const p: WritePolicy = {
    v: 1,
    owner: readString(m, "owner", what, 52),
    ownerKey: readBytes(m, "ownerKey", what, { exact: 32 }),
    folder: readString(m, "folder", what, 52),
    seq: readUint(m, "seq", what),
    writePub: readBytes(m, "writePub", what, { exact: 32 }),
    byteCap: readUint(m, "byteCap", what),
    sig: readBytes(m, "sig", what, { exact: 64 }),
  };
  if (nodeIdOf(p.ownerKey) !== p.owner) {
    throw new SharingError("bad-signature", `Write policy key does not belong to ${p.owner}`);
  }
  if (!ID_RE.test(p.folder) || p.byteCap === 0) {
    throw new DecodeError(`Invalid write policy: bad folder key or zero byte cap`);
  }
  if (!verify(p.ownerKey, POLICY_TAG, policyBody(p), p.sig)) {
    throw new SharingError("bad-signature", `Write policy is not signed by its owner ${p.owner}`);
  }
  return p;
}
