/**
 * Generates `world_record_v1.json`: a signed world record (format version 1) by a fixed key, its
 * address, its decoded value, and edits digests of fixed (editor, seq) lists, so
 * `tests/world_record_test.ts` pins the world record's bytes and `editsDigest` for every later
 * version (Ed25519 signatures are deterministic, so the bytes are reproducible).
 *
 * Run once: `deno run -A tests/vectors/world_make_record_v1.ts`. It refuses to overwrite the file:
 * a changed format gets new vectors beside these, never edited ones.
 * @module
 */
import { toHex, utf8 } from "../../src/encoding/bytes.ts";
import { identityFromSecrets } from "../../src/identity/keys.ts";
import { createRecord, encodeRecord } from "../../src/records/record.ts";
import { editsDigest } from "../../worlds/edits.ts";
import { encodeWorldRecord, worldAddress, type WorldRecordValue } from "../../worlds/record.ts";

const OUT = new URL("./world_record_v1.json", import.meta.url);
const seq = (n: number) => new Uint8Array(32).map((_, i) => (i * n + 7) & 0xff);
const owner = identityFromSecrets(seq(3), seq(5));
const grantee = identityFromSecrets(seq(11), seq(13)).id;
const other = identityFromSecrets(seq(17), seq(19)).id;

const value: WorldRecordValue = {
  v: 1,
  created: 1_764_892_800_000,
  seed: 3_141_592_653,
  generator: "terrain-v1",
  region: 8,
  title: "Vector valley",
  grants: [
    { rx: -3, rz: 2, grantee, expiry: 1_767_225_600_000 },
    { rx: 2147483647, rz: -2147483648, grantee: other, expiry: 0 },
  ],
};
const record = createRecord(owner.signSecret, owner.signPublic, {
  ns: "world",
  name: utf8("vector-valley"),
  seq: 4,
  ts: 1_764_892_800_123,
  value: encodeWorldRecord(value),
});
const pairs = [{ editor: other, seq: 2 ** 40 + 5 }, { editor: grantee, seq: 1 }];

try {
  await Deno.stat(OUT);
  console.error(`${OUT.pathname} exists: vectors are never rewritten`);
  Deno.exit(1);
} catch { /* not there yet */ }
await Deno.writeTextFile(
  OUT,
  JSON.stringify(
    {
      about: "A signed world record (format v1) by a fixed key, and edits digests",
      owner: owner.id,
      name: "vector-valley",
      address: worldAddress(owner.id, "vector-valley"),
      record: toHex(encodeRecord(record)),
      value,
      edits: [
        { pairs: [], digest: await editsDigest([]) },
        { pairs, digest: await editsDigest(pairs) },
      ],
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${OUT.pathname}`);
