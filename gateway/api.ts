/**
 * The node API and UI app (listens on loopback, `--port`, default 8180). Built as a value over
 * an {@linkcode ApiBackend}; only `main` listens. Every route is behind {@linkcode apiGuard}.
 *
 * Routes: the web UI (`GET /` and its client routes, see `ui.ts`; a placeholder page when the node
 * has no UI), `GET /api/v1/session` (the token, for the UI only), `GET /api/v1/status`,
 * `GET /api/v1/peers`, `POST /api/v1/peers` `{ "addr": multiaddr }`, `GET /api/v1/identity`,
 * `GET /api/v1/identity/:id`, `POST /api/v1/identity/publish`, `GET /api/v1/events` (server-sent
 * events), `POST /api/v1/key/export` `{ "passphrase"? }` (the key file), `POST /api/v1/stop`,
 * `GET /metrics` (Prometheus text). With their backends: the file routes (`files.ts`), the
 * settings routes (`settings.ts`), the scrubber routes (`scrub.ts`), the site routes
 * (`site_api.ts`), the sharing routes (`share_api.ts`) and the world routes (`world_api.ts`).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_BATCH_BODY } from "./files.ts";
import { streamSSE } from "hono/streaming";
import { errorResponse, HttpError, SECURITY_HEADERS } from "./errors.ts";
import { apiGuard, type GuardOptions } from "./guard.ts";
import { createFilesRoutes, type FilesBackend } from "./files.ts";
import { createUiRoutes, type UiAssets } from "./ui.ts";
import { createLoginRoutes } from "./remote.ts";
import { createSettingsRoutes, type SettingsBackend } from "./settings.ts";
import { createScrubRoutes, type ScrubBackend } from "./scrub.ts";
import { createSiteRoutes, type SiteBackend } from "./site_api.ts";
import { createSharingRoutes, type SharingBackend } from "./share_api.ts";
import { createLinkRoutes, type LinkBackend } from "./link_api.ts";
import { createWorldRoutes, type WorldBackend } from "./world_api.ts";
import { mountWorlds, type WorldsOptions } from "./worlds.ts";

/** `PUT /api/v1/shared/<owner>/files/…`: a file written into another owner's shared folder. */
const SHARED_PUT = /^\/api\/v1\/shared\/[a-z2-7]{52}\/files\//;

/** A subscription to node events. */
export interface EventSource
  extends AsyncIterable<{ type: string; at: number; data: Record<string, unknown> }> {
  close(): void;
}

/** What the API needs from the node. */
export interface ApiBackend {
  status(): Record<string, unknown>;
  peers(): Promise<unknown[]>;
  connect(addr: string): Promise<string>;
  identity(): Promise<unknown>;
  resolveIdentity(id: string): Promise<unknown | undefined>;
  publishIdentity(): Promise<{ seq: number }>;
  subscribe(signal: AbortSignal): EventSource;
  metrics(): string;
  /** Asks the process to stop (answers first, stops after). */
  requestStop(): void;
  /** The identity key file's text (as `mote key export` writes it), sealed when given a passphrase. */
  exportKey?(passphrase?: string): Promise<{ id: string; text: string }>;
}

/** Options for {@linkcode createApiApp}. */
export interface ApiAppOptions extends GuardOptions {
  backend: ApiBackend;
  /** File routes (when the node stores files). */
  files?: FilesBackend;
  /** Settings, restart and key import routes. */
  settings?: SettingsBackend;
  /** Scrubber routes: hire, list and revoke the node's scrubbers. */
  scrub?: ScrubBackend;
  /** Site routes: publish, list and unpublish the owner's sites. */
  sites?: SiteBackend;
  /** Sharing routes: modes, groups, shares, and reading what others share (`share_api.ts`). */
  sharing?: SharingBackend;
  /** Quick link routes: make, list and delete the owner's links. */
  links?: LinkBackend;
  /** World routes: create and list the owner's worlds. */
  worlds?: WorldBackend;
  /**
   * The world page with editing: `/w/<address>/` (meta, chunks, the page) on the UI's own origin,
   * where the page can get the API token and have this node sign its edits; with a socket and
   * live presence when `upgradeWebSocket` and `live` are given.
   */
  worldPages?: Pick<WorldsOptions, "worlds" | "client" | "upgradeWebSocket" | "live">;
  /** The web UI's assets; without them `/` is a placeholder page. */
  ui?: UiAssets;
  log?: (msg: string, fields: Record<string, unknown>) => void;
  /** Interval of keep-alive comments on the event stream (ms). */
  heartbeat?: number;
  /**
   * Aborted when the node stops: open event streams end at once, so the server's graceful
   * shutdown does not wait for browsers that keep them open.
   */
  closing?: AbortSignal;
}

const ID_RE = /^[a-z2-7]{52}$/;

/** Builds the node API app. */
export function createApiApp(opts: ApiAppOptions): Hono {
  const b = opts.backend;
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    // A route may choose its own (the login form needs a referrer policy that keeps its Origin).
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
      if (!c.res.headers.has(k)) c.header(k, v);
    }
    c.header("Cache-Control", "no-store");
  });
  app.use(apiGuard(opts));
  // Uploads stream through `PUT /api/v1/files/*`; batches of small files are bounded; every
  // other body is small.
  const limit = bodyLimit({
    maxSize: 64 * 1024,
    onError: (c) => c.json({ error: "Request body over 64 KiB" }, 413),
  });
  const batchLimit = bodyLimit({
    maxSize: MAX_BATCH_BODY,
    onError: (c) => c.json({ error: `Batch body over ${MAX_BATCH_BODY >> 20} MiB` }, 413),
  });
  app.use((c, next) => {
    if (c.req.method === "PUT" && c.req.path.startsWith("/api/v1/files/")) return next();
    // Writing into another owner's shared folder streams too (its size is checked by the put).
    if (c.req.method === "PUT" && SHARED_PUT.test(c.req.path)) return next();
    if (c.req.method === "POST" && c.req.path.startsWith("/api/v1/batch")) {
      return batchLimit(c, next);
    }
    return limit(c, next);
  });
  app.onError((err, c) => errorResponse(err, c, opts.log));
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));

  if (opts.gate) app.route("/", createLoginRoutes(opts.gate));
  if (opts.ui) app.route("/", createUiRoutes(opts.ui));
  else {
    app.get("/", (c) => {
      const s = b.status();
      c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      return c.html(placeholderPage(String(s.id), String(s.nickname), String(s.version)));
    });
  }
  // The web UI needs the token for state-changing calls, and must get it without a way for any
  // other site to get it too. The guard has already refused a foreign Host (DNS rebinding), a
  // foreign Origin, and any Sec-Fetch-Site but same-origin/none. Here Sec-Fetch-Site must be
  // present and exactly `same-origin`: browsers set it on every fetch and a page cannot forge or
  // remove it (it is a forbidden header), so only script running on the API's own origin, that
  // is our UI, gets an answer. A page elsewhere (the public gateway on another port is
  // same-site, other sites are cross-site) is refused; a typed URL (`none`) is refused too, so
  // the token is never shown on screen. No CORS headers are sent, and `no-store` keeps it out of
  // caches. Programs that do not send the header (curl, the CLI) read `<data>/api-token`
  // instead; the token guards against browsers, not against local programs, which can already
  // read (GET) everything.
  app.get("/api/v1/session", (c) => {
    if (c.req.header("sec-fetch-site") !== "same-origin") {
      throw new HttpError(403, "The session token is only given to the web UI on this origin");
    }
    c.header("Cache-Control", "no-store");
    return c.json({ token: opts.token });
  });
  if (b.exportKey) {
    const exportKey = b.exportKey.bind(b);
    app.post("/api/v1/key/export", async (c) => {
      const body = await readJson(c.req.raw);
      const pass = body.passphrase;
      if (pass !== undefined && (typeof pass !== "string" || pass.length > 1024)) {
        throw new HttpError(400, 'Body must be JSON {"passphrase"?: "<8 to 1024 characters>"}');
      }
      const { id, text } = await exportKey(pass as string | undefined);
      c.header("Content-Type", "application/x-mote-key; charset=utf-8");
      c.header("Content-Disposition", `attachment; filename="mote-${id.slice(0, 8)}.key"`);
      return c.body(text);
    });
  }
  app.get("/api/v1/status", (c) => c.json({ ...b.status(), remoteAccess: Boolean(opts.gate) }));
  if (opts.files) app.route("/", createFilesRoutes(opts.files));
  if (opts.settings) app.route("/", createSettingsRoutes(opts.settings));
  if (opts.scrub) app.route("/", createScrubRoutes(opts.scrub));
  if (opts.sites) app.route("/", createSiteRoutes(opts.sites));
  if (opts.sharing) app.route("/", createSharingRoutes(opts.sharing));
  if (opts.links) app.route("/", createLinkRoutes(opts.links));
  if (opts.worlds) app.route("/", createWorldRoutes(opts.worlds));
  if (opts.worldPages) {
    mountWorlds(app, {
      ...opts.worldPages,
      editable: true,
      ...(opts.log ? { log: opts.log } : {}),
    });
  }
  app.get("/api/v1/peers", async (c) => c.json({ peers: await b.peers() }));
  app.post("/api/v1/peers", async (c) => {
    const body = await readJson(c.req.raw);
    const addr = body.addr;
    if (typeof addr !== "string" || addr.length === 0 || addr.length > 1024) {
      throw new HttpError(400, 'Body must be JSON {"addr": "<multiaddr or peer id>"}');
    }
    return c.json({ peerId: await b.connect(addr) });
  });
  app.get("/api/v1/identity", async (c) => c.json(await b.identity()));
  app.get("/api/v1/identity/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID_RE.test(id)) throw new HttpError(400, `"${id.slice(0, 60)}" is not a node id`);
    const doc = await b.resolveIdentity(id);
    if (doc === undefined) throw new HttpError(404, `No identity document found for ${id}`);
    return c.json(doc);
  });
  app.post("/api/v1/identity/publish", async (c) => c.json(await b.publishIdentity()));
  app.post("/api/v1/stop", (c) => {
    setTimeout(() => b.requestStop(), 50);
    return c.json({ stopping: true });
  });
  app.get("/metrics", (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(b.metrics());
  });
  app.get("/api/v1/events", (c) =>
    streamSSE(c, async (stream) => {
      const ctl = new AbortController();
      stream.onAbort(() => ctl.abort());
      if (opts.closing?.aborted) return;
      opts.closing?.addEventListener("abort", () => ctl.abort(), { once: true });
      let sub: EventSource;
      try {
        sub = b.subscribe(ctl.signal);
      } catch (e) {
        await stream.writeSSE({
          event: "error",
          data: JSON.stringify({ error: (e as Error).message }),
        });
        return;
      }
      const beat = setInterval(() => {
        stream.write(": keep-alive\n\n").catch(() => ctl.abort());
      }, opts.heartbeat ?? 15_000);
      try {
        await stream.writeSSE({ event: "status", data: JSON.stringify(b.status()) });
        for await (const e of sub) {
          await stream.writeSSE({ event: e.type, data: JSON.stringify({ at: e.at, ...e.data }) });
        }
      } finally {
        clearInterval(beat);
        sub.close();
      }
    }));
  return app;
}

async function readJson(req: Request): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) {
    throw new HttpError(415, "Send a JSON body (Content-Type: application/json)");
  }
  let v: unknown;
  try {
    v = await req.json();
  } catch {
    throw new HttpError(400, "Body is not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new HttpError(400, "Body must be a JSON object");
  }
  return v as Record<string, unknown>;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function placeholderPage(id: string, nickname: string, version: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Mote — ${
    esc(nickname)
  }</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code{word-break:break-all}@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}}</style></head>
<body><h1>Mote node</h1><p>This node is running. Nickname <b>${esc(nickname)}</b>, version ${
    esc(version)
  }.</p>
<p>Node id: <code>${esc(id)}</code></p>
<p>The full web interface arrives with a later release. Meanwhile: <a href="/api/v1/status">status</a>,
<a href="/api/v1/peers">peers</a>, <a href="/metrics">metrics</a>, or the <code>mote</code> command.</p></body></html>`;
}
