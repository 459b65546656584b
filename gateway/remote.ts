// This module is browser compatible.
/**
 * Remote access to the node API with a password (`apiPassword`, see docs/config.md). The API
 * then listens on a non-loopback address, so the loopback guard's Host allowlist no longer
 * applies; instead every request needs a session (an `HttpOnly`, `SameSite=Strict` cookie got by
 * logging in with the password) or the API token. State-changing calls still need the token,
 * which the UI fetches with its session, so the CSRF defences stay as on loopback.
 *
 * Routes: `GET /login` (a form), `POST /api/v1/login` (form or JSON `{"password"}`), `POST
 * /api/v1/logout`.
 */
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { HttpError } from "./errors.ts";
import { timingSafeEqual } from "./_compare.ts";

/** The cookie that carries a session id. */
export const SESSION_COOKIE = "mote_session";
/** How long a session lasts without a new login (12 h). */
const SESSION_MS = 12 * 3600 * 1000;
/** Most sessions at once; the oldest goes first (a browser logging in again makes a new one). */
const MAX_SESSIONS = 64;
/** Failed logins allowed per minute, for all clients together, before the API stops checking. */
const MAX_FAILURES = 10;
/** Each failed login answers this late, so guessing runs at most one try per second per request. */
const FAILURE_DELAY_MS = 1000;

/** Sessions and the password check of one API. */
export class PasswordGate {
  readonly #digest: Promise<Uint8Array>;
  readonly #sessions = new Map<string, number>();
  #failures: number[] = [];
  readonly #now: () => number;
  readonly #delay: number;

  constructor(password: string, opts: { now?: () => number; failureDelay?: number } = {}) {
    if (password.length < 12) throw new RangeError("The API password needs 12 characters or more");
    this.#digest = sha256(password);
    this.#now = opts.now ?? Date.now;
    this.#delay = opts.failureDelay ?? FAILURE_DELAY_MS;
  }

  /** Whether `id` names a live session. */
  valid(id: string | undefined): boolean {
    if (!id) return false;
    const expires = this.#sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= this.#now()) {
      this.#sessions.delete(id);
      return false;
    }
    return true;
  }

  /**
   * Checks a password; on success returns a new session id. Failures are slowed and, past
   * {@linkcode MAX_FAILURES} a minute, refused without a check (429).
   */
  async login(password: string): Promise<string> {
    const now = this.#now();
    this.#failures = this.#failures.filter((t) => t > now - 60_000);
    if (this.#failures.length >= MAX_FAILURES) {
      throw new HttpError(429, "Too many wrong passwords: try again in a minute");
    }
    const given = await sha256(password.slice(0, 1024));
    if (!timingSafeEqual(given, await this.#digest)) {
      this.#failures.push(now);
      await new Promise((r) => setTimeout(r, this.#delay));
      throw new HttpError(401, "Wrong password");
    }
    const id = randomId();
    this.#sessions.set(id, now + SESSION_MS);
    while (this.#sessions.size > MAX_SESSIONS) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return id;
  }

  /** Ends a session. */
  logout(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }
}

/** The login and logout routes (mounted before the UI, reachable without a session). */
export function createLoginRoutes(gate: PasswordGate): Hono {
  const app = new Hono();
  app.get("/login", (c) => {
    // Under "no-referrer" a browser sends `Origin: null` with the form, which the guard refuses.
    c.header("Referrer-Policy", "same-origin");
    c.header(
      "Content-Security-Policy",
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    const failed = c.req.query("failed");
    return c.html(
      loginPage(
        failed === "1"
          ? "Wrong password."
          : failed === "2"
          ? "Too many wrong passwords: wait a minute."
          : "",
      ),
    );
  });
  app.post("/api/v1/login", async (c) => {
    const type = c.req.header("content-type") ?? "";
    const isForm = type.startsWith("application/x-www-form-urlencoded");
    let password: unknown;
    if (isForm) password = (await c.req.parseBody()).password;
    else password = (await c.req.json().catch(() => ({})) as { password?: unknown }).password;
    if (typeof password !== "string" || password === "") {
      throw new HttpError(400, 'Send the password (form field or JSON {"password": "…"})');
    }
    let id: string;
    try {
      id = await gate.login(password);
    } catch (e) {
      if (isForm && e instanceof HttpError) {
        return c.redirect(`/login?failed=${e.status === 429 ? 2 : 1}`, 303);
      }
      throw e;
    }
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_MS / 1000,
      secure: c.req.header("x-forwarded-proto") === "https" || c.req.url.startsWith("https:"),
    });
    return isForm ? c.redirect("/", 303) : c.json({ loggedIn: true });
  });
  app.post("/api/v1/logout", (c) => {
    gate.logout(getCookie(c, SESSION_COOKIE));
    setCookie(c, SESSION_COOKIE, "", { httpOnly: true, sameSite: "Strict", path: "/", maxAge: 0 });
    return c.json({ loggedOut: true });
  });
  return app;
}

function loginPage(error: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · Mote</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0 1rem}
.err{color:#b00020}@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}.err{color:#ff8a80}}</style>
</head><body><h1>Mote</h1><p>This node's web UI is open to remote access. Enter its password.</p>
${error ? `<p class="err" role="alert">${error}</p>` : ""}
<form method="post" action="/api/v1/login"><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus maxlength="1024">
<button type="submit">Log in</button></form></body></html>`;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
