/**
 * Live presence and edits between two real nodes on loopback (gossipsub over TCP, noise, yamux):
 * a WebSocket client on node A's gateway and one on node B's, in the same region, see each other
 * within seconds and stop seeing a client that left; an edit batch signed by A's node (granted the
 * region) is announced on the region's topic, verified and merged by B's gateway, and B's client
 * is told the region's new digest and the chunk, which B's socket then sends merged. No storage:
 * the world record is signed and published directly, and the batch's keep-list entry is not
 * needed here (tests/world_edits_net_test.ts covers that path).
 */
import { upgradeWebSocket } from "hono/deno";
import { createPublicApp } from "../gateway/public.ts";
import type { LiveNotice } from "../gateway/world_live.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { WorldEditor } from "../src/node/world_editor.ts";
import { nodeLiveHub } from "../src/node/world_gossip.ts";
import { nodeWorldSource } from "../src/node/world_source.ts";
import { createRecord } from "../src/records/record.ts";
import { decodeChunk } from "../worlds/codec.ts";
import { NO_EDITS } from "../worlds/edits.ts";
import { GENERATOR_ID } from "../worlds/generate.ts";
import { encodeWorldRecord, worldAddress } from "../worlds/record.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";

/** A node's public gateway with its live hub, on a free port. */
function gateway(node: MoteNode) {
  const worlds = nodeWorldSource(node);
  const live = nodeLiveHub(node, worlds);
  const app = createPublicApp({
    records: nodeRecordSource(node),
    info: () => ({ id: node.id, version: "test" }),
    worlds,
    upgradeWebSocket,
    live,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
  );
  return {
    worlds,
    live,
    url: `ws://127.0.0.1:${server.addr.port}`,
    async close() {
      live.close();
      await server.shutdown();
    },
  };
}

/** A world socket client: its notices, chunks, and a way to say where it is. */
async function player(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const notices: LiveNotice[] = [];
  const chunks: Uint8Array[] = [];
  ws.onmessage = (e) => {
    if (typeof e.data === "string") notices.push(JSON.parse(e.data));
    else chunks.push(new Uint8Array(e.data));
  };
  const closed = new Promise((r) => (ws.onclose = r));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`Cannot open ${url}`));
  });
  await waitFor(() => notices.some((n) => n.t === "hello"), 5_000, "hello");
  const hello = notices.find((n) => n.t === "hello") as Extract<LiveNotice, { t: "hello" }>;
  return {
    id: hello.id,
    live: hello.live,
    notices,
    chunks,
    ws,
    move: (x: number, y: number, z: number) =>
      ws.send(JSON.stringify({ t: "pos", p: [x, y, z], h: 0 })),
    /** The ids in the latest players notice. */
    sees: () =>
      ((notices.filter((n) => n.t === "players").at(-1) as { p?: [string][] } | undefined)?.p ?? [])
        .map((r) => r[0]),
    async close() {
      ws.close();
      await closed;
    },
  };
}

Deno.test({
  name:
    "players on two nodes' gateways see each other, and an edit signed on one reaches the other",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(2);
    const [a, b] = cluster.nodes as [MoteNode, MoteNode];
    // A owns the world and holds the grant for region (0, 0).
    const value = {
      v: 1 as const,
      created: Date.now(),
      seed: 99,
      generator: GENERATOR_ID,
      region: 8,
      grants: [{ rx: 0, rz: 0, grantee: a.id, expiry: Date.now() + 3_600_000 }],
    };
    await a.publishRecord(
      createRecord(a.keys.signSecret, a.keys.signPublic, {
        ns: "world",
        name: utf8("live"),
        seq: 0,
        value: encodeWorldRecord(value),
      }),
    );
    const address = worldAddress(a.id, "live");
    const ga = gateway(a), gb = gateway(b);
    const path = `/w/${address}/ws`;
    try {
      await waitFor(
        async () => (await gb.worlds.world(address)) !== undefined,
        15_000,
        "B sees the world",
      );
      const pa = await player(ga.url + path), pb = await player(gb.url + path);
      assert(pa.live && pb.live, "both gateways relay presence");
      await t.step("each sees the other within seconds", async () => {
        const moving = setInterval(() => {
          pa.move(20, 80, 20);
          pb.move(40, 80, 30);
        }, 200);
        try {
          await waitFor(
            () => pa.sees().includes(pb.id) && pb.sees().includes(pa.id),
            15_000,
            "both players listed on both gateways",
          );
        } finally {
          clearInterval(moving);
        }
        const row = (pa.notices.filter((n) => n.t === "players").at(-1) as { p: number[][] }).p
          .find((r) => (r[0] as unknown) === pb.id)!;
        assertEquals(row.slice(1, 4), [40, 80, 30], "B's player where it said it was");
        assertEquals(pb.sees().filter((id) => id === pb.id), [], "nobody sees themselves");
      });

      await t.step(
        "an edit signed by A's node is pushed to B's client and served merged",
        async () => {
          const editor = new WorldEditor({
            node: a,
            worlds: ga.worlds,
            catalog: () => Promise.reject(new Error("no storage in this test")),
            announce: (...args) => ga.live.announceEdit(...args),
          });
          const done = await editor.edit(address, 0, 0, [{ op: "height", x: 33, z: 2, h: 3000 }]);
          assertEquals(done.edits, 1);
          await waitFor(
            () => pb.notices.some((n) => n.t === "edits"),
            15_000,
            "B's client is told the region changed",
          );
          const news = pb.notices.find((n) => n.t === "edits") as Extract<
            LiveNotice,
            { t: "edits" }
          >;
          assertEquals(news.r, [0, 0]);
          assertNotEquals(news.e, NO_EDITS);
          assertEquals(
            news.c,
            [[1, 0]],
            "column (33, 2) is in chunk (1, 0), away from its borders",
          );
          assert(pa.notices.some((n) => n.t === "edits"), "A's own client is told too");
          pb.ws.send(JSON.stringify({ t: "want", c: [[1, 0]] }));
          await waitFor(() => pb.chunks.length > 0, 10_000, "the chunk over B's socket");
          const chunk = decodeChunk(pb.chunks[0]!);
          assertEquals(chunk.heights[2 * 32 + 1], 3000, "B serves the chunk with A's edit merged");
        },
      );

      await t.step("a player who leaves is gone from the other's list", async () => {
        let aMoves = true;
        const moving = setInterval(() => {
          if (aMoves) pa.move(20, 80, 20);
          pb.move(40, 80, 30);
        }, 200);
        try {
          await waitFor(() => pb.sees().includes(pa.id), 10_000, "B sees A again");
          aMoves = false;
          await pa.close();
          await waitFor(() => !pb.sees().includes(pa.id), 10_000, "A's player expires on B");
        } finally {
          clearInterval(moving);
        }
        await pb.close();
      });
    } finally {
      await ga.close();
      await gb.close();
    }
  },
});
