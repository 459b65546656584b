/**
 * Chunks per second a gateway streams to simulated clients over the world WebSocket (issue 7's
 * figure). The gateway runs in its own process (this script with `--serve`): the public app with
 * its world routes over a signed world record (resolved in memory, not from a DHT, so the figure
 * is the gateway's own cost: generating, encoding, hashing, caching and sending chunks). The
 * clients run here: each walks its own straight line away from the others and keeps a ring of
 * chunks wanted around it (64 per message, at most `--inflight` waiting, as the browser client
 * does), so every chunk is new to the gateway's cache unless `--shared` puts them all on one line.
 *
 * `deno run -A bench/world_stream.ts [--clients 50] [--seconds 10] [--inflight 128] [--shared]`
 * Bounded: the run ends after `--seconds`, every wait has a timeout, every queue is capped.
 */
import { parseArgs } from "node:util";
import { upgradeWebSocket } from "hono/deno";
import { createPublicApp } from "../gateway/public.ts";
import { RecordWorldSource } from "../gateway/world_source.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord } from "../src/records/record.ts";
import { encodeWorldRecord, worldAddress } from "../worlds/record.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    serve: { type: "boolean" },
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "10" },
    inflight: { type: "string", default: "128" },
    shared: { type: "boolean" },
  },
});

if (values.serve) {
  // The gateway process: one world, printed as `<port> <address>` once it listens.
  const owner = generateIdentity();
  const record = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("bench"),
    seq: 0,
    value: encodeWorldRecord({
      v: 1,
      created: Date.now(),
      seed: 20261205,
      generator: "terrain-v1",
      region: 8,
      grants: [],
    }),
  });
  const address = worldAddress(owner.id, "bench");
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "bench", version: "bench" }),
    worlds: new RecordWorldSource((a) => Promise.resolve(a === address ? record : undefined)),
    upgradeWebSocket,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => app.fetch(req, { remoteAddr: "bench" }),
  );
  console.log(`${server.addr.port} ${address}`);
  // Ends with its parent: stdin closes when the parent exits.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  Deno.exit(0);
}

const clients = Number(values.clients), seconds = Number(values.seconds);
const inflight = Math.min(Number(values.inflight), 256);
const batch = Math.min(64, inflight);
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(import.meta.url).pathname, "--serve"],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
const first = await Promise.race([
  reader.read(),
  new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no gateway in 30 s")), 30_000)),
]);
const [port, address] = (first.value ?? "").trim().split(" ");
const url = `ws://127.0.0.1:${port}/w/${address}/ws`;

interface Tally {
  chunks: number;
  bytes: number;
  latencies: number[];
}

/**
 * One client: walks east along its own band of four rows (z = 1000·i…1000·i+3), keeping
 * `inflight` chunks wanted, asked `batch` at a time.
 */
async function client(i: number, until: number, tally: Tally): Promise<void> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`client ${i} could not connect`));
    setTimeout(() => reject(new Error(`client ${i}: no connection in 10 s`)), 10_000);
  });
  const z0 = values.shared ? 0 : i * 1000;
  let next = 0, waiting = 0, lastMsg = 0;
  const asked = new Map<number, number>();
  const want = () => {
    // At most 40 messages a second, like the browser client (the gateway allows 50).
    const now = performance.now();
    if (now - lastMsg < 25 || waiting + batch > inflight) return;
    lastMsg = now;
    const c: [number, number][] = [];
    for (let k = 0; k < batch; k++, next++) {
      c.push([next >> 2, z0 + (next & 3)]);
      asked.set(next, now);
    }
    waiting += batch;
    ws.send(JSON.stringify({ t: "want", c }));
  };
  let seq = 0;
  ws.onmessage = (e) => {
    if (typeof e.data === "string") return;
    const t0 = asked.get(seq);
    asked.delete(seq++);
    if (t0 !== undefined) tally.latencies.push(performance.now() - t0);
    tally.chunks++;
    tally.bytes += (e.data as ArrayBuffer).byteLength;
    waiting--;
    want();
  };
  const timer = setInterval(want, 25);
  want();
  await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
  clearInterval(timer);
  ws.close();
}

const tally: Tally = { chunks: 0, bytes: 0, latencies: [] };
const start = Date.now(), until = start + seconds * 1000;
try {
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i, until, tally)));
} finally {
  child.stdin.close();
  await Promise.race([child.status, new Promise((r) => setTimeout(r, 5_000))]);
  try {
    child.kill();
  } catch { /* gone */ }
}
const secs = (Date.now() - start) / 1000;
const sorted = tally.latencies.sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
console.log(
  `${clients} clients, ${secs.toFixed(1)} s, ${inflight} in flight each${
    values.shared ? ", all on one line (cache hits)" : ", each on its own line (new chunks)"
  }: ${tally.chunks} chunks, ${(tally.chunks / secs).toFixed(0)} chunks/s, ${
    (tally.bytes / secs / 1e6).toFixed(1)
  } MB/s; want→chunk p50 ${pct(0.5).toFixed(0)} ms, p95 ${pct(0.95).toFixed(0)} ms`,
);
