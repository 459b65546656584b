/**
 * Generates `sharing_v1.json`: format-version-1 fixtures for sharing (a group record, a grant, a
 * write policy, a write request, a link capability) that `tests/sharing_vectors_test.ts` decodes,
 * verifies and opens with the current code, so shared data written by v1 stays usable.
 *
 * Run once: `deno run -A tests/vectors/sharing_make_v1.ts`. It refuses to overwrite the file unless
 * given `--force` (only if the v1 format itself was wrong). Signatures are deterministic; the HPKE
 * and AES-GCM wraps are random, so a rerun gives other bytes that must open to the same keys.
 * @module
 */
import { toHex } from "../../src/encoding/bytes.ts";
import { identityFromSecrets } from "../../src/identity/mod.ts";
import { encodeRecord } from "../../src/records/mod.ts";
import {
  createGrant,
  createGroup,
  createWritePolicy,
  encodeCapability,
  encodeGrant,
  encodeWritePolicy,
  encodeWriteRequest,
  groupRef,
  signGroup,
  signWriteRequest,
  unwrapGroupKey,
} from "../../src/sharing/mod.ts";
import { signPublicKey } from "../../src/crypto/sign.ts";

const OUT = new URL("./sharing_v1.json", import.meta.url);
const fixed = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 255);

const owner = identityFromSecrets(fixed(1), fixed(0x41));
const member = identityFromSecrets(fixed(0x81), fixed(0xc1));
const group = await createGroup(owner, "family", [
  { id: member.id, agreePublic: member.agreePublic },
]);
const groupKey = await unwrapGroupKey(group, owner.id, owner.agreeSecret);
const groupRecord = encodeRecord(signGroup(owner, group, 1, 1_767_225_600_000));
const object = fixed(0x10), readKey = fixed(0x20);
const ref = groupRef(owner.id, "family");
const grant = await createGrant({
  purpose: "read",
  object,
  key: readKey,
  readers: [{ id: member.id, agreePublic: member.agreePublic }],
  groups: [{ group: ref, epoch: 0, key: groupKey }],
});
const writeSecret = fixed(0x30);
const folder = "a".repeat(52);
const policy = createWritePolicy(owner, {
  folder,
  seq: 7,
  writePub: signPublicKey(writeSecret),
  byteCap: 1 << 30,
});
const requestInit = {
  owner: owner.id,
  folder,
  seq: 7,
  supplier: member.id,
  shard: fixed(0x50),
  size: 65536,
  nonce: fixed(0x60).subarray(0, 16),
  expires: 1_767_225_900_000,
};
const request = signWriteRequest(writeSecret, requestInit);
const capability = {
  v: 1 as const,
  ref: fixed(0x70),
  key: fixed(0x90),
  expires: 1_767_830_400_000,
};

const out = {
  comment:
    "Mote sharing format version 1 fixtures. Generated once by sharing_make_v1.ts; never edit. A format change gets a new version and a new file; these must keep decoding.",
  owner: { signSecret: toHex(fixed(1)), agreeSecret: toHex(fixed(0x41)), id: owner.id },
  member: { signSecret: toHex(fixed(0x81)), agreeSecret: toHex(fixed(0xc1)), id: member.id },
  group: { record: toHex(groupRecord), ref, key: toHex(groupKey) },
  grant: { bytes: toHex(encodeGrant(grant)), object: toHex(object), key: toHex(readKey) },
  writePolicy: { bytes: toHex(encodeWritePolicy(policy)), writeSecret: toHex(writeSecret) },
  writeRequest: {
    bytes: toHex(encodeWriteRequest(request)),
    shard: toHex(requestInit.shard),
    nonce: toHex(requestInit.nonce),
  },
  capability: {
    fragment: encodeCapability(capability),
    ref: toHex(capability.ref),
    key: toHex(capability.key),
    expires: capability.expires,
  },
};

let exists = true;
try {
  await Deno.stat(OUT);
} catch {
  exists = false;
}
if (exists && !Deno.args.includes("--force")) {
  console.error(`${OUT.pathname} exists; v1 fixtures are never regenerated`);
  Deno.exit(1);
}
await Deno.writeTextFile(OUT, JSON.stringify(out, null, 2) + "\n");
console.log(`wrote ${OUT.pathname}`);
