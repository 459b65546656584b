/**
 * The permission matrix at the level of the pure core: owner, group member, named reader,
 * non-member and anyone, × read and write, × granted and revoked, for a private group folder
 * (mode 770 with "others: read" off, then on). A permission is a key: reading means opening the
 * folder's read grant, writing means opening its write grant and getting a supplier to accept a
 * signed request. Forbidden operations fail with a clear `SharingError` and change nothing.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { generateIdentity, type IdentityKeys } from "../src/identity/keys.ts";
import {
  canRead,
  canWrite,
  checkWrite,
  classOf,
  createGrant,
  createGroup,
  createWritePolicy,
  generateWriteKey,
  type Grant,
  type GroupKey,
  groupRef,
  openAsGroupMember,
  openAsReader,
  openPublic,
  parseMode,
  removeMember,
  rotateWriteKey,
  SeenNonces,
  SharingError,
  signWriteRequest,
  unwrapGroupKey,
  type WritePolicy,
  WriteUsage,
} from "../src/sharing/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

const NOW = 1_800_000_000_000;
const member = (k: IdentityKeys) => ({ id: k.id, agreePublic: k.agreePublic });

/** Whoever can: opens the read key by any route they have, or throws `SharingError`. */
async function read(g: Grant, who: IdentityKeys | null, gk?: GroupKey): Promise<Uint8Array> {
  if (who && g.readers.some((r) => r.id === who.id)) {
    return await openAsReader(g, who.id, who.agreeSecret);
  }
  if (gk) return await openAsGroupMember(g, gk);
  return openPublic(g);
}

Deno.test("matrix: a private group folder, then a member removed and others allowed to read", async () => {
  const owner = generateIdentity(), alice = generateIdentity(), bob = generateIdentity();
  const reader = generateIdentity(), eve = generateIdentity();
  const supplier = generateIdentity().id, folder = "q".repeat(52), object = randomBytes(32);
  let mode = parseMode("770");
  let group = await createGroup(owner, "family", [member(alice), member(bob)]);
  const ref = groupRef(owner.id, "family");
  const gkOf = async (who: IdentityKeys) => ({
    group: ref,
    epoch: group.epoch,
    key: await unwrapGroupKey(group, who.id, who.agreeSecret),
  });

  // The owner's node wraps keys as the mode says: the group reads and writes, a named reader reads.
  assert(canRead(mode, classOf(alice.id, owner.id, true)) && canWrite(mode, "group"));
  assert(!canRead(mode, classOf(eve.id, owner.id, false)));
  let readKey = randomBytes(32);
  const wk = generateWriteKey();
  let policy: WritePolicy = createWritePolicy(owner, {
    folder,
    seq: 0,
    writePub: wk.pub,
    byteCap: 10_000,
  });
  const ownerGk = await gkOf(owner);
  let readGrant = await createGrant({
    purpose: "read",
    object,
    key: readKey,
    readers: [member(owner), member(reader)],
    groups: [ownerGk],
  });
  let writeGrant = await createGrant({
    purpose: "write",
    object,
    key: wk.secret,
    readers: [member(owner)],
    groups: [ownerGk],
  });
  const seen = new SeenNonces(), usage = new WriteUsage();
  const write = async (who: IdentityKeys, gk?: GroupKey, size = 100) => {
    const secret = who.id === owner.id || !gk
      ? await openAsReader(writeGrant, who.id, who.agreeSecret)
      : await openAsGroupMember(writeGrant, gk);
    const r = signWriteRequest(secret, {
      owner: owner.id,
      folder,
      seq: policy.seq,
      supplier,
      shard: randomBytes(32),
      size,
      expires: NOW + 60_000,
    });
    checkWrite(r, policy, seen, usage, { supplier, now: NOW });
  };

  // Granted.
  const bobGk0 = await gkOf(bob), aliceGk0 = await gkOf(alice);
  for (
    const [who, gk] of [[owner, undefined], [alice, aliceGk0], [bob, bobGk0], [
      reader,
      undefined,
    ]] as const
  ) {
    assertEquals(await read(readGrant, who, gk), readKey, who.id);
  }
  await write(owner);
  await write(alice, aliceGk0);
  await write(bob, bobGk0);
  assertEquals(usage.used(policy.writePub), 300);
  // Refused: a non-member, anyone, and a reader without write.
  const refused = async (p: Promise<unknown>, reason: string) => {
    const e = await assertRejects(() => p, SharingError);
    assertEquals((e as SharingError).reason, reason, e.message);
  };
  await refused(read(readGrant, eve), "no-grant");
  await refused(read(readGrant, null), "no-grant");
  await refused(write(eve), "no-grant");
  await refused(write(reader), "no-grant");
  // Eve cannot open the group key even holding a copy of the record.
  await refused(unwrapGroupKey(group, eve.id, eve.agreeSecret), "not-member");
  assertEquals(usage.used(policy.writePub), 300);

  // Revoked: bob leaves the group; the owner rotates the group key, the folder's read key and its
  // write key, and re-wraps them for whoever remains.
  const bobOldWrite = await openAsGroupMember(writeGrant, bobGk0);
  group = await removeMember(owner, group, bob.id, new Map([[alice.id, alice.agreePublic]]));
  const ownerGk1 = await gkOf(owner), aliceGk1 = await gkOf(alice);
  const rotated = rotateWriteKey(owner, policy);
  policy = rotated.policy;
  readKey = randomBytes(32);
  mode = parseMode("o+r", mode);
  readGrant = await createGrant({
    purpose: "read",
    object,
    key: readKey,
    readers: [member(owner), member(reader)],
    groups: [ownerGk1],
    public: canRead(mode, "other"),
  });
  writeGrant = await createGrant({
    purpose: "write",
    object,
    key: rotated.secret,
    readers: [member(owner)],
    groups: [ownerGk1],
  });
  await refused(unwrapGroupKey(group, bob.id, bob.agreeSecret), "not-member");
  await refused(read(readGrant, bob, bobGk0), "stale-epoch");
  await refused(write(bob, bobGk0), "stale-epoch");
  // Bob kept the old write secret: a supplier that knows the new policy refuses what he signs,
  // under the old sequence and under the new one.
  for (const seq of [0, 1]) {
    const r = signWriteRequest(bobOldWrite, {
      owner: owner.id,
      folder,
      seq,
      supplier,
      shard: randomBytes(32),
      size: 1,
      expires: NOW + 1000,
    });
    const e = assertThrows(() => checkWrite(r, policy, seen, usage, { supplier, now: NOW }));
    assertEquals((e as SharingError).reason, seq === 0 ? "stale-policy" : "bad-signature");
  }
  // Still granted; and now anyone reads (the key is public), though anyone still cannot write.
  assertEquals(await read(readGrant, alice, aliceGk1), readKey);
  assertEquals(await read(readGrant, reader), readKey);
  assertEquals(await read(readGrant, eve), readKey);
  assertEquals(await read(readGrant, null), readKey);
  await write(alice, aliceGk1);
  await write(owner);
  await refused(write(eve), "no-grant");
  assertEquals(usage.used(policy.writePub), 200);
});
