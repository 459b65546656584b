/**
 * World records (worlds/record.ts) and the edits digest (worlds/edits.ts): round trips, strict
 * decoding of malformed and oversized values, the address recomputed from a signed record, and a
 * forged signature refused; the format pinned by vectors (tests/vectors/world_record_v1.json).
 */
import { encode } from "../src/encoding/cbor.ts";
import { fromHex, utf8 } from "../src/encoding/bytes.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { RecordError } from "../src/records/errors.ts";
import { namespaces } from "../src/records/namespace.ts";
import { createRecord, decodeRecord, encodeRecord, recordKeyOf } from "../src/records/record.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import {
  checkWorldName,
  decodeWorldRecord,
  encodeWorldRecord,
  MAX_GRANTS,
  MAX_WORLD_RECORD_BYTES,
  WORLD_NAMESPACE,
  worldAddress,
  type WorldRecordValue,
} from "../worlds/record.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./_assert.ts";
import v1 from "./vectors/world_record_v1.json" with { type: "json" };

const grantee = generateIdentity().id;
const world: WorldRecordValue = {
  v: 1,
  created: 1_780_000_000_000,
  seed: 4_294_967_295,
  generator: "terrain-v1",
  region: 8,
  title: "Île verte",
  grants: [
    { rx: -2147483648, rz: 5, grantee, expiry: 1_790_000_000_000 },
    { rx: 0, rz: 2147483647, grantee, expiry: 0 },
  ],
};

Deno.test("decodeWorldRecord() returns what encodeWorldRecord() was given", () => {
  assertEquals(decodeWorldRecord(encodeWorldRecord(world)), world);
  const bare = { ...world, grants: [] } as WorldRecordValue;
  delete (bare as { title?: string }).title;
  assertEquals(decodeWorldRecord(encodeWorldRecord(bare)), bare);
  assertEquals(
    encodeWorldRecord(decodeWorldRecord(encodeWorldRecord(world))),
    encodeWorldRecord(world),
  );
});

Deno.test("decodeWorldRecord() rejects malformed values, saying what was wrong", async (t) => {
  const base = encodeWorldRecord(world);
  const raw = (over: Record<string, unknown>) => encode({ ...decodeWorldRecord(base), ...over });
  const g = world.grants[0]!;
  const cases: [string, Uint8Array, string][] = [
    ["not a map", encode([1, 2]), "expected a map"],
    ["another version", raw({ v: 2 }), "unsupported version 2"],
    [
      "a missing seed",
      encode({ v: 1, created: 1, generator: "terrain-v1", region: 8, grants: [] }),
      'missing field "seed"',
    ],
    ["an unknown field", raw({ colour: "red" }), 'unexpected field "colour"'],
    ["a seed over u32", raw({ seed: 2 ** 32 }), '"seed" must be an integer from 0 to 4294967295'],
    ["a negative seed", raw({ seed: -1 }), '"seed" must be a non-negative integer'],
    ["a bad generator", raw({ generator: "Terrain V1" }), '"generator" must be 1 to 32'],
    ["a region of 0", raw({ region: 0 }), '"region" must be an integer from 1 to 1024'],
    ["a region too large", raw({ region: 1025 }), "1025"],
    ["a long title", raw({ title: "x".repeat(201) }), '"title" is 201 characters, limit 200'],
    ["grants not a list", raw({ grants: {} }), '"grants" must be an array'],
    ["too many grants", raw({ grants: Array(MAX_GRANTS + 1).fill(g) }), `limit ${MAX_GRANTS}`],
    [
      "a grant outside i32",
      raw({ grants: [{ ...g, rx: 2 ** 31 }] }),
      '"rx" must be a signed 32-bit',
    ],
    ["a fractional grant", raw({ grants: [{ ...g, rz: 1.5 }] }), '"rz" must be a signed 32-bit'],
    [
      "a grantee that is no node id",
      raw({ grants: [{ ...g, grantee: "bob" }] }),
      '"grantee" must be a node id',
    ],
    [
      "a grant with an extra field",
      raw({ grants: [{ ...g, admin: true }] }),
      'unexpected field "admin"',
    ],
    [
      "a negative expiry",
      raw({ grants: [{ ...g, expiry: -5 }] }),
      '"expiry" must be a non-negative',
    ],
    ["trailing bytes", new Uint8Array([...base, 0]), ""],
    ["oversized", new Uint8Array(MAX_WORLD_RECORD_BYTES + 1), `limit ${MAX_WORLD_RECORD_BYTES}`],
  ];
  for (const [what, bytes, message] of cases) {
    await t.step(what, () => {
      assertThrows(() => decodeWorldRecord(bytes), DecodeError, message);
    });
  }
});

Deno.test("encodeWorldRecord() refuses values it could not decode", () => {
  assertThrows(() => encodeWorldRecord({ ...world, seed: 1.5 }), RangeError, '"seed"');
  assertThrows(() => encodeWorldRecord({ ...world, region: 0 }), RangeError, '"region"');
  assertThrows(
    () => encodeWorldRecord({ ...world, grants: [{ ...world.grants[0]!, grantee: "x" }] }),
    RangeError,
    "grantee",
  );
});

Deno.test("world names follow the rules of site names", () => {
  for (const ok of ["a", "my-world", "w0", "a".repeat(63)]) assertEquals(checkWorldName(ok), ok);
  for (const bad of ["", "-a", "a-", "A", "a_b", "a.b", "a".repeat(64), "é"]) {
    assertThrows(() => checkWorldName(bad), RangeError, "is not a world name");
  }
});

Deno.test("a signed world record verifies at the address recomputed from its signer and name", () => {
  const owner = generateIdentity();
  const ns = namespaces(WORLD_NAMESPACE);
  const record = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("meadow"),
    seq: 0,
    value: encodeWorldRecord(world),
  });
  const bytes = encodeRecord(record);
  const address = worldAddress(owner.id, "meadow");
  assertEquals(address, recordKeyOf("world", owner.signPublic, utf8("meadow")).hash);
  assert(/^[a-z2-7]{52}$/.test(address), "a 52-character base32 label");
  const got = decodeRecord(bytes, { namespaces: ns, key: { ns: "world", hash: address } });
  assertEquals(decodeWorldRecord(got.value), world);
  // Another owner's world of the same name, or another name, is another address.
  assertNotEquals(worldAddress(generateIdentity().id, "meadow"), address);
  assertNotEquals(worldAddress(owner.id, "meadows"), address);
  const e = assertThrows(
    () =>
      decodeRecord(bytes, {
        namespaces: ns,
        key: { ns: "world", hash: worldAddress(owner.id, "x") },
      }),
    RecordError,
  ) as RecordError;
  assertEquals(e.reason, "wrong-key");
});

Deno.test("a world record with a forged signature or a bad value is refused", () => {
  const owner = generateIdentity(), mallory = generateIdentity();
  const ns = namespaces(WORLD_NAMESPACE);
  const good = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("meadow"),
    seq: 3,
    value: encodeWorldRecord(world),
  });
  // Mallory signs a changed seed but claims the owner's key.
  const forged = createRecord(mallory.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("meadow"),
    seq: 4,
    value: encodeWorldRecord({ ...world, seed: 1 }),
  });
  const e1 = assertThrows(
    () => decodeRecord(encodeRecord(forged), { namespaces: ns }),
    RecordError,
  );
  assertEquals((e1 as RecordError).reason, "bad-signature");
  const flipped = { ...good, sig: good.sig.map((b, i) => i === 0 ? b ^ 1 : b) };
  const e2 = assertThrows(
    () => decodeRecord(encodeRecord(flipped), { namespaces: ns }),
    RecordError,
  );
  assertEquals((e2 as RecordError).reason, "bad-signature");
  const badValue = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("meadow"),
    seq: 5,
    value: encode({ v: 1 }),
  });
  const e3 = assertThrows(
    () => decodeRecord(encodeRecord(badValue), { namespaces: ns }),
    RecordError,
  );
  assertEquals((e3 as RecordError).reason, "invalid-value");
  const badName = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("Meadow"),
    seq: 5,
    value: encodeWorldRecord(world),
  });
  const e4 = assertThrows(
    () => decodeRecord(encodeRecord(badName), { namespaces: ns }),
    RecordError,
  );
  assertEquals((e4 as RecordError).reason, "invalid-value");
});

Deno.test("editsDigest() names a set of (editor, seq) pairs, whatever their order", async () => {
  assertEquals(await editsDigest([]), NO_EDITS);
  const [a, b] = [generateIdentity().id, generateIdentity().id];
  const one = await editsDigest([{ editor: a, seq: 1 }, { editor: b, seq: 2 ** 40 }]);
  assertEquals(await editsDigest([{ editor: b, seq: 2 ** 40 }, { editor: a, seq: 1 }]), one);
  assert(/^[0-9a-f]{64}$/.test(one));
  assertNotEquals(await editsDigest([{ editor: a, seq: 2 }, { editor: b, seq: 2 ** 40 }]), one);
  assertNotEquals(await editsDigest([{ editor: a, seq: 1 }]), one);
  await assertRejects(
    () => editsDigest([{ editor: a, seq: 1 }, { editor: a, seq: 2 }]),
    RangeError,
    "twice",
  );
  await assertRejects(() => editsDigest([{ editor: "nobody", seq: 1 }]), RangeError, "node id");
  await assertRejects(() => editsDigest([{ editor: a, seq: -1 }]), RangeError, "seq");
});

Deno.test("the world record vector decodes, verifies at its address and re-encodes byte for byte", async () => {
  const bytes = fromHex(v1.record);
  const r = decodeRecord(bytes, {
    namespaces: namespaces(WORLD_NAMESPACE),
    key: { ns: "world", hash: v1.address },
  });
  assertEquals(new TextDecoder().decode(r.name), v1.name);
  assertEquals(worldAddress(v1.owner, v1.name), v1.address);
  assertEquals(decodeWorldRecord(r.value), v1.value);
  assertEquals(encodeWorldRecord(v1.value as WorldRecordValue), r.value);
  assertEquals(encodeRecord(r), bytes);
  for (const { pairs, digest } of v1.edits) assertEquals(await editsDigest(pairs), digest);
  assertEquals(v1.edits[0]!.digest, NO_EDITS);
});
