// This module is browser compatible.
/**
 * The quick link page on a public gateway (nodes and the edge): `GET /l/` answers a static page
 * and `GET /l/link-<hash>.js` its script (`web/link/main.ts`), which reads the capability from
 * the URL fragment, fetches the snapshot's shards through this gateway's `/shards/` route and
 * decrypts them in the browser. Browsers never send the fragment, so the gateway (and its logs)
 * see `/l/`, the script and shard ids, never a key.
 *
 * The page is locked down: a Content-Security-Policy allowing only this origin's script (and
 * WebAssembly, which the erasure decoder compiles), fetches to this origin, no framing, no
 * forms, no base URL; `Referrer-Policy: no-referrer` so nothing of the page's address leaves
 * with a request; `Cache-Control: no-store` on the page (the script is immutable under its hash).
 */
import type { Env, Hono } from "hono";
import { HttpError } from "./errors.ts";

/** The link page's built script (see `src/node/web_bundle.ts`). */
export interface LinkPageAssets {
  load(): Promise<{ js: Uint8Array; hash: string }>;
}

/** The page's Content-Security-Policy. */
export const LINK_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  "style-src 'unsafe-inline'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const STYLE =
  `body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}
#status[data-state=error]{color:#a00}ul{padding:0}li{list-style:none;padding:.3rem 0;border-bottom:1px solid #ddd}
.size{color:#666;margin:0 .5rem}button{float:right}`;

function page(hash: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Shared files · Mote</title>
<style>${STYLE}</style>
<script type="module" src="./link-${hash}.js"></script>
</head>
<body>
<h1>Shared files</h1>
<p id="status" data-state="loading">Opening the link…</p>
<noscript>This page decrypts the shared files in your browser: it needs JavaScript.</noscript>
<ul id="files"></ul>
<p><small>Decrypted here, in your browser: the key is in the link after the #, which browsers
never send to the gateway. Whoever has the link can open it.</small></p>
</body>
</html>
`;
}

/** Serves the link page from `assets` on `app`. */
export function mountLinkPage<E extends Env>(
  app: Hono<E>,
  opts: { assets: LinkPageAssets },
): Hono<E> {
  // `/l` without the slash: the fragment survives the redirect (browsers keep it).
  app.get("/l", (c) => c.redirect("/l/", 301));
  app.get("/l/", async (c) => {
    const { hash } = await opts.assets.load();
    c.header("Content-Security-Policy", LINK_PAGE_CSP);
    c.header("Cache-Control", "no-store");
    return c.html(page(hash));
  });
  app.get("/l/:file", async (c) => {
    const { js, hash } = await opts.assets.load();
    if (c.req.param("file") !== `link-${hash}.js`) {
      throw new HttpError(404, "No such file of the link page");
    }
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(js as Uint8Array<ArrayBuffer>);
  });
  return app;
}
