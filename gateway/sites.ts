// This module is browser compatible.
/**
 * Hosted sites on the public gateway: the HTTP layer over a {@linkcode SiteSource} (Web standards
 * and Hono only, so an edge entry can run it too).
 *
 * - Subdomain mode: when the Host's first label is a site address (`<address>.localhost:8181`,
 *   `<address>.gw.example.org`), every path of that host is a path in the site: one site per origin.
 * - Path mode: `/s/<address>/<path…>` on any other host, sent with
 *   `Content-Security-Policy: sandbox allow-scripts allow-forms allow-popups` (no
 *   `allow-same-origin`: the page gets an opaque origin, so it cannot read the gateway origin's
 *   storage or another site's). `/s/<address>` redirects to `/s/<address>/`.
 *
 * Both behave as a static web server: `index.html` for a directory path, a 301 to the slash form
 * for a directory named without it, the site's `/404.html` (status 404) for a missing path, strong
 * ETags from the file hash, `If-None-Match`/`If-Modified-Since` (304), a single byte `Range` (206,
 * 416) with `If-Range`, `HEAD`, stored `br`/`gzip` copies chosen by `Accept-Encoding` (never for a
 * range), the site's `_redirects` rules (only for paths that match no file), and 405 for methods
 * other than GET and HEAD. Bad paths (traversal, encoded separators, NUL and control characters,
 * invalid percent-encoding, too long or too deep) answer 400 with a JSON `{error}`.
 * @module
 */
import { errorJson, HttpError } from "./errors.ts";
import { markHot } from "./hot.ts";
import { type Site, SITE_ADDRESS_RE, type SiteFile, type SiteSource } from "./site_source.ts";

/** Options for {@linkcode siteHandler}. */
export interface SitesOptions {
  sites: SiteSource;
  log?: (msg: string, fields: Record<string, unknown>) => void;
  /** How many parsed `_redirects` files to keep (by address and sequence); 256 by default. */
  redirectsCacheSize?: number;
}

/** The policy of path-mode responses: scripts run, but in an opaque origin. */
export const PATH_MODE_CSP = "sandbox allow-scripts allow-forms allow-popups";
/** How long browsers and caches may reuse a site response before revalidating. */
export const SITE_CACHE_CONTROL = "public, max-age=60";
/** Limits on a request path inside a site. */
export const MAX_SITE_PATH_BYTES = 2048;
export const MAX_SITE_PATH_SEGMENTS = 64;
/** Limits on a site's `_redirects` text. */
export const MAX_REDIRECT_RULES = 1000;
export const MAX_REDIRECTS_BYTES = 64 * 1024;

const ALLOW = "GET, HEAD";
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * The site part of the public gateway as a plain request handler (no Hono context: a site
 * response is built once, with every header, and nothing copies it again). `handle()` answers
 * every request to a site host and every `/s/…` path, and gives undefined for the rest.
 */
export function siteHandler(opts: SitesOptions): {
  handle(req: Request): Promise<Response> | undefined;
} {
  const cache = new RedirectsCache(opts.redirectsCacheSize ?? 256, opts.log);
  return {
    handle(req) {
      const target = targetOf(req);
      if (!target) return undefined;
      return serveSite(req, target, opts, cache).catch((err) => errorJson(err, req, opts.log))
        .then((res) => {
          // Our own responses: their headers are mutable.
          if (target.sandbox) res.headers.set("Content-Security-Policy", PATH_MODE_CSP);
          return res;
        });
    },
  };
}

/** What a request names: a site by host or by `/s/<address>`, or undefined for anything else. */
function targetOf(req: Request): Target | undefined {
  const url = new URL(req.url);
  const host = (req.headers.get("host") ?? url.host).toLowerCase();
  const fromHost = siteAddressOfHost(host);
  if (fromHost !== undefined) {
    return { address: fromHost, prefix: "", rawPath: url.pathname, query: url.search };
  }
  if (url.pathname !== "/s" && !url.pathname.startsWith("/s/")) return undefined;
  const rest = url.pathname.slice(3);
  const slash = rest.indexOf("/");
  const address = slash < 0 ? rest : rest.slice(0, slash);
  return {
    address,
    prefix: `/s/${address}`,
    rawPath: slash < 0 ? "" : rest.slice(slash),
    query: url.search,
    sandbox: true,
  };
}

/** The site address a Host names by its first label, or undefined. */
export function siteAddressOfHost(host: string): string | undefined {
  const label = host.toLowerCase().split(".", 1)[0]!.split(":", 1)[0]!;
  return SITE_ADDRESS_RE.test(label) ? label : undefined;
}

interface Target {
  address: string;
  /** What a site path is prefixed with in a URL on this host ("" or "/s/<address>"). */
  prefix: string;
  /** The percent-encoded path inside the site ("" when path mode names the bare site). */
  rawPath: string;
  /** "?…" or "". */
  query: string;
  sandbox?: boolean;
}

async function serveSite(
  req: Request,
  t: Target,
  opts: SitesOptions,
  cache: RedirectsCache,
): Promise<Response> {
  const method = req.method;
  if (method !== "GET" && method !== "HEAD") {
    return jsonError(405, `${method.slice(0, 20)} is not allowed on a site`, { Allow: ALLOW });
  }
  if (!SITE_ADDRESS_RE.test(t.address)) {
    throw new HttpError(400, `"${t.address.slice(0, 60)}" is not a site address`);
  }
  if (t.rawPath === "") {
    // Path mode without the slash: relative links resolve against the directory form.
    return redirect(301, `${t.prefix}/${t.query}`);
  }
  const segments = decodeSitePath(t.rawPath);
  const site = await opts.sites.site(t.address, req.signal);
  if (!site) throw new HttpError(404, `No site at ${t.address}`);

  const path = "/" + segments.join("/");
  const found = lookup(site, path);
  if (found) return await serveFile(req, opts, site, found, 200);
  // A directory named without its slash: send the browser to the slash form.
  if (!path.endsWith("/") && site.files.has(path + "/index.html")) {
    return redirect(301, `${t.prefix}${t.rawPath}/${t.query}`, true);
  }
  const rules = cache.get(site);
  const hit = rules && matchRedirect(rules, segments);
  if (hit) {
    if (hit.status === 200) {
      const file = lookup(site, hit.to) ?? site.files.get(hit.to.replace(/\/?$/, "/index.html"));
      if (file) return await serveFile(req, opts, site, file, 200);
    } else {
      let location = hit.to.startsWith("/") ? t.prefix + hit.to : hit.to;
      if (!location.includes("?")) location += t.query;
      return redirect(hit.status, location, true);
    }
  }
  const page = site.files.get("/404.html");
  if (page) return await serveFile(req, opts, site, page, 404);
  throw new HttpError(404, `Nothing at ${path.slice(0, 200)} in this site`);
}

/** The file at `path`, or the index of the directory `path` names with a trailing slash. */
function lookup(site: Site, path: string): SiteFile | undefined {
  return site.files.get(path.endsWith("/") ? path + "index.html" : path);
}

function redirect(status: number, location: string, cacheable = false): Response {
  const headers: Record<string, string> = { Location: location };
  if (cacheable) headers["Cache-Control"] = SITE_CACHE_CONTROL;
  return new Response(null, { status, headers });
}

function jsonError(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * Splits a percent-encoded site path ("/a/b%20c/") into decoded segments (["a", "b c", ""]; a
 * trailing "" marks a directory). Each segment is decoded once; anything that could climb out of
 * the site or mean something else to a later decoder is refused with 400.
 */
export function decodeSitePath(rawPath: string): string[] {
  if (!rawPath.startsWith("/")) throw new HttpError(400, "A site path starts with /");
  if (rawPath.length > MAX_SITE_PATH_BYTES) {
    throw new HttpError(400, `A site path is at most ${MAX_SITE_PATH_BYTES} bytes`);
  }
  const raw = rawPath.slice(1).split("/");
  if (raw.length > MAX_SITE_PATH_SEGMENTS) {
    throw new HttpError(400, `A site path has at most ${MAX_SITE_PATH_SEGMENTS} segments`);
  }
  return raw.map((seg, i) => {
    if (seg === "") {
      if (i === raw.length - 1) return "";
      throw new HttpError(400, "A site path has no empty segments");
    }
    // deno-lint-ignore no-control-regex
    if (/[\\\x00-\x20\x7f]/.test(seg)) throw new HttpError(400, "Bad character in the path");
    let s: string;
    try {
      s = decodeURIComponent(seg);
    } catch {
      throw new HttpError(400, "Invalid percent-encoding in the path");
    }
    // deno-lint-ignore no-control-regex
    if (s === "." || s === ".." || /[/\\\x00-\x1f\x7f]/.test(s)) {
      throw new HttpError(400, "Path traversal or a control character in the path");
    }
    // Still encoded after one decoding: a dot, separator or control character aimed at a decoder
    // further along.
    if (/%(2e|2f|5c|[01][0-9a-f]|7f)/i.test(s)) {
      throw new HttpError(400, "Double-encoded characters in the path");
    }
    return s;
  });
}

async function serveFile(
  req: Request,
  opts: SitesOptions,
  site: Site,
  file: SiteFile,
  status: 200 | 404,
): Promise<Response> {
  const head = req.method === "HEAD";
  const header = (name: string) => req.headers.get(name) ?? undefined;
  const headers = new Headers({
    "Cache-Control": SITE_CACHE_CONTROL,
    // Public bytes, no credentials: lets a path-mode page (an opaque origin) fetch its own files
    // and load module scripts, and any page read a site's data.
    "Access-Control-Allow-Origin": "*",
  });
  headers.set(
    "Content-Type",
    /^[\x20-\x7e]{1,200}$/.test(file.type) ? file.type : "application/octet-stream",
  );
  const encodings = file.encodings ?? {};
  const stored = (["br", "gzip"] as const).filter((e) => isLength(encodings[e]));
  if (stored.length > 0) headers.set("Vary", "Accept-Encoding");
  const size = file.size;
  if (!isLength(size)) throw new HttpError(502, "The site's index gives a file no valid size");

  if (status === 404) {
    // The site's error page: no validators or ranges, it stands for a missing resource.
    const encoding = chooseEncoding(header("accept-encoding"), stored);
    return await body(req, opts, site, file, headers, status, head, encoding, undefined);
  }

  headers.set("Accept-Ranges", "bytes");
  const modified = Number.isFinite(file.modified) && file.modified >= 0
    ? Math.floor(file.modified / 1000) * 1000
    : undefined;
  if (modified !== undefined) headers.set("Last-Modified", new Date(modified).toUTCString());
  const validHash = /^[\x21\x23-\x7e]{1,200}$/.test(file.hash);
  const plainTag = validHash ? `"${file.hash}"` : undefined;

  // RFC 9110 14.2: only GET has range semantics; If-Range turns a stale range into the whole file.
  let range: { start: number; end: number } | null | undefined;
  const rangeHeader = header("range");
  if (rangeHeader !== undefined && !head) {
    const ifRange = header("if-range");
    if (ifRange === undefined || ifRangeHolds(ifRange, plainTag, modified)) {
      range = parseByteRange(rangeHeader, size);
    }
  }
  const encoding = range === undefined
    ? chooseEncoding(header("accept-encoding"), stored)
    : undefined;
  const etag = plainTag && (encoding ? `"${file.hash}-${encoding}"` : plainTag);
  if (etag) headers.set("ETag", etag);

  const inm = header("if-none-match");
  if (inm !== undefined) {
    if (noneMatchHits(inm, etag)) return new Response(null, { status: 304, headers });
  } else {
    const ims = header("if-modified-since");
    const since = ims === undefined ? NaN : Date.parse(ims);
    if (modified !== undefined && !Number.isNaN(since) && modified <= since) {
      return new Response(null, { status: 304, headers });
    }
  }

  if (range === null) {
    headers.set("Content-Range", `bytes */${size}`);
    headers.set("Content-Type", "application/json");
    headers.delete("Cache-Control");
    return new Response(
      JSON.stringify({ error: `Range "${rangeHeader!.slice(0, 60)}" cannot be satisfied` }),
      { status: 416, headers },
    );
  }
  if (range) headers.set("Content-Range", `bytes ${range.start}-${range.end - 1}/${size}`);
  return await body(req, opts, site, file, headers, range ? 206 : 200, head, encoding, range);
}

async function body(
  req: Request,
  opts: SitesOptions,
  site: Site,
  file: SiteFile,
  headers: Headers,
  status: number,
  head: boolean,
  encoding: "br" | "gzip" | undefined,
  range: { start: number; end: number } | undefined,
): Promise<Response> {
  const length = encoding
    ? file.encodings![encoding]!
    : range
    ? range.end - range.start
    : file.size;
  if (encoding) headers.set("Content-Encoding", encoding);
  headers.set("Content-Length", String(length));
  if (head) return new Response(null, { status, headers });
  // A hot file: its bytes as they are, no stream (most requests to a busy site).
  const hot = opts.sites.cached?.(site, file, encoding);
  if (hot && hot.length === (encoding ? length : file.size)) {
    const part = range && hot.subarray(range.start, range.end) as Uint8Array<ArrayBuffer>;
    if (part) return new Response(part, { status, headers });
    // A whole hot file: the public app may answer the same plain GET again from this response.
    return markHot(new Response(hot as Uint8Array<ArrayBuffer>, { status, headers }), hot);
  }
  const signal = req.signal;
  // The one stream this request opens; the request's signal stops the fetching behind it.
  const stream = await opts.sites.open(site, file, { range, encoding, signal });
  const log = (error: unknown) =>
    opts.log?.("site file stream failed", { address: site.address, path: file.path, error });
  return new Response(exactly(stream, length, signal, log), { status, headers });
}

/**
 * Passes `src` through, never more or fewer bytes than its Content-Length (a source that breaks
 * that fails the body, and is logged). Once the request is aborted (the client went away), the
 * source is cancelled and the body ends quietly: an error there would only be printed by the
 * server, for every hang-up.
 */
function exactly(
  src: ReadableStream<Uint8Array>,
  length: number,
  signal: AbortSignal,
  log: (err: unknown) => void,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const reader = src.getReader();
  let sent = 0, done = false;
  let ctl!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
  const finish = (err?: unknown) => {
    if (done) return;
    done = true;
    signal.removeEventListener("abort", onAbort);
    if (err === undefined) return ctl.close();
    reader.cancel(err).catch(() => {});
    if (signal.aborted) return ctl.close();
    log(err);
    ctl.error(err);
  };
  const onAbort = () => finish(signal.reason ?? new DOMException("aborted", "AbortError"));
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      ctl = controller;
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull() {
      try {
        const r = await reader.read();
        if (done) return;
        if (r.done) {
          finish(sent === length ? undefined : new Error(`ended at ${sent} of ${length} bytes`));
          return;
        }
        sent += r.value.byteLength;
        if (sent > length) finish(new Error(`longer than its ${length} bytes`));
        else ctl.enqueue(r.value as Uint8Array<ArrayBuffer>);
      } catch (err) {
        finish(err);
      }
    },
    cancel(reason) {
      done = true;
      signal.removeEventListener("abort", onAbort);
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** RFC 9110 13.1.2: weak comparison against the list, or "*". */
function noneMatchHits(header: string, etag: string | undefined): boolean {
  if (header.trim() === "*") return true;
  return etag !== undefined && entityTags(header).some((t) => t.replace(/^W\//, "") === etag);
}

function entityTags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

/** RFC 9110 13.1.5: a strong ETag match, or the exact Last-Modified date. */
function ifRangeHolds(header: string, etag: string | undefined, modified?: number): boolean {
  const v = header.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return etag !== undefined && v === etag;
  const date = Date.parse(v);
  return modified !== undefined && !Number.isNaN(date) && date === modified;
}

/**
 * A single byte range of a `size`-byte file as [start, end): undefined when the header is to be
 * ignored (not bytes, several ranges, malformed), null when it cannot be satisfied (416).
 */
export function parseByteRange(
  header: string,
  size: number,
): { start: number; end: number } | null | undefined {
  const m = /^\s*bytes\s*=\s*(\d{0,15})\s*-\s*(\d{0,15})\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return null;
  return { start, end: m[2] === "" ? size : Math.min(size, Number(m[2]) + 1) };
}

/** The stored coding to send for `Accept-Encoding`: the highest weight, br on a tie. */
export function chooseEncoding(
  header: string | undefined,
  stored: readonly ("br" | "gzip")[],
): "br" | "gzip" | undefined {
  if (!header || stored.length === 0) return undefined;
  const weights = new Map<string, number>();
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k === "q") q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v ?? "") ? Number(v) : 0;
    }
    weights.set(name === "x-gzip" ? "gzip" : name, q);
  }
  let best: "br" | "gzip" | undefined, bestQ = 0;
  for (const e of ["br", "gzip"] as const) {
    if (!stored.includes(e)) continue;
    const q = weights.get(e) ?? weights.get("*") ?? 0;
    if (q > bestQ) [best, bestQ] = [e, q];
  }
  return best;
}

function isLength(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

// ---- _redirects ----

/** One `_redirects` rule. */
export interface RedirectRule {
  /** Decoded segments of `from`; ":name" captures one segment. */
  from: string[];
  /** Whether `from` ends in "*" (the rest of the path, as `:splat`). */
  splat: boolean;
  /** A site path ("/…") or, for 3xx, an http(s) URL; may hold ":splat" and ":name". */
  to: string;
  status: 200 | 301 | 302 | 303 | 307 | 308;
}

/** The rules of a `_redirects` text, and the lines skipped (1-based, with why). */
export function parseRedirects(
  text: string,
): { rules: RedirectRule[]; skipped: { line: number; reason: string }[]; truncated: boolean } {
  let truncated = false;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_REDIRECTS_BYTES) {
    truncated = true;
    text = new TextDecoder().decode(bytes.subarray(0, MAX_REDIRECTS_BYTES));
    text = text.slice(0, text.lastIndexOf("\n") + 1);
  }
  const rules: RedirectRule[] = [];
  const skipped: { line: number; reason: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (rules.length >= MAX_REDIRECT_RULES) {
      truncated = true;
      break;
    }
    const parsed = parseRule(line);
    if (typeof parsed === "string") skipped.push({ line: i + 1, reason: parsed });
    else rules.push(parsed);
  }
  return { rules, skipped, truncated };
}

function parseRule(line: string): RedirectRule | string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return "control character";
  let tokens = line.split(/\s+/);
  const comment = tokens.findIndex((t) => t.startsWith("#"));
  if (comment >= 0) tokens = tokens.slice(0, comment);
  if (tokens.length < 2 || tokens.length > 3) return "expected: from to [status]";
  const [from, to, code] = tokens as [string, string, string | undefined];
  const status = code === undefined ? 301 : Number(code);
  if (code !== undefined && !/^\d{3}$/.test(code)) return `unsupported status "${code}"`;
  if (status !== 200 && !REDIRECT_CODES.has(status)) return `unsupported status ${status}`;
  if (!from.startsWith("/")) return "from must be a path";
  const parts = from.slice(1).split("/");
  if (parts.at(-1) === "") parts.pop();
  let splat = false;
  if (parts.at(-1) === "*") {
    splat = true;
    parts.pop();
  }
  const segs: string[] = [];
  for (const p of parts) {
    if (p === "" || p.includes("*")) return "a splat goes only at the end of from";
    try {
      segs.push(p.startsWith(":") ? p : decodeURIComponent(p));
    } catch {
      return "invalid percent-encoding in from";
    }
  }
  if (/^https?:\/\/[^/]/i.test(to)) {
    if (status === 200) return "rewrites (200) go to a path in the site";
  } else if (!to.startsWith("/") || to.startsWith("//")) {
    return "to must be a path or an http(s) URL";
  } else if (to.split(/[?#]/, 1)[0]!.split("/").some((s) => s === ".." || s === ".")) {
    return "to must not climb out of the site";
  }
  // Header-safe: anything outside visible ASCII is percent-encoded.
  const safeTo = to.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
  return { from: segs, splat, to: safeTo, status: status as RedirectRule["status"] };
}

/** The first rule matching `segments` (decoded; a trailing "" is ignored), with `to` filled. */
export function matchRedirect(
  rules: readonly RedirectRule[],
  segments: readonly string[],
): { status: RedirectRule["status"]; to: string } | undefined {
  const segs = segments.at(-1) === "" ? segments.slice(0, -1) : segments;
  for (const r of rules) {
    if (r.splat ? segs.length < r.from.length : segs.length !== r.from.length) continue;
    const values = new Map<string, string>();
    let ok = true;
    for (let i = 0; i < r.from.length && ok; i++) {
      const want = r.from[i]!, got = segs[i]!;
      if (want.startsWith(":") && want.length > 1) values.set(want.slice(1), got);
      else ok = want === got;
    }
    if (!ok) continue;
    if (r.splat) values.set("splat", segs.slice(r.from.length).join("/"));
    if (r.status === 200) {
      const path = r.to.split(/[?#]/, 1)[0]!;
      let to: string;
      try {
        // Internal: a decoded site path. Values are decoded segments already checked.
        to = decodeURIComponent(path).replace(
          /:([A-Za-z_]\w*)/g,
          (m, name: string) => values.get(name) ?? m,
        );
      } catch {
        continue;
      }
      if (to.split("/").some((s) => s === ".." || s === ".")) continue;
      return { status: 200, to };
    }
    const to = r.to.replace(/:([A-Za-z_]\w*)/g, (m, name: string) => {
      const v = values.get(name);
      if (v === undefined) return m;
      return name === "splat"
        ? v.split("/").map(encodeURIComponent).join("/")
        : encodeURIComponent(v);
    });
    return { status: r.status, to };
  }
  return undefined;
}

/** Parsed `_redirects` by site address and sequence, least recently used dropped first. */
class RedirectsCache {
  readonly #max: number;
  readonly #log: SitesOptions["log"];
  readonly #map = new Map<string, RedirectRule[]>();
  constructor(max: number, log: SitesOptions["log"]) {
    this.#max = Math.max(1, max);
    this.#log = log;
  }

  get(site: Site): RedirectRule[] | undefined {
    if (site.redirects === undefined) return undefined;
    const key = `${site.address}:${site.seq}`;
    const hit = this.#map.get(key);
    if (hit) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const { rules, skipped, truncated } = parseRedirects(site.redirects);
    if (skipped.length > 0 || truncated) {
      this.#log?.("site _redirects: lines skipped", {
        address: site.address,
        seq: site.seq,
        skipped: skipped.length,
        first: skipped.slice(0, 5),
        truncated,
      });
    }
    this.#map.set(key, rules);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
    return rules;
  }
}
