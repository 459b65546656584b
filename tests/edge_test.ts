/**
 * The edge gateway on real nodes: an owner with 6 suppliers publishes a site and switches off;
 * the other nodes serve their public gateways over real HTTP (records, sites, shards); the edge
 * app (`gateway/edge.ts`, no libp2p) reads the site through those gateways by HTTP alone: pages,
 * a multi-block file, ranges, a 404, a shard lost everywhere (rebuilt from parity), a seed that
 * corrupts shards (never served, another seed used), a seed that serves an older record (never
 * preferred, never rolled back to), a separate process where compiling WebAssembly is refused,
 * as on Cloudflare Workers (the TypeScript erasure kernel decodes). And deployed: the default
 * export under `deno serve`; two gateways sharing a real `redis-server` as their second-level
 * cache (`gateway/edge_redis.ts`), one of them a `deno serve` process with no live seed; and the
 * bundle (`deno bundle --platform browser`) under `workerd`, the Workers runtime from npm.
 */
import edgeEntry, { createEdgeApp, type EdgeAppOptions, parseSeeds } from "../gateway/edge.ts";
import { redisCache } from "../gateway/edge_redis.ts";
import { createPublicApp } from "../gateway/mod.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { toHex, utf8 } from "../src/encoding/bytes.ts";
import { decodeManifest } from "../src/files/manifest.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { NodeShardSource } from "../src/node/shard_source.ts";
import { decodeRecord } from "../src/records/record.ts";
import { NodeSiteSource, publishSite } from "../src/sites/mod.ts";
import { SITE_NAMESPACE } from "../src/sites/record.ts";
import { namespaces } from "../src/records/namespace.ts";
import type { Supplier } from "../src/suppliers/mod.ts";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { denoServe, freePort, redisCommand, startRedis, startWorkerd } from "./_servers.ts";
import { chunks, startOwner, startSupplier } from "./_storage_net.ts";

const html = (title: string) => utf8(`<!doctype html><title>${title}</title><h1>${title}</h1>`);

type Handler = (req: Request) => Response | Promise<Response>;

/** A node's public gateway as `mote start` builds it, as a handler. */
function gatewayOf(node: MoteNode, supplier: Supplier | null): Handler {
  const app = createPublicApp({
    info: () => ({ id: node.id, version: "test" }),
    records: nodeRecordSource(node),
    sites: new NodeSiteSource(node),
    shards: new NodeShardSource(node, { supplier }),
  });
  return (req) => app.fetch(req);
}

const ENTRY = new URL("../gateway/edge.ts", import.meta.url).pathname;
const REDIS_ENTRY = new URL("../gateway/edge_redis.ts", import.meta.url).pathname;

/** Serves `handler` on 127.0.0.1, on a port the system picks. */
function serve(handler: Handler) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

Deno.test({
  name: "the edge gateway serves a site over HTTP alone, through node gateways",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8, { republishInterval: 2_000 });
    const [ownerNode, visitor, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const servers: Deno.HttpServer[] = [];
    try {
      const { storage, catalog } = await startOwner(ownerNode!, { blockSize: 64 * 1024 });
      const c = catalog!;
      const css = utf8("body{color:#333}".repeat(200)); // 3.2 KB: packed
      await c.putBatch("/.sites/blog", [
        { name: "index.html", bytes: html("v1") },
        { name: "style.css", bytes: css },
      ]);
      const photo = randomBytes(300_000); // 5 blocks of 64 KiB
      await c.put("/.sites/blog/img/photo.jpg", chunks(photo), photo.length);
      const first = await publishSite({ node: ownerNode!, catalog: c, name: "blog" });
      const address = first.address;
      const v1 = await ownerNode!.resolve({ ns: "site", hash: address });
      assert(v1, "the first record");
      await c.putBatch("/.sites/blog", [{ name: "index.html", bytes: html("v2") }]);
      const second = await publishSite({ node: ownerNode!, catalog: c, name: "blog" });
      assert(second.seq > first.seq);
      const photoVersions = await c.versions("/.sites/blog/img/photo.jpg");
      const photoManifest = decodeManifest(photoVersions.at(-1)!.manifest!);
      await c.publishKeepList();
      await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
      await storage.stop();
      await ownerNode!.stop();

      // Every other node serves its public gateway, as `mote start` does.
      const good = [
        serve(gatewayOf(visitor!, null)),
        ...suppliers.map((s) => serve(gatewayOf(s.node, s))),
      ];
      servers.push(...good.map((g) => g.server));
      const seeds = good.map((g) => g.url);
      // Records spread by DHT puts and republishing: on a loaded machine a node may still hold
      // the first version for a moment. Start once every seed answers the second.
      let answers: (string | null)[] = [];
      await waitFor(
        async () => {
          answers = await Promise.all(seeds.map(async (seed) => {
            const res = await fetch(`${seed}/records/site/${address}`);
            await res.body?.cancel();
            return res.headers.get("etag");
          }));
          return answers.every((a) => a === `"${second.seq}"`);
        },
        60_000,
        "every seed to answer the newest site record",
        500,
      ).catch((e) => {
        throw new Error(
          `${e.message}: seeds answered ${answers.join(", ")} (want "${second.seq}")`,
        );
      });

      const get = async (
        app: ReturnType<typeof createEdgeApp>,
        path: string,
        headers: Record<string, string> = {},
      ) => {
        const res = await app.fetch(new Request(`http://edge.test${path}`, { headers }));
        return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
      };
      const edge = createEdgeApp({ seeds });

      await t.step("pages, packed and multi-block files, by path and by subdomain", async () => {
        const index = await get(edge, `/s/${address}/`);
        assertEquals(index.res.status, 200);
        assertEquals(index.bytes, html("v2"));
        assertEquals(index.res.headers.get("content-type"), "text/html; charset=utf-8");
        const style = await get(edge, `/s/${address}/style.css`);
        assertEquals(style.res.status, 200);
        assertEquals(style.bytes, css);
        const big = await get(edge, `/s/${address}/img/photo.jpg`);
        assertEquals(big.res.status, 200);
        assertEquals(big.res.headers.get("content-length"), String(photo.length));
        assertEquals(big.bytes, photo);
        const sub = await edge.fetch(new Request(`http://${address}.edge.test/index.html`));
        assertEquals(sub.status, 200);
        assertEquals(new Uint8Array(await sub.arrayBuffer()), html("v2"));
      });

      await t.step("stored brotli and gzip copies, chosen by Accept-Encoding", async () => {
        const br = await get(edge, `/s/${address}/style.css`, { "accept-encoding": "br, gzip" });
        assertEquals(br.res.status, 200);
        assertEquals(br.res.headers.get("content-encoding"), "br");
        assertEquals(new Uint8Array(brotliDecompressSync(br.bytes)), css);
        const gz = await get(edge, `/s/${address}/style.css`, { "accept-encoding": "gzip" });
        assertEquals(gz.res.headers.get("content-encoding"), "gzip");
        assertEquals(new Uint8Array(gunzipSync(gz.bytes)), css);
      });

      await t.step("a range across blocks, and a suffix range", async () => {
        const r = await get(edge, `/s/${address}/img/photo.jpg`, { range: "bytes=70000-199999" });
        assertEquals(r.res.status, 206);
        assertEquals(r.res.headers.get("content-range"), `bytes 70000-199999/${photo.length}`);
        assertEquals(r.bytes, photo.subarray(70_000, 200_000));
        const tail = await get(edge, `/s/${address}/img/photo.jpg`, { range: "bytes=-1000" });
        assertEquals(tail.res.status, 206);
        assertEquals(tail.bytes, photo.subarray(photo.length - 1000));
      });

      await t.step(
        "unknown sites and paths: 404; the signed record as the nodes serve it",
        async () => {
          const none = await get(edge, `/s/${"a".repeat(52)}/`);
          assertEquals(none.res.status, 404);
          const missing = await get(edge, `/s/${address}/nope.html`);
          assertEquals(missing.res.status, 404);
          const rec = await get(edge, `/records/site/${address}`);
          assertEquals(rec.res.status, 200);
          assertEquals(rec.res.headers.get("etag"), `"${second.seq}"`);
          const r = decodeRecord(rec.bytes, { namespaces: namespaces(SITE_NAMESPACE) });
          assertEquals(r.seq, second.seq);
        },
      );

      await t.step("verified shards are cached: a second read fetches nothing", async () => {
        const before = edge.shards.fetched;
        assert(before > 0, "shards were fetched over HTTP");
        const again = await get(edge, `/s/${address}/img/photo.jpg`);
        assertEquals(again.bytes, photo);
        assertEquals(edge.shards.fetched, before);
      });

      await t.step("a shard lost everywhere is rebuilt from parity", async () => {
        const lost = photoManifest.blocks[2]!.shards[0]!;
        let deleted = 0;
        for (const s of suppliers) if (await s.store.delete(ownerNode!.id, lost)) deleted++;
        assertEquals(deleted, 1, "the one supplier holding it deleted it");
        const fresh = createEdgeApp({ seeds });
        const r = await get(fresh, `/s/${address}/img/photo.jpg`, {
          range: "bytes=131072-196607",
        });
        assertEquals(r.res.status, 206);
        assertEquals(r.bytes, photo.subarray(131_072, 196_608));
      });

      await t.step("a seed serving corrupted shards is passed over, never served", async () => {
        let corrupted = 0;
        const inner = gatewayOf(suppliers[0]!.node, suppliers[0]!);
        const tampered = serve(async (req) => {
          const res = await inner(req);
          if (!new URL(req.url).pathname.startsWith("/shards/") || res.status !== 200) return res;
          const bytes = new Uint8Array(await res.arrayBuffer());
          bytes[bytes.length >> 1]! ^= 0x40;
          corrupted++;
          return new Response(bytes, { headers: res.headers });
        });
        servers.push(tampered.server);
        const rejected: string[] = [];
        const log: EdgeAppOptions["log"] = (msg) => rejected.push(msg);
        for (let i = 0; i < 12 && corrupted === 0; i++) {
          const app = createEdgeApp({ seeds: [tampered.url, seeds[1]!], log });
          const page = await get(app, `/s/${address}/`);
          assertEquals(page.bytes, html("v2"));
          const big = await get(app, `/s/${address}/img/photo.jpg`);
          assertEquals(big.res.status, 200);
          assertEquals(big.bytes, photo);
        }
        assert(corrupted > 0, "the tampered seed was asked");
        assert(
          rejected.includes("a seed served a shard that does not match its id"),
          "its shards were refused",
        );
      });

      await t.step(
        "a seed serving an older record is not preferred, nor rolled back to",
        async () => {
          let stale = true;
          const inner = gatewayOf(visitor!, null);
          const oldRecord = serve(async (req) => {
            if (stale && new URL(req.url).pathname === `/records/site/${address}`) {
              return new Response(v1.bytes as Uint8Array<ArrayBuffer>, {
                headers: { "content-type": "application/cbor", etag: `"${v1.record.seq}"` },
              });
            }
            return await inner(req);
          });
          servers.push(oldRecord.server);
          // Both seeds answer (the first two answers are compared): the newer one wins every time.
          for (let i = 0; i < 4; i++) {
            const app = createEdgeApp({ seeds: [oldRecord.url, seeds[2]!], recordTtl: 0 });
            assertEquals((await get(app, `/s/${address}/`)).bytes, html("v2"));
          }
          // An edge that saw the newer record keeps it when its only seed turns stale.
          stale = false;
          const app = createEdgeApp({ seeds: [oldRecord.url], recordTtl: 0 });
          assertEquals((await get(app, `/s/${address}/`)).bytes, html("v2"));
          stale = true;
          assertEquals((await get(app, `/s/${address}/`)).bytes, html("v2"));
          const rec = await get(app, `/records/site/${address}`);
          assertEquals(rec.res.headers.get("etag"), `"${second.seq}"`);
        },
      );

      await t.step("the default export, as Workers call it (MOTE_SEEDS in env)", async () => {
        const env = { MOTE_SEEDS: seeds.slice(0, 3).join(",") };
        const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
        const res = await edgeEntry.fetch(new Request(`http://edge.test/s/${address}/`), env, ctx);
        assertEquals(res.status, 200);
        assertEquals(new Uint8Array(await res.arrayBuffer()), html("v2"));
        const none = await edgeEntry.fetch(new Request(`http://edge.test/s/${address}/`), {});
        assertEquals(none.status, 500, "no seeds configured");
        assert((await none.json()).error.includes("MOTE_SEEDS"));
      });

      await t.step(
        "the default export under deno serve (MOTE_SEEDS in the environment)",
        async () => {
          await using gw = await denoServe(ENTRY, { MOTE_SEEDS: seeds.join(",") });
          const res = await fetch(`${gw.url}/s/${address}/img/photo.jpg`, {
            headers: { range: "bytes=1000-1999" },
          });
          assertEquals(res.status, 206);
          assertEquals(new Uint8Array(await res.arrayBuffer()), photo.subarray(1000, 2000));
          const info = await fetch(`${gw.url}/`);
          assert((await info.text()).includes("Mote gateway"));
        },
      );

      await t.step(
        "two gateways share a Redis cache: what one fetched, the other serves from it",
        async () => {
          await using redis = await startRedis();
          const shared = redisCache(redis.url);
          try {
            const a = createEdgeApp({ seeds, sharedCache: shared });
            const first = await get(a, `/s/${address}/img/photo.jpg`);
            assertEquals(first.bytes, photo);
            assert(a.shards.fetched > 0, "the first gateway fetched shards from the seeds");
            // A second instance with the same seeds fetches nothing: every shard is in Redis.
            const b = createEdgeApp({ seeds, sharedCache: shared });
            assertEquals((await get(b, `/s/${address}/img/photo.jpg`)).bytes, photo);
            assertEquals(b.shards.fetched, 0, "nothing fetched from the seeds");
            assert(b.shards.sharedHits > 0, "shards came from the shared cache");
            // The deployable entry in its own process, its only seed dead: what it serves can
            // only come from Redis; once Redis is emptied, what it has not read it cannot serve.
            await using c = await denoServe(REDIS_ENTRY, {
              MOTE_SEEDS: `http://127.0.0.1:${freePort()}`,
              MOTE_REDIS_URL: redis.url,
            });
            const within = { signal: AbortSignal.timeout(30_000) };
            const res = await fetch(`${c.url}/s/${address}/img/photo.jpg`, within).catch((e) => {
              throw new Error(`${e}: ${c.output()}`);
            });
            assertEquals(res.status, 200, c.output());
            assertEquals(new Uint8Array(await res.arrayBuffer()), photo);
            assertEquals(await redisCommand(redis.url, "FLUSHALL"), "+OK");
            // (identity: its brotli and gzip copies are small enough to sit in the site's index)
            const gone = await fetch(`${c.url}/s/${address}/style.css`, {
              ...within,
              headers: { "accept-encoding": "identity" },
            });
            await gone.body?.cancel();
            assert(gone.status >= 500, `style.css is in no cache and no seed: ${gone.status}`);
          } finally {
            await shared.dispose();
          }
        },
      );

      await t.step(
        "under workerd (the Workers runtime), the bundle serves the site and decodes parity",
        async () => {
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
            await using w = await startWorkerd(bundle, { MOTE_SEEDS: seeds.join(",") });
            const page = await fetch(`${w.url}/s/${address}/`);
            assertEquals(page.status, 200, w.output());
            assertEquals(new Uint8Array(await page.arrayBuffer()), html("v2"));
            // Block 2 lost its data shard 0 above: parity and the TypeScript kernel rebuild it
            // (workerd refuses to compile WebAssembly at run time).
            const big = await fetch(`${w.url}/s/${address}/img/photo.jpg`);
            assertEquals(big.status, 200, w.output());
            assertEquals(new Uint8Array(await big.arrayBuffer()), photo);
            const part = await fetch(`${w.url}/s/${address}/img/photo.jpg`, {
              headers: { range: "bytes=131000-140000" },
            });
            assertEquals(part.status, 206);
            assertEquals(
              new Uint8Array(await part.arrayBuffer()),
              photo.subarray(131_000, 140_001),
            );
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );

      await t.step(
        "where WebAssembly may not be compiled, the TypeScript kernel decodes",
        async () => {
          // A separate process, network access only, compiling WebAssembly refused as on Workers;
          // block 2 lost its data shard 0 above, so this read needs the erasure decoder.
          const script = await Deno.makeTempFile({ suffix: ".ts" });
          const root = new URL("../", import.meta.url);
          await Deno.writeTextFile(
            script,
            `
import { createEdgeApp } from "${new URL("gateway/edge.ts", root)}";
import { kernelSupport } from "${new URL("src/erasure/mod.ts", root)}";
import { createCodec } from "${new URL("src/erasure/codec.ts", root)}";
Object.defineProperty(WebAssembly, "Module", {
  configurable: true,
  value: function () {
    throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
  },
});
const app = createEdgeApp({ seeds: ${JSON.stringify(seeds)} });
const res = await app.fetch(new Request("http://edge.test/s/${address}/img/photo.jpg"));
const bytes = new Uint8Array(await res.arrayBuffer());
const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
console.log(JSON.stringify({
  status: res.status,
  sha256: Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""),
  kernel: createCodec({ k: 4, m: 2 }).kernel,
  wasm: kernelSupport().filter((k) => k.available).map((k) => k.name),
}));
`,
          );
          try {
            const out = await new Deno.Command(Deno.execPath(), {
              args: [
                "run",
                "--no-prompt",
                "--allow-net=127.0.0.1",
                "--config",
                new URL("deno.json", root).pathname,
                script,
              ],
              stdout: "piped",
              stderr: "piped",
              env: { NO_COLOR: "1" },
            }).output();
            const err = new TextDecoder().decode(out.stderr);
            assertEquals(out.code, 0, err.slice(-2000));
            const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
            assertEquals(r.status, 200);
            assertEquals(r.sha256, toHex(await sha256(photo)));
            assertEquals(r.kernel, "ts");
            assertEquals(r.wasm, ["ts"]);
          } finally {
            await Deno.remove(script);
          }
        },
      );
    } finally {
      for (const s of servers) await s.shutdown();
      for (const s of suppliers) s.stop();
    }
  },
});

Deno.test("edge seeds must be http(s) base URLs", () => {
  assertEquals(parseSeeds(" http://a.test/ ,https://b.test/gw/,http://a.test"), [
    "http://a.test",
    "https://b.test/gw",
  ]);
  assertThrows(() => parseSeeds(""), RangeError);
  assertThrows(() => parseSeeds(["ftp://a.test"]), TypeError);
  assertThrows(() => parseSeeds(["http://u:p@a.test"]), TypeError);
  assertThrows(() => parseSeeds(["not a url"]), TypeError);
});
