// This module is browser compatible.
/**
 * The node API's guard. The API controls the node, so only the user's own tools may call it:
 *
 * - Host must be the address the API is bound to (stops DNS rebinding: a hostile name that
 *   resolves to 127.0.0.1 still carries its own Host header).
 * - State-changing methods need the token from `<data>/api-token` in a header (never a cookie,
 *   which a browser would attach to cross-site requests), and, when the request has an Origin,
 *   it must be exactly the API's own origin. `Sec-Fetch-Site: cross-site` is refused outright.
 * - No CORS headers are ever sent, so no other origin can read an answer.
 */
import type { MiddlewareHandler } from "hono";

/** What the guard checks against. */
export interface GuardOptions {
  /** The token callers must present. */
  token: string;
  /** Host header values accepted, such as `127.0.0.1:8180` and `localhost:8180`. */
  hosts: string[];
  /** Origins accepted on state-changing calls, such as `http://127.0.0.1:8180`. */
  origins: string[];
}

const SAFE = new Set(["GET", "HEAD"]);

/** The allowed hosts and origins of an API bound to `host:port`. */
export function loopbackAllowlist(
  host: string,
  port: number,
): Pick<GuardOptions, "hosts" | "origins"> {
  const names = new Set([host.includes(":") ? `[${host}]` : host]);
  if (host === "127.0.0.1" || host === "::1" || host === "localhost") {
    for (const n of ["127.0.0.1", "localhost", "[::1]"]) names.add(n);
  }
  const hosts = [...names].map((n) => `${n}:${port}`);
  return { hosts, origins: hosts.map((h) => `http://${h}`) };
}

/** Builds the guard middleware. */
export function apiGuard(opts: GuardOptions): MiddlewareHandler {
  const hosts = new Set(opts.hosts.map((h) => h.toLowerCase()));
  const origins = new Set(opts.origins);
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!hosts.has(host)) {
      return c.json({ error: `Host "${host.slice(0, 100)}" is not this node's API address` }, 403);
    }
    if (!SAFE.has(c.req.method)) {
      if (c.req.header("sec-fetch-site") === "cross-site") {
        return c.json({ error: "Cross-site requests to the node API are refused" }, 403);
      }
      const origin = c.req.header("origin");
      if (origin !== undefined && !origins.has(origin)) {
        return c.json({ error: `Origin "${origin.slice(0, 100)}" may not call the node API` }, 403);
      }
      const auth = c.req.header("authorization");
      const given = auth?.startsWith("Bearer ") ? auth.slice(7) : c.req.header("x-mote-token");
      if (!given || !timingSafeEqual(given, opts.token)) {
        return c.json({ error: "Missing or wrong API token (see <data>/api-token)" }, 401);
      }
    }
    return await next();
  };
}

/** Compares two strings in time independent of where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
