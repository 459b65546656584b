// This module is browser compatible.
/**
 * The web UI's routes on the node API (loopback, behind the API guard; never on the public
 * gateway): `index.html` at `/` and at every client-side route (`/files/...`, `/network`,
 * `/settings`, and the slots of pages still to come), the bundle at `/ui/app.js` and the styles at
 * `/ui/style.css`.
 *
 * The policy is strict: scripts and styles only from this origin, no inline script or style, no
 * framing, connections only back to this origin.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** Where the UI's assets come from (built by the node; see `src/node/web_bundle.ts`). */
export interface UiAssets {
  load(): Promise<{ js: Uint8Array; css: Uint8Array; hash: string }>;
}

/** The Content-Security-Policy of every UI answer. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Top-level client routes; the later pages (sites, worlds, ...) already have their slot. */
export const UI_ROUTES = [
  "files",
  "network",
  "settings",
  "sites",
  "worlds",
  "sharing",
  "messages",
  "search",
];

/** Builds the UI routes. */
export function createUiRoutes(assets: UiAssets): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    c.header("Content-Security-Policy", UI_CSP);
  });
  const page = async () => {
    const { hash } = await assets.load();
    return indexHtml(hash);
  };
  app.get("/", async (c) => c.html(await page()));
  for (const r of UI_ROUTES) {
    app.get(`/${r}`, async (c) => c.html(await page()));
    app.get(`/${r}/*`, async (c) => c.html(await page()));
  }
  app.get("/ui/app.js", async (c) => {
    const { js } = await assets.load();
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(js as Uint8Array<ArrayBuffer>);
  });
  app.get("/ui/style.css", async (c) => {
    const { css } = await assets.load();
    if (css.length === 0) throw new HttpError(404, "No styles");
    c.header("Content-Type", "text/css; charset=utf-8");
    return c.body(css as Uint8Array<ArrayBuffer>);
  });
  return app;
}

function indexHtml(hash: string): string {
  // The hash in the asset URLs makes a rebuilt UI load fresh even if a browser kept an old copy.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Mote</title>
<link rel="stylesheet" href="/ui/style.css?v=${hash}">
<script type="module" src="/ui/app.js?v=${hash}"></script>
</head>
<body>
<div id="app"><noscript>The Mote web UI needs JavaScript. The <code>mote</code> command does everything it does.</noscript></div>
</body>
</html>
`;
}
