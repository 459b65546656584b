/**
 * Hosted sites on the public gateway (`gateway/sites.ts`) over an in-memory `SiteSource`, through
 * `app.request()` with real Host headers (subdomain and path mode), plus one loopback server for
 * what only a real connection shows (request lines no URL parser has touched, a client hanging up).
 */
import { createPublicApp, type PublicAppOptions } from "../gateway/public.ts";
import type { Site, SiteFile, SiteSource } from "../gateway/site_source.ts";
import {
  chooseEncoding,
  MAX_REDIRECT_RULES,
  MAX_REDIRECTS_BYTES,
  parseByteRange,
  parseRedirects,
  PATH_MODE_CSP,
} from "../gateway/sites.ts";
import { assert, assertEquals } from "./_assert.ts";

const A = "a".repeat(52); // the main test site
const B = "b".repeat(52); // a bare site: an index only, no 404 page, no _redirects
const NONE = "c".repeat(52); // no site here
const SITE_HOST = `${A}.localhost:8181`;
const GW = "127.0.0.1:8181";
const MODIFIED = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 2, 3, 4, 5)).toUTCString();
const enc = new TextEncoder(), dec = new TextDecoder();

async function sha256hex(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function gunzip(b: Uint8Array): Promise<string> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return await new Response(s).text();
}

interface Spec {
  body: string | Uint8Array;
  type?: string;
  gzip?: boolean;
  /** Bytes labelled "br". Not real brotli (nothing here makes it): the tests only check which
   * stored copy the gateway chose, by its bytes. */
  br?: Uint8Array;
  /** A file with this declared size whose stream never ends (until cancelled). */
  endless?: number;
}

interface Opened {
  path: string;
  range?: { start: number; end: number };
  encoding?: "br" | "gzip";
  signal?: AbortSignal;
  cancelled: boolean;
}

/** Sites in memory: files as bytes, stored compressed copies beside them. Records every open. */
class MemorySiteSource implements SiteSource {
  readonly sites = new Map<string, Site>();
  readonly bytes = new Map<string, { plain: Uint8Array; gzip?: Uint8Array; br?: Uint8Array }>();
  readonly endless = new Set<string>();
  readonly opens: Opened[] = [];
  failSite = false;

  async add(address: string, seq: number, files: Record<string, Spec>, redirects?: string) {
    const map = new Map<string, SiteFile>();
    for (const [path, spec] of Object.entries(files)) {
      const plain = typeof spec.body === "string" ? enc.encode(spec.body) : spec.body;
      const copies: { plain: Uint8Array; gzip?: Uint8Array; br?: Uint8Array } = { plain };
      const encodings: Partial<Record<"br" | "gzip", number>> = {};
      if (spec.gzip) encodings.gzip = (copies.gzip = await gzip(plain)).length;
      if (spec.br) encodings.br = (copies.br = spec.br).length;
      this.bytes.set(`${address}${path}`, copies);
      if (spec.endless) this.endless.add(`${address}${path}`);
      map.set(path, {
        path,
        size: spec.endless ?? plain.length,
        type: spec.type ?? "text/html; charset=utf-8",
        modified: MODIFIED,
        hash: await sha256hex(plain),
        ...(Object.keys(encodings).length ? { encodings } : {}),
      });
    }
    this.sites.set(address, { address, seq, published: MODIFIED, files: map, redirects });
  }

  site(address: string): Promise<Site | undefined> {
    if (this.failSite) return Promise.reject(new Error("disk on fire at /secret/path"));
    return Promise.resolve(this.sites.get(address));
  }

  open(
    site: Site,
    file: SiteFile,
    opts: {
      range?: { start: number; end: number };
      encoding?: "br" | "gzip";
      signal?: AbortSignal;
    } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const rec: Opened = {
      path: file.path,
      range: opts.range,
      encoding: opts.encoding,
      signal: opts.signal,
      cancelled: false,
    };
    this.opens.push(rec);
    const key = `${site.address}${file.path}`;
    if (this.endless.has(key)) {
      return Promise.resolve(
        new ReadableStream<Uint8Array>({
          async pull(ctl) {
            await new Promise((r) => setTimeout(r, 1));
            ctl.enqueue(new Uint8Array(16 * 1024));
          },
          cancel() {
            rec.cancelled = true;
          },
        }, { highWaterMark: 0 }),
      );
    }
    const copies = this.bytes.get(key)!;
    let data = opts.encoding ? copies[opts.encoding]! : copies.plain;
    if (opts.range) data = data.slice(opts.range.start, opts.range.end);
    let at = 0;
    return Promise.resolve(
      new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (at >= data.length) return ctl.close();
          ctl.enqueue(data.slice(at, at + 7)); // small chunks, so the stream is a real stream
          at += 7;
        },
        cancel() {
          rec.cancelled = true;
        },
      }),
    );
  }
}

const DATA = new Uint8Array(100).map((_, i) => i);
const APP_JS = "console.log('hello, site');\n".repeat(50);
const FAKE_BR = enc.encode("these bytes stand for a br copy");

const REDIRECTS = `# redirects of site A

/old /new.html
/temp /new.html 302
/see /new.html 303
/tmp7 /new.html 307
/perm8 /new.html 308
/app/* /app/index.html 200
/blog/* /posts/:splat 301
/news/:year/:slug /articles/:year-:slug.html
/go/:id /item.html 200
/ext https://example.org/x 302
/data.bin /new.html 302
/this line has too many tokens
/weird /x 299
/twice /first.html 302
/twice /second.html 302
`;

async function setup(extra: Partial<PublicAppOptions> = {}) {
  const source = new MemorySiteSource();
  await source.add(A, 1, {
    "/index.html": { body: "<h1>home</h1>" },
    "/docs/index.html": { body: "<h1>docs</h1>" },
    "/both": { body: "a file named like a directory", type: "text/plain; charset=utf-8" },
    "/both/index.html": { body: "the directory" },
    "/404.html": { body: "<h1>lost</h1>", gzip: true },
    "/app.js": { body: APP_JS, type: "text/javascript; charset=utf-8", gzip: true, br: FAKE_BR },
    "/only-gzip.css": { body: "b{}".repeat(100), type: "text/css", gzip: true },
    "/data.bin": { body: DATA, type: "application/octet-stream" },
    "/new.html": { body: "new" },
    "/app/index.html": { body: "spa shell" },
    "/item.html": { body: "item" },
    "/café.txt": { body: "accents", type: "text/plain; charset=utf-8" },
    "/endless.bin": { body: "", type: "application/octet-stream", endless: 1e9 },
  }, REDIRECTS);
  await source.add(B, 7, { "/index.html": { body: "bare" } });
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "gw", version: "test" }),
    sites: source,
    log: (msg, fields) => logs.push({ msg, fields }),
    ...extra,
  });
  const req = (
    host: string,
    path: string,
    headers: Record<string, string> = {},
    method = "GET",
  ) => app.request(`http://${host}${path}`, { method, headers: { host, ...headers } });
  return { source, app, logs, req };
}

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

function assertJsonError(body: string, what: string) {
  const j = JSON.parse(body);
  assert(typeof j.error === "string" && j.error.length > 0, `${what}: no {error} in ${body}`);
  assert(!/\n\s+at |\.ts:\d+/.test(body), `${what}: a stack trace leaked: ${body}`);
}

Deno.test("subdomain mode serves a site by its Host, every path in the site", async () => {
  const { req, source } = await setup();
  for (const host of [SITE_HOST, `${A}.gw.example.org`, `${A.toUpperCase()}.GW.example.org`]) {
    const res = await req(host, "/");
    assertEquals(res.status, 200, host);
    assertEquals(await res.text(), "<h1>home</h1>");
    assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
    assertEquals(res.headers.get("content-length"), "13");
    assertEquals(res.headers.get("content-security-policy"), null, "an origin of its own");
  }
  const js = await req(SITE_HOST, "/app.js");
  assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assertEquals(await js.text(), APP_JS);
  // The gateway's own paths are site paths on a site host.
  assertEquals((await req(SITE_HOST, "/records/test/" + A)).status, 404);
  assertEquals(
    (await req(SITE_HOST, "/s/" + A + "/")).status,
    404,
    "no path mode inside a site host",
  );
  const accents = await req(SITE_HOST, "/caf%C3%A9.txt");
  assertEquals(await accents.text(), "accents");
  assertEquals((await req(`${B}.localhost`, "/")).status, 200);
  const unknown = await req(`${NONE}.localhost:8181`, "/");
  assertEquals(unknown.status, 404);
  assertJsonError(await unknown.text(), "unknown site");
  assert(source.opens.every((o) => o.signal instanceof AbortSignal), "open gets the signal");
});

Deno.test("path mode serves /s/<address>/ sandboxed, without allow-same-origin", async () => {
  const { req } = await setup();
  const res = await req(GW, `/s/${A}/`);
  assertEquals(res.status, 200);
  assertEquals(await res.text(), "<h1>home</h1>");
  const csp = res.headers.get("content-security-policy")!;
  assertEquals(csp, "sandbox allow-scripts allow-forms allow-popups");
  assertEquals(csp, PATH_MODE_CSP);
  assert(!csp.includes("allow-same-origin"), "a path-mode site must not share the gateway origin");
  assertEquals(await (await req(GW, `/s/${A}/docs/`)).text(), "<h1>docs</h1>");
  // The page's origin is opaque, so its own module scripts and fetches are cross-origin.
  const js = await req(GW, `/s/${A}/app.js`, { origin: "null" });
  assertEquals(js.headers.get("access-control-allow-origin"), "*");
  assertEquals(js.headers.get("access-control-allow-credentials"), null);
  await js.body?.cancel();

  const bare = await req(GW, `/s/${A}?x=1&y=2`);
  assertEquals(bare.status, 301);
  assertEquals(bare.headers.get("location"), `/s/${A}/?x=1&y=2`);
  assertEquals(bare.headers.get("content-security-policy"), PATH_MODE_CSP);

  // Every path-mode answer is sandboxed: 404 page, redirects, errors.
  for (
    const [path, status] of [
      [`/s/${A}/missing`, 404],
      [`/s/${A}/old`, 301],
      [`/s/${A}/docs`, 301],
      [`/s/${A}/%00`, 400],
      [`/s/${NONE}/`, 404],
    ] as const
  ) {
    const r = await req(GW, path);
    await r.body?.cancel();
    assertEquals(r.status, status, path);
    assertEquals(r.headers.get("content-security-policy"), PATH_MODE_CSP, path);
  }
  for (
    const bad of [
      `/s/${A.toUpperCase()}/`,
      "/s/short/",
      "/s/",
      `/s/${A}1/`,
      `/s/${"0".repeat(52)}/`,
    ]
  ) {
    const r = await req(GW, bad);
    assertEquals(r.status, 400, bad);
    assertJsonError(await r.text(), bad);
  }
  const unknown = await req(GW, `/s/${NONE}/`);
  assertEquals(unknown.status, 404);
  assertJsonError(await unknown.text(), "unknown site");
});

Deno.test("directories: index.html, a 301 to the slash form, a file wins over a directory", async () => {
  const { req } = await setup();
  const docs = await req(SITE_HOST, "/docs?x=1");
  assertEquals(docs.status, 301);
  assertEquals(docs.headers.get("location"), "/docs/?x=1");
  assertEquals(docs.headers.get("cache-control"), "public, max-age=60");
  assertEquals(await (await req(SITE_HOST, "/docs/")).text(), "<h1>docs</h1>");
  assertEquals((await req(GW, `/s/${A}/docs`)).headers.get("location"), `/s/${A}/docs/`);
  assertEquals(await (await req(SITE_HOST, "/both")).text(), "a file named like a directory");
  assertEquals(await (await req(SITE_HOST, "/both/")).text(), "the directory");
  assertEquals(await (await req(SITE_HOST, "/index.html")).text(), "<h1>home</h1>");
});

Deno.test("a missing path gets the site's 404.html with status 404, or a JSON 404", async () => {
  const { req } = await setup();
  const res = await req(SITE_HOST, "/no/such/page");
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(await res.text(), "<h1>lost</h1>");
  const zipped = await req(SITE_HOST, "/nope", { "accept-encoding": "gzip" });
  assertEquals(zipped.status, 404);
  assertEquals(zipped.headers.get("content-encoding"), "gzip");
  assertEquals(await gunzip(await bytesOf(zipped)), "<h1>lost</h1>");
  const bare = await req(`${B}.localhost`, "/nope");
  assertEquals(bare.status, 404);
  assertEquals(bare.headers.get("content-type"), "application/json");
  assertJsonError(await bare.text(), "JSON 404");
  assertEquals((await req(`${B}.localhost`, "/docs/")).status, 404, "a directory without index");
});

Deno.test("ETag and If-None-Match (lists, weak forms, *) answer 304", async () => {
  const { req, source } = await setup();
  const res = await req(SITE_HOST, "/");
  await res.body?.cancel();
  const hash = await sha256hex(enc.encode("<h1>home</h1>"));
  assertEquals(res.headers.get("etag"), `"${hash}"`);
  assertEquals(res.headers.get("cache-control"), "public, max-age=60");
  assertEquals(res.headers.get("accept-ranges"), "bytes");
  const opened = source.opens.length;
  for (const inm of [`"${hash}"`, `"nope", "${hash}"`, `W/"${hash}"`, "*", `"x",W/"${hash}"`]) {
    const r = await req(SITE_HOST, "/", { "if-none-match": inm });
    assertEquals(r.status, 304, inm);
    assertEquals(r.body, null);
    assertEquals(r.headers.get("etag"), `"${hash}"`);
    assertEquals(r.headers.get("cache-control"), "public, max-age=60");
  }
  assertEquals(source.opens.length, opened, "a 304 opens nothing");
  for (const inm of [`"nope"`, `"${hash}-br"`, hash]) {
    const r = await req(SITE_HOST, "/", { "if-none-match": inm });
    await r.body?.cancel();
    assertEquals(r.status, 200, inm);
  }
  // A compressed copy has a tag of its own.
  const br = await req(SITE_HOST, "/app.js", { "accept-encoding": "br" });
  await br.body?.cancel();
  const jsHash = await sha256hex(enc.encode(APP_JS));
  assertEquals(br.headers.get("etag"), `"${jsHash}-br"`);
  const again = await req(SITE_HOST, "/app.js", {
    "accept-encoding": "br",
    "if-none-match": `"${jsHash}-br"`,
  });
  assertEquals(again.status, 304);
  assertEquals(again.headers.get("vary"), "Accept-Encoding");
  const plainTag = await req(SITE_HOST, "/app.js", {
    "accept-encoding": "br",
    "if-none-match": `"${jsHash}"`,
  });
  await plainTag.body?.cancel();
  assertEquals(plainTag.status, 200, "the plain tag does not validate the br copy");
});

Deno.test("Last-Modified and If-Modified-Since (ignored under If-None-Match)", async () => {
  const { req } = await setup();
  const res = await req(SITE_HOST, "/new.html");
  await res.body?.cancel();
  assertEquals(res.headers.get("last-modified"), LAST_MODIFIED);
  const later = new Date(Date.UTC(2025, 0, 1)).toUTCString();
  const earlier = new Date(Date.UTC(2024, 0, 2, 3, 4, 4)).toUTCString();
  for (
    const [headers, status] of [
      [{ "if-modified-since": LAST_MODIFIED }, 304],
      [{ "if-modified-since": later }, 304],
      [{ "if-modified-since": earlier }, 200],
      [{ "if-modified-since": "not a date" }, 200],
      [{ "if-modified-since": later, "if-none-match": '"other"' }, 200],
    ] as const
  ) {
    const r = await req(SITE_HOST, "/new.html", headers);
    await r.body?.cancel();
    assertEquals(r.status, status, JSON.stringify(headers));
  }
});

Deno.test("single byte ranges: 206, 416, multiple ranges as 200, If-Range", async () => {
  const { req, source } = await setup();
  const hash = await sha256hex(DATA);
  const cases: [string, number, number[] | null, string | null][] = [
    ["bytes=0-4", 206, [0, 1, 2, 3, 4], "bytes 0-4/100"],
    ["bytes=95-", 206, [95, 96, 97, 98, 99], "bytes 95-99/100"],
    ["bytes=-3", 206, [97, 98, 99], "bytes 97-99/100"],
    ["bytes=98-500", 206, [98, 99], "bytes 98-99/100"],
    ["bytes=-500", 206, [...DATA], "bytes 0-99/100"],
    ["bytes=100-", 416, null, "bytes */100"],
    ["bytes=-0", 416, null, "bytes */100"],
    ["bytes=0-1, 5-6", 200, [...DATA], null],
    ["bytes=5-2", 200, [...DATA], null],
    ["items=0-4", 200, [...DATA], null],
  ];
  for (const [range, status, body, contentRange] of cases) {
    const r = await req(SITE_HOST, "/data.bin", { range });
    assertEquals(r.status, status, range);
    assertEquals(r.headers.get("content-range"), contentRange, range);
    assertEquals(r.headers.get("accept-ranges"), "bytes");
    if (body) {
      assertEquals([...await bytesOf(r)], body, range);
      assertEquals(r.headers.get("content-length"), String(body.length), range);
    } else assertJsonError(await r.text(), range);
  }
  const last = source.opens.at(-1)!;
  assertEquals(last.range, undefined, "an ignored Range fetches the whole file");
  for (
    const [ifRange, status] of [
      [`"${hash}"`, 206],
      [`"stale"`, 200],
      [`W/"${hash}"`, 200],
      [LAST_MODIFIED, 206],
      [new Date(Date.UTC(2020, 0, 1)).toUTCString(), 200],
    ] as const
  ) {
    const r = await req(SITE_HOST, "/data.bin", { range: "bytes=10-19", "if-range": ifRange });
    assertEquals(r.status, status, ifRange);
    assertEquals((await bytesOf(r)).length, status === 206 ? 10 : 100, ifRange);
  }
  assertEquals(parseByteRange("bytes=0-0", 0), null, "nothing in an empty file");
  assertEquals(parseByteRange("bytes=0-", 1), { start: 0, end: 1 });
});

Deno.test("HEAD: the GET headers and Content-Length, no body, nothing opened", async () => {
  const { req, source } = await setup();
  for (
    const [path, headers] of [
      ["/app.js", {}],
      ["/app.js", { "accept-encoding": "gzip, br" }],
      ["/data.bin", {}],
      ["/missing", {}],
    ] as const
  ) {
    const get = await req(SITE_HOST, path, headers);
    const getBytes = await bytesOf(get);
    const before = source.opens.length;
    const head = await req(SITE_HOST, path, headers, "HEAD");
    assertEquals(head.status, get.status, path);
    assertEquals(await head.text(), "", path);
    assertEquals(source.opens.length, before, `${path}: HEAD opens no stream`);
    for (const h of ["content-length", "content-type", "etag", "content-encoding", "vary"]) {
      assertEquals(head.headers.get(h), get.headers.get(h), `${path} ${h}`);
    }
    assertEquals(Number(head.headers.get("content-length")), getBytes.length, path);
  }
});

Deno.test("stored compressed copies: q=0 respected, br preferred, never for a range", async () => {
  const { req, source } = await setup();
  const gz = await req(SITE_HOST, "/app.js", { "accept-encoding": "gzip, deflate" });
  assertEquals(gz.headers.get("content-encoding"), "gzip");
  assertEquals(gz.headers.get("vary"), "Accept-Encoding");
  const gzBytes = await bytesOf(gz);
  assertEquals(gz.headers.get("content-length"), String(gzBytes.length));
  assert(gzBytes.length < APP_JS.length, "the gzip copy is smaller");
  assertEquals(await gunzip(gzBytes), APP_JS);

  const cases: [string | undefined, "br" | "gzip" | null][] = [
    ["gzip, deflate, br, zstd", "br"],
    ["br", "br"],
    ["br;q=0, gzip", "gzip"],
    ["br;q=0.5, gzip;q=0.9", "gzip"],
    ["gzip;q=0.5, br;q=0.5", "br"],
    ["*", "br"],
    ["*;q=0.1, br;q=0", "gzip"],
    ["gzip;q=0", null],
    ["gzip;q=0, br;q=0.000", null],
    ["identity", null],
    ["", null],
    [undefined, null],
  ];
  for (const [ae, want] of cases) {
    const r = await req(SITE_HOST, "/app.js", ae === undefined ? {} : { "accept-encoding": ae });
    const got = await bytesOf(r);
    assertEquals(r.headers.get("content-encoding"), want, `Accept-Encoding: ${ae}`);
    assertEquals(r.headers.get("vary"), "Accept-Encoding");
    assertEquals(source.opens.at(-1)!.encoding, want ?? undefined, `${ae}: which copy opened`);
    if (want === "br") assertEquals(got, FAKE_BR, "the br copy's own bytes");
    else if (want === null) assertEquals(dec.decode(got), APP_JS);
    assertEquals(r.headers.get("content-length"), String(got.length));
  }
  const css = await req(SITE_HOST, "/only-gzip.css", { "accept-encoding": "br, gzip" });
  assertEquals(css.headers.get("content-encoding"), "gzip", "br preferred only when stored");
  await css.body?.cancel();

  const ranged = await req(SITE_HOST, "/app.js", {
    "accept-encoding": "br, gzip",
    range: "bytes=0-6",
  });
  assertEquals(ranged.status, 206);
  assertEquals(ranged.headers.get("content-encoding"), null, "ranges come from the plaintext");
  assertEquals(ranged.headers.get("vary"), "Accept-Encoding");
  assertEquals(ranged.headers.get("etag"), `"${await sha256hex(enc.encode(APP_JS))}"`);
  assertEquals(await ranged.text(), "console");
  assertEquals(source.opens.at(-1)!.encoding, undefined);
  assertEquals(source.opens.at(-1)!.range, { start: 0, end: 7 });

  const plain = await req(SITE_HOST, "/new.html", { "accept-encoding": "br, gzip" });
  await plain.body?.cancel();
  assertEquals(plain.headers.get("vary"), null, "nothing to vary on without stored copies");
  assertEquals(plain.headers.get("content-encoding"), null);
  assertEquals(chooseEncoding("x-gzip", ["gzip"]), "gzip");
});

Deno.test("_redirects: 3xx, 200 rewrites, splats, placeholders, first match, files first", async () => {
  const { req, source, logs } = await setup();
  const cases: [string, number, string][] = [
    ["/old", 301, "/new.html"],
    ["/old/", 301, "/new.html"],
    ["/old?a=1", 301, "/new.html?a=1"],
    ["/temp", 302, "/new.html"],
    ["/see", 303, "/new.html"],
    ["/tmp7", 307, "/new.html"],
    ["/perm8", 308, "/new.html"],
    ["/blog/2024/hello%20world", 301, "/posts/2024/hello%20world"],
    ["/blog", 301, "/posts/"],
    ["/news/2023/launch", 301, "/articles/2023-launch.html"],
    ["/ext", 302, "https://example.org/x"],
    ["/twice", 302, "/first.html"],
  ];
  for (const [path, status, location] of cases) {
    const r = await req(SITE_HOST, path);
    await r.body?.cancel();
    assertEquals(r.status, status, path);
    assertEquals(r.headers.get("location"), location, path);
  }
  const inPathMode = await req(GW, `/s/${A}/blog/x`);
  assertEquals(inPathMode.headers.get("location"), `/s/${A}/posts/x`, "site paths get the prefix");
  assertEquals((await req(GW, `/s/${A}/ext`)).headers.get("location"), "https://example.org/x");

  const before = source.opens.length;
  const rewrite = await req(SITE_HOST, "/app/settings/profile");
  assertEquals(rewrite.status, 200);
  assertEquals(await rewrite.text(), "spa shell");
  assertEquals(await (await req(SITE_HOST, "/go/42")).text(), "item");
  assertEquals(source.opens.length, before + 2, "one open per request");
  const ranged = await req(SITE_HOST, "/go/42", { range: "bytes=1-2" });
  assertEquals(ranged.status, 206, "a rewrite serves the file with its full semantics");
  assertEquals(await ranged.text(), "te");

  const file = await req(SITE_HOST, "/data.bin");
  assertEquals(file.status, 200, "a file wins over a rule");
  await file.body?.cancel();
  for (const path of ["/this", "/weird"]) {
    const r = await req(SITE_HOST, path);
    await r.body?.cancel();
    assertEquals(r.status, 404, `${path}: a malformed line is skipped`);
  }
  const skipped = logs.filter((l) => l.msg.includes("_redirects"));
  assertEquals(skipped.length, 1, "logged once per site version");
  assertEquals(skipped[0]!.fields.skipped, 2);

  // A new version is parsed (and logged) again; the old one stays cached.
  await source.add(A, 2, { "/index.html": { body: "v2" } }, "/x /index.html 200\nbad\n");
  assertEquals(await (await req(SITE_HOST, "/x")).text(), "v2");
  await (await req(SITE_HOST, "/x")).body?.cancel();
  assertEquals(logs.filter((l) => l.msg.includes("_redirects")).length, 2);
});

Deno.test("_redirects parsing: comments, caps, bad lines", () => {
  const many = Array.from({ length: MAX_REDIRECT_RULES + 5 }, (_, i) => `/r${i} /t${i}`).join("\n");
  const capped = parseRedirects(many);
  assertEquals(capped.rules.length, MAX_REDIRECT_RULES);
  assert(capped.truncated);
  const long = "# " + "x".repeat(MAX_REDIRECTS_BYTES) + "\n/after /cap\n";
  const cut = parseRedirects(long);
  assertEquals(cut.rules.length, 0, "nothing past 64 KiB is read");
  assert(cut.truncated);
  const p = parseRedirects(
    [
      "  # indented comment",
      "",
      "/a /b 302 # trailing comment",
      "/c /d 200!",
      "/e ../f",
      "/g //evil.example",
      "/h/*/i /j",
      "/k https://x.example/:splat 200",
      "relative /x",
      "/l /../m 200",
      "/ok /fine",
    ].join("\r\n"),
  );
  assertEquals(p.rules.map((r) => [r.to, r.status]), [["/b", 302], ["/fine", 301]]);
  assertEquals(p.skipped.map((s) => s.line), [4, 5, 6, 7, 8, 9, 10]);
  assert(!p.truncated);
});

Deno.test("security headers on every site answer; 405 with Allow for other methods", async () => {
  const { req } = await setup();
  const answers = [
    await req(SITE_HOST, "/"),
    await req(SITE_HOST, "/missing"),
    await req(SITE_HOST, "/old"),
    await req(SITE_HOST, "/%00"),
    await req(`${B}.localhost`, "/missing"),
    await req(GW, `/s/${A}/`),
    await req(SITE_HOST, "/", {}, "POST"),
  ];
  for (const r of answers) {
    await r.body?.cancel();
    assertEquals(r.headers.get("x-content-type-options"), "nosniff", r.url);
    assertEquals(r.headers.get("referrer-policy"), "no-referrer", r.url);
    assertEquals(r.headers.get("x-frame-options"), "DENY", r.url);
    assertEquals(r.headers.get("cross-origin-opener-policy"), "same-origin", r.url);
  }
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    for (const [host, path] of [[SITE_HOST, "/"], [GW, `/s/${A}/`], [GW, `/s/${A}/new.html`]]) {
      const r = await req(host!, path!, {}, method);
      assertEquals(r.status, 405, `${method} ${host}${path}`);
      assertEquals(r.headers.get("allow"), "GET, HEAD");
      assertJsonError(await r.text(), method);
    }
  }
});

Deno.test("traversal and abuse answer 400 or 404 with a JSON body, never a stack", async () => {
  const { req, source } = await setup();
  const deep = "/" + "a/".repeat(65) + "x";
  const long = "/" + "a".repeat(2100);
  // [path, status]; some forms are already resolved by the URL parser (WHATWG: "%2e%2e" is "..",
  // "\" is "/"), so they land inside the site and miss (404) rather than being refused.
  const table: [string, number][] = [
    ["/..%2f..%2fetc%2fpasswd", 400],
    ["/a%2fb", 400],
    ["/%2e%2e/%2e%2e/etc/passwd", 404],
    ["/../../etc/passwd", 404],
    ["/a/%252e%252e/%252e%252e/etc", 400],
    ["/%252e%252e%252fetc", 400],
    ["/a/%252fetc", 400],
    ["/a%5c..%5cb", 400],
    ["/%5c", 400],
    ["/a\\..\\..\\b", 404], // "/b" in the site; in path mode "/s/b", a bad address (400)
    ["/a%00.html", 400],
    ["/%00", 400],
    ["/index.html%00.png", 400],
    ["/a%0d%0aSet-Cookie:%20x=1", 400],
    ["/%1b[31m", 400],
    ["/%7f", 400],
    ["/%250a", 400],
    ["/%zz", 400],
    ["/%", 400],
    ["/%c0%ae%c0%ae/", 400],
    ["/%ff", 400],
    ["/a//b", 400],
    ["//evil.example/", 400], // never a protocol-relative Location in a slash redirect
    [deep, 400],
    [long, 400],
    ["/" + "a/".repeat(63) + "x", 404],
  ];
  for (const [path, status] of table) {
    for (const [host, prefix] of [[`${B}.localhost:8181`, ""], [GW, `/s/${B}`]] as const) {
      const r = await req(host, prefix + path);
      const body = await r.text();
      const want = prefix && path.startsWith("/a\\") ? 400 : status;
      assertEquals(r.status, want, `${host} ${prefix}${path}: ${body}`);
      assertEquals(r.headers.get("content-type"), "application/json", path);
      assertJsonError(body, path);
    }
  }
  assertEquals(source.opens.length, 0, "nothing was opened");
  for (const path of ["/s/../api/v1/status", "/s/%2e%2e/records", `/s/${B}%2f..`, "/s/%00/"]) {
    const r = await req(GW, path);
    const body = await r.text();
    assert(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
    assertJsonError(body, path);
  }
});

Deno.test("a failing source answers 500 with no detail; the log has it", async () => {
  const { req, source, logs } = await setup();
  source.failSite = true;
  const r = await req(SITE_HOST, "/");
  assertEquals(r.status, 500);
  const body = await r.text();
  assertJsonError(body, "500");
  assert(!body.includes("/secret/path"), body);
  assertEquals(r.headers.get("x-content-type-options"), "nosniff");
  assert(logs.some((l) => l.msg === "request failed"));
});

Deno.test("a source that breaks Content-Length fails the body and is logged", async () => {
  const { req, source, logs } = await setup();
  const real = source.open.bind(source);
  for (const bytes of [enc.encode("short"), enc.encode("x".repeat(500))]) {
    source.open = () => Promise.resolve(new Blob([bytes]).stream());
    const r = await req(SITE_HOST, "/data.bin");
    assertEquals(r.headers.get("content-length"), "100");
    let failed = false;
    try {
      await r.arrayBuffer();
    } catch {
      failed = true;
    }
    assert(failed, `${bytes.length} bytes for a 100-byte file must not look complete`);
  }
  source.open = real;
  assertEquals(logs.filter((l) => l.msg === "site file stream failed").length, 2);
});

Deno.test("the gateway's own routes stay; without a SiteSource nothing is mounted", async () => {
  const { req } = await setup();
  const home = await req(GW, "/");
  assertEquals(home.status, 200);
  assert((await home.text()).includes("Mote gateway"));
  const plain = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "gw", version: "test" }),
  });
  const r = await plain.request(`http://${GW}/s/${A}/`, { headers: { host: GW } });
  assertEquals(r.status, 404);
  await r.body?.cancel();
  const onSiteHost = await plain.request(`http://${SITE_HOST}/`, { headers: { host: SITE_HOST } });
  assert((await onSiteHost.text()).includes("Mote gateway"), "no site hosts without sites");
});

Deno.test("an aborted request cancels the file stream and aborts the source's signal", async () => {
  const { app, source } = await setup();
  const ctl = new AbortController();
  const res = await app.fetch(
    new Request(`http://${SITE_HOST}/endless.bin`, {
      headers: { host: SITE_HOST },
      signal: ctl.signal,
    }),
  );
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-length"), String(1e9));
  const reader = res.body!.getReader();
  assert((await reader.read()).value!.length > 0);
  const opened = source.opens.at(-1)!;
  assertEquals(opened.path, "/endless.bin");
  assert(!opened.signal!.aborted);
  ctl.abort();
  assert(opened.signal!.aborted, "the source saw the abort");
  assert(opened.cancelled, "the source's stream was cancelled");
  // The body ends quietly (the client is gone; an error would only be printed by the server).
  let ended = false;
  for (let i = 0; i < 5 && !ended; i++) ended = (await reader.read()).done;
  assert(ended, "the body ends after an abort");

  // A client that cancels the body (as a server does when the connection drops).
  const res2 = await app.request(`http://${SITE_HOST}/endless.bin`, {
    headers: { host: SITE_HOST },
  });
  const r2 = res2.body!.getReader();
  await r2.read();
  await r2.cancel();
  assert(source.opens.at(-1)!.cancelled, "cancelling the body cancels the source stream");
});

Deno.test({
  name: "over a loopback socket: raw traversal request lines, and a client hanging up",
  async fn() {
    const { app, source } = await setup();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (r, info) => app.fetch(r, { remoteAddr: info.remoteAddr.hostname }),
    );
    const port = server.addr.port;
    const raw = async (line: string, host: string, readAll = true) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(enc.encode(`${line}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      if (!readAll) return { conn, text: "" };
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
      conn.close();
      return {
        conn,
        text: dec.decode(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).bytes()),
      };
    };
    try {
      for (
        const [line, host] of [
          ["GET /../../../etc/passwd HTTP/1.1", `${B}.localhost`],
          ["GET /..%2f..%2fetc/passwd HTTP/1.1", `${B}.localhost`],
          [`GET /s/${B}/../../etc/passwd HTTP/1.1`, "127.0.0.1"],
          [`GET /s/${B}/..%5c..%5cetc HTTP/1.1`, "127.0.0.1"],
          ["GET /%2e%2e/%2e%2e/ HTTP/1.1", `${B}.localhost`],
        ]
      ) {
        const { text } = await raw(line!, host!);
        const status = Number(text.split(" ")[1]);
        assert(
          status === 400 || status === 404 || (status === 200 && text.endsWith("bare")),
          `${line}: ${text.slice(0, 200)}`,
        );
        assert(!/root:|\n\s+at /.test(text), text);
      }
      const { conn } = await raw("GET /endless.bin HTTP/1.1", SITE_HOST, false);
      const buf = new Uint8Array(64 * 1024);
      assert((await conn.read(buf) ?? 0) > 0, "the body started");
      const opened = source.opens.at(-1)!;
      assertEquals(opened.path, "/endless.bin");
      conn.close();
      for (let i = 0; i < 200 && !opened.cancelled; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert(opened.cancelled, "the server cancelled the source stream when the client hung up");
    } finally {
      await server.shutdown();
    }
  },
});
