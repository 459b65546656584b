/**
 * Quick links' HTTP surface in process (no network): the `/l/` page and its script on a public
 * gateway (headers, the script's name, the redirect that keeps the fragment), the node API's link
 * routes refusing bad input before the backend is called, and the edge's `/shards/` source (seeds
 * tried in turn, a bad copy never served, 503 when busy).
 */
import { Hono } from "hono";
import { errorResponse } from "../gateway/errors.ts";
import { createPublicApp } from "../gateway/mod.ts";
import { createLinkRoutes, type LinkBackend, type LinkRow } from "../gateway/link_api.ts";
import { LINK_PAGE_CSP } from "../gateway/links.ts";
import { HttpShards } from "../gateway/edge_reader.ts";
import { EdgeShardSource } from "../gateway/edge_shards.ts";
import { ShardsBusyError } from "../gateway/shards.ts";
import { memoryCache } from "../gateway/edge_cache.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";

const assets = {
  load: () => Promise.resolve({ js: utf8("console.log('link page')"), hash: "0123456789abcdef" }),
};

Deno.test("the /l/ page is served locked down, with its script under its hash", async () => {
  const app = createPublicApp({
    info: () => ({ id: "test", version: "0" }),
    records: { record: () => Promise.resolve(undefined) },
    linkPage: assets,
  });
  const page = await app.request("/l/");
  assertEquals(page.status, 200);
  assertEquals(page.headers.get("content-security-policy"), LINK_PAGE_CSP);
  assertEquals(page.headers.get("referrer-policy"), "no-referrer");
  assertEquals(page.headers.get("cache-control"), "no-store");
  const html = await page.text();
  assert(html.includes('src="./link-0123456789abcdef.js"'), html);
  assert(!/<script>/.test(html), "no inline script (the CSP forbids it)");
  const js = await app.request("/l/link-0123456789abcdef.js");
  assertEquals(js.status, 200);
  assert(js.headers.get("content-type")!.startsWith("text/javascript"));
  assert(js.headers.get("cache-control")!.includes("immutable"));
  assertEquals(await js.text(), "console.log('link page')");
  assertEquals((await app.request("/l/link-ffffffffffffffff.js")).status, 404);
  const bare = await app.request("/l");
  assertEquals([bare.status, bare.headers.get("location")], [301, "/l/"]);
  const without = createPublicApp({
    info: () => ({ id: "test", version: "0" }),
    records: { record: () => Promise.resolve(undefined) },
  });
  assertEquals((await without.request("/l/")).status, 404);
});

Deno.test("the link routes refuse bad input before asking the node", async (t) => {
  const calls: string[] = [];
  const row: LinkRow = {
    id: "0123456789ab",
    path: "/a",
    created: 1,
    expires: null,
    files: 1,
    bytes: 1,
  };
  const backend: LinkBackend = {
    list: () => Promise.resolve([row]),
    create: (path, expires) => {
      calls.push(`create ${path} ${expires}`);
      return Promise.resolve({ ...row, url: "http://gw/l/#x" });
    },
    remove: (id) => {
      calls.push(`remove ${id}`);
      return Promise.resolve(row);
    },
  };
  // Mounted as the API mounts it: one onError maps errors to statuses.
  const app = new Hono().onError((e, c) => errorResponse(e, c)).route(
    "/",
    createLinkRoutes(backend),
  );
  const post = (body: unknown) =>
    app.request("/api/v1/links", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
  for (
    const [name, body] of [
      ["no path", {}],
      ["an empty path", { path: "" }],
      ["a path that is not text", { path: 5 }],
      ["an expiry under a second", { path: "/a", expires: 10 }],
      ["an expiry that is not a number", { path: "/a", expires: "7d" }],
      ["an expiry past ten years", { path: "/a", expires: 400 * 86_400_000 * 10 }],
    ] as const
  ) {
    await t.step(`${name} is a 400`, async () => assertEquals((await post(body)).status, 400));
  }
  assertEquals((await app.request("/api/v1/links/nothex", { method: "DELETE" })).status, 400);
  assertEquals(calls, []);
  const made = await post({ path: "/a", expires: 3_600_000 });
  assertEquals(made.status, 200);
  assertEquals((await made.json()).url, "http://gw/l/#x");
  await app.request("/api/v1/links/0123456789ab", { method: "DELETE" });
  assertEquals(calls, ["create /a 3600000", "remove 0123456789ab"]);
  assertEquals((await (await app.request("/api/v1/links")).json()).links, [row]);
});

Deno.test("the edge's shard source asks the seeds in turn and never serves a bad copy", async () => {
  const good = randomBytes(5000) as Uint8Array<ArrayBuffer>;
  const id = await shardId(good);
  const owner = toBase32(randomBytes(32));
  const asked: string[] = [];
  const answers: Record<string, () => Response> = {
    "http://bad": () => new Response(good.map((b) => b ^ 1)),
    "http://gone": () => new Response("no", { status: 404 }),
    "http://good": () => new Response(good),
  };
  const doFetch = ((input: string) => {
    const seed = new URL(input).origin;
    asked.push(seed);
    return Promise.resolve(answers[seed]!());
  }) as typeof fetch;
  const shards = new HttpShards({ fetch: doFetch, cache: memoryCache(1 << 20) });
  const source = new EdgeShardSource({ seeds: Object.keys(answers), shards });
  assertEquals(await source.shard(owner, id), good);
  assert(asked.includes("http://good"));
  // Verified and cached: asked again, no seed is.
  asked.length = 0;
  assertEquals(await source.shard(owner, id), good);
  assertEquals(asked, []);
  const none = new EdgeShardSource({
    seeds: ["http://bad", "http://gone"],
    shards: new HttpShards({ fetch: doFetch, cache: memoryCache(1 << 20) }),
  });
  assertEquals(await none.shard(owner, id), undefined);
  // Busy: past its limit a request is refused at once rather than queued.
  let release: (() => void) | undefined;
  const slow = new EdgeShardSource({
    seeds: ["http://slow"],
    maxInFlight: 1,
    shards: new HttpShards({
      fetch: (() =>
        new Promise<Response>((r) => (release = () =>
          r(new Response(good)))
        )) as typeof fetch,
      cache: memoryCache(1 << 20),
    }),
  });
  const first = slow.shard(owner, id);
  await assertRejects(() => slow.shard(owner, id), ShardsBusyError);
  // The held fetch starts once the first request is past its own setup.
  for (let i = 0; i < 100 && !release; i++) await new Promise((r) => setTimeout(r, 10));
  release!();
  assertEquals(await first, good);
});
