// This module is browser compatible.
/**
 * The generic signed, versioned mutable record (like BitTorrent's BEP 44 items). Its key is
 * derived from the namespace, the signer's public key and a name; the sequence number strictly
 * increases; the signature covers every other field; sizes are bounded. Records carry no
 * owner-set expiry, so anyone may republish the bytes and they outlive their author's absence.
 *
 * Wire form (format version 1), canonical CBOR:
 * `{ v: 1, ns, signer: 32 B, name: ≤ ns.maxName B, seq, ts: ms, value: ≤ ns.maxValue B, sig: 64 B }`.
 */
import { taggedHash } from "../crypto/hash.ts";
import { sign, verify } from "../crypto/sign.ts";
import { fromBase32, toBase32 } from "../encoding/base32.ts";
import { utf8 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { RecordError } from "./errors.ts";
import { isNamespaceName, type Namespaces } from "./namespace.ts";
import { assertNodeId, nodeIdOf } from "../identity/node_id.ts";

/** Hard upper bound of an encoded record, whatever its namespace allows. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Records stamped further than this in the future are refused. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
const SIG_TAG = "record/v1";

/** A verified record. */
export interface SignedRecord {
  readonly v: 1;
  readonly ns: string;
  readonly signer: Uint8Array;
  readonly name: Uint8Array;
  readonly seq: number;
  readonly ts: number;
  readonly value: Uint8Array;
  readonly sig: Uint8Array;
}

/** A record's address: its namespace and the base32 hash of (namespace, signer, name). */
export interface RecordKey {
  readonly ns: string;
  readonly hash: string;
}

/**
 * Derives the key of a record from its namespace, its signer's node id (or public key) and its
 * name. Keys hash the node id rather than the raw key so anyone who knows only a node id can find
 * that node's records (its identity document first of all).
 */
export function recordKeyOf(
  ns: string,
  signer: Uint8Array | string,
  name: Uint8Array = new Uint8Array(0),
): RecordKey {
  if (!isNamespaceName(ns)) throw new TypeError(`Invalid namespace name "${ns}"`);
  const id = typeof signer === "string" ? assertNodeId(signer) : nodeIdOf(signer);
  return { ns, hash: toBase32(taggedHash("mote/record-key/v1", utf8(ns), utf8(id), name)) };
}

/** The DHT key string of a record key: `/mote/<ns>/<hash>`. */
export function formatRecordKey(key: RecordKey): string {
  return `/mote/${key.ns}/${key.hash}`;
}

/** Parses `/mote/<ns>/<hash>` (or the bytes of it); throws `SyntaxError` on any other form. */
export function parseRecordKey(text: string | Uint8Array): RecordKey {
  const s = typeof text === "string" ? text : new TextDecoder().decode(text);
  const m = /^\/mote\/([a-z][a-z0-9-]{0,15})\/([a-z2-7]{52})$/.exec(s);
  if (!m) throw new SyntaxError(`Invalid record key "${s.slice(0, 100)}"`);
  fromBase32(m[2]!); // checks trailing bits
  return { ns: m[1]!, hash: m[2]! };
}

/** Fields the author chooses; the rest are derived. */
export interface RecordInit {
  ns: string;
  name?: Uint8Array;
  seq: number;
  value: Uint8Array;
  ts?: number;
}

function unsigned(r: Omit<SignedRecord, "sig">): Uint8Array {
  return encode({
    v: r.v,
    ns: r.ns,
    signer: r.signer,
    name: r.name,
    seq: r.seq,
    ts: r.ts,
    value: r.value,
  });
}

/** Creates and signs a record. */
export function createRecord(
  signSecret: Uint8Array,
  signPublic: Uint8Array,
  init: RecordInit,
): SignedRecord {
  if (!Number.isSafeInteger(init.seq) || init.seq < 0) {
    throw new RangeError(`Record sequence must be a non-negative integer, got ${init.seq}`);
  }
  const body = {
    v: 1 as const,
    ns: init.ns,
    signer: signPublic,
    name: init.name ?? new Uint8Array(0),
    seq: init.seq,
    ts: init.ts ?? Date.now(),
    value: init.value,
  };
  return { ...body, sig: sign(signSecret, SIG_TAG, unsigned(body)) };
}

/** Encodes a record in its canonical wire form. */
export function encodeRecord(r: SignedRecord): Uint8Array {
  return encode({ ...r });
}

/** Options for {@linkcode decodeRecord}. */
export interface VerifyOptions {
  /** The namespaces this node accepts. */
  namespaces: Namespaces;
  /** When given, the record must live at this key. */
  key?: RecordKey;
  /** Current time in ms (for the clock-skew check). */
  now?: number;
}

/**
 * Decodes and fully verifies record bytes: size, canonical form, shape, namespace, key, signature,
 * clock skew and the namespace's own value check. Throws {@linkcode RecordError}.
 */
export function decodeRecord(bytes: Uint8Array, opts: VerifyOptions): SignedRecord {
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new RecordError(
      "oversized",
      `Record is ${bytes.length} bytes, limit ${MAX_RECORD_BYTES}`,
    );
  }
  let r: SignedRecord;
  try {
    const m = readMap(
      decodeCanonical(bytes, { what: "record", maxBytes: MAX_RECORD_BYTES }),
      "record",
      [
        "v",
        "ns",
        "signer",
        "name",
        "seq",
        "ts",
        "value",
        "sig",
      ],
    );
    if (m.v !== 1) throw new DecodeError(`Invalid record: unsupported version ${String(m.v)}`);
    r = {
      v: 1,
      ns: readString(m, "ns", "record", 16),
      signer: readBytes(m, "signer", "record", { exact: 32 }),
      name: readBytes(m, "name", "record", { max: 1024 }),
      seq: readUint(m, "seq", "record"),
      ts: readUint(m, "ts", "record"),
      value: readBytes(m, "value", "record", { max: MAX_RECORD_BYTES }),
      sig: readBytes(m, "sig", "record", { exact: 64 }),
    };
  } catch (e) {
    if (e instanceof DecodeError) throw new RecordError("malformed", e.message);
    throw e;
  }
  const ns = opts.namespaces.get(r.ns);
  if (!ns) throw new RecordError("unknown-namespace", `Unknown record namespace "${r.ns}"`);
  if (r.value.length > ns.maxValue || r.name.length > ns.maxName) {
    throw new RecordError(
      "oversized",
      `Record in "${r.ns}" has a ${r.name.length}-byte name and ${r.value.length}-byte value, limits ${ns.maxName} and ${ns.maxValue}`,
    );
  }
  if (opts.key) {
    const k = recordKeyOf(r.ns, r.signer, r.name);
    if (k.ns !== opts.key.ns || k.hash !== opts.key.hash) {
      throw new RecordError(
        "wrong-key",
        `Record belongs at ${formatRecordKey(k)}, not ${formatRecordKey(opts.key)}`,
      );
    }
  }
  if (!verify(r.signer, SIG_TAG, unsigned(r), r.sig)) {
    throw new RecordError(
      "bad-signature",
      `Record signature does not verify for ${
        formatRecordKey(recordKeyOf(r.ns, r.signer, r.name))
      }`,
    );
  }
  const now = opts.now ?? Date.now();
  if (r.ts > now + MAX_CLOCK_SKEW_MS) {
    throw new RecordError(
      "future",
      `Record is stamped ${Math.round((r.ts - now) / 1000)} s in the future`,
    );
  }
  if (ns.validate) {
    try {
      ns.validate(r);
    } catch (e) {
      throw new RecordError(
        "invalid-value",
        `Invalid "${r.ns}" record value: ${(e as Error).message}`,
      );
    }
  }
  return r;
}
