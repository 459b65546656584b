/**
 * Remote access to the node API with a password: the guard's password mode and the login
 * routes, called through `app.request()` (no port), with a small backend.
 */
import { type ApiBackend, createApiApp, loopbackAllowlist, PasswordGate } from "../gateway/mod.ts";
import { assert, assertEquals } from "./_assert.ts";

const TOKEN = "t".repeat(43);
const PASSWORD = "correct horse battery staple";
const HOST = "node.example:8180";

function backend(): ApiBackend {
  return {
    status: () => ({ id: "x".repeat(52) }),
    peers: () => Promise.resolve([]),
    connect: () => Promise.resolve(""),
    identity: () => Promise.resolve({}),
    resolveIdentity: () => Promise.resolve(undefined),
    publishIdentity: () => Promise.resolve({ seq: 0 }),
    subscribe: () => {
      throw new Error("not in this test");
    },
    metrics: () => "",
    requestStop: () => {},
  };
}

function app(gate = new PasswordGate(PASSWORD, { failureDelay: 0 })) {
  const a = createApiApp({
    ...loopbackAllowlist("0.0.0.0", 8180),
    gate,
    token: TOKEN,
    backend: backend(),
  });
  return (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    a.request(`http://${HOST}${path}`, { ...init, headers: { host: HOST, ...init.headers } });
}

async function login(req: ReturnType<typeof app>, password = PASSWORD): Promise<Response> {
  return await req("/api/v1/login", {
    method: "POST",
    headers: { "content-type": "application/json", origin: `http://${HOST}` },
    body: JSON.stringify({ password }),
  });
}

function cookieOf(res: Response): string {
  const set = res.headers.get("set-cookie") ?? "";
  return set.split(";")[0]!;
}

Deno.test("PasswordGate refuses passwords shorter than 12 characters", () => {
  let threw = false;
  try {
    new PasswordGate("short");
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assert(threw, "a RangeError");
});

Deno.test("with a password, nothing is readable without a session or the token", async () => {
  const req = app();
  const res = await req("/api/v1/status");
  assertEquals(res.status, 401);
  // A browser asking for a page is sent to the login page instead.
  const page = await req("/files", { headers: { accept: "text/html" } });
  assertEquals([page.status, page.headers.get("location")], [303, "/login"]);
  const form = await req("/login");
  assertEquals(form.status, 200);
  assert((await form.text()).includes('name="password"'));
  // The token still works, for the CLI on the node's machine.
  const cli = await req("/api/v1/status", { headers: { authorization: `Bearer ${TOKEN}` } });
  assertEquals(cli.status, 200);
});

Deno.test("a login sets a strict, HttpOnly session cookie that opens reads but not changes", async () => {
  const req = app();
  const res = await login(req);
  assertEquals(res.status, 200);
  const set = res.headers.get("set-cookie") ?? "";
  assert(/HttpOnly/i.test(set) && /SameSite=Strict/i.test(set), set);
  const cookie = cookieOf(res);
  assertEquals((await req("/api/v1/status", { headers: { cookie } })).status, 200);
  // The UI's token comes with the session, to same-origin script only.
  const session = await req("/api/v1/session", {
    headers: { cookie, "sec-fetch-site": "same-origin" },
  });
  assertEquals((await session.json()).token, TOKEN);
  // A change needs the token too: a cookie alone (all a forged request carries) is not enough.
  const stop = await req("/api/v1/stop", { method: "POST", headers: { cookie } });
  assertEquals(stop.status, 401);
  // Logging out ends the session.
  const out = await req("/api/v1/logout", { method: "POST", headers: { cookie } });
  assertEquals(out.status, 200);
  assertEquals((await req("/api/v1/status", { headers: { cookie } })).status, 401);
});

Deno.test("another site can neither log in nor use a session", async () => {
  const req = app();
  const foreign = await req("/api/v1/login", {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://evil.example" },
    body: JSON.stringify({ password: PASSWORD }),
  });
  assertEquals(foreign.status, 403);
  const cookie = cookieOf(await login(req));
  const cross = await req("/api/v1/session", {
    headers: { cookie, "sec-fetch-site": "cross-site" },
  });
  assertEquals(cross.status, 403);
  const otherOrigin = await req("/api/v1/status", {
    headers: { cookie, origin: "http://node.example:9999" },
  });
  assertEquals(otherOrigin.status, 403);
});

Deno.test("wrong passwords are refused, and after 10 in a minute none is checked", async () => {
  let now = 1_000_000;
  const req = app(new PasswordGate(PASSWORD, { failureDelay: 0, now: () => now }));
  for (let i = 0; i < 10; i++) assertEquals((await login(req, `guess ${i}`)).status, 401);
  // Even the right password waits until the minute is over.
  assertEquals((await login(req)).status, 429);
  now += 61_000;
  assertEquals((await login(req)).status, 200);
});

Deno.test("an expired session is refused", async () => {
  let now = 1_000_000;
  const req = app(new PasswordGate(PASSWORD, { failureDelay: 0, now: () => now }));
  const cookie = cookieOf(await login(req));
  assertEquals((await req("/api/v1/status", { headers: { cookie } })).status, 200);
  now += 12 * 3600 * 1000 + 1;
  assertEquals((await req("/api/v1/status", { headers: { cookie } })).status, 401);
});
