/**
 * Generates `records_v1.json`: format-version-1 fixtures that `tests/fixtures_test.ts` decodes
 * with the current code, so data written by v1 stays readable forever.
 *
 * Run once: `deno run -A tests/vectors/make_records_v1.ts`. It refuses to overwrite an existing
 * file (pass `--force` only if the v1 format itself was wrong, never because the code changed: a
 * new format version gets a new fixture file). Every input is fixed and Ed25519 signatures are
 * deterministic (RFC 8032 §5.1.6), so the output is the same on every run.
 * @module
 */
import { toHex } from "../../src/encoding/bytes.ts";
import {
  encodeIdentityDocument,
  exportKeyFile,
  type IdentityDocument,
  identityFromSecrets,
  nodeIdOf,
} from "../../src/identity/mod.ts";
import {
  createRecord,
  encodeRecord,
  formatRecordKey,
  recordKeyOf,
  type SignedRecord,
} from "../../src/records/mod.ts";

const OUT = new URL("./records_v1.json", import.meta.url);

/** 32 bytes counting up from `start`: fixed, and easy to recognise in a hex dump. */
const fixedSecret = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 255);

const signSecret = fixedSecret(0x01), agreeSecret = fixedSecret(0x41);
const keys = identityFromSecrets(signSecret, agreeSecret);

/** The test namespace the record fixture lives in (the test registers the same one). */
const TEST_NAMESPACE = { name: "test", maxValue: 1024, maxName: 64 };

function fields(r: SignedRecord) {
  return {
    v: r.v,
    ns: r.ns,
    signer: toHex(r.signer),
    name: toHex(r.name),
    seq: r.seq,
    ts: r.ts,
    value: toHex(r.value),
    sig: toHex(r.sig),
  };
}

const record = createRecord(keys.signSecret, keys.signPublic, {
  ns: "test",
  name: new TextEncoder().encode("greeting"),
  seq: 42,
  ts: 1_735_689_600_000, // 2025-01-01T00:00:00Z
  value: new TextEncoder().encode("hello, mote"),
});

const document: IdentityDocument = {
  v: 1,
  id: keys.id,
  sign: keys.signPublic,
  agree: keys.agreePublic,
  nickname: "fixture",
  devices: [
    {
      peer: "12D3KooWFixtureDevice",
      addrs: ["/ip4/192.0.2.7/tcp/4001", "/ip6/2001:db8::7/tcp/4001"],
      seen: 1_735_689_000_000,
    },
  ],
  gateways: ["https://gateway.example.org"],
};
const idRecord = createRecord(keys.signSecret, keys.signPublic, {
  ns: "id",
  seq: 3,
  ts: 1_735_689_600_000,
  value: encodeIdentityDocument(document),
});

// RFC 8032 §7.1 TEST 1 public key: a fixed key anyone can check the node id of.
const rfcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const fromHex = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));

const fixtures = {
  comment: "Mote format version 1 fixtures. Generated once by make_records_v1.ts; never edit. " +
    "A format change gets a new version and a new file; these must keep decoding.",
  identity: {
    signSecret: toHex(signSecret),
    agreeSecret: toHex(agreeSecret),
    signPublic: toHex(keys.signPublic),
    agreePublic: toHex(keys.agreePublic),
    id: keys.id,
  },
  nodeId: { signPublic: rfcPublic, id: nodeIdOf(fromHex(rfcPublic)) },
  record: {
    namespace: TEST_NAMESPACE,
    bytes: toHex(encodeRecord(record)),
    key: formatRecordKey(recordKeyOf(record.ns, keys.id, record.name)),
    fields: fields(record),
  },
  identityRecord: {
    bytes: toHex(encodeRecord(idRecord)),
    key: formatRecordKey(recordKeyOf("id", keys.id)),
    fields: fields(idRecord),
    document: {
      v: 1,
      id: document.id,
      sign: toHex(document.sign),
      agree: toHex(document.agree),
      nickname: document.nickname,
      devices: document.devices,
      gateways: document.gateways,
    },
  },
  keyFile: { text: await exportKeyFile(keys), id: keys.id },
};

const text = JSON.stringify(fixtures, null, 2) + "\n";
if (!Deno.args.includes("--force")) {
  try {
    await Deno.stat(OUT);
    console.error(`${OUT.pathname} exists; fixtures are generated once (see the module doc)`);
    Deno.exit(1);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
await Deno.writeTextFile(OUT, text);
console.log(`wrote ${OUT.pathname}`);
