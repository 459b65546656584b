/**
 * Live presence and edit announcements without a network: the gossip message codec (round trip,
 * and refusal of malformed, oversized, non-canonical, other-version and other-region messages),
 * the hub's judgement of what it hears (wrong region, floods per peer and per player, players per
 * region, unverified edits), relaying at most 5 times a second, pushing, expiry, and the chunks an
 * edit notice names.
 */
import { LiveHub, type LiveNotice, type Verdict } from "../gateway/world_live.ts";
import { RegionEditsSource } from "../gateway/region_edits.ts";
import { GLIDE_MS, Presence } from "../worlds/client/presence.ts";
import type { World } from "../gateway/world_source.ts";
import { encode } from "../src/encoding/cbor.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { encodeRecord, type SignedRecord } from "../src/records/record.ts";
import { editBatchKey, signEditBatch } from "../worlds/edit_record.ts";
import type { EditBatch } from "../worlds/edit_batch.ts";
import {
  decodeLiveMessage,
  encodeEditAnnouncement,
  encodePresence,
  MAX_PRESENCE_BYTES,
  regionAt,
  regionTopic,
} from "../worlds/live_message.ts";
import type { WorldRecordValue } from "../worlds/record.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const owner = generateIdentity();
const editor = generateIdentity();
const stranger = generateIdentity();
const ADDRESS = "a".repeat(52);
const value: WorldRecordValue = {
  v: 1,
  created: 1,
  seed: 5,
  generator: "terrain-v1",
  region: 8,
  grants: [{ rx: 0, rz: 0, grantee: editor.id, expiry: Date.now() + 3_600_000 }],
};
const world: World = { address: ADDRESS, name: "w", owner: owner.id, seq: 1, value };
const HERE = { world: ADDRESS, rx: 0, rz: 0 };
const presence = (over: Partial<Parameters<typeof encodePresence>[0]> = {}) =>
  encodePresence({
    ...HERE,
    id: "0123456789abcdef",
    x: 10.5,
    y: 70.25,
    z: 20,
    heading: 1,
    ts: Date.now(),
    ...over,
  });
const batch = (by = editor, seq = 3, x = 5): EditBatch => ({
  v: 1,
  world: ADDRESS,
  region: [0, 0],
  editor: by.id,
  seq,
  edits: [{ op: "height", seq, x, z: 6, h: 2000 }],
});
const signed = (b: EditBatch, by = editor): SignedRecord => signEditBatch(by, b);

Deno.test("presence messages round-trip and are small", () => {
  const bytes = presence();
  assert(bytes.length <= MAX_PRESENCE_BYTES, `${bytes.length} bytes`);
  const m = decodeLiveMessage(bytes, HERE, Date.now());
  assertEquals(m.type, "presence");
  if (m.type !== "presence") return;
  assertEquals([m.id, m.x, m.y, m.z], ["0123456789abcdef", 10.5, 70.25, 20]);
  assert(Math.abs(m.heading - 1) < 1e-4, `heading ${m.heading}`);
  assertEquals(regionTopic(ADDRESS, -1, 2), `mote/w/${ADDRESS}/r/-1,2/v1`);
  assertEquals(regionAt(-0.5, 256, 8), { rx: -1, rz: 1 });
});

Deno.test("decodeLiveMessage() refuses malformed, oversized and other-region messages", async (t) => {
  const now = Date.now();
  const cases: [string, Uint8Array, { world: string; rx: number; rz: number }][] = [
    ["not CBOR", new Uint8Array([0xff, 0x00]), HERE],
    ["another version", encode({ v: 2, t: 0 }), HERE],
    ["an unknown type", encode({ v: 1, t: 7 }), HERE],
    ["a missing field", encode({ v: 1, t: 0, w: ADDRESS, r: [0, 0] }), HERE],
    ["another region's topic", presence(), { ...HERE, rx: 1 }],
    ["another world's topic", presence(), { ...HERE, world: "b".repeat(52) }],
    ["an oversized message", new Uint8Array(70 * 1024), HERE],
    [
      "an extra field",
      encode({
        v: 1,
        t: 0,
        w: ADDRESS,
        r: [0, 0],
        id: new Uint8Array(8),
        p: [0, 0, 0],
        h: 0,
        ts: 1,
        x: 1,
      }),
      HERE,
    ],
    [
      "a position outside the world",
      encode({
        v: 1,
        t: 0,
        w: ADDRESS,
        r: [0, 0],
        id: new Uint8Array(8),
        p: [0, 2e9, 0],
        h: 0,
        ts: 1,
      }),
      HERE,
    ],
    [
      "a padded presence",
      encode({
        v: 1,
        t: 0,
        w: ADDRESS,
        r: [0, 0],
        id: new Uint8Array(8),
        p: [0, 0, 0],
        h: 70000,
        ts: 1,
      }),
      HERE,
    ],
    ["an edit for another region", encodeEditAnnouncement(encodeRecord(signed(batch()))), {
      ...HERE,
      rz: 1,
    }],
    [
      "an edit whose record is forged",
      (() => {
        const r = encodeRecord(signed(batch()));
        r[r.length - 1]! ^= 1;
        return encodeEditAnnouncement(r);
      })(),
      HERE,
    ],
  ];
  for (const [name, bytes, where] of cases) {
    await t.step(`refuses ${name}`, () => {
      assertThrows(() => decodeLiveMessage(bytes, where, now));
    });
  }
  await t.step("accepts a signed edit for its region", () => {
    const m = decodeLiveMessage(encodeEditAnnouncement(encodeRecord(signed(batch()))), HERE, now);
    assertEquals(m.type, "edit");
  });
});

/** A bus that records what the hub publishes and lets the test deliver messages. */
function fakeBus() {
  const joined = new Map<string, (from: string, data: Uint8Array) => Verdict>();
  const published: { topic: string; data: Uint8Array }[] = [];
  return {
    joined,
    published,
    bus: {
      join: (t: string, r: (from: string, data: Uint8Array) => Verdict) => void joined.set(t, r),
      leave: (t: string) => void joined.delete(t),
      publish: (topic: string, data: Uint8Array) => {
        published.push({ topic, data });
        return Promise.resolve();
      },
    },
  };
}

function setup(now = { t: 1_000_000 }) {
  const b = fakeBus();
  const edits = new RegionEditsSource(() => Promise.resolve(undefined), { now: () => now.t });
  const hub = new LiveHub({
    bus: b.bus,
    now: () => now.t,
    offerEdit: (w, rx, rz, r) => edits.offer(w, rx, rz, r),
  });
  const notices: LiveNotice[] = [];
  const session = hub.attach(world, (n) => notices.push(n));
  return { ...b, hub, notices, session, now, edits };
}

Deno.test("the hub joins the 3 × 3 regions around a player, relays at most 5 Hz, and leaves", () => {
  const { hub, joined, published, session, notices, now } = setup();
  try {
    assertEquals(notices[0], { t: "hello", id: session.id, live: true });
    session.move(10, 70, 10, 0);
    assertEquals(joined.size, 9);
    assert(joined.has(regionTopic(ADDRESS, -1, -1)) && joined.has(regionTopic(ADDRESS, 1, 1)));
    for (let i = 0; i < 20; i++) {
      session.move(10 + i, 70, 10, 0);
      hub.tick();
      now.t += 50; // 20 moves a second for one second
    }
    assert(published.length >= 4 && published.length <= 6, `${published.length} relayed in 1 s`);
    assertEquals(new Set(published.map((p) => p.topic)), new Set([regionTopic(ADDRESS, 0, 0)]));
    session.move(300, 70, 10, 0); // into region (1, 0): the block moves east
    assert(joined.has(regionTopic(ADDRESS, 2, 0)) && !joined.has(regionTopic(ADDRESS, -1, 0)));
    session.close();
    assertEquals(joined.size, 0);
  } finally {
    hub.close();
  }
});

Deno.test("the hub shows players heard from the topic, and forgets them after 5 s", () => {
  const { hub, joined, session, notices, now } = setup();
  try {
    session.move(10, 70, 10, 0);
    const receive = joined.get(regionTopic(ADDRESS, 0, 0))!;
    assertEquals(receive("peerB", presence({ ts: now.t })), "accept");
    hub.tick();
    const last = () => notices.filter((n) => n.t === "players").at(-1) as { p: unknown[][] };
    assertEquals(last().p.map((r) => r[0]), ["0123456789abcdef"]);
    now.t += 5_100;
    hub.tick();
    assertEquals(last().p, []);
  } finally {
    hub.close();
  }
});

Deno.test("the hub rejects wrong-region and flooding presence, and bounds players", async (t) => {
  const { hub, joined, session, now } = setup();
  try {
    session.move(10, 70, 10, 0);
    const receive = joined.get(regionTopic(ADDRESS, 0, 0))!;
    await t.step("a position in another region than the topic's is rejected", () => {
      assertEquals(receive("p1", presence({ x: 300, ts: now.t })), "reject");
    });
    await t.step("malformed bytes are rejected", () => {
      assertEquals(receive("p1", new Uint8Array([1, 2, 3])), "reject");
    });
    await t.step("one player faster than 10 Hz is ignored", () => {
      const verdicts = Array.from({ length: 15 }, () => receive("p2", presence({ ts: now.t })));
      assertEquals(verdicts.filter((v) => v === "accept").length, 10);
      assertEquals(verdicts.filter((v) => v === "ignore").length, 5);
    });
    await t.step("a peer past 200 a second (400 in a burst) is rejected", () => {
      const verdicts = Array.from(
        { length: 500 },
        (_, i) => receive("p3", presence({ id: i.toString(16).padStart(16, "0"), ts: now.t })),
      );
      assert(verdicts.filter((v) => v === "reject").length >= 100, "floods are rejected");
      assertEquals(verdicts.filter((v) => v === "accept").length, 62, "64 players a region");
    });
    await t.step("old news is ignored", () => {
      assertEquals(receive("p4", presence({ ts: now.t - 60_000 })), "ignore");
    });
  } finally {
    hub.close();
  }
});

Deno.test("an announced edit is verified, merged and named to sessions; a forged one is not", async () => {
  const { hub, joined, session, notices, edits } = setup({ t: Date.now() });
  try {
    session.move(10, 70, 10, 0);
    const receive = joined.get(regionTopic(ADDRESS, 0, 0))!;
    const ungranted = encodeEditAnnouncement(encodeRecord(signed(batch(stranger), stranger)));
    // Our world may predate a grant: ignored (the sender is not punished), and never merged.
    assertEquals(receive("p1", ungranted), "ignore", "no grant: never merged");
    const forged = encodeRecord(signed(batch()));
    forged[forged.length - 1]! ^= 1;
    assertEquals(receive("p1", encodeEditAnnouncement(forged)), "reject", "a forged signature");
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(notices.filter((n) => n.t === "edits").length, 0, "nothing merged or shown");
    const good = encodeEditAnnouncement(encodeRecord(signed(batch(editor, 3, 31))));
    assertEquals(receive("p1", good), "accept");
    await new Promise((r) => setTimeout(r, 50));
    const notice = notices.find((n) => n.t === "edits") as Extract<LiveNotice, { t: "edits" }>;
    assert(notice, "sessions in the region were told");
    assertEquals(notice.r, [0, 0]);
    assertEquals(notice.c, [[0, 0], [1, 0]], "column 31 is shared with chunk (1, 0)'s mesh");
    const now = await edits.edits(world, 0, 0);
    assertEquals(now.e, notice.e);
    assertEquals(now.batches.map((b) => [b.editor, b.seq]), [[editor.id, 3]]);
    assertEquals(editBatchKey(ADDRESS, 0, 0, editor.id).ns, "wedit");
    // The same batch again changes nothing; an older one never replaces it.
    const edited = () => notices.filter((n) => n.t === "edits").length;
    receive("p1", good);
    receive("p1", encodeEditAnnouncement(encodeRecord(signed(batch(editor, 2)))));
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(edited(), 1);
  } finally {
    hub.close();
  }
});

Deno.test("the page's presence glides players to their new position and drops unlisted ones", () => {
  const p = new Presence();
  p.update([["aa", 0, 10, 0, 0], ["bb", 5, 10, 5, 0], ["bad", "x"]], 1000);
  assertEquals(p.size, 2, "malformed rows are skipped");
  p.update([["aa", 10, 10, 0, 0.5]], 1000);
  assertEquals(p.size, 1, "bb was not listed: gone");
  const mid = p.sample(1000 + GLIDE_MS / 2)[0]!;
  assertEquals([mid.x, mid.heading], [5, 0.25], "halfway there");
  assertEquals(p.sample(1000 + GLIDE_MS * 2)[0]!.x, 10, "and then there");
  p.clear();
  assertEquals(p.sample(5000), []);
});

Deno.test("a player who moves out of sight leaves the other's list at once", () => {
  const { hub, session, notices, now } = setup();
  const theirs: LiveNotice[] = [];
  const other = hub.attach(world, (n) => theirs.push(n));
  try {
    const last = () => (theirs.filter((n) => n.t === "players").at(-1) as { p: unknown[][] }).p;
    other.move(2.5 * 256, 70, 10, 0); // region (2, 0): watches regions 1..3
    session.move(1.5 * 256, 70, 10, 0); // region (1, 0)
    hub.tick();
    assertEquals(last().map((r) => r[0]), [session.id]);
    now.t += 300;
    session.move(0.5 * 256, 70, 10, 0); // region (0, 0): out of the other's sight
    hub.tick();
    assertEquals(last(), []);
    assert(notices.length > 0);
  } finally {
    hub.close();
  }
});

Deno.test("a node's own player carries its id, and a heard one only once its identity vouches", async () => {
  const NODE = "n".repeat(52), OTHER = "m".repeat(52);
  const b = fakeBus();
  const asked: string[] = [];
  const hub = new LiveHub({
    bus: b.bus,
    self: NODE,
    vouch: (node, peer) => {
      asked.push(`${node}/${peer}`);
      return Promise.resolve(peer === "good");
    },
  });
  const seen: LiveNotice[] = [];
  try {
    const own = hub.attach(world, () => {}, { own: true });
    const visitor = hub.attach(world, (n) => seen.push(n));
    own.move(10, 70, 10, 0);
    visitor.move(20, 70, 10, 0);
    hub.tick();
    const last = () => (seen.filter((n) => n.t === "players").at(-1) as { p: unknown[][] }).p;
    assertEquals(last().map((r) => [r[0], r[5]]), [[own.id, NODE]], "this node's own player");
    const relayed = b.published.map((m) => decodeLiveMessage(m.data, HERE, Date.now()))
      .map((m) => m.type === "presence" ? [m.id, m.node] : []);
    assertEquals(relayed.sort(), [[own.id, NODE], [visitor.id, undefined]].sort(), "relayed");
    const receive = b.joined.get(regionTopic(ADDRESS, 0, 0))!;
    const heard = (peer: string, id: string) =>
      receive(peer, presence({ id, node: OTHER, ts: Date.now() }));
    assertEquals(heard("good", "00000000000000aa"), "accept");
    assertEquals(heard("bad", "00000000000000bb"), "accept");
    await new Promise((r) => setTimeout(r, 10)); // the identity checks answer
    heard("good", "00000000000000aa");
    heard("bad", "00000000000000bb");
    await new Promise((r) => setTimeout(r, 250));
    hub.tick();
    const rows = Object.fromEntries(last().map((r) => [r[0], r[5]]));
    assertEquals(rows["00000000000000aa"], OTHER, "vouched for by its identity");
    assertEquals(rows["00000000000000bb"], null, "a peer its identity does not list");
    assertEquals(asked.sort(), [`${OTHER}/bad`, `${OTHER}/good`], "each pair checked once");
  } finally {
    hub.close();
  }
});
