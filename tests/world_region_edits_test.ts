/**
 * The gateway's side of player edits without a network: a world source over an in-memory record
 * map resolves a region's grantees' batches, refuses one signed without a grant (never merged),
 * and the chunk route serves the merged chunk under the region's digest (immutable), redirects
 * the old digest, and keeps a region's answer for its TTL.
 */
import { Hono } from "hono";
import { mountWorlds } from "../gateway/worlds.ts";
import { RecordWorldSource } from "../gateway/world_source.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord, recordKeyOf, type SignedRecord } from "../src/records/record.ts";
import { decodeChunk } from "../worlds/codec.ts";
import { editBatchKey, signEditBatch } from "../worlds/edit_record.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import { generateChunk, GENERATOR_ID } from "../worlds/generate.ts";
import { encodeWorldRecord, worldAddress, type WorldRecordValue } from "../worlds/record.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";

Deno.test("a gateway merges a region's granted batches into its chunks and refuses the rest", async () => {
  const owner = generateIdentity(), bob = generateIdentity(), eve = generateIdentity();
  const address = worldAddress(owner.id, "isle");
  const value: WorldRecordValue = {
    v: 1,
    created: 1,
    seed: 42,
    generator: GENERATOR_ID,
    region: 2,
    grants: [
      { rx: 0, rz: 0, grantee: bob.id, expiry: Date.now() + 3_600_000 },
      // eve is granted another region only: her batch for (0, 0) is refused
      { rx: 1, rz: 0, grantee: eve.id, expiry: Date.now() + 3_600_000 },
    ],
  };
  const world = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("isle"),
    seq: 1,
    value: encodeWorldRecord(value),
  });
  const records = new Map<string, SignedRecord>();
  records.set(`world/${recordKeyOf("world", owner.id, utf8("isle")).hash}`, world);
  const put = (r: SignedRecord, ns: string, hash: string) => records.set(`${ns}/${hash}`, r);
  let now = Date.now();
  const logs: string[] = [];
  const source = new RecordWorldSource(
    (a) => Promise.resolve(records.get(`world/${a}`)),
    {
      records: (ns, hash) => Promise.resolve(records.get(`${ns}/${hash}`)),
      editOptions: { now: () => now, log: (m) => logs.push(m) },
    },
  );
  const app = mountWorlds(new Hono(), { worlds: source });
  const base = `/w/${address}/c/${GENERATOR_ID}`;
  const generated = generateChunk({ seed: 42 }, 1, 1);

  // No batch yet: the region's digest is NO_EDITS.
  const r0 = await app.request(`${base}/1/1?e=${NO_EDITS}`);
  assertEquals(r0.status, 200);
  assertEquals(decodeChunk(await r0.bytes()).heights, generated.heights);

  // Bob raises column (3, 4) of chunk (1, 1) (region-local column 35, 36); eve's batch for the
  // same region has no grant.
  const batch = signEditBatch(bob, {
    v: 1,
    world: address,
    region: [0, 0],
    editor: bob.id,
    seq: 5,
    edits: [{ op: "height", seq: 5, x: 35, z: 36, h: 3000 }],
  });
  put(batch, "wedit", editBatchKey(address, 0, 0, bob.id).hash);
  put(
    signEditBatch(eve, {
      v: 1,
      world: address,
      region: [0, 0],
      editor: eve.id,
      seq: 9,
      edits: [{ op: "height", seq: 9, x: 35, z: 36, h: 1 }],
    }),
    "wedit",
    editBatchKey(address, 0, 0, eve.id).hash,
  );
  // Eve's batch is under her own key, which nobody looks up: the world grants her no (0, 0).
  // So also put it where Bob's should be: the signer check refuses it.
  const forged = signEditBatch(eve, {
    v: 1,
    world: address,
    region: [0, 0],
    editor: eve.id,
    seq: 10,
    edits: [{ op: "height", seq: 10, x: 0, z: 0, h: 1 }],
  });

  const cached = await app.request(`${base}/1/1?e=${NO_EDITS}`);
  assertEquals(cached.status, 200, "the region's answer is kept for its TTL");
  await cached.body?.cancel();
  now += 3_000;
  // Stale: answered at once, refreshed behind.
  await (await app.request(`${base}/1/1`, { redirect: "manual" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 10));

  const e = await editsDigest([{ editor: bob.id, seq: 5 }]);
  const moved = await app.request(`${base}/1/1?e=${NO_EDITS}`, { redirect: "manual" });
  assertEquals(moved.status, 302);
  assertEquals(moved.headers.get("location"), `${base}/1/1?e=${e}`);
  const r1 = await app.request(`${base}/1/1?e=${e}`);
  assertEquals(r1.status, 200);
  assertEquals(r1.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const merged = decodeChunk(await r1.bytes());
  assertEquals(merged.heights[4 * 32 + 3], 3000);
  assertNotEquals(generated.heights[4 * 32 + 3], 3000);
  assertEquals(
    [...merged.heights].filter((h, i) => h !== generated.heights[i]).length,
    1,
    "only the edited column",
  );
  const region = await (await app.request(`/w/${address}/r/0/0`)).json();
  assertEquals(region, { rx: 0, rz: 0, e, editors: [{ editor: bob.id, seq: 5 }] });
  // Another region's chunk is untouched.
  const other = await app.request(`${base}/5/5?e=${NO_EDITS}`);
  assertEquals(other.status, 200);
  await other.body?.cancel();

  // A forged batch under Bob's key (signed by eve) never merges; Bob's stays.
  put(forged, "wedit", editBatchKey(address, 0, 0, bob.id).hash);
  now += 3_000;
  await (await app.request(`${base}/1/1`, { redirect: "manual" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 10));
  const still = await app.request(`${base}/1/1`, { redirect: "manual" });
  assertEquals(still.headers.get("location"), `${base}/1/1?e=${e}`, "bob's batch is kept");
  await still.body?.cancel();
  assert(logs.includes("refused an edit batch"), logs.join("; "));
});
