/**
 * Sharing's pure core: modes (parse, format, inheritance), owner-signed groups and their epochs,
 * and grants (read keys wrapped per reader, per group, or published). Write keys and quick links
 * are in sharing_write_test.ts.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { generateIdentity, type IdentityKeys } from "../src/identity/keys.ts";
import {
  createRecord,
  createRecordValidator,
  encodeRecord,
  formatRecordKey,
  namespaces,
  RecordError,
  recordKeyOf,
  SeqMemory,
} from "../src/records/mod.ts";
import {
  addMember,
  canList,
  canRead,
  canWrite,
  childMode,
  classOf,
  createGrant,
  createGroup,
  decodeGrant,
  decodeGroup,
  encodeGrant,
  encodeGroup,
  formatMode,
  formatOctal,
  formatRemotePath,
  type Group,
  GROUP_NAMESPACE,
  groupRef,
  isRemotePath,
  MAX_GROUP_MEMBERS,
  openAsGroupMember,
  openAsReader,
  openPublic,
  parseMode,
  parseRemotePath,
  removeMember,
  SharingError,
  signGroup,
  unwrapGroupKey,
  verifyGroupRecord,
} from "../src/sharing/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

/** A small seeded generator so property runs are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const member = (k: IdentityKeys) => ({ id: k.id, agreePublic: k.agreePublic });

// ---- modes ----

Deno.test("parseMode() reads octal and symbolic modes", async (t) => {
  const cases: [string, number, number][] = [
    ["750", 0, 0o750],
    ["0644", 0, 0o644],
    ["000", 0o777, 0],
    ["u=rwx,g=rx,o=", 0o777, 0o750],
    ["g+w", 0o750, 0o770],
    ["o-r", 0o644, 0o640],
    ["a+r", 0o700, 0o744],
    ["+x", 0o600, 0o711],
    ["ug=rw", 0o777, 0o667],
    ["u=rwx,go=", 0o755, 0o700],
    ["o+rwx,o-w", 0, 0o005],
  ];
  for (const [text, current, want] of cases) {
    await t.step(`"${text}" on ${formatOctal(current)} → ${formatOctal(want)}`, () => {
      assertEquals(parseMode(text, current), want);
    });
  }
});

Deno.test("parseMode() refuses malformed modes with a SyntaxError", async (t) => {
  for (const text of ["", "75", "7777", "0778", "1750", "u+q", "x=r", "g+w,", "u=rwx;g=rx", "8"]) {
    await t.step(JSON.stringify(text), () => void assertThrows(() => parseMode(text), SyntaxError));
  }
  assertThrows(() => parseMode("x".repeat(65)), SyntaxError, "too long");
  assertThrows(() => parseMode("g+w", 0o1000), RangeError);
});

Deno.test("formatMode() writes modes as ls -l does", async (t) => {
  const cases: [number, string][] = [
    [0o750, "rwxr-x---"],
    [0o644, "rw-r--r--"],
    [0, "---------"],
    [0o777, "rwxrwxrwx"],
    [0o421, "r---w---x"],
  ];
  for (const [mode, text] of cases) await t.step(text, () => assertEquals(formatMode(mode), text));
  assertThrows(() => formatMode(-1), RangeError);
  assertThrows(() => formatMode(1.5), RangeError);
});

Deno.test("modes round-trip through octal, ls -l and symbolic text for all 512 values", () => {
  for (let m = 0; m <= 0o777; m++) {
    assertEquals(parseMode(formatOctal(m)), m);
    const s = formatMode(m);
    const sym = `u=${s.slice(0, 3)},g=${s.slice(3, 6)},o=${s.slice(6)}`.replace(/-/g, "");
    assertEquals(parseMode(sym, 0o777 - m), m, sym);
  }
});

Deno.test("canRead/canWrite/canList() read the right bits for each class", () => {
  const m = 0o751;
  assert(canRead(m, "owner") && canWrite(m, "owner") && canList(m, "owner"));
  assert(canRead(m, "group") && !canWrite(m, "group") && canList(m, "group"));
  assert(!canRead(m, "other") && !canWrite(m, "other") && canList(m, "other"));
  assertThrows(() => canRead(0o750, "nobody" as "other"), TypeError);
  assertEquals(classOf("a", "a", true), "owner");
  assertEquals(classOf("b", "a", true), "group");
  assertEquals(classOf("b", "a", false), "other");
});

Deno.test("childMode() gives subfolders the whole mode and files only r and w", () => {
  assertEquals(childMode(0o751, "folder"), 0o751);
  assertEquals(childMode(0o751, "file"), 0o640);
  assertEquals(childMode(0o777, "file"), 0o666);
  for (let m = 0; m <= 0o777; m++) assert(!canList(childMode(m, "file"), "owner"));
  assertThrows(() => childMode(0o700, "link" as "file"), TypeError);
});

// ---- groups ----

Deno.test("createGroup() wraps one key to the owner and every member", async () => {
  const [owner, a, b] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const g = await createGroup(owner, "family", [member(a), member(b)]);
  assertEquals(g.epoch, 0);
  assertEquals(g.members, [owner.id, a.id, b.id].sort());
  const k = await unwrapGroupKey(g, owner.id, owner.agreeSecret);
  assertEquals(k.length, 32);
  assertEquals(await unwrapGroupKey(g, a.id, a.agreeSecret), k);
  assertEquals(await unwrapGroupKey(g, b.id, b.agreeSecret), k);
  assertEquals(decodeGroup(encodeGroup(g)), g);
});

Deno.test("addMember() keeps the epoch and key; removeMember() rotates both", async () => {
  const [owner, a, b] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const g0 = await createGroup(owner, "team", [member(a)]);
  const k0 = await unwrapGroupKey(g0, a.id, a.agreeSecret);
  const g1 = await addMember(owner, g0, member(b));
  assertEquals(g1.epoch, 0);
  assertEquals(await unwrapGroupKey(g1, b.id, b.agreeSecret), k0);
  const g2 = await removeMember(owner, g1, a.id, new Map([[b.id, b.agreePublic]]));
  assertEquals(g2.epoch, 1);
  const k2 = await unwrapGroupKey(g2, b.id, b.agreeSecret);
  assert(k2.some((x, i) => x !== k0[i]), "a removal draws a fresh key");
  const e = await assertRejects(() => unwrapGroupKey(g2, a.id, a.agreeSecret), SharingError);
  assertEquals((e as SharingError).reason, "not-member");
  // a's old wrap, relabelled as the new epoch, does not open.
  const moved = {
    ...g2,
    keys: [...g2.keys, { member: a.id, wrapped: g1.keys.find((k) => k.member === a.id)!.wrapped }],
  };
  const e2 = await assertRejects(() => unwrapGroupKey(moved, a.id, a.agreeSecret), SharingError);
  assertEquals((e2 as SharingError).reason, "bad-wrap");
});

Deno.test("group changes are refused for non-owners, duplicates, the owner's removal and bad names", async () => {
  const [owner, a, eve] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const g = await createGroup(owner, "family", [member(a)]);
  const e = await assertRejects(() => addMember(eve, g, member(eve)), SharingError);
  assertEquals((e as SharingError).reason, "not-owner");
  await assertRejects(() => removeMember(eve, g, a.id, new Map()), SharingError, "Only");
  await assertRejects(() => addMember(owner, g, member(a)), RangeError, "already");
  await assertRejects(() => removeMember(owner, g, owner.id, new Map()), RangeError);
  await assertRejects(() => removeMember(owner, g, eve.id, new Map()), SharingError);
  await assertRejects(() => createGroup(owner, "Bad Name"), SyntaxError);
  await assertRejects(() => createGroup(owner, ""), SyntaxError);
});

Deno.test("property: after random adds and removes only current members open the current key", async () => {
  const people = Array.from({ length: 8 }, generateIdentity);
  const owner = people[0]!;
  const agree = new Map(people.map((p) => [p.id, p.agreePublic]));
  const rand = rng(8);
  let g: Group = await createGroup(owner, "prop");
  const everIn = new Set<string>([owner.id]);
  for (let step = 0; step < 24; step++) {
    const p = people[1 + Math.floor(rand() * 7)]!;
    const before = g.epoch;
    if (g.members.includes(p.id)) {
      g = await removeMember(owner, g, p.id, agree);
      assertEquals(g.epoch, before + 1);
    } else {
      g = await addMember(owner, g, member(p));
      assertEquals(g.epoch, before);
      everIn.add(p.id);
    }
    const key = await unwrapGroupKey(g, owner.id, owner.agreeSecret);
    for (const q of people) {
      if (g.members.includes(q.id)) assertEquals(await unwrapGroupKey(g, q.id, q.agreeSecret), key);
      else await assertRejects(() => unwrapGroupKey(g, q.id, q.agreeSecret), SharingError);
    }
  }
  assert(everIn.size > 3 && g.epoch > 2, "the run exercised adds and removals");
});

Deno.test("verifyGroupRecord() accepts the owner's record and refuses forged ones", async () => {
  const [owner, a, eve] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const g = await createGroup(owner, "family", [member(a)]);
  const bytes = encodeRecord(signGroup(owner, g, 1));
  const ok = verifyGroupRecord(bytes, { owner: owner.id, name: "family" });
  assertEquals(ok.group, g);
  assertEquals(ok.record.seq, 1);
  assertEquals(groupRef(owner.id, "family").length, 52);
  // Eve signs a copy of the group that still names the owner.
  const forged = createRecord(eve.signSecret, eve.signPublic, {
    ns: "group",
    name: utf8("family"),
    seq: 2,
    value: encodeGroup(g),
  });
  const e = assertThrows(() => verifyGroupRecord(encodeRecord(forged)), RecordError);
  assertEquals((e as RecordError).reason, "invalid-value");
  // Eve adds herself to the owner's value and keeps the owner's signature.
  const tampered = {
    ...signGroup(owner, g, 3),
    value: encodeGroup({ ...g, members: [...g.members, eve.id].sort() }),
  };
  assertEquals(
    (assertThrows(() => verifyGroupRecord(encodeRecord(tampered)), RecordError) as RecordError)
      .reason,
    "bad-signature",
  );
  // The record under another name, and a wrong expected key.
  const renamed = createRecord(owner.signSecret, owner.signPublic, {
    ns: "group",
    name: utf8("other"),
    seq: 1,
    value: encodeGroup(g),
  });
  assertThrows(() => verifyGroupRecord(encodeRecord(renamed)), RecordError, "record name");
  assertThrows(
    () => verifyGroupRecord(bytes, { owner: eve.id, name: "family" }),
    RecordError,
    "belongs at",
  );
  assertThrows(() => signGroup(eve, g, 1), SharingError);
});

Deno.test("a validator with the group namespace refuses a replayed older group version", async () => {
  const [owner, a] = [generateIdentity(), generateIdentity()];
  const g1 = await createGroup(owner, "family", [member(a)]);
  const g2 = await removeMember(owner, g1, a.id, new Map());
  const key = formatRecordKey(recordKeyOf("group", owner.id, utf8("family")));
  const v = createRecordValidator({
    namespaces: namespaces(GROUP_NAMESPACE),
    memory: new SeqMemory(),
  });
  const old = encodeRecord(signGroup(owner, g1, 1));
  v.validate(key, old);
  assertEquals(decodeGroup(v.validate(key, encodeRecord(signGroup(owner, g2, 2))).value).epoch, 1);
  // Replaying the version that still had a in it is refused: the removal sticks.
  const e = assertThrows(() => v.validate(key, old), RecordError);
  assertEquals((e as RecordError).reason, "stale");
});

Deno.test("decodeGroup() refuses unsorted, mismatched, ownerless and oversized groups", async () => {
  const [owner, a] = [generateIdentity(), generateIdentity()];
  const g = await createGroup(owner, "family", [member(a)]);
  const raw = (v: Record<string, unknown>) => encode({ ...g, keys: g.keys, ...v });
  assertThrows(() => decodeGroup(raw({ members: [...g.members].reverse() })), DecodeError);
  assertThrows(
    () => decodeGroup(raw({ keys: [...g.keys].reverse(), members: [...g.members].reverse() })),
    DecodeError,
    "sorted",
  );
  assertThrows(() => decodeGroup(raw({ keys: g.keys.slice(0, 1) })), DecodeError);
  assertThrows(() => decodeGroup(raw({ owner: generateIdentity().id })), DecodeError, "owner");
  assertThrows(() => decodeGroup(raw({ v: 2 })), DecodeError);
  assertThrows(() => decodeGroup(raw({ extra: 1 })), DecodeError, "unexpected");
  const many = Array.from({ length: MAX_GROUP_MEMBERS + 1 }, () => generateIdentity().id).sort();
  assertThrows(
    () =>
      decodeGroup(
        raw({ members: many, keys: many.map((m) => ({ member: m, wrapped: new Uint8Array(1) })) }),
      ),
    DecodeError,
    "at most",
  );
});

Deno.test("a full group of 256 members fits in one group record", async () => {
  const owner = generateIdentity();
  const others = Array.from({ length: MAX_GROUP_MEMBERS - 1 }, generateIdentity);
  const g = await createGroup(owner, "a".repeat(64), others.map(member));
  const bytes = encodeRecord(signGroup(owner, g, 1));
  assertEquals(verifyGroupRecord(bytes).group.members.length, MAX_GROUP_MEMBERS);
  await assertRejects(() => addMember(owner, g, member(generateIdentity())), RangeError, "full");
  await assertRejects(
    () => createGroup(owner, "x", [...others, generateIdentity()].map(member)),
    RangeError,
  );
});

// ---- grants ----

Deno.test("grants open for each reader, each group member and the public, and nobody else", async () => {
  const [owner, r, m, eve] = [
    generateIdentity(),
    generateIdentity(),
    generateIdentity(),
    generateIdentity(),
  ];
  const g = await createGroup(owner, "family", [member(m)]);
  const gk = {
    group: groupRef(owner.id, "family"),
    epoch: g.epoch,
    key: await unwrapGroupKey(g, m.id, m.agreeSecret),
  };
  const object = randomBytes(32), key = randomBytes(32);
  const grant = decodeGrant(
    encodeGrant(
      await createGrant({ purpose: "read", object, key, readers: [member(r)], groups: [gk] }),
    ),
  );
  assertEquals(await openAsReader(grant, r.id, r.agreeSecret), key);
  assertEquals(await openAsGroupMember(grant, gk), key);
  const e = await assertRejects(() => openAsReader(grant, eve.id, eve.agreeSecret), SharingError);
  assertEquals((e as SharingError).reason, "no-grant");
  // Eve with r's entry but her own secret.
  await assertRejects(
    () => openAsReader(grant, r.id, eve.agreeSecret),
    SharingError,
    "Cannot open",
  );
  assertThrows(() => openPublic(grant), SharingError, "not public");
  const pub = await createGrant({ purpose: "read", object, key, public: true });
  assertEquals(openPublic(decodeGrant(encodeGrant(pub))), key);
});

Deno.test("grants refuse tampered wraps, moved wraps and stale group epochs with clear errors", async () => {
  const [owner, r, m] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const g0 = await createGroup(owner, "family", [member(m), member(r)]);
  const ref = groupRef(owner.id, "family");
  const k0 = { group: ref, epoch: 0, key: await unwrapGroupKey(g0, m.id, m.agreeSecret) };
  const object = randomBytes(32), key = randomBytes(32);
  const grant = await createGrant({
    purpose: "read",
    object,
    key,
    readers: [member(r)],
    groups: [k0],
  });
  const flip = (b: Uint8Array) => b.map((x, i) => i === b.length - 1 ? x ^ 1 : x);
  const badReader = {
    ...grant,
    readers: [{ ...grant.readers[0]!, wrapped: flip(grant.readers[0]!.wrapped) }],
  };
  assertEquals(
    (await assertRejects(
      () => openAsReader(badReader, r.id, r.agreeSecret),
      SharingError,
    ) as SharingError).reason,
    "bad-wrap",
  );
  const badGroup = {
    ...grant,
    groups: [{ ...grant.groups[0]!, wrapped: flip(grant.groups[0]!.wrapped) }],
  };
  assertEquals(
    (await assertRejects(() => openAsGroupMember(badGroup, k0), SharingError) as SharingError)
      .reason,
    "bad-wrap",
  );
  // The same wraps presented for another object or as a write key do not open.
  await assertRejects(
    () => openAsReader({ ...grant, object: randomBytes(32) }, r.id, r.agreeSecret),
    SharingError,
  );
  await assertRejects(
    () => openAsGroupMember({ ...grant, purpose: "write" }, k0),
    SharingError,
    "does not open",
  );
  // r is removed: the new epoch's grant no longer opens with the old group key.
  const g1 = await removeMember(owner, g0, r.id, new Map([[m.id, m.agreePublic]]));
  const k1 = { group: ref, epoch: 1, key: await unwrapGroupKey(g1, m.id, m.agreeSecret) };
  const next = await createGrant({ purpose: "read", object, key: randomBytes(32), groups: [k1] });
  assertEquals(
    (await assertRejects(() => openAsGroupMember(next, k0), SharingError) as SharingError).reason,
    "stale-epoch",
  );
  await assertRejects(
    () => openAsGroupMember({ ...next, groups: [{ ...next.groups[0]!, epoch: 0 }] }, k0),
    SharingError,
    "does not open",
  );
  assertEquals((await openAsGroupMember(next, k1)).length, 32);
});

Deno.test("property: a grant opens for exactly the readers and groups it names", async () => {
  const people = Array.from({ length: 6 }, generateIdentity);
  const groups = Array.from(
    { length: 3 },
    (_, i) => ({ group: "abc"[i]!.repeat(52), epoch: i, key: randomBytes(32) }),
  );
  const rand = rng(3);
  for (let run = 0; run < 6; run++) {
    const readers = people.filter(() => rand() < 0.5);
    const named = groups.filter(() => rand() < 0.5);
    const object = randomBytes(32), key = randomBytes(32);
    const grant = decodeGrant(
      encodeGrant(
        await createGrant({
          purpose: "read",
          object,
          key,
          readers: readers.map(member),
          groups: named,
        }),
      ),
    );
    for (const p of people) {
      if (readers.includes(p)) assertEquals(await openAsReader(grant, p.id, p.agreeSecret), key);
      else await assertRejects(() => openAsReader(grant, p.id, p.agreeSecret), SharingError);
    }
    for (const gk of groups) {
      if (named.includes(gk)) assertEquals(await openAsGroupMember(grant, gk), key);
      else await assertRejects(() => openAsGroupMember(grant, gk), SharingError, "No read key");
    }
  }
});

Deno.test("createGrant() and decodeGrant() refuse bad inputs and malformed bytes", async () => {
  const key = randomBytes(32), object = randomBytes(32);
  await assertRejects(
    () => createGrant({ purpose: "read", object: randomBytes(31), key }),
    RangeError,
  );
  await assertRejects(
    () => createGrant({ purpose: "read", object, key: randomBytes(16) }),
    RangeError,
  );
  await assertRejects(() => createGrant({ purpose: "own" as "read", object, key }), TypeError);
  const gk = { group: "a".repeat(52), epoch: 0, key: randomBytes(32) };
  await assertRejects(
    () => createGrant({ purpose: "read", object, key, groups: [gk, gk] }),
    RangeError,
  );
  await assertRejects(
    () => createGrant({ purpose: "read", object, key, groups: [{ ...gk, group: "family" }] }),
    SyntaxError,
    "group ref",
  );
  await assertRejects(
    () => createGrant({ purpose: "read", object, key, groups: [{ ...gk, epoch: -1 }] }),
    RangeError,
    "epoch",
  );
  const good = encodeGrant(await createGrant({ purpose: "read", object, key, public: true }));
  assertThrows(() => decodeGrant(good.subarray(1)), DecodeError);
  const base = { v: 1, purpose: "read", object, readers: [], groups: [] };
  assertThrows(() => decodeGrant(encode({ ...base, v: 2 })), DecodeError, "version");
  assertThrows(() => decodeGrant(encode({ ...base, purpose: "exec" })), DecodeError, "purpose");
  assertThrows(() => decodeGrant(encode({ ...base, public: randomBytes(31) })), DecodeError);
  assertThrows(
    () => decodeGrant(encode({ ...base, readers: [{ id: "NOT-AN-ID", wrapped: key }] })),
    DecodeError,
  );
  assertThrows(
    () => decodeGrant(encode({ ...base, groups: [{ group: "g", epoch: 0, wrapped: key }] })),
    DecodeError,
  );
  assertThrows(() => decodeGrant(new Uint8Array(64 * 1024 + 1)), DecodeError, "limit");
});

// ---- <owner-id>:/path ----

Deno.test("parseRemotePath() reads <owner-id>:/path and formatRemotePath() writes it back", () => {
  const id = generateIdentity().id;
  assertEquals(parseRemotePath(`${id}:/`), { owner: id, parts: [] });
  assertEquals(parseRemotePath(`${id}:/photos//2024/a b.jpg`), {
    owner: id,
    parts: ["photos", "2024", "a b.jpg"],
  });
  assertEquals(
    formatRemotePath({ owner: id, parts: ["photos", "a:b.jpg"] }),
    `${id}:/photos/a:b.jpg`,
  );
  assertEquals(formatRemotePath(parseRemotePath(`${id}:/x/y`)), `${id}:/x/y`);
  assert(isRemotePath(`${id}:/`) && !isRemotePath("/photos") && !isRemotePath("c:/photos"));
});

Deno.test("parseRemotePath() and formatRemotePath() refuse malformed addresses", async (t) => {
  const id = generateIdentity().id;
  const bad = [
    "/photos",
    `${id}/photos`,
    `${id}:photos`,
    `${id.toUpperCase()}:/x`,
    `${id.slice(1)}:/x`,
    `${id}:/a/../b`,
    `${id}:/a/./b`,
    `${id}:/a\\b`,
    `${id}:/a\u0000b`,
    `${id}:/` + "a/".repeat(2100),
  ];
  for (const text of bad) {
    await t.step(
      JSON.stringify(text.slice(0, 70)),
      () => void assertThrows(() => parseRemotePath(text), SyntaxError),
    );
  }
  assertThrows(() => formatRemotePath({ owner: id, parts: ["a/b"] }), SyntaxError);
  assertThrows(() => formatRemotePath({ owner: id, parts: [""] }), SyntaxError);
  assertThrows(() => formatRemotePath({ owner: id, parts: [".."] }), SyntaxError);
  assertThrows(() => formatRemotePath({ owner: "nobody", parts: [] }), SyntaxError);
});
