// This module is browser compatible.
/**
 * The signed identity document: who a node id is and how to reach it. It is the value of a
 * record in the `id` namespace (empty name) signed by the identity key, so its revision is the
 * record's sequence number and its timestamp the record's; a higher revision replaces a lower
 * one, never the reverse (see `records/seq_memory.ts`).
 *
 * Each device that runs this identity has its own libp2p key and appears as its own entry, so one
 * identity can run on two machines.
 */
import { equals } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readStrings, readUint } from "../encoding/shape.ts";
import type { Namespace } from "../records/namespace.ts";
import type { SignedRecord } from "../records/record.ts";
import { nodeIdOf } from "./node_id.ts";

/** Largest encoded identity document. */
export const MAX_IDENTITY_DOC = 8 * 1024;
const MAX_DEVICES = 8, MAX_ADDRS = 16, MAX_GATEWAYS = 8, MAX_NICK = 64;

/** One device running the identity. */
export interface DeviceEntry {
  /** The device's libp2p peer id. */
  readonly peer: string;
  /** Its libp2p multiaddrs (loopback ones only inside the embedded network). */
  readonly addrs: readonly string[];
  /** When the device last published this entry (ms). */
  readonly seen: number;
}

/** The identity document. */
export interface IdentityDocument {
  readonly v: 1;
  readonly id: string;
  readonly sign: Uint8Array;
  readonly agree: Uint8Array;
  readonly nickname: string;
  readonly devices: readonly DeviceEntry[];
  /** Public HTTP URLs of gateways this identity serves. */
  readonly gateways: readonly string[];
}

/** Encodes a document canonically. */
export function encodeIdentityDocument(doc: IdentityDocument): Uint8Array {
  const bytes = encode({ ...doc, devices: doc.devices.map((d) => ({ ...d })) });
  if (bytes.length > MAX_IDENTITY_DOC) {
    throw new RangeError(`Identity document is ${bytes.length} bytes, limit ${MAX_IDENTITY_DOC}`);
  }
  return bytes;
}

/** Decodes and checks a document (shape, limits, and that the id matches the signing key). */
export function decodeIdentityDocument(bytes: Uint8Array): IdentityDocument {
  const what = "identity document";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_IDENTITY_DOC }), what, [
    "v",
    "id",
    "sign",
    "agree",
    "nickname",
    "devices",
    "gateways",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const sign = readBytes(m, "sign", what, { exact: 32 });
  const id = readString(m, "id", what, 52);
  if (nodeIdOf(sign) !== id) {
    throw new DecodeError(`Invalid ${what}: id ${id} does not match its signing key`);
  }
  if (!Array.isArray(m.devices) || m.devices.length > MAX_DEVICES) {
    throw new DecodeError(`Invalid ${what}: "devices" must be an array of at most ${MAX_DEVICES}`);
  }
  const devices = m.devices.map((d) => {
    const e = readMap(d, "device entry", ["peer", "addrs", "seen"]);
    return {
      peer: readString(e, "peer", "device entry", 128),
      addrs: readStrings(e, "addrs", "device entry", MAX_ADDRS, 256),
      seen: readUint(e, "seen", "device entry"),
    };
  });
  return {
    v: 1,
    id,
    sign,
    agree: readBytes(m, "agree", what, { exact: 32 }),
    nickname: readString(m, "nickname", what, MAX_NICK),
    devices,
    gateways: readStrings(m, "gateways", what, MAX_GATEWAYS, 256),
  };
}

/** The `id` record namespace: identity documents, signed by the key they describe. */
export const IDENTITY_NAMESPACE: Namespace = {
  name: "id",
  maxValue: MAX_IDENTITY_DOC,
  maxName: 0,
  validate(r: SignedRecord) {
    const doc = decodeIdentityDocument(r.value);
    if (!equals(doc.sign, r.signer)) {
      throw new Error("document key differs from the record's signer");
    }
  },
};
