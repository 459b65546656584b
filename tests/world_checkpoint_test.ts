/**
 * What the owner's node signs when grants end (`planCheckpoint`, pure): every grantee whose grant
 * has ended is held to the batch it had published (or to none), whenever the owner's node gets to
 * it (a grant that ended while the owner was offline is covered at its next pass); grantees still
 * granted are not held; a region already covered needs nothing; a grantee whose batch cannot be
 * found holds the region back for a while. And a gateway that had merged a batch drops it when a
 * checkpoint that does not accept it appears, while keeping the ones it accepts.
 */
import { RegionEditsSource } from "../gateway/region_edits.ts";
import type { World } from "../gateway/world_source.ts";
import { generateIdentity, type IdentityKeys } from "../src/identity/keys.ts";
import type { SignedRecord } from "../src/records/record.ts";
import {
  type BatchLookup,
  planCheckpoint,
  type RegionState,
  uncovered,
} from "../src/node/world_checkpoints.ts";
import {
  checkpointKey,
  signCheckpoint,
  type VerifiedCheckpoint,
  verifyCheckpoint,
} from "../worlds/checkpoint.ts";
import {
  checkpointAllows,
  editBatchKey,
  signEditBatch,
  type VerifiedEditBatch,
  verifyEditBatch,
} from "../worlds/edit_record.ts";
import { GENERATOR_ID } from "../worlds/generate.ts";
import { worldAddress, type WorldRecordValue } from "../worlds/record.ts";
import { assert, assertEquals } from "./_assert.ts";

const owner = generateIdentity();
// In ascending id order, as checkpoints list editors.
const [bob, carol, dave] = [generateIdentity(), generateIdentity(), generateIdentity()]
  .sort((a, b) => a.id < b.id ? -1 : 1) as [IdentityKeys, IdentityKeys, IdentityKeys];
const address = worldAddress(owner.id, "plan");
const T = 1_800_000_000_000;
const MIN = 60_000;

function world(grants: WorldRecordValue["grants"], seq = 1): World {
  return {
    address,
    name: "plan",
    owner: owner.id,
    seq,
    value: { v: 1, created: 1, seed: 1, generator: GENERATOR_ID, region: 2, grants },
  };
}

function batch(
  who: IdentityKeys,
  seq: number,
  w: World,
  ts: number,
): { record: SignedRecord; verified: VerifiedEditBatch } {
  const record = signEditBatch(who, {
    v: 1,
    world: address,
    region: [0, 0],
    editor: who.id,
    seq,
    edits: [{ op: "height", seq, x: seq % 64, z: 1, h: 100 + seq }],
  }, ts);
  return { record, verified: verifyEditBatch(record, w, ts + 1) };
}

function state(s: Partial<RegionState> & Pick<RegionState, "ends" | "found" | "now">): RegionState {
  return { world: address, rx: 0, rz: 0, missGrace: 10 * MIN, ...s };
}

Deno.test("a checkpoint holds every grantee whose grant ended to the batch it had published", () => {
  const w = world([
    { rx: 0, rz: 0, grantee: bob.id, expiry: T - 5 * MIN }, // ended
    { rx: 0, rz: 0, grantee: carol.id, expiry: T + 60 * MIN }, // still granted
  ]);
  const b = batch(bob, 7, w, T - 10 * MIN).verified;
  const c = batch(carol, 12, w, T - MIN).verified;
  const ends = new Map([[bob.id, T - 5 * MIN], [carol.id, T + 60 * MIN]]);
  assertEquals(uncovered(ends, undefined, T), [bob.id]);
  const plan = planCheckpoint(state({
    ends,
    found: new Map<string, BatchLookup>([
      [bob.id, { found: "ok", batch: b }],
      [carol.id, { found: "ok", batch: c }],
    ]),
    now: T,
  }));
  assertEquals(plan.waiting, []);
  assertEquals(plan.checkpoint!.accepted, [{ editor: bob.id, seq: 7, hash: b.hash }]);
  assertEquals(plan.checkpoint!.maxSeq, 12, "the highest counter in the region, carol's too");
  // Signed and checked like any checkpoint: bob is held to batch 7, carol is not held.
  const cp = verifyCheckpoint(
    signCheckpoint(owner, plan.checkpoint!, { seq: 0, ts: T }),
    { address, owner: owner.id, value: w.value },
    T,
  );
  assert(checkpointAllows(cp, w, b), "bob's accepted batch stands");
  assert(checkpointAllows(cp, w, c), "carol's grant outlives the checkpoint");
  const backdated = batch(bob, 8, w, T - 6 * MIN).verified; // signed "in time", after all
  assertEquals(checkpointAllows(cp, w, backdated), false);
});

Deno.test("a grant that ended while the owner was offline is covered at its next pass", () => {
  const ended = T - 30 * 24 * 60 * MIN; // a month ago
  const w = world([{ rx: 0, rz: 0, grantee: bob.id, expiry: ended }]);
  const b = batch(bob, 3, w, ended - MIN).verified;
  const plan = planCheckpoint(state({
    ends: new Map([[bob.id, ended]]),
    found: new Map([[bob.id, { found: "ok", batch: b }]]),
    now: T,
  }));
  assertEquals(plan.checkpoint!.accepted.map((a) => [a.editor, a.seq]), [[bob.id, 3]]);
});

Deno.test("a region a checkpoint covers needs nothing; one ended since is added, the rest kept", () => {
  const w = world([
    { rx: 0, rz: 0, grantee: bob.id, expiry: T - 60 * MIN },
    { rx: 0, rz: 0, grantee: carol.id, expiry: T - 2 * MIN },
  ]);
  const b = batch(bob, 4, w, T - 61 * MIN).verified;
  const previous: VerifiedCheckpoint = {
    v: 1,
    world: address,
    region: [0, 0],
    accepted: [{ editor: bob.id, seq: 4, hash: b.hash }],
    maxSeq: 9,
    ts: T - 30 * MIN,
  };
  const ends = new Map([[bob.id, T - 60 * MIN], [carol.id, T - 2 * MIN]]);
  assertEquals(uncovered(ends, previous, T - 5 * MIN), [], "carol's is not settled yet");
  assertEquals(uncovered(ends, previous, T), [carol.id]);
  const c = batch(carol, 11, w, T - 3 * MIN).verified;
  const plan = planCheckpoint(state({
    ends,
    previous,
    // bob's lookup missed: he is held by the previous checkpoint anyway
    found: new Map<string, BatchLookup>([
      [bob.id, { found: "missing" }],
      [carol.id, { found: "ok", batch: c }],
    ]),
    now: T,
  }));
  assertEquals(plan.checkpoint!.accepted.map((a) => [a.editor, a.seq]), [[bob.id, 4], [
    carol.id,
    11,
  ]]);
  assertEquals(plan.checkpoint!.maxSeq, 11);
});

Deno.test("a grantee whose batch is not found holds the region back, then is held to none", () => {
  const ends = new Map([[bob.id, T - 2 * MIN], [dave.id, T - 2 * MIN]]);
  const found = new Map<string, BatchLookup>([
    [bob.id, { found: "missing" }],
    [dave.id, { found: "refused" }], // its latest record is refused: it has none to be held to
  ]);
  assertEquals(planCheckpoint(state({ ends, found, now: T })).waiting, [bob.id]);
  const later = planCheckpoint(state({ ends, found, now: T + 9 * MIN }));
  assertEquals(later.checkpoint!.accepted, [], "held to none after the grace");
  assertEquals(later.checkpoint!.maxSeq, 0);
});

Deno.test("a gateway drops a batch it had merged once a checkpoint refuses it", async () => {
  let now = T;
  const grants = [
    { rx: 0, rz: 0, grantee: bob.id, expiry: T + 60 * MIN },
    { rx: 0, rz: 0, grantee: carol.id, expiry: T + 60 * MIN },
  ];
  const w = world(grants);
  const b1 = batch(bob, 1, w, T - MIN), c1 = batch(carol, 2, w, T - MIN);
  const records = new Map<string, SignedRecord>([
    [editBatchKey(address, 0, 0, bob.id).hash, b1.record],
    [editBatchKey(address, 0, 0, carol.id).hash, c1.record],
  ]);
  const source = new RegionEditsSource(
    (_ns, hash) => Promise.resolve(records.get(hash)),
    { ttl: 1_000, now: () => now },
  );
  assertEquals(
    (await source.edits(w, 0, 0)).batches.map((x) => x.editor).sort(),
    [
      bob.id,
      carol.id,
    ].sort(),
  );
  // Both grants end; bob's batch 2, backdated into his grant, reaches this gateway first.
  const ended = world(grants.map((g) => ({ ...g, expiry: T + MIN })), 1);
  now = T + 2 * MIN;
  const b2 = batch(bob, 3, ended, T + MIN - 1);
  records.set(editBatchKey(address, 0, 0, bob.id).hash, b2.record);
  // A region seen before is answered from the cache while it is looked up again (the fake
  // clock stands still meanwhile): the answer once that lookup is in.
  const settled = async (w: World) => {
    const pairs = async () =>
      (await source.edits(w, 0, 0)).batches.map((x) => [x.editor, x.seq]).sort();
    const before = JSON.stringify(await pairs());
    for (let i = 0; i < 100 && JSON.stringify(await pairs()) === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return await pairs();
  };
  assertEquals(await settled(ended), [[bob.id, 3], [carol.id, 2]].sort());
  // The owner's checkpoint accepted bob's batch 1 (all it had seen) and carol's 2.
  const plan = planCheckpoint(state({
    ends: new Map([[bob.id, T + MIN], [carol.id, T + MIN]]),
    found: new Map<string, BatchLookup>([
      [bob.id, { found: "ok", batch: b1.verified }],
      [carol.id, { found: "ok", batch: c1.verified }],
    ]),
    now,
  }));
  records.set(
    checkpointKey(address, 0, 0, owner.id).hash,
    signCheckpoint(owner, plan.checkpoint!, { seq: 0, ts: now }),
  );
  now += 2_000;
  assertEquals(
    await settled(ended),
    [[carol.id, 2]],
    "bob's backdated batch goes; carol's accepted one stays",
  );
});
