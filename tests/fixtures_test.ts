/**
 * Format fixtures: data written by format version 1 must stay readable by every later version.
 * The fixtures were generated once by `tests/vectors/make_records_v1.ts`; if a format changes,
 * the new version gets new fixtures and these tests keep passing unchanged.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { concat, fromHex, toHex, utf8 } from "../src/encoding/bytes.ts";
import { encode } from "../src/encoding/cbor.ts";
import {
  decodeIdentityDocument,
  exportKeyFile,
  IDENTITY_NAMESPACE,
  identityFromSecrets,
  importKeyFile,
  isNodeId,
  isSealed,
  nodeIdOf,
} from "../src/identity/mod.ts";
import {
  createRecord,
  decodeRecord,
  encodeRecord,
  formatRecordKey,
  namespaces,
  parseRecordKey,
  recordKeyOf,
  type SignedRecord,
} from "../src/records/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import v1 from "./vectors/records_v1.json" with { type: "json" };

const NS = namespaces(v1.record.namespace, IDENTITY_NAMESPACE);

type FixtureFields = typeof v1.record.fields;

function checkFields(r: SignedRecord, f: FixtureFields): void {
  assertEquals(r.v, f.v, "v");
  assertEquals(r.ns, f.ns, "ns");
  assertEquals(toHex(r.signer), f.signer, "signer");
  assertEquals(toHex(r.name), f.name, "name");
  assertEquals(r.seq, f.seq, "seq");
  assertEquals(r.ts, f.ts, "ts");
  assertEquals(toHex(r.value), f.value, "value");
  assertEquals(toHex(r.sig), f.sig, "sig");
}

/**
 * Checks the signature the v1 way, spelled out here rather than through the code under test:
 * Ed25519 over `"mote/sig/v1\0record/v1\0"` followed by the canonical CBOR of every field but
 * `sig`.
 */
function checkV1Signature(f: FixtureFields): void {
  const unsigned = encode({
    v: f.v,
    ns: f.ns,
    signer: fromHex(f.signer),
    name: fromHex(f.name),
    seq: f.seq,
    ts: f.ts,
    value: fromHex(f.value),
  });
  const message = concat(utf8("mote/sig/v1\0record/v1\0"), unsigned);
  assert(ed25519.verify(fromHex(f.sig), message, fromHex(f.signer)), "v1 signature verifies");
}

Deno.test("the v1 node id of a fixed key is still the same", () => {
  assertEquals(nodeIdOf(fromHex(v1.nodeId.signPublic)), v1.nodeId.id);
  assert(isNodeId(v1.nodeId.id));
});

Deno.test("the v1 identity secrets still give the same public keys and node id", () => {
  const keys = identityFromSecrets(
    fromHex(v1.identity.signSecret),
    fromHex(v1.identity.agreeSecret),
  );
  assertEquals(toHex(keys.signPublic), v1.identity.signPublic);
  assertEquals(toHex(keys.agreePublic), v1.identity.agreePublic);
  assertEquals(keys.id, v1.identity.id);
});

Deno.test("a v1 record still decodes with every field and its signature", () => {
  const f = v1.record.fields;
  const bytes = fromHex(v1.record.bytes);
  for (const now of [f.ts, Date.now()]) {
    const r = decodeRecord(bytes, { namespaces: NS, key: parseRecordKey(v1.record.key), now });
    checkFields(r, f);
    assertEquals(toHex(encodeRecord(r)), v1.record.bytes, "re-encodes to the same bytes");
  }
  checkV1Signature(f);
  assertEquals(f.signer, v1.identity.signPublic);
  assertEquals(
    formatRecordKey(recordKeyOf(f.ns, v1.identity.id, fromHex(f.name))),
    v1.record.key,
    "the key derivation is unchanged",
  );
});

Deno.test("a v1 identity document record still decodes, and so does its document", () => {
  const f = v1.identityRecord.fields;
  const r = decodeRecord(fromHex(v1.identityRecord.bytes), {
    namespaces: NS,
    key: parseRecordKey(v1.identityRecord.key),
    now: Date.now(),
  });
  checkFields(r, f);
  checkV1Signature(f);
  assertEquals(formatRecordKey(recordKeyOf("id", v1.identity.id)), v1.identityRecord.key);

  const d = v1.identityRecord.document;
  const doc = decodeIdentityDocument(r.value);
  assertEquals(doc.v, d.v);
  assertEquals(doc.id, d.id);
  assertEquals(doc.id, v1.identity.id);
  assertEquals(toHex(doc.sign), d.sign);
  assertEquals(toHex(doc.agree), d.agree);
  assertEquals(doc.nickname, d.nickname);
  assertEquals(doc.devices, d.devices);
  assertEquals(doc.gateways, d.gateways);
});

Deno.test("a v1 plain key file still imports to the same keys", async () => {
  assert(!isSealed(v1.keyFile.text));
  const keys = await importKeyFile(v1.keyFile.text);
  assertEquals(keys.id, v1.keyFile.id);
  assertEquals(keys.id, v1.identity.id);
  assertEquals(toHex(keys.signSecret), v1.identity.signSecret);
  assertEquals(toHex(keys.agreeSecret), v1.identity.agreeSecret);
  assertEquals(toHex(keys.signPublic), v1.identity.signPublic);
  assertEquals(toHex(keys.agreePublic), v1.identity.agreePublic);
});

// The tests above read v1 data and must pass forever. The one below checks that the current
// writers still produce v1 byte for byte; when a v2 writer lands, it moves to the v2 fixtures.
Deno.test("the current writers still produce the v1 fixture bytes", async () => {
  const keys = identityFromSecrets(
    fromHex(v1.identity.signSecret),
    fromHex(v1.identity.agreeSecret),
  );
  for (const fixture of [v1.record, v1.identityRecord]) {
    const f = fixture.fields;
    const r = createRecord(keys.signSecret, keys.signPublic, {
      ns: f.ns,
      name: fromHex(f.name),
      seq: f.seq,
      ts: f.ts,
      value: fromHex(f.value),
    });
    assertEquals(toHex(encodeRecord(r)), fixture.bytes, `${f.ns} record`);
  }
  assertEquals(await exportKeyFile(keys), v1.keyFile.text, "key file");
});
