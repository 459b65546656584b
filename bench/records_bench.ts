/**
 * Costs of the record layer on one core: tagged Ed25519 signatures, signed record creation and
 * full verification, and canonical CBOR of an identity document. Each group has a baseline (the
 * raw primitive underneath) so `deno bench` prints the overhead Mote adds as a ratio measured in
 * the same run. Run with `deno bench -A bench/records_bench.ts`; figures are in BENCHMARKS.md.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { decode as cborDecode, encode as cborEncode } from "cborg";
import { sign, signedMessage, verify } from "../src/crypto/sign.ts";
import { decode, decodeCanonical, encode } from "../src/encoding/cbor.ts";
import {
  decodeIdentityDocument,
  encodeIdentityDocument,
  generateIdentity,
  type IdentityDocument,
} from "../src/identity/mod.ts";
import {
  createRecord,
  decodeRecord,
  encodeRecord,
  type Namespace,
  namespaces,
  recordKeyOf,
} from "../src/records/mod.ts";
import { IDENTITY_NAMESPACE } from "../src/identity/document.ts";

const keys = generateIdentity();
const TAG = "record/v1";
const payload = new Uint8Array(200).map((_, i) => (i * 31) & 0xff);
// The exact bytes the tagged signature covers, so the baseline signs a message of the same size.
const message = signedMessage(TAG, payload);
const signature = sign(keys.signSecret, TAG, payload);
const rawSignature = ed25519.sign(message, keys.signSecret);

// WebCrypto Ed25519 (Rust, in Deno) for comparison: async, but kad-dht's validators are async too.
const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const webPrivate = await crypto.subtle.importKey(
  "jwk",
  { kty: "OKP", crv: "Ed25519", d: b64url(keys.signSecret), x: b64url(keys.signPublic) },
  { name: "Ed25519" },
  false,
  ["sign"],
);
const webPublic = await crypto.subtle.importKey(
  "raw",
  keys.signPublic as Uint8Array<ArrayBuffer>,
  { name: "Ed25519" },
  false,
  ["verify"],
);
const webMessage = message as Uint8Array<ArrayBuffer>;

Deno.bench({
  name: "ed25519.sign (noble, raw, same 222-byte message)",
  group: "sign",
  baseline: true,
  fn: () => {
    ed25519.sign(message, keys.signSecret);
  },
});
Deno.bench({
  name: "sign() tagged, 200-byte payload",
  group: "sign",
  fn: () => {
    sign(keys.signSecret, TAG, payload);
  },
});

Deno.bench({
  name: "signedMessage() alone (the tagging sign() adds)",
  group: "sign",
  fn: () => {
    signedMessage(TAG, payload);
  },
});
Deno.bench({
  name: "WebCrypto Ed25519 sign, same 222-byte message",
  group: "sign",
  fn: async () => {
    await crypto.subtle.sign("Ed25519", webPrivate, webMessage);
  },
});

Deno.bench({
  name: "ed25519.verify (noble, raw, same 222-byte message)",
  group: "verify",
  baseline: true,
  fn: () => {
    if (!ed25519.verify(rawSignature, message, keys.signPublic)) throw new Error("bad signature");
  },
});
Deno.bench({
  name: "verify() tagged, 200-byte payload",
  group: "verify",
  fn: () => {
    if (!verify(keys.signPublic, TAG, payload, signature)) throw new Error("bad signature");
  },
});
Deno.bench({
  name: "WebCrypto Ed25519 verify, same 222-byte message",
  group: "verify",
  fn: async () => {
    const ok = await crypto.subtle.verify(
      "Ed25519",
      webPublic,
      rawSignature as Uint8Array<ArrayBuffer>,
      webMessage,
    );
    if (!ok) throw new Error("bad signature");
  },
});

// A record of the size the benchmarks and tests publish: a 16-byte name and a 200-byte value.
const BENCH_NS: Namespace = { name: "bench", maxValue: 4096, maxName: 64 };
const table = namespaces(IDENTITY_NAMESPACE, BENCH_NS);
const recordName = new TextEncoder().encode("bench-record-001");
const record = createRecord(keys.signSecret, keys.signPublic, {
  ns: "bench",
  name: recordName,
  seq: 7,
  value: payload,
});
const recordBytes = encodeRecord(record);
const recordKey = recordKeyOf("bench", keys.signPublic, recordName);

Deno.bench({
  name: "ed25519.sign (noble, raw, 222-byte message)",
  group: "record create",
  baseline: true,
  fn: () => {
    ed25519.sign(message, keys.signSecret);
  },
});
Deno.bench({
  name: `createRecord + encodeRecord (${recordBytes.length} B record)`,
  group: "record create",
  fn: () => {
    encodeRecord(
      createRecord(keys.signSecret, keys.signPublic, {
        ns: "bench",
        name: recordName,
        seq: 7,
        value: payload,
      }),
    );
  },
});

Deno.bench({
  name: "encodeRecord() alone (the CBOR part of creating)",
  group: "record create",
  fn: () => {
    encodeRecord(record);
  },
});

Deno.bench({
  name: "ed25519.verify (noble, raw, 222-byte message)",
  group: "record verify",
  baseline: true,
  fn: () => {
    if (!ed25519.verify(rawSignature, message, keys.signPublic)) throw new Error("bad signature");
  },
});
Deno.bench({
  name: "decodeCanonical() of the record alone (the CBOR part)",
  group: "record verify",
  fn: () => {
    decodeCanonical(recordBytes);
  },
});
Deno.bench({
  name: "recordKeyOf() alone (the key check's SHA-256s)",
  group: "record verify",
  fn: () => {
    recordKeyOf("bench", keys.signPublic, recordName);
  },
});
Deno.bench({
  name: "decodeRecord, full verification, no key check",
  group: "record verify",
  fn: () => {
    decodeRecord(recordBytes, { namespaces: table });
  },
});
Deno.bench({
  name: "decodeRecord, full verification + key check (what the DHT validator does)",
  group: "record verify",
  fn: () => {
    decodeRecord(recordBytes, { namespaces: table, key: recordKey });
  },
});

// An identity document as a node with two devices publishes it: 4 addresses each, 2 gateways.
const peer = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
const doc: IdentityDocument = {
  v: 1,
  id: keys.id,
  sign: keys.signPublic,
  agree: keys.agreePublic,
  nickname: "alice's laptop",
  devices: [0, 1].map((d) => ({
    peer,
    addrs: [
      `/ip4/192.168.1.${20 + d}/tcp/8182/p2p/${peer}`,
      `/ip4/192.168.1.${20 + d}/tcp/8183/ws/p2p/${peer}`,
      `/ip6/2001:db8::${d + 1}/tcp/8182/p2p/${peer}`,
      `/dns4/node${d}.example.org/tcp/443/wss/p2p/${peer}`,
    ],
    seen: 1_764_000_000_000 + d,
  })),
  gateways: ["https://mote.example.org", "https://gw2.example.org"],
};
const docPlain = { ...doc, devices: doc.devices.map((d) => ({ ...d })) };
const docBytes = encodeIdentityDocument(doc);
const docJson = JSON.stringify({ ...docPlain, sign: [...doc.sign], agree: [...doc.agree] });

Deno.bench({
  name: "cborg encode, default options",
  group: "cbor encode",
  baseline: true,
  fn: () => {
    cborEncode(docPlain);
  },
});
Deno.bench({
  name: `canonical encode() (RFC 8949 §4.2), ${docBytes.length} B identity document`,
  group: "cbor encode",
  fn: () => {
    encode(docPlain);
  },
});
Deno.bench({
  name: "encodeIdentityDocument (canonical + size check)",
  group: "cbor encode",
  fn: () => {
    encodeIdentityDocument(doc);
  },
});
Deno.bench({
  name: `JSON.stringify of the same document (${docJson.length} chars, keys as arrays)`,
  group: "cbor encode",
  fn: () => {
    JSON.stringify(docPlain);
  },
});

Deno.bench({
  name: "cborg decode, default options",
  group: "cbor decode",
  baseline: true,
  fn: () => {
    cborDecode(docBytes);
  },
});
Deno.bench({
  name: "strict decode() (size limit, duplicate keys, no indefinite)",
  group: "cbor decode",
  fn: () => {
    decode(docBytes);
  },
});
Deno.bench({
  name: "decodeCanonical() (decode + re-encode + compare)",
  group: "cbor decode",
  fn: () => {
    decodeCanonical(docBytes);
  },
});
Deno.bench({
  name: "decodeIdentityDocument (canonical + shape + id check)",
  group: "cbor decode",
  fn: () => {
    decodeIdentityDocument(docBytes);
  },
});
Deno.bench({
  name: "JSON.parse of the same document",
  group: "cbor decode",
  fn: () => {
    JSON.parse(docJson);
  },
});
