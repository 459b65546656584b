/**
 * The edge entry's world socket: `gateway/edge.ts`'s default export under `deno serve`
 * (`Deno.upgradeWebSocket`) and bundled under workerd (`WebSocketPair`), seeded with a node-style
 * public gateway that holds a world record. Over the socket each wanted chunk comes back as the
 * generator's bytes; the edge says no hello (no presence there) and takes a position message
 * without complaint.
 */
import { createPublicApp } from "../gateway/public.ts";
import { runtimeUpgradeWebSocket } from "../gateway/edge_socket.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord, encodeRecord } from "../src/records/record.ts";
import { encodeChunk } from "../worlds/codec.ts";
import { generateChunk, GENERATOR_ID } from "../worlds/generate.ts";
import { encodeWorldRecord, worldAddress } from "../worlds/record.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { denoServe, startWorkerd } from "./_servers.ts";

const ENTRY = new URL("../gateway/edge.ts", import.meta.url).pathname;
const SEED = 8080;

/** A seed gateway serving one world record at `/records/world/<address>`. */
function seedGateway() {
  const owner = generateIdentity();
  const address = worldAddress(owner.id, "edge");
  const record = createRecord(owner.signSecret, owner.signPublic, {
    ns: "world",
    name: utf8("edge"),
    seq: 0,
    value: encodeWorldRecord({
      v: 1,
      created: 1,
      seed: SEED,
      generator: GENERATOR_ID,
      region: 8,
      grants: [],
    }),
  });
  const app = createPublicApp({
    records: {
      record: (ns, hash) =>
        Promise.resolve(
          ns === "world" && hash === address ? { bytes: encodeRecord(record), seq: 0 } : undefined,
        ),
    },
    info: () => ({ id: "seed", version: "test" }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { address, url: `http://127.0.0.1:${server.addr.port}`, server };
}

/** Asks `base`'s world socket for two chunks and checks them against the generator. */
async function chunksOverSocket(base: string, address: string, output: () => string) {
  const ws = new WebSocket(`${base.replace("http", "ws")}/w/${address}/ws`);
  ws.binaryType = "arraybuffer";
  const got: Uint8Array[] = [], texts: string[] = [];
  ws.onmessage = (e) =>
    typeof e.data === "string" ? texts.push(e.data) : got.push(new Uint8Array(e.data));
  const closed = new Promise((r) => (ws.onclose = r));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`No socket at ${base}: ${output()}`));
  });
  ws.send(JSON.stringify({ t: "pos", p: [16, 80, 16], h: 0 }));
  ws.send(JSON.stringify({ t: "want", c: [[0, 0], [-3, 7]] }));
  await waitFor(() => got.length === 2, 20_000, `two chunks from ${base}`);
  assertEquals(got[0], encodeChunk(generateChunk({ seed: SEED }, 0, 0)));
  assertEquals(got[1], encodeChunk(generateChunk({ seed: SEED }, -3, 7)));
  assertEquals(texts, [], "no hello: the edge has no presence");
  ws.close();
  await Promise.race([
    closed,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`${base} never finished closing`)), 10_000)
    ),
  ]);
}

Deno.test("runtimeUpgradeWebSocket() picks the runtime's upgrade, or none", () => {
  assert(runtimeUpgradeWebSocket() !== undefined, "Deno has Deno.upgradeWebSocket");
  assertEquals(runtimeUpgradeWebSocket({}), undefined);
  assert(runtimeUpgradeWebSocket({ WebSocketPair: class {} as never }) !== undefined);
});

Deno.test({
  name: "the edge entry serves world chunks over a WebSocket under deno serve and workerd",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const seed = seedGateway();
    try {
      await t.step("under deno serve", async () => {
        await using gw = await denoServe(ENTRY, { MOTE_SEEDS: seed.url });
        await chunksOverSocket(gw.url, seed.address, () => JSON.stringify(gw.output()));
      });
      await t.step("under workerd", async () => {
        const dir = await Deno.makeTempDir();
        try {
          const bundle = `${dir}/edge.js`;
          const built = await new Deno.Command(Deno.execPath(), {
            args: ["bundle", "--platform", "browser", "-o", bundle, ENTRY],
            stdout: "piped",
            stderr: "piped",
            env: { NO_COLOR: "1" },
          }).output();
          assertEquals(built.code, 0, new TextDecoder().decode(built.stderr).slice(-2000));
          await using w = await startWorkerd(bundle, { MOTE_SEEDS: seed.url });
          await chunksOverSocket(w.url, seed.address, () => JSON.stringify(w.output()));
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    } finally {
      await seed.server.shutdown();
    }
  },
});
