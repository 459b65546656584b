/**
 * Player edits (worlds/edit_batch.ts, edit_record.ts, checkpoint.ts, merge.ts, edit_batcher.ts):
 * signing and verifying batches, every refusal with its reason and message, checkpoints, the merge
 * order (later counter wins, ties by editor id, independent of arrival order) and the batcher's
 * rate and bounds.
 */
import { encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { generateIdentity, type IdentityKeys } from "../src/identity/keys.ts";
import { namespaces } from "../src/records/namespace.ts";
import { SeqMemory } from "../src/records/seq_memory.ts";
import { createRecordValidator } from "../src/records/validator.ts";
import {
  createRecord,
  decodeRecord,
  encodeRecord,
  formatRecordKey,
  recordKeyOf,
} from "../src/records/record.ts";
import {
  CHECKPOINT_NAMESPACE,
  checkpointKey,
  decodeCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from "../worlds/checkpoint.ts";
import { type Chunk, MAX_OBJECTS } from "../worlds/chunk.ts";
import { decodeChunk, encodeChunk } from "../worlds/codec.ts";
import {
  type Edit,
  type EditBatch,
  editToWire,
  editWireBytes,
  MAX_EDIT_BATCH_BYTES,
  MAX_EDITS,
} from "../worlds/edit_batch.ts";
import { decodeEditBatch, encodeEditBatch } from "../worlds/edit_codec.ts";
import { EditBatcher } from "../worlds/edit_batcher.ts";
import {
  EDIT_NAMESPACE,
  editBatchKey,
  EditRefusedError,
  type EditWorld,
  MAX_SEQ_LEAD,
  signEditBatch,
  verifyEditBatch,
} from "../worlds/edit_record.ts";
import { generateChunk } from "../worlds/generate.ts";
import { applyEdits, editPairs, type MergeBatch } from "../worlds/merge.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import { worldAddress, type WorldRecordValue } from "../worlds/record.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./_assert.ts";

const T0 = 1_790_000_000_000;
const owner = generateIdentity();
const [alice, bob, carol] = [generateIdentity(), generateIdentity(), generateIdentity()]
  .sort((a, b) => a.id < b.id ? -1 : 1) as [IdentityKeys, IdentityKeys, IdentityKeys];
const address = worldAddress(owner.id, "green");
const SIDE = 2; // chunks a region side: region (0, 0) is chunks 0..1
const value: WorldRecordValue = {
  v: 1,
  created: T0 - 1000,
  seed: 7,
  generator: "terrain-v1",
  region: SIDE,
  grants: [
    { rx: 0, rz: 0, grantee: alice.id, expiry: T0 + 60_000 },
    { rx: 0, rz: 0, grantee: bob.id, expiry: T0 + 60_000 },
    { rx: 1, rz: 0, grantee: carol.id, expiry: T0 + 60_000 },
  ],
};
const world: EditWorld = { address, owner: owner.id, value };

function batch(who: IdentityKeys, seq: number, edits: Edit[], region: [number, number] = [0, 0]) {
  return { v: 1, world: address, region, editor: who.id, seq, edits } as EditBatch;
}
const height = (seq: number, x: number, z: number, h: number): Edit => ({
  op: "height",
  seq,
  x,
  z,
  h,
});

function refused(fn: () => unknown, reason: string, includes: string): void {
  const e = assertThrows(fn, EditRefusedError, includes) as EditRefusedError;
  assertEquals(e.reason, reason);
  assertEquals(e.name, "EditRefusedError");
}

Deno.test("verifyEditBatch() accepts a signed batch and gives back what was signed", () => {
  const b = batch(alice, 3, [
    height(1, 0, 0, 2000),
    { op: "raise", seq: 2, x: 63, z: 63, d: -256 },
    { op: "material", seq: 2, x: 5, z: 6, m: 6 },
    { op: "place", seq: 3, x: 511, z: 0, kind: 9, rotation: 255, scale: 64 },
    { op: "remove", seq: 3, x: 0, z: 511, kind: 0, rotation: 0, scale: 0 },
  ]);
  const r = signEditBatch(alice, b, T0);
  const v = verifyEditBatch(encodeRecord(r), world, T0);
  assertEquals(v.batch, b);
  assertEquals([v.editor, v.seq, v.ts, v.side], [alice.id, 3, T0, SIDE]);
  assertEquals(verifyEditBatch(r, world, T0).hash, v.hash);
  assertEquals(decodeEditBatch(encodeEditBatch(b)), b);
  // Its key is H(world, region, editor), and a node's validator accepts it there.
  const key = editBatchKey(address, 0, 0, alice.id);
  assertEquals(key, recordKeyOf("wedit", alice.id, r.name));
  assertNotEquals(key, editBatchKey(address, 0, 1, alice.id));
  decodeRecord(encodeRecord(r), { namespaces: namespaces(EDIT_NAMESPACE), key, now: T0 });
});

Deno.test("a node's record validator keeps an editor's newer batch and refuses an older one", () => {
  const v = createRecordValidator({
    namespaces: namespaces(EDIT_NAMESPACE, CHECKPOINT_NAMESPACE),
    memory: new SeqMemory(),
    now: () => T0,
  });
  const key = formatRecordKey(editBatchKey(address, 0, 0, alice.id));
  const first = encodeRecord(signEditBatch(alice, batch(alice, 1, [height(1, 0, 0, 1)]), T0));
  const second = encodeRecord(signEditBatch(alice, batch(alice, 2, [height(2, 0, 0, 2)]), T0));
  v.validate(key, first);
  v.validate(key, second);
  assertThrows(() => v.validate(key, first), Error, "older than the accepted sequence 2");
  // Under another editor's key (or region) the same bytes are refused.
  assertThrows(
    () => v.validate(formatRecordKey(editBatchKey(address, 0, 0, bob.id)), second),
    Error,
    "belongs at",
  );
});

Deno.test("verifyEditBatch() refuses forged, ungranted, expired and out-of-region batches", async (t) => {
  const ok = batch(alice, 1, [height(1, 0, 0, 100)]);
  const good = encodeRecord(signEditBatch(alice, ok, T0));
  const forged = good.slice();
  forged[forged.length - 1]! ^= 1; // the signature is the last field
  const cases: [string, () => unknown, string, string][] = [
    ["a forged signature", () => verifyEditBatch(forged, world, T0), "record", "does not verify"],
    [
      "a batch naming another editor than its signer",
      () =>
        verifyEditBatch(
          createRecord(bob.signSecret, bob.signPublic, {
            ns: "wedit",
            name: signEditBatch(alice, ok, T0).name,
            seq: 1,
            value: encodeEditBatch(ok),
            ts: T0,
          }),
          world,
          T0,
        ),
      "record",
      `is not the signer ${bob.id}`,
    ],
    [
      "a sequence number other than the record's",
      () =>
        verifyEditBatch(
          createRecord(alice.signSecret, alice.signPublic, {
            ns: "wedit",
            name: signEditBatch(alice, ok, T0).name,
            seq: 2,
            value: encodeEditBatch(ok),
            ts: T0,
          }),
          world,
          T0,
        ),
      "record",
      `"seq" 1 is not the record's 2`,
    ],
    [
      "a record named for another region",
      () =>
        verifyEditBatch(
          createRecord(alice.signSecret, alice.signPublic, {
            ns: "wedit",
            name: signEditBatch(alice, { ...ok, region: [0, 1] }, T0).name,
            seq: 1,
            value: encodeEditBatch(ok),
            ts: T0,
          }),
          world,
          T0,
        ),
      "record",
      "the record's name is not region (0,0)",
    ],
    [
      "malformed CBOR",
      () =>
        verifyEditBatch(
          createRecord(alice.signSecret, alice.signPublic, {
            ns: "wedit",
            name: signEditBatch(alice, ok, T0).name,
            seq: 1,
            value: new Uint8Array([0xbf, 0xff, 0x01]),
            ts: T0,
          }),
          world,
          T0,
        ),
      "record",
      "Cannot decode edit batch",
    ],
    ["malformed record bytes", () => verifyEditBatch(good.slice(0, 40), world, T0), "record", ""],
    [
      "an oversize value",
      () =>
        verifyEditBatch(
          createRecord(alice.signSecret, alice.signPublic, {
            ns: "wedit",
            name: signEditBatch(alice, ok, T0).name,
            seq: 1,
            value: new Uint8Array(MAX_EDIT_BATCH_BYTES + 1),
            ts: T0,
          }),
          world,
          T0,
        ),
      "record",
      `limits 60 and ${MAX_EDIT_BATCH_BYTES}`,
    ],
    [
      "another world",
      () => verifyEditBatch(good, { ...world, address: worldAddress(owner.id, "other") }, T0),
      "wrong-world",
      "not " + worldAddress(owner.id, "other"),
    ],
    [
      "no grant",
      () => verifyEditBatch(signEditBatch(carol, { ...ok, editor: carol.id }, T0), world, T0),
      "no-grant",
      `editor ${carol.id} has no grant for region (0, 0)`,
    ],
    [
      "a grant for another region",
      () => verifyEditBatch(signEditBatch(alice, { ...ok, region: [1, 0] }, T0), world, T0),
      "no-grant",
      "has no grant for region (1, 0)",
    ],
    [
      "an expired grant",
      () => verifyEditBatch(signEditBatch(alice, ok, T0 + 60_001), world, T0 + 120_000),
      "expired",
      "ended at 2026-09-21T",
    ],
    [
      "a column outside the region",
      () =>
        verifyEditBatch(
          signEditBatch(alice, batch(alice, 1, [height(1, 64, 0, 1)]), T0),
          world,
          T0,
        ),
      "out-of-region",
      "x 64 is outside the region (0..63 columns, a region of 2 chunks)",
    ],
    [
      "an object outside the region",
      () =>
        verifyEditBatch(
          signEditBatch(
            alice,
            batch(alice, 1, [{
              op: "place",
              seq: 1,
              x: 0,
              z: 512,
              kind: 0,
              rotation: 0,
              scale: 64,
            }]),
            T0,
          ),
          world,
          T0,
        ),
      "out-of-region",
      "z 512 is outside the region (0..511 in 1/8 column",
    ],
  ];
  for (const [name, fn, reason, msg] of cases) {
    await t.step(name, () => refused(fn, reason, msg));
  }
});

Deno.test("encodeEditBatch() and decodeEditBatch() refuse batches out of form or bounds", async (t) => {
  const ok = batch(alice, 5, [height(1, 0, 0, 100)]);
  const raw = (over: Record<string, unknown>) =>
    encode({
      v: 1,
      world: address,
      region: [0, 0],
      editor: alice.id,
      seq: 5,
      edits: [[0, 1, 0, 0, 100]],
      ...over,
    });
  const decodes: [string, Uint8Array, string][] = [
    ["not a map", encode([1]), "expected a map"],
    ["another version", raw({ v: 2 }), "unsupported version 2"],
    ["an extra field", raw({ x: 1 }), `unexpected field "x"`],
    ["an unknown op", raw({ edits: [[5, 1, 0, 0, 1]] }), "edit 0 must be [op 0..4"],
    ["a short edit", raw({ edits: [[3, 1, 0, 0, 1]] }), "edit 0 must be [op 0..4"],
    ["a counter above the batch's", raw({ edits: [[0, 6, 0, 0, 1]] }), "seq 6 must be from 0"],
    [
      "counters out of order",
      raw({ edits: [[0, 3, 0, 0, 1], [0, 2, 0, 0, 1]] }),
      "seq 2 must be from 3 (the edit before)",
    ],
    ["a height above 4095", raw({ edits: [[0, 1, 0, 0, 4096]] }), "height 4096 is not 0..4095"],
    ["a zero raise", raw({ edits: [[1, 1, 0, 0, 0]] }), "delta 0 is not a non-zero integer"],
    ["a raise too far", raw({ edits: [[1, 1, 0, 0, -257]] }), "delta -257"],
    ["an unknown material", raw({ edits: [[2, 1, 0, 0, 7]] }), "material 7 is not below 7"],
    ["an unknown kind", raw({ edits: [[3, 1, 0, 0, 10, 0, 0]] }), "kind 10 is not below 10"],
    ["a region of three", raw({ region: [0, 0, 0] }), `"region" must be two`],
    ["a bad editor", raw({ editor: "Alice" }), `"editor" must be a node id`],
    [
      "non-canonical CBOR",
      new Uint8Array([0xa2, 0x63, 0x73, 0x65, 0x71, 0x05, 0x61, 0x76, 0x01]),
      "not in canonical",
    ],
    ["truncated CBOR", encodeEditBatch(ok).slice(0, 20), "Cannot decode edit batch"],
    ["too many bytes", new Uint8Array(MAX_EDIT_BATCH_BYTES + 1), `limit ${MAX_EDIT_BATCH_BYTES}`],
  ];
  for (const [name, bytes, msg] of decodes) {
    await t.step(`decode: ${name}`, () => {
      assertThrows(() => decodeEditBatch(bytes), DecodeError, msg);
    });
  }
  await t.step("encode: more than 4096 edits", () => {
    const edits = Array.from({ length: MAX_EDITS + 1 }, () => height(1, 0, 0, 1));
    assertThrows(() => encodeEditBatch(batch(alice, 1, edits)), RangeError, "at most 4096");
  });
  await t.step("encode: over the byte cap", () => {
    const edits = Array.from(
      { length: MAX_EDITS },
      (_, i) =>
        ({
          op: "place",
          seq: 2 ** 40,
          x: 2000 + i,
          z: 2000,
          kind: 9,
          rotation: 200,
          scale: 200,
        }) as Edit,
    );
    assertThrows(() => encodeEditBatch(batch(alice, 2 ** 40, edits)), RangeError, "over the limit");
  });
  await t.step("sign: another node's batch", () => {
    assertThrows(() => signEditBatch(bob, ok, T0), RangeError, "another node's key");
  });
});

/** A deterministic pseudo-random source (tests must be reproducible). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomEdits(rand: () => number, n: number, maxSeq: number): Edit[] {
  const int = (k: number) => Math.floor(rand() * k);
  const edits: Edit[] = [];
  for (let i = 0; i < n; i++) {
    const seq = 1 + int(maxSeq), x = int(64), z = int(64);
    const obj = { x: int(512), z: int(512), kind: int(3), rotation: int(2), scale: 64 };
    const pick = int(5);
    edits.push(
      pick === 0
        ? { op: "height", seq, x, z, h: int(4096) }
        : pick === 1
        ? { op: "raise", seq, x, z, d: int(2) ? 256 : -256 }
        : pick === 2
        ? { op: "material", seq, x, z, m: int(7) }
        : { op: pick === 3 ? "place" : "remove", seq, ...obj },
    );
  }
  return edits.sort((a, b) => a.seq - b.seq);
}

Deno.test("editWireBytes() is the length of each edit's CBOR, the batcher's byte count", () => {
  const rand = prng(7);
  const edits = randomEdits(rand, 500, 2 ** 40);
  edits.push(
    { op: "raise", seq: 2 ** 53 - 1, x: 0, z: 0, d: -256 },
    { op: "place", seq: 23, x: 262143, z: 65535, kind: 9, rotation: 255, scale: 24 },
  );
  for (const e of edits) assertEquals(editWireBytes(e), encode(editToWire(e)).length);
});

Deno.test("applyEdits() gives the same bytes whatever order the batches come in", async () => {
  const rand = prng(42);
  const verified: MergeBatch[] = [alice, bob, carol].map((who, i) => {
    const region: [number, number] = i === 2 ? [1, 0] : [0, 0];
    const b = batch(who, 20, randomEdits(rand, 300, 20), region);
    return verifyEditBatch(
      signEditBatch(who, b, T0),
      { ...world, value: { ...value, grants: [...value.grants, { ...value.grants[2]!, rx: 0 }] } },
      T0,
    );
  });
  // Carol's batch is in region (1, 0): it must not touch chunks of region (0, 0).
  const base = generateChunk({ seed: 7 }, 1, 1);
  const expected = encodeChunk(applyEdits(base, verified));
  assertNotEquals(expected, encodeChunk(base));
  assertEquals(expected, encodeChunk(applyEdits(base, verified.slice(0, 2))));
  for (let i = 0; i < 20; i++) {
    const shuffled = [...verified].sort(() => rand() - 0.5);
    assertEquals(encodeChunk(applyEdits(base, shuffled)), expected);
  }
  // The digest of the pairs merged does not depend on the order either, and names the batches.
  const e = await editsDigest(editPairs(verified));
  assertEquals(await editsDigest(editPairs([...verified].reverse())), e);
  assertEquals(await editsDigest(editPairs([])), NO_EDITS);
  const newer = { ...verified[0]!, batch: { ...verified[0]!.batch, seq: 21 } };
  assertEquals(editPairs([...verified, newer]).find((p) => p.editor === alice.id)?.seq, 21);
  assertNotEquals(await editsDigest(editPairs([...verified, newer])), e);
  // The merged chunk round-trips through the codec, and the input was not changed.
  const merged = applyEdits(base, verified);
  assertEquals(decodeChunk(expected), merged);
  assertEquals(encodeChunk(base), encodeChunk(generateChunk({ seed: 7 }, 1, 1)));
});

Deno.test("applyEdits() lets the later counter win and breaks ties by editor id", async (t) => {
  const base = generateChunk({ seed: 7 }, 0, 0);
  const merge = (...bs: EditBatch[]) => applyEdits(base, bs.map((b) => ({ side: SIDE, batch: b })));
  const cases: [string, EditBatch[], number][] = [
    ["a later counter wins", [
      batch(alice, 5, [height(5, 3, 4, 500)]),
      batch(bob, 4, [height(4, 3, 4, 400)]),
    ], 500],
    ["whoever edits later", [
      batch(alice, 5, [height(3, 3, 4, 300)]),
      batch(bob, 4, [height(4, 3, 4, 400)]),
    ], 400],
    ["a tie goes to the greater editor id", [
      batch(alice, 4, [height(4, 3, 4, 300)]),
      batch(bob, 4, [height(4, 3, 4, 400)]),
    ], 400],
    ["in either order", [
      batch(bob, 4, [height(4, 3, 4, 400)]),
      batch(alice, 4, [height(4, 3, 4, 300)]),
    ], 400],
    [
      "within a batch, the later position",
      [batch(alice, 4, [height(4, 3, 4, 300), height(4, 3, 4, 301)])],
      301,
    ],
    [
      "raises apply on top in order, clamped",
      [batch(alice, 9, [height(1, 3, 4, 4000), { op: "raise", seq: 2, x: 3, z: 4, d: 200 }])],
      4095,
    ],
    [
      "a set after a raise replaces it",
      [
        batch(alice, 9, [{ op: "raise", seq: 5, x: 3, z: 4, d: -200 }]),
        batch(bob, 6, [height(6, 3, 4, 10)]),
      ],
      10,
    ],
    [
      "only an editor's latest batch counts",
      [batch(alice, 9, [height(9, 3, 4, 900)]), batch(alice, 10, [height(2, 3, 4, 200)])],
      200,
    ],
  ];
  for (const [name, batches, h] of cases) {
    await t.step(name, () => assertEquals(merge(...batches).heights[4 * 32 + 3], h));
  }
  await t.step("columns in another chunk of the region land there", () => {
    const b = batch(alice, 1, [height(1, 35, 1, 77)]);
    assertEquals(merge(b).heights, base.heights);
    const east = applyEdits(generateChunk({ seed: 7 }, 1, 0), [{ side: SIDE, batch: b }]);
    assertEquals(east.heights[1 * 32 + 3], 77);
  });
  await t.step("materials and water follow the ground", () => {
    const wet = base.water.findIndex((w) => w > 0), dry = base.water.indexOf(0);
    assert(wet >= 0 && dry >= 0, "chunk (0, 0) of seed 7 has sea and land");
    const at = (i: number) => ({ x: i & 31, z: i >> 5 });
    const c = merge(batch(alice, 2, [
      { op: "height", seq: 1, ...at(wet), h: base.water[wet]! },
      { op: "material", seq: 2, ...at(wet), m: 5 },
      { op: "raise", seq: 2, ...at(dry), d: -256 },
    ]));
    assertEquals([c.heights[wet], c.materials[wet], c.water[wet]], [base.water[wet], 5, 0]);
    assertEquals(c.water[dry], 0); // a pit dug on land does not fill
    const deeper = merge(batch(alice, 1, [{ op: "raise", seq: 1, ...at(wet), d: -16 }]));
    assertEquals(deeper.water[wet], base.water[wet]); // a deeper sea bed stays under the sea
    assertEquals(c.biomes, base.biomes);
  });
});

Deno.test("applyEdits() places and removes objects by their exact identity", async (t) => {
  const base = generateChunk({ seed: 7 }, 0, 0);
  const g = base.objects[0]!;
  const merge = (...edits: Edit[]) =>
    applyEdits(base, [{ side: SIDE, batch: batch(alice, 9, edits) }]).objects;
  const tree = { x: 17, z: 250, kind: 2, rotation: 9, scale: 80 };
  await t.step("a placed object appears in canonical order", () => {
    const o = merge({ op: "place", seq: 1, ...tree });
    assertEquals(o.length, base.objects.length + 1);
    assert(o.some((p) => JSON.stringify(p) === JSON.stringify(tree)));
  });
  await t.step("placing an object already there changes nothing", () => {
    assertEquals(merge({ op: "place", seq: 1, ...g }), base.objects);
  });
  await t.step("a generated object can be removed", () => {
    assertEquals(merge({ op: "remove", seq: 1, ...g }), base.objects.slice(1));
  });
  await t.step("a remove that differs in one byte removes nothing", () => {
    assertEquals(merge({ op: "remove", seq: 1, ...g, scale: (g.scale + 1) & 255 }), base.objects);
  });
  await t.step("place then remove, and remove then place, by counter", () => {
    assertEquals(
      merge({ op: "place", seq: 1, ...tree }, { op: "remove", seq: 2, ...tree }),
      base.objects,
    );
    const both = applyEdits(base, [
      { side: SIDE, batch: batch(alice, 3, [{ op: "place", seq: 3, ...tree }]) },
      { side: SIDE, batch: batch(bob, 2, [{ op: "remove", seq: 2, ...tree }]) },
    ]);
    assertEquals(both.objects.length, base.objects.length + 1);
  });
  await t.step("no more than 1024 objects, and the chunk still encodes", () => {
    const edits: Edit[] = [];
    for (let i = 0; i < 2000; i++) {
      edits.push({
        op: "place",
        seq: 1,
        x: i & 255,
        z: (i >> 8) + 100,
        kind: 8,
        rotation: 0,
        scale: 64,
      });
    }
    const c: Chunk = applyEdits(base, [{ side: SIDE, batch: batch(alice, 1, edits) }]);
    assertEquals(c.objects.length, MAX_OBJECTS);
    assertEquals(decodeChunk(encodeChunk(c)), c);
  });
});

Deno.test("checkpoints hold editors whose grant ended to the batch they accepted", async (t) => {
  const now = T0 + 120_000; // both grants ended at T0 + 60 s
  const a1 = signEditBatch(alice, batch(alice, 10, [height(10, 1, 1, 100)]), T0);
  const a2 = signEditBatch(alice, batch(alice, 11, [height(11, 1, 1, 200)]), T0 + 1000);
  const bob1 = signEditBatch(bob, batch(bob, 12, [height(12, 1, 1, 300)]), T0);
  const va1 = verifyEditBatch(a1, world, now);
  const cp = signCheckpoint(owner, {
    v: 1,
    world: address,
    region: [0, 0],
    accepted: [{ editor: alice.id, seq: 10, hash: va1.hash }],
    maxSeq: 12,
  }, { seq: 1, ts: T0 + 90_000 });
  const verified = verifyCheckpoint(encodeRecord(cp), world, now);
  await t.step("a checkpoint round-trips and sits under H(world, region, owner)", () => {
    assertEquals(verified.accepted[0]!.editor, alice.id);
    assertEquals(decodeCheckpoint(cp.value).maxSeq, 12);
    assertEquals(checkpointKey(address, 0, 0, owner.id), recordKeyOf("wcheck", owner.id, cp.name));
    decodeRecord(encodeRecord(cp), { namespaces: namespaces(CHECKPOINT_NAMESPACE), now });
  });
  await t.step("the accepted batch still verifies", () => {
    assertEquals(verifyEditBatch(a1, world, now, verified).seq, 10);
  });
  await t.step("a later batch of that editor is refused", () => {
    refused(
      () => verifyEditBatch(a2, world, now, verified),
      "not-accepted",
      "accepted its batch 10",
    );
  });
  await t.step("a batch with the accepted seq but other content is refused", () => {
    const fake = signEditBatch(alice, batch(alice, 10, [height(10, 1, 1, 4000)]), T0);
    refused(() => verifyEditBatch(fake, world, now, verified), "not-accepted", "not this one");
  });
  await t.step("an editor left out is refused", () => {
    refused(() => verifyEditBatch(bob1, world, now, verified), "not-accepted", "accepted no batch");
  });
  await t.step("without the checkpoint, they verify by their time", () => {
    verifyEditBatch(a2, world, now);
    verifyEditBatch(bob1, world, now);
  });
  await t.step("an editor whose grant outlives the checkpoint is not held to it", () => {
    const longer = {
      ...world,
      value: { ...value, grants: [{ ...value.grants[1]!, expiry: T0 + 10 ** 9 }] },
    };
    verifyEditBatch(bob1, longer, now, verifyCheckpoint(cp, longer, now));
  });
  await t.step("counters far above the checkpoint's maximum are refused", () => {
    const longer = {
      ...world,
      value: { ...value, grants: [{ ...value.grants[1]!, expiry: T0 + 10 ** 9 }] },
    };
    const cpl = verifyCheckpoint(cp, longer, now);
    const edge = signEditBatch(bob, batch(bob, 12 + MAX_SEQ_LEAD, [height(5, 1, 1, 1)]), T0);
    verifyEditBatch(edge, longer, now, cpl);
    const far = signEditBatch(bob, batch(bob, 13 + MAX_SEQ_LEAD, [height(5, 1, 1, 1)]), T0);
    refused(() => verifyEditBatch(far, longer, now, cpl), "far-ahead", "more than 1048576 above");
  });
  await t.step("a checkpoint not signed by the owner is refused", () => {
    const forged = signCheckpoint(alice, decodeCheckpoint(cp.value), { seq: 1, ts: T0 });
    refused(() => verifyCheckpoint(forged, world, now), "wrong-world", "not by the owner");
  });
  await t.step("a checkpoint of another region is not used for this one", () => {
    const other = signCheckpoint(owner, { ...decodeCheckpoint(cp.value), region: [1, 0] }, {
      seq: 1,
      ts: T0,
    });
    assertThrows(
      () => verifyEditBatch(a1, world, now, verifyCheckpoint(other, world, now)),
      RangeError,
      "not the batch's (0,0)",
    );
  });
  await t.step("malformed checkpoints are refused", () => {
    assertThrows(
      () =>
        decodeCheckpoint(
          encode({
            v: 1,
            world: address,
            region: [0, 0],
            accepted: [[alice.id, 13, va1.hash]],
            maxSeq: 12,
          }),
        ),
      DecodeError,
      "seq 13 must be 0..maxSeq (12)",
    );
    assertThrows(
      () =>
        decodeCheckpoint(
          encode({
            v: 1,
            world: address,
            region: [0, 0],
            accepted: [[bob.id, 1, va1.hash], [alice.id, 1, va1.hash]],
            maxSeq: 12,
          }),
        ),
      DecodeError,
      "ascending order",
    );
  });
});

Deno.test("EditBatcher yields a batch at most once a second and stays within the limits", async (t) => {
  let now = T0;
  const make = () =>
    new EditBatcher({
      world: address,
      region: [0, 0],
      editor: alice.id,
      side: SIDE,
      now: () => now,
    });
  await t.step("edits in the same second wait for the next", () => {
    const b = make();
    assertEquals(b.take(), undefined);
    b.add({ op: "height", x: 1, z: 1, h: 10 });
    const first = b.take()!;
    assertEquals([first.seq, first.edits.length], [1, 1]);
    b.add({ op: "raise", x: 2, z: 1, d: 5 });
    now += 999;
    assertEquals(b.take(), undefined);
    assertEquals(b.nextAt(), T0 + 1000);
    now += 1;
    const second = b.take()!;
    assertEquals([second.seq, second.edits.length], [2, 2]);
    assertEquals(b.take(), undefined);
    assertEquals(b.nextAt(), undefined);
    // The batches it gives sign and verify.
    verifyEditBatch(signEditBatch(alice, second, T0), world, T0);
  });
  await t.step(
    "counters follow what was observed, and a set drops the editor's older edits",
    () => {
      const b = make();
      b.add({ op: "raise", x: 2, z: 1, d: 5 });
      b.observe(40);
      const e = b.add({ op: "height", x: 2, z: 1, h: 9 });
      assertEquals(e.seq, 41);
      b.add({ op: "material", x: 2, z: 1, m: 1 });
      b.add({ op: "material", x: 2, z: 1, m: 2 });
      now += 1000;
      assertEquals(b.take()!.edits.map((x) => x.op), ["height", "material"]);
    },
  );
  await t.step("edits outside the region are refused at once", () => {
    assertThrows(() => make().add({ op: "height", x: 64, z: 0, h: 1 }), RangeError, "outside");
  });
  await t.step("a full batch refuses more edits", () => {
    const b = make();
    for (let i = 0; i < MAX_EDITS; i++) b.add({ op: "height", x: i & 63, z: i >> 6, h: 1 });
    assertEquals(b.size, MAX_EDITS);
    assertThrows(() => b.add({ op: "raise", x: 0, z: 0, d: 1 }), RangeError, "is full");
    assertEquals(b.size, MAX_EDITS);
    now += 1000;
    const full = b.take()!;
    assert(encodeEditBatch(full).length <= MAX_EDIT_BATCH_BYTES);
  });
  await t.step("continuing from a published batch keeps its edits and counter", () => {
    const prev = batch(alice, 7, [height(7, 0, 0, 5)]);
    const b = new EditBatcher({
      world: address,
      region: [0, 0],
      editor: alice.id,
      side: SIDE,
      now: () => now,
      previous: prev,
    });
    assertEquals(b.add({ op: "height", x: 1, z: 0, h: 5 }).seq, 8);
    now += 1000;
    assertEquals(b.take()!.edits.length, 2);
    assertThrows(
      () =>
        new EditBatcher({
          world: address,
          region: [0, 1],
          editor: alice.id,
          side: 2,
          now: () => now,
          previous: prev,
        }),
      RangeError,
      "not",
    );
  });
});
