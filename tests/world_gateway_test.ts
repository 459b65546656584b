/**
 * Worlds on real nodes: an owner creates a world (record signed, listed on its keep record so its
 * suppliers keep it) and goes offline; another node's public gateway, listening on 127.0.0.1,
 * serves the world's meta, chunks whose bytes are exactly generateChunk + encodeChunk with
 * immutable caching, redirects for a stale or missing edits digest, clear 400s and 404s, and chunks
 * over a real WebSocket, dropping a socket that floods; the edge entry, with that node's gateway
 * as its seed, serves the same meta and chunks.
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { SOCKET_LIMITS } from "../gateway/_world_socket.ts";
import { mountWorlds } from "../gateway/worlds.ts";
import { createEdgeApp } from "../gateway/edge.ts";
import { createPublicApp } from "../gateway/public.ts";
import { RecordWorldSource } from "../gateway/world_source.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord, type SignedRecord } from "../src/records/record.ts";
import { decodeKeepList } from "../src/catalog/records.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { createWorld, listWorlds, WorldExistsError } from "../src/node/world_backend.ts";
import { nodeWorldSource } from "../src/node/world_source.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { decodeChunk, encodeChunk, generateChunk, GENERATOR_ID, NO_EDITS } from "../worlds/mod.ts";
import { encodeWorldRecord, worldAddress } from "../worlds/record.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { startOwner, startSupplier } from "./_storage_net.ts";

const SEED = 20261205;

async function sha256hex(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Opens a WebSocket and collects what arrives until it closes. */
async function openSocket(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const got: (Uint8Array | string)[] = [];
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", r));
  ws.addEventListener("message", (e) => {
    got.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)));
    setTimeout(() => reject(new Error("open timed out")), 30_000);
  });
  return { ws, got, closed };
}

Deno.test("RecordWorldSource keeps a world it saw through failed lookups and never rolls it back", async () => {
  const owner = generateIdentity();
  const address = worldAddress(owner.id, "w");
  const rec = (seq: number, seed: number) =>
    createRecord(owner.signSecret, owner.signPublic, {
      ns: "world",
      name: utf8("w"),
      seq,
      value: encodeWorldRecord({
        v: 1,
        created: 1,
        seed,
        generator: GENERATOR_ID,
        region: 8,
        grants: [],
      }),
    });
  let now = 0, asked = 0;
  let answer: () => Promise<SignedRecord | undefined> = () => Promise.resolve(undefined);
  const source = new RecordWorldSource(() => (asked++, answer()), { now: () => now });
  const seed = async () => (await source.world(address))?.value.seed;
  const settle = () => new Promise((r) => setTimeout(r, 0));
  assertEquals(await seed(), undefined, "nothing yet");
  assertEquals(await source.world("not-an-address"), undefined);
  assertEquals(asked, 1, "a malformed address is never looked up");
  now += 5_000; // past the 5 s a miss is believed
  answer = () => Promise.resolve(rec(2, 7));
  assertEquals(await seed(), 7);
  assertEquals(await seed(), 7);
  assertEquals(asked, 2, "a world is used for 15 s");
  const failures: (() => Promise<SignedRecord | undefined>)[] = [
    () => Promise.reject(new Error("DHT timed out")),
    () => Promise.resolve(undefined),
    () => Promise.resolve(rec(1, 99)),
  ];
  for (const next of failures) {
    now += 15_000;
    answer = next;
    assertEquals(await seed(), 7, "stale: answered at once while it is looked up again");
    await settle();
    assertEquals(await seed(), 7, "a failed, empty or older answer does not replace it");
  }
  now += 15_000;
  answer = () => Promise.resolve(rec(3, 8));
  assertEquals(await seed(), 7);
  await settle();
  assertEquals(await seed(), 8, "a higher sequence replaces it");
});

Deno.test({
  name: "a world socket is sent at most its chunks per second, and then the rest",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const owner = generateIdentity();
    const address = worldAddress(owner.id, "w");
    const record = createRecord(owner.signSecret, owner.signPublic, {
      ns: "world",
      name: utf8("w"),
      seq: 0,
      value: encodeWorldRecord({
        v: 1,
        created: 1,
        seed: 5,
        generator: GENERATOR_ID,
        region: 8,
        grants: [],
      }),
    });
    const app = mountWorlds(new Hono(), {
      worlds: new RecordWorldSource((a) => Promise.resolve(a === address ? record : undefined)),
      upgradeWebSocket,
      socketLimits: { ...SOCKET_LIMITS, maxChunksPerSecond: 20 },
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    try {
      const { ws, got, closed } = await openSocket(
        `ws://127.0.0.1:${server.addr.port}/w/${address}/ws`,
      );
      const started = performance.now();
      ws.send(JSON.stringify({ t: "want", c: Array.from({ length: 64 }, (_, i) => [i, -i]) }));
      await new Promise((r) => setTimeout(r, 1000));
      const elapsed = (performance.now() - started) / 1000;
      // A burst of 20, then 20 a second (a slow box only sends fewer).
      assert(got.length <= 20 + Math.ceil(elapsed * 20) + 1, `${got.length} in ${elapsed} s`);
      assert(got.length >= 1, "the first chunks come at once");
      await waitFor(() => got.length === 64, 15_000, "the rest, at the socket's pace");
      ws.close();
      await closed;
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "a world whose owner went offline is served by another node's gateway over HTTP and WebSocket",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8, { republishInterval: 2_000 });
    const [ownerNode, visitor, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      const { storage, catalog } = await startOwner(ownerNode!, { quota: 64 << 20 });
      const created = await createWorld({
        node: ownerNode!,
        catalog: catalog!,
        init: { name: "meadow", seed: SEED, title: "The <meadow>" },
      });
      const address = worldAddress(ownerNode!.id, "meadow");
      assertEquals(created.address, address);
      assertEquals(created.region, 8, "the default region");
      assertEquals(created.generator, GENERATOR_ID);
      await assertRejects(
        () => createWorld({ node: ownerNode!, catalog: catalog!, init: { name: "meadow" } }),
        WorldExistsError,
        "already have a world named meadow",
      );
      assertEquals((await listWorlds({ node: ownerNode!, catalog: catalog! })).map((w) => w.name), [
        "meadow",
      ]);

      // The keep record lists the world's record, so suppliers keep it alive.
      await catalog!.publishKeepList();
      const keep = await ownerNode!.resolve(recordKeyOf("keep", ownerNode!.id));
      assert(
        decodeKeepList(keep!.record.value).records.includes(
          formatRecordKey(recordKeyOf("world", ownerNode!.id, utf8("meadow"))),
        ),
        "the world record is on the keep record",
      );
      const kept = await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
      assert(kept.some((n) => n > 0), "suppliers took the owner's records");
      await storage.stop();
      await ownerNode!.stop();

      const logs: { msg: string; reason?: string; code?: number }[] = [];
      const app = createPublicApp({
        log: (msg, f) => logs.push({ msg, ...f }),
        records: nodeRecordSource(visitor!),
        info: () => ({ id: visitor!.id, version: "test" }),
        worlds: nodeWorldSource(visitor!),
        upgradeWebSocket,
      });
      server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
      );
      const gw = `http://127.0.0.1:${server.addr.port}`;
      const base = `${gw}/w/${address}`;

      await t.step("meta", async () => {
        const bare = await fetch(base, { redirect: "manual" });
        assertEquals(bare.status, 301);
        assertEquals(bare.headers.get("location"), `/w/${address}/`);
        await bare.body?.cancel();
        const r = await fetch(`${base}/meta`);
        assertEquals(r.status, 200);
        assertEquals(r.headers.get("cache-control"), "public, max-age=15");
        const m = await r.json();
        assertEquals(m, {
          address,
          name: "meadow",
          owner: ownerNode!.id,
          seed: SEED,
          generator: GENERATOR_ID,
          region: 8,
          title: "The <meadow>",
          grants: [],
          seq: created.seq,
          created: created.created,
          e: NO_EDITS,
        });
        const again = await fetch(`${base}/meta`, {
          headers: { "if-none-match": r.headers.get("etag")! },
        });
        assertEquals(again.status, 304);
        await again.body?.cancel();
      });

      await t.step(
        "chunks: the generator's bytes, immutable under the current digest",
        async () => {
          for (const [x, z] of [[0, 0], [-3, 7], [2147483647, -2147483648]] as const) {
            const r = await fetch(`${base}/c/${GENERATOR_ID}/${x}/${z}?e=${NO_EDITS}`);
            assertEquals(r.status, 200);
            const bytes = await r.bytes();
            const expected = encodeChunk(generateChunk({ seed: SEED }, x, z));
            assertEquals(bytes, expected);
            assertEquals(decodeChunk(bytes).x, x);
            assertEquals(r.headers.get("content-type"), "application/octet-stream");
            assertEquals(r.headers.get("cache-control"), "public, max-age=31536000, immutable");
            assertEquals(r.headers.get("etag"), `"${await sha256hex(expected)}"`);
            const cached = await fetch(`${base}/c/${GENERATOR_ID}/${x}/${z}?e=${NO_EDITS}`, {
              headers: { "if-none-match": r.headers.get("etag")! },
            });
            assertEquals(cached.status, 304);
            await cached.body?.cancel();
          }
        },
      );

      await t.step("a missing or stale digest redirects to the current URL", async () => {
        for (const q of ["", `?e=${"0".repeat(64)}`]) {
          const r = await fetch(`${base}/c/${GENERATOR_ID}/5/-6${q}`, { redirect: "manual" });
          assertEquals(r.status, 302);
          assertEquals(
            r.headers.get("location"),
            `/w/${address}/c/${GENERATOR_ID}/5/-6?e=${NO_EDITS}`,
          );
          await r.body?.cancel();
        }
        const followed = await fetch(`${base}/c/${GENERATOR_ID}/5/-6`);
        assertEquals(await followed.bytes(), encodeChunk(generateChunk({ seed: SEED }, 5, -6)));
      });

      await t.step("bad requests are 400, unknown worlds and generators 404", async (t) => {
        const cases: [string, string, number, string][] = [
          ["a malformed address", `${gw}/w/not-an-address/meta`, 400, "not a world address"],
          [
            "a malformed address without a slash",
            `${gw}/w/%2F%2Fevil.example`,
            400,
            "not a world address",
          ],
          ["an unknown world", `${gw}/w/${"a".repeat(52)}/meta`, 404, "No world at"],
          [
            "another owner's world name",
            `${gw}/w/${worldAddress(visitor!.id, "meadow")}/c/${GENERATOR_ID}/0/0`,
            404,
            "No world",
          ],
          [
            "another generator",
            `${base}/c/terrain-v2/0/0?e=${NO_EDITS}`,
            404,
            "generated by terrain-v1",
          ],
          ["a malformed generator", `${base}/c/Terrain_V1/0/0`, 400, "not a generator id"],
          ["x out of i32", `${base}/c/${GENERATOR_ID}/2147483648/0`, 400, "Chunk x"],
          ["z below i32", `${base}/c/${GENERATOR_ID}/0/-2147483649`, 400, "Chunk z"],
          ["a fractional x", `${base}/c/${GENERATOR_ID}/1.5/0`, 400, "Chunk x"],
          ["a leading zero", `${base}/c/${GENERATOR_ID}/07/0`, 400, "Chunk x"],
          ["minus zero", `${base}/c/${GENERATOR_ID}/-0/0`, 400, "Chunk x"],
          ["a malformed digest", `${base}/c/${GENERATOR_ID}/0/0?e=xyz`, 400, "not an edits digest"],
          ["no client page on a gateway without one", `${base}/`, 404, "not its client page"],
          ["a socket without Upgrade", `${base}/ws`, 426, "WebSocket"],
        ];
        for (const [what, url, status, message] of cases) {
          await t.step(what, async () => {
            const r = await fetch(url, { redirect: "manual" });
            const body = await r.json() as { error: string };
            assertEquals(r.status, status, body.error);
            assert(body.error.includes(message), `${body.error} mentions "${message}"`);
          });
        }
      });

      await t.step("a WebSocket streams wanted chunks, honours cancel, and reports", async () => {
        const { ws, got, closed } = await openSocket(
          `ws://127.0.0.1:${server!.addr.port}/w/${address}/ws`,
        );
        const wanted: [number, number][] = [];
        for (let i = 0; i < 20; i++) wanted.push([i - 10, 3 * i]);
        ws.send(JSON.stringify({ t: "want", c: wanted }));
        await waitFor(() => got.length >= 20, 15_000, "20 chunks over the socket");
        const seen = new Map<string, Uint8Array>();
        for (const m of got) {
          assert(m instanceof Uint8Array, "binary chunks");
          const c = decodeChunk(m);
          seen.set(`${c.x},${c.z}`, m);
        }
        for (const [x, z] of wanted) {
          assertEquals(seen.get(`${x},${z}`), encodeChunk(generateChunk({ seed: SEED }, x, z)));
        }
        // A cancel right after a want: chunks cancelled before their turn never come.
        got.length = 0;
        const row = Array.from({ length: 64 }, (_, i) => [100 + i, 100]);
        ws.send(JSON.stringify({ t: "want", c: row }));
        ws.send(JSON.stringify({ t: "cancel", c: row.slice(16) }));
        ws.send(JSON.stringify({ t: "want", c: [[500, 500]] }));
        await waitFor(
          () => got.some((m) => decodeChunk(m as Uint8Array).x === 500),
          10_000,
          "the chunk wanted after the cancel",
        );
        await new Promise((r) => setTimeout(r, 300));
        assert(got.length < 60, `cancelled chunks were not sent (${got.length} arrived)`);
        ws.close();
        await closed;
      });

      await t.step("a socket that floods is dropped", async (t) => {
        const url = `ws://127.0.0.1:${server!.addr.port}/w/${address}/ws`;
        const floods: [string, (ws: WebSocket) => void, number, string][] = [
          [
            "over 64 chunks in one message",
            (ws) => {
              ws.send(
                JSON.stringify({ t: "want", c: Array.from({ length: 65 }, (_, i) => [i, 0]) }),
              );
            },
            1008,
            "at most 64",
          ],
          [
            "over 256 chunks waiting",
            (ws) => {
              for (let m = 0; m < 6; m++) {
                ws.send(JSON.stringify({
                  t: "want",
                  c: Array.from({ length: 64 }, (_, i) => [1000 + m * 64 + i, 9]),
                }));
              }
            },
            1008,
            "Over 256 chunks waiting",
          ],
          [
            "over 50 messages a second",
            (ws) => {
              for (let m = 0; m < 60; m++) ws.send(JSON.stringify({ t: "cancel", c: [] }));
            },
            1008,
            "messages a second",
          ],
          ["malformed JSON", (ws) => ws.send("{nope"), 1007, "Not JSON"],
          [
            "a coordinate outside i32",
            (ws) => {
              ws.send(JSON.stringify({ t: "want", c: [[2 ** 31, 0]] }));
            },
            1007,
            "signed 32-bit",
          ],
          ["binary messages", (ws) => ws.send(new Uint8Array(4)), 1003, "JSON text"],
        ];
        for (const [what, flood, code, reason] of floods) {
          await t.step(what, async () => {
            const { ws, closed } = await openSocket(url);
            flood(ws);
            const ev = await Promise.race([
              closed,
              new Promise<never>((_, rej) =>
                setTimeout(() => rej(new Error("not dropped")), 10_000)
              ),
            ]);
            // Frames still in flight after the close frame can make the close unclean.
            if (ev.wasClean) {
              assertEquals(ev.code, code);
              assert(ev.reason.includes(reason), `${ev.reason} mentions "${reason}"`);
            }
            const drop = logs.find((l) => l.msg === "dropped a world socket");
            assert(drop, "the gateway logged the drop");
            assertEquals(drop.code, code);
            assert(drop.reason!.includes(reason), `${drop.reason} mentions "${reason}"`);
            logs.length = 0;
          });
        }
        // The gateway still serves after all that.
        const r = await fetch(`${base}/meta`);
        assertEquals(r.status, 200);
        await r.body?.cancel();
      });

      await t.step("the edge serves meta and chunks from its seed, not the page", async () => {
        const edge = createEdgeApp({ seeds: [gw] });
        const meta = await edge.request(`/w/${address}/meta`);
        assertEquals(meta.status, 200);
        const m = await meta.json();
        assertEquals([m.owner, m.seed, m.seq], [ownerNode!.id, SEED, created.seq]);
        const chunk = await edge.request(`/w/${address}/c/${GENERATOR_ID}/8/-8?e=${NO_EDITS}`);
        assertEquals(chunk.status, 200);
        assertEquals(chunk.headers.get("cache-control"), "public, max-age=31536000, immutable");
        assertEquals(await chunk.bytes(), encodeChunk(generateChunk({ seed: SEED }, 8, -8)));
        const stale = await edge.request(`/w/${address}/c/${GENERATOR_ID}/8/-8`);
        assertEquals(stale.status, 302);
        const page = await edge.request(`/w/${address}/`);
        assertEquals(page.status, 404);
        assert((await page.json()).error.includes("not its client page"));
        const ws = await edge.request(`/w/${address}/ws`, { headers: { upgrade: "websocket" } });
        assertEquals(ws.status, 501, "no socket without the runtime's upgrade");
        await ws.body?.cancel();
        const unknown = await edge.request(`/w/${"a".repeat(52)}/meta`);
        assertEquals(unknown.status, 404);
        await unknown.body?.cancel();
      });
    } finally {
      await server?.shutdown();
      for (const s of suppliers) s.stop();
    }
  },
});
