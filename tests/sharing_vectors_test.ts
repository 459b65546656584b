/**
 * Sharing format version 1 fixtures (`tests/vectors/sharing_v1.json`, made once by
 * `sharing_make_v1.ts`): the current code must still decode, verify and open them, and re-encode
 * them byte for byte; the signed ones must also be reproduced exactly from their inputs.
 */
import { fromHex } from "../src/encoding/bytes.ts";
import { identityFromSecrets } from "../src/identity/mod.ts";
import { signPublicKey } from "../src/crypto/sign.ts";
import {
  checkWrite,
  createWritePolicy,
  decodeCapability,
  decodeGrant,
  decodeWritePolicy,
  decodeWriteRequest,
  encodeCapability,
  encodeGrant,
  encodeGroup,
  encodeWritePolicy,
  encodeWriteRequest,
  groupRef,
  openAsGroupMember,
  openAsReader,
  SeenNonces,
  signWriteRequest,
  unwrapGroupKey,
  verifyGroupRecord,
  WriteUsage,
} from "../src/sharing/mod.ts";
import { assertEquals } from "./_assert.ts";
import v from "./vectors/sharing_v1.json" with { type: "json" };

const owner = identityFromSecrets(fromHex(v.owner.signSecret), fromHex(v.owner.agreeSecret));
const member = identityFromSecrets(fromHex(v.member.signSecret), fromHex(v.member.agreeSecret));

Deno.test("sharing v1 fixtures: the group record verifies and opens for owner and member", async () => {
  assertEquals([owner.id, member.id], [v.owner.id, v.member.id]);
  const { group, record } = verifyGroupRecord(fromHex(v.group.record), {
    owner: owner.id,
    name: "family",
    now: 1_767_225_600_000, // the record's own stamp
  });
  assertEquals(encodeGroup(group), record.value);
  assertEquals(groupRef(owner.id, "family"), v.group.ref);
  assertEquals(await unwrapGroupKey(group, owner.id, owner.agreeSecret), fromHex(v.group.key));
  assertEquals(await unwrapGroupKey(group, member.id, member.agreeSecret), fromHex(v.group.key));
});

Deno.test("sharing v1 fixtures: the grant opens for its reader and its group", async () => {
  const bytes = fromHex(v.grant.bytes);
  const grant = decodeGrant(bytes);
  assertEquals(encodeGrant(grant), bytes);
  assertEquals(grant.object, fromHex(v.grant.object));
  const key = fromHex(v.grant.key);
  assertEquals(await openAsReader(grant, member.id, member.agreeSecret), key);
  const gk = { group: v.group.ref, epoch: 0, key: fromHex(v.group.key) };
  assertEquals(await openAsGroupMember(grant, gk), key);
});

Deno.test("sharing v1 fixtures: the write policy and request are reproduced and accepted", () => {
  const writeSecret = fromHex(v.writePolicy.writeSecret);
  const bytes = fromHex(v.writePolicy.bytes);
  const policy = decodeWritePolicy(bytes);
  assertEquals(encodeWritePolicy(policy), bytes);
  const again = createWritePolicy(owner, {
    folder: policy.folder,
    seq: policy.seq,
    writePub: signPublicKey(writeSecret),
    byteCap: policy.byteCap,
  });
  assertEquals(encodeWritePolicy(again), bytes);
  const reqBytes = fromHex(v.writeRequest.bytes);
  const r = decodeWriteRequest(reqBytes);
  assertEquals(encodeWriteRequest(r), reqBytes);
  const { v: _v, sig: _sig, ...init } = r;
  assertEquals(encodeWriteRequest(signWriteRequest(writeSecret, init)), reqBytes);
  assertEquals([r.shard, r.nonce], [fromHex(v.writeRequest.shard), fromHex(v.writeRequest.nonce)]);
  const usage = new WriteUsage();
  checkWrite(r, policy, new SeenNonces(), usage, { supplier: member.id, now: r.expires - 1000 });
  assertEquals(usage.used(policy.writePub), r.size);
});

Deno.test("sharing v1 fixtures: the link capability decodes and re-encodes to the same text", () => {
  const cap = decodeCapability(v.capability.fragment);
  assertEquals(cap, {
    v: 1,
    ref: fromHex(v.capability.ref),
    key: fromHex(v.capability.key),
    expires: v.capability.expires,
  });
  assertEquals(encodeCapability(cap), v.capability.fragment);
});
