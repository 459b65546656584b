/**
 * Hot site files (`gateway/hot.ts`): a plain GET of a file whose bytes are in memory is answered
 * again from its remembered response, ahead of routing, for at most a second; anything with a
 * Range, a validator or credentials takes the full path; the rate limit still applies; and a
 * republished site is seen once the entry is older than its time to live.
 */
import { createPublicApp } from "../gateway/public.ts";
import type { Site, SiteFile, SiteSource } from "../gateway/site_source.ts";
import { HotResponses, markHot } from "../gateway/hot.ts";
import { assert, assertEquals } from "./_assert.ts";
import { sleep } from "./_harness.ts";

const A = "a".repeat(52);
const enc = new TextEncoder();

/** An in-memory site whose bytes are always "in memory", counting how it is asked. */
function memorySite(pages: Record<string, string>) {
  let version = 1;
  const make = (): Site => ({
    address: A,
    seq: version,
    published: 0,
    files: new Map(
      Object.keys(pages).map((path): [string, SiteFile] => [path, {
        path,
        size: enc.encode(`${pages[path]} v${version}`).length,
        type: "text/html; charset=utf-8",
        modified: 0,
        hash: `h${version}${path.length}`,
      }]),
    ),
  });
  let site = make();
  const calls = { site: 0, open: 0 };
  const source: SiteSource = {
    site: () => {
      calls.site++;
      return Promise.resolve(site);
    },
    open: () => {
      calls.open++;
      throw new Error("hot files are never opened as streams");
    },
    cached: (s, file) => enc.encode(`${pages[file.path]} v${s.seq}`),
  };
  return {
    source,
    calls,
    republish() {
      version++;
      site = make();
    },
  };
}

const get = (app: ReturnType<typeof createPublicApp>, path: string, headers = {}) =>
  app.fetch(new Request(`http://127.0.0.1:8181/s/${A}${path}`, { headers }), {
    remoteAddr: "198.51.100.7",
  });

Deno.test("a hot file's second plain GET is answered from its remembered response", async () => {
  const m = memorySite({ "/index.html": "<h1>hello</h1>" });
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "test", version: "test" }),
    sites: m.source,
  });
  const first = await get(app, "/index.html");
  assertEquals(first.status, 200);
  const body = await first.text();
  assertEquals(m.calls.site, 1);
  const second = await get(app, "/index.html");
  assertEquals(await second.text(), body);
  assertEquals(m.calls.site, 1, "answered without routing or a site lookup");
  assertEquals([...second.headers], [...first.headers], "the same headers, security ones included");
  assertEquals(second.headers.get("x-frame-options"), "DENY");
  assert(second.headers.get("content-security-policy")?.startsWith("sandbox"), "path mode CSP");
  // Another Accept-Encoding is another entry; validators and ranges take the full path.
  await (await get(app, "/index.html", { "accept-encoding": "gzip" })).body?.cancel();
  assertEquals(m.calls.site, 2);
  const etag = second.headers.get("etag")!;
  assertEquals((await get(app, "/index.html", { "if-none-match": etag })).status, 304);
  const part = await get(app, "/index.html", { range: "bytes=0-3" });
  assertEquals(part.status, 206);
  assertEquals(await part.text(), "<h1>");
  assertEquals(m.calls.site, 4);
  assertEquals(m.calls.open, 0);
});

Deno.test("a republished site is seen once the remembered response is a second old", async () => {
  const m = memorySite({ "/index.html": "<h1>hello</h1>" });
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "test", version: "test" }),
    sites: m.source,
  });
  assertEquals(await (await get(app, "/index.html")).text(), "<h1>hello</h1> v1");
  m.republish();
  assertEquals(await (await get(app, "/index.html")).text(), "<h1>hello</h1> v1", "within 1 s");
  await sleep(1_100);
  assertEquals(await (await get(app, "/index.html")).text(), "<h1>hello</h1> v2");
});

Deno.test("the rate limit applies to hot answers too", async () => {
  const m = memorySite({ "/index.html": "<h1>hello</h1>" });
  let allowed = 2;
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "test", version: "test" }),
    sites: m.source,
    admit: () => allowed-- > 0,
  });
  assertEquals((await get(app, "/index.html")).status, 200);
  assertEquals((await get(app, "/index.html")).status, 200);
  const refused = await get(app, "/index.html");
  assertEquals(refused.status, 429);
  assertEquals(refused.headers.get("retry-after"), "1");
});

Deno.test("HotResponses keeps only marked 200s, within its byte budget", () => {
  const hot = new HotResponses({ max: 2, maxBytes: 16 * 64 });
  const req = (path: string, headers: Record<string, string> = {}) =>
    new Request(`http://gw.test${path}`, { headers });
  assertEquals(hot.keyOf(req("/a", { range: "bytes=0-1" })), undefined);
  assertEquals(hot.keyOf(req("/a", { authorization: "Bearer x" })), undefined);
  assertEquals(hot.keyOf(new Request("http://gw.test/a", { method: "HEAD" })), undefined);
  const key = (p: string) => hot.keyOf(req(p))!;
  hot.keep(key("/unmarked"), new Response("x"));
  assertEquals(hot.answer(key("/unmarked")), undefined);
  const bytes = enc.encode("small");
  hot.keep(key("/a"), markHot(new Response(bytes), bytes));
  hot.keep(key("/b"), markHot(new Response(bytes), bytes));
  hot.keep(key("/c"), markHot(new Response(bytes), bytes));
  assertEquals(hot.answer(key("/a")), undefined, "the oldest went when a third came");
  assert(hot.answer(key("/c")), "the newest is there");
  const big = new Uint8Array(65);
  hot.keep(key("/big"), markHot(new Response(big), big));
  assertEquals(hot.answer(key("/big")), undefined, "over a sixteenth of the budget");
});
