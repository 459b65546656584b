// This module is browser compatible.
/**
 * Messages of the supply and shard protocols (`/mote/supply/1.0.0`, `/mote/shard/1.0.0`):
 * canonical CBOR maps `{ v: 1, op, … }`. Customer-signed parts cover a type tag and name the
 * supplier, so a signature made for one supplier or purpose is useless anywhere else.
 */
import { decode, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { type Fields, readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { sign, verify } from "../crypto/sign.ts";

/** Protocol ids. */
export const SUPPLY_PROTOCOL = "/mote/supply/1.0.0";
export const SHARD_PROTOCOL = "/mote/shard/1.0.0";

/** Largest request frame on the shard protocol beyond the shard itself. */
export const FRAME_OVERHEAD = 16 * 1024;
/** Most leaves one storage challenge asks for. */
export const MAX_CHALLENGE = 64;
/** Most ids in one `has` request. */
export const MAX_IDS = 1024;
/** Signed requests older or newer than this are refused (limits replay to a short window). */
export const REQUEST_WINDOW_MS = 10 * 60 * 1000;

/** Decodes a request of either protocol, checking its version and op. */
export function decodeRequest(bytes: Uint8Array, maxBytes: number): Fields & { op: string } {
  const m = decode(bytes, { what: "request", maxBytes }) as Fields;
  if (typeof m !== "object" || m === null || m.v !== 1 || typeof m.op !== "string") {
    throw new DecodeError("Invalid request: expected { v: 1, op, … }");
  }
  return m as Fields & { op: string };
}

/** Encodes a request. */
export function encodeRequest(op: string, fields: Record<string, unknown>): Uint8Array {
  return encode({ v: 1, op, ...fields });
}

/** What a customer signs to store one shard with one supplier. */
export interface PutAuth {
  customer: string;
  supplier: string;
  /** The contract's sequence number. */
  seq: number;
  id: string;
  size: number;
  ts: number;
}

const PUT_TAG = "shard-put/v1";
const DELETE_TAG = "shard-delete/v1";
const LIST_TAG = "shard-list/v1";

/** Signs a put authorisation. */
export function signPut(a: PutAuth, secret: Uint8Array): Uint8Array {
  return sign(secret, PUT_TAG, encode({ ...a }));
}

/** Verifies a put authorisation against the customer's key. */
export function verifyPut(a: PutAuth, sig: Uint8Array, customerKey: Uint8Array): boolean {
  return verify(customerKey, PUT_TAG, encode({ ...a }), sig);
}

/** Reads a put authorisation from a request. */
export function readPutAuth(v: unknown): PutAuth {
  const m = readMap(v, "put", ["customer", "supplier", "seq", "id", "size", "ts"]);
  return {
    customer: readString(m, "customer", "put", 52),
    supplier: readString(m, "supplier", "put", 52),
    seq: readUint(m, "seq", "put"),
    id: readString(m, "id", "put", 52),
    size: readUint(m, "size", "put"),
    ts: readUint(m, "ts", "put"),
  };
}

/**
 * A delete request. It binds the supplier, the contract, a counter that must exceed every
 * counter the supplier has seen from this customer, and an expiry: it cannot be replayed to the
 * same supplier, used at another, or held back and used late.
 */
export interface DeleteRequest {
  customer: string;
  supplier: string;
  seq: number;
  counter: number;
  expiry: number;
  ids: string[];
}

/** Signs a delete request. */
export function signDelete(d: DeleteRequest, secret: Uint8Array): Uint8Array {
  return sign(secret, DELETE_TAG, encode({ ...d }));
}

/** Verifies a delete request. */
export function verifyDelete(d: DeleteRequest, sig: Uint8Array, customerKey: Uint8Array): boolean {
  return verify(customerKey, DELETE_TAG, encode({ ...d }), sig);
}

/** Reads a delete request. */
export function readDelete(v: unknown): DeleteRequest {
  const m = readMap(v, "delete", ["customer", "supplier", "seq", "counter", "expiry", "ids"]);
  if (!Array.isArray(m.ids) || m.ids.length > MAX_IDS) {
    throw new DecodeError(`Invalid delete: "ids" must be an array of at most ${MAX_IDS}`);
  }
  return {
    customer: readString(m, "customer", "delete", 52),
    supplier: readString(m, "supplier", "delete", 52),
    seq: readUint(m, "seq", "delete"),
    counter: readUint(m, "counter", "delete"),
    expiry: readUint(m, "expiry", "delete"),
    ids: m.ids.map((x, i) => readString({ [i]: x }, String(i), "delete.ids", 52)),
  };
}

/** A customer's signed request to list what it stores with a supplier. */
export interface ListRequest {
  customer: string;
  supplier: string;
  ts: number;
}

/** Signs a list request. */
export function signList(l: ListRequest, secret: Uint8Array): Uint8Array {
  return sign(secret, LIST_TAG, encode({ ...l }));
}

/** Verifies a list request. */
export function verifyList(l: ListRequest, sig: Uint8Array, customerKey: Uint8Array): boolean {
  return verify(customerKey, LIST_TAG, encode({ ...l }), sig);
}

/** Reads a list request. */
export function readList(v: unknown): ListRequest {
  const m = readMap(v, "list", ["customer", "supplier", "ts"]);
  return {
    customer: readString(m, "customer", "list", 52),
    supplier: readString(m, "supplier", "list", 52),
    ts: readUint(m, "ts", "list"),
  };
}

/** Reads a signature field. */
export function readSig(m: Fields): Uint8Array {
  return readBytes(m, "sig", "request", { exact: 64 });
}
