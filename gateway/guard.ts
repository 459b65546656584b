// This module is browser compatible.
/**
 * The node API's guard. The API controls the node, so only the user's own tools may call it:
 *
 * - Host must be the address the API is bound to (stops DNS rebinding: a hostile name that
 *   resolves to 127.0.0.1 still carries its own Host header).
 * - A request that carries an Origin must come from exactly the API's own origin, and a browser's
 *   `Sec-Fetch-Site` must say `same-origin` or `none` (a typed URL). This holds for every method:
 *   the public gateway on another port of the same host is *same-site* with the API (ports do not
 *   count), so "same-site" is refused too, and reads such as the event stream are refused at the
 *   server rather than left to the browser's CORS check.
 * - State-changing methods also need the token from `<data>/api-token` in a header (never a
 *   cookie, which a browser would attach by itself).
 * - No CORS headers are ever sent, so no other origin can read an answer.
 *
 * With a password (remote access, see `remote.ts`) the API answers on any Host, since remote
 * browsers name it as they reach it; an Origin must then match the Host it was sent to, and every
 * request needs the token or a session, except the login page and the login call.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { type PasswordGate, SESSION_COOKIE } from "./remote.ts";
import { timingSafeEqual } from "./_compare.ts";

export { timingSafeEqual };

/** What the guard checks against. */
export interface GuardOptions {
  /** The token callers must present. */
  token: string;
  /** Host header values accepted, such as `127.0.0.1:8180` and `localhost:8180`. */
  hosts: string[];
  /** Origins accepted on state-changing calls, such as `http://127.0.0.1:8180`. */
  origins: string[];
  /** Remote access: the password's sessions (then any Host is accepted). */
  gate?: PasswordGate;
}

/** Reachable without a session in password mode. */
const OPEN_PATHS = new Set(["/login", "/api/v1/login"]);

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
  const gate = opts.gate;
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!gate && !hosts.has(host)) {
      return c.json({ error: `Host "${host.slice(0, 100)}" is not this node's API address` }, 403);
    }
    const origin = c.req.header("origin");
    const sameOrigin = gate
      ? origin === `http://${host}` || origin === `https://${host}`
      : origin !== undefined && origins.has(origin);
    if (origin !== undefined && !sameOrigin) {
      return c.json({ error: `Origin "${origin.slice(0, 100)}" may not call the node API` }, 403);
    }
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      return c.json({
        error: `Requests from other sites (${site.slice(0, 20)}) may not call the node API`,
      }, 403);
    }
    const auth = c.req.header("authorization");
    const given = auth?.startsWith("Bearer ") ? auth.slice(7) : c.req.header("x-mote-token");
    const tokenOk = given !== undefined && timingSafeEqual(given, opts.token);
    if (gate && !tokenOk && !OPEN_PATHS.has(c.req.path)) {
      if (!gate.valid(getCookie(c, SESSION_COOKIE))) {
        if (SAFE.has(c.req.method) && (c.req.header("accept") ?? "").includes("text/html")) {
          return c.redirect("/login", 303);
        }
        return c.json({ error: "Log in first (this node's API needs its password)" }, 401);
      }
      if (c.req.path === "/api/v1/logout") return await next();
    }
    if (!SAFE.has(c.req.method) && !tokenOk && !(gate && c.req.path === "/api/v1/login")) {
      return c.json({ error: "Missing or wrong API token (see <data>/api-token)" }, 401);
    }
    return await next();
  };
}
