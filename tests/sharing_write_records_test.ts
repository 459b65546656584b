/**
 * The formats of write sharing: `wpolicy` and `wver` records, write grants in the `share` record,
 * and the write side of the owner's state (docs/sharing.md, "Write sharing").
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord, formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { signPublicKey } from "../src/crypto/sign.ts";
import { createGrant } from "../src/sharing/grants.ts";
import { decodeOwnerState, encodeOwnerState } from "../src/sharing/owner_state.ts";
import { decodeShareList, encodeShareList } from "../src/sharing/share_record.ts";
import {
  createWritePolicy,
  encodeWritePolicy,
  generateWriteKey,
} from "../src/sharing/write_key.ts";
import {
  decodeWritersVersion,
  decodeWrittenFiles,
  encodeWritersVersion,
  encodeWrittenFiles,
  policyOfRecord,
  WPOLICY_NAMESPACE,
  writtenKey,
  writtenUnder,
  WVER_NAMESPACE,
} from "../src/sharing/write_records.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const owner = generateIdentity(), other = generateIdentity();
const folder = "a".repeat(52);
const key = generateWriteKey();
const policy = createWritePolicy(owner, { folder, seq: 3, writePub: key.pub, byteCap: 1000 });

function record(signer: typeof owner, ns: string, name: string, value: Uint8Array) {
  return createRecord(signer.signSecret, signer.signPublic, {
    ns,
    name: utf8(name),
    seq: 0,
    value,
  });
}

Deno.test("a wpolicy record holds its signer's policy for the folder it is named by", async (t) => {
  await t.step("accepted", () => {
    const r = record(owner, "wpolicy", folder, encodeWritePolicy(policy));
    WPOLICY_NAMESPACE.validate!(r);
    assertEquals(policyOfRecord(r).seq, 3);
  });
  await t.step("published by someone else", () => {
    const r = record(other, "wpolicy", folder, encodeWritePolicy(policy));
    assertThrows(() => WPOLICY_NAMESPACE.validate!(r), Error, "someone else");
  });
  await t.step("under another folder's name", () => {
    const r = record(owner, "wpolicy", "b".repeat(52), encodeWritePolicy(policy));
    assertThrows(() => WPOLICY_NAMESPACE.validate!(r), Error, "not its folder");
  });
});

Deno.test("a writers' version counts only signed with its policy's write key", () => {
  const by = other.id;
  const files = [{
    name: "a.txt",
    dir: ["sub", "deeper"],
    version: { size: 1 },
    replaces: randomBytes(32),
    at: 4,
    by,
    base: 2,
  }];
  const value = encodeWritersVersion({
    owner: owner.id,
    folder,
    seq: 3,
    parent: randomBytes(32),
    box: randomBytes(40),
  });
  const signed = (secret: Uint8Array, v = value, name = folder) =>
    createRecord(secret, signPublicKey(secret), { ns: "wver", name: utf8(name), seq: 1, value: v });
  const r = signed(key.secret);
  WVER_NAMESPACE.validate!(r);
  assertEquals(decodeWritersVersion(r.value).seq, 3);
  assert(writtenUnder(r, policy), "signed with the policy's key");
  assertEquals(
    formatRecordKey(writtenKey(policy)),
    formatRecordKey(recordKeyOf(r.ns, r.signer, r.name)),
  );
  assertThrows(
    () => WVER_NAMESPACE.validate!(signed(key.secret, value, "b".repeat(52))),
    Error,
    "not its folder",
  );
  assertEquals(
    writtenUnder(signed(generateWriteKey().secret), policy),
    undefined,
    "a forger's key",
  );
  const rotated = createWritePolicy(owner, {
    folder,
    seq: 4,
    writePub: generateWriteKey().pub,
    byteCap: 1000,
  });
  assertEquals(writtenUnder(r, rotated), undefined, "the rotated key");
  const other3 = encodeWritersVersion({
    owner: owner.id,
    folder,
    seq: 2,
    parent: new Uint8Array(0),
    box: randomBytes(40),
  });
  assertEquals(writtenUnder(signed(key.secret, other3), policy), undefined, "another sequence");
  const back = decodeWrittenFiles(encodeWrittenFiles(files))[0]!;
  assertEquals([back.name, back.dir, back.at, back.by, back.base], [
    "a.txt",
    ["sub", "deeper"],
    4,
    by,
    2,
  ]);
  assertThrows(() => decodeWrittenFiles(encodeWrittenFiles([{ ...files[0]!, dir: [""] }])));
  assertThrows(
    () => decodeWrittenFiles(encodeWrittenFiles([{ ...files[0]!, by: "x" }])),
    Error,
    "node id",
  );
  assertThrows(
    () => encodeWrittenFiles(Array.from({ length: 65 }, () => files[0]!)),
    RangeError,
  );
  assertThrows(
    () =>
      encodeWritersVersion({
        owner: owner.id,
        folder,
        seq: 1,
        parent: new Uint8Array(0),
        box: new Uint8Array(60_001),
      }),
    RangeError,
  );
});

Deno.test("a share record carries a folder's write grant, never a file's or a public one", async () => {
  const object = randomBytes(32), k = randomBytes(32);
  const read = await createGrant({ purpose: "read", object, key: k, readers: [], groups: [] });
  const write = await createGrant({
    purpose: "write",
    object,
    key: key.secret,
    readers: [{ id: other.id, agreePublic: other.agreePublic }],
    groups: [],
  });
  const entry = { kind: "d" as const, grant: read, label: randomBytes(40), write };
  const list = decodeShareList(encodeShareList({ v: 1, groups: [], entries: [entry] }));
  assertEquals(list.entries[0]!.write?.purpose, "write");
  const file = { ...entry, kind: "f" as const, box: randomBytes(40) };
  assertThrows(() => decodeShareList(encodeShareList({ v: 1, groups: [], entries: [file] })));
  const pub = await createGrant({
    purpose: "write",
    object,
    key: key.secret,
    readers: [],
    groups: [],
    public: true,
  });
  const open = { ...entry, write: pub };
  assertThrows(() => decodeShareList(encodeShareList({ v: 1, groups: [], entries: [open] })));
  const wrongPurpose = { ...entry, write: read };
  assertThrows(() =>
    decodeShareList(encodeShareList({ v: 1, groups: [], entries: [wrongPurpose] }))
  );
});

Deno.test("the owner's state keeps a folder's writers, write key and merged marks", () => {
  const state = {
    v: 1 as const,
    groups: ["fam"],
    shares: [{
      path: "/drop",
      kind: "d" as const,
      readers: [{ id: other.id, agree: other.agreePublic }],
      groups: ["fam"],
      id: randomBytes(32),
      write: {
        writers: [{ id: other.id, agree: other.agreePublic }],
        groups: ["fam"],
        secret: key.secret,
        seq: 2,
        cap: 5000,
        merged: [randomBytes(16)],
      },
    }],
  };
  const back = decodeOwnerState(encodeOwnerState(state));
  assertEquals(back, state);
  const { write: _, ...plain } = state.shares[0]!;
  const old = decodeOwnerState(encodeOwnerState({ ...state, shares: [plain] }));
  assertEquals(old.shares[0]!.write, undefined);
});
