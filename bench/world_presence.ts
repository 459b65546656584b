/**
 * Presence latency between two gateways over loopback: two real nodes (libp2p TCP, noise, yamux,
 * gossipsub) in this process, each with its public gateway and live hub; a WebSocket client on A
 * moves to a new spot every 250 ms, and a client on B notes when B's gateway lists A's player
 * there. The time from A's `pos` message to B's `players` notice is what a player on another
 * node waits to see someone move: A's relay tick (every 100 ms, at most 5 Hz a player), gossip,
 * and B's push tick (every 100 ms, at most 5 Hz a socket).
 *
 * `deno run -A bench/world_presence.ts [--samples 40]`
 */
import { upgradeWebSocket } from "hono/deno";
import { createPublicApp } from "../gateway/public.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { nodeLiveHub } from "../src/node/world_gossip.ts";
import { nodeWorldSource } from "../src/node/world_source.ts";
import { createRecord } from "../src/records/record.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { GENERATOR_ID } from "../worlds/generate.ts";
import { encodeWorldRecord, worldAddress } from "../worlds/record.ts";
import { startCluster } from "../tests/_harness.ts";
import { intFlag, percentile, withDeadline } from "./_util.ts";

const samples = intFlag("samples", 40);

function gateway(node: MoteNode) {
  const worlds = nodeWorldSource(node);
  const live = nodeLiveHub(node, worlds);
  const app = createPublicApp({
    records: nodeRecordSource(node),
    info: () => ({ id: node.id, version: "bench" }),
    worlds,
    upgradeWebSocket,
    live,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { worlds, live, port: server.addr.port, server };
}

async function socket(url: string, onText: (m: { t: string; [k: string]: unknown }) => void) {
  const ws = new WebSocket(url);
  ws.onmessage = (e) => typeof e.data === "string" && onText(JSON.parse(e.data));
  await withDeadline(new Promise((r) => (ws.onopen = r)), 10_000, "socket open");
  return ws;
}

const cluster = await startCluster(2);
const [a, b] = cluster.nodes as [MoteNode, MoteNode];
await a.publishRecord(createRecord(a.keys.signSecret, a.keys.signPublic, {
  ns: "world",
  name: utf8("bench"),
  seq: 0,
  value: encodeWorldRecord({
    v: 1,
    created: Date.now(),
    seed: 1,
    generator: GENERATOR_ID,
    region: 8,
    grants: [],
  }),
}));
const address = worldAddress(a.id, "bench");
const ga = gateway(a), gb = gateway(b);
try {
  for (let i = 0; i < 100 && !(await gb.worlds.world(address)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  let aId = "";
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const wa = await socket(`ws://127.0.0.1:${ga.port}/w/${address}/ws`, (m) => {
    if (m.t === "hello") aId = m.id as string;
  });
  const wb = await socket(`ws://127.0.0.1:${gb.port}/w/${address}/ws`, (m) => {
    if (m.t !== "players") return;
    for (const row of m.p as [string, number][]) {
      const at = sentAt.get(row[1]);
      if (row[0] === aId && at !== undefined) {
        latencies.push(performance.now() - at);
        sentAt.delete(row[1]);
      }
    }
  });
  wb.send(JSON.stringify({ t: "pos", p: [200, 80, 200], h: 0 }));
  // Warm up: until B lists A at all (topics joined, the mesh formed).
  for (let i = 0; i < 100 && latencies.length === 0; i++) {
    const x = 10 + i * 0.01;
    sentAt.set(x, performance.now());
    wa.send(JSON.stringify({ t: "pos", p: [x, 80, 10], h: 0 }));
    await new Promise((r) => setTimeout(r, 250));
  }
  latencies.length = 0;
  sentAt.clear();
  for (let i = 0; i < samples; i++) {
    const x = 50 + i;
    sentAt.set(x, performance.now());
    wa.send(JSON.stringify({ t: "pos", p: [x, 80, 10], h: 0 }));
    wb.send(JSON.stringify({ t: "pos", p: [200, 80, 200], h: 0 })); // B stays alive
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const f = (v: number) => `${v.toFixed(0)} ms`;
  console.log(
    `presence A → B over loopback: ${latencies.length}/${samples} moves seen; ` +
      `median ${f(percentile(latencies, 50))}, p95 ${f(percentile(latencies, 95))}, ` +
      `max ${f(Math.max(...latencies))}`,
  );
  wa.close();
  wb.close();
} finally {
  ga.live.close();
  gb.live.close();
  await ga.server.shutdown();
  await gb.server.shutdown();
  await cluster.stop();
}
