/**
 * The formats of write sharing: `wpolicy` and `wadd` records, write grants in the `share` record,
 * and the write side of the owner's state (docs/sharing.md, "Write sharing").
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord } from "../src/records/record.ts";
import { createGrant } from "../src/sharing/grants.ts";
import { decodeOwnerState, encodeOwnerState } from "../src/sharing/owner_state.ts";
import { decodeShareList, encodeShareList } from "../src/sharing/share_record.ts";
import {
  createWritePolicy,
  encodeWritePolicy,
  generateWriteKey,
} from "../src/sharing/write_key.ts";
import {
  addendumMatches,
  decodeAddendum,
  decodeWrittenFiles,
  encodeAddendum,
  encodeWrittenFiles,
  policyOfRecord,
  signAddendum,
  WADD_NAMESPACE,
  WPOLICY_NAMESPACE,
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

Deno.test("an addendum verifies only under the policy whose key signed it", () => {
  const files = [{
    name: "a.txt",
    dir: ["sub", "deeper"],
    version: { size: 1 },
    replaces: randomBytes(32),
  }];
  const a = signAddendum(key.secret, { owner: owner.id, folder, seq: 3, box: randomBytes(40) });
  const back = decodeAddendum(encodeAddendum(a));
  assert(addendumMatches(back, policy));
  WADD_NAMESPACE.validate!(record(other, "wadd", folder, encodeAddendum(a)));
  assert(!addendumMatches({ ...back, seq: 2 }, policy), "another sequence");
  assert(!addendumMatches({ ...back, box: randomBytes(40) }, policy), "a changed box");
  const rotated = createWritePolicy(owner, {
    folder,
    seq: 4,
    writePub: generateWriteKey().pub,
    byteCap: 1000,
  });
  assert(!addendumMatches({ ...back, seq: 4 }, rotated), "the rotated key");
  const forged = signAddendum(generateWriteKey().secret, {
    owner: owner.id,
    folder,
    seq: 3,
    box: a.box,
  });
  assert(!addendumMatches(forged, policy), "a key of the forger's own");
  assertEquals(decodeWrittenFiles(encodeWrittenFiles(files))[0]!.name, "a.txt");
  assertEquals(decodeWrittenFiles(encodeWrittenFiles(files))[0]!.dir, ["sub", "deeper"]);
  assertThrows(() => decodeWrittenFiles(encodeWrittenFiles([{ ...files[0]!, dir: [""] }])));
  assertThrows(
    () => encodeWrittenFiles(Array.from({ length: 65 }, () => files[0]!)),
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
