/**
 * The two HTTP apps over a real node, through `app.request()` (no port opened): the API's guard
 * (Host, Origin, token, cross-site), its routes and errors, and the public gateway's record route.
 */
import { createApiApp, createPublicApp, loopbackAllowlist } from "../gateway/mod.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { nodeApiBackend, nodeRecordSource } from "../src/node/run.ts";
import { decodeRecord, recordKeyOf } from "../src/records/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster } from "./_harness.ts";

const TOKEN = "t".repeat(43);
const BASE = "http://127.0.0.1:8180";

Deno.test({
  name: "the node API guards every call and answers its routes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(3);
    const node = cluster.nodes[0]!;
    let stopAsked = false;
    const app = createApiApp({
      ...loopbackAllowlist("127.0.0.1", 8180),
      token: TOKEN,
      backend: nodeApiBackend(node, null, () => (stopAsked = true)),
    });
    const req = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
      app.request(BASE + path, { ...init, headers: { host: "127.0.0.1:8180", ...init.headers } });

    await t.step("status reports the required fields", async () => {
      const res = await req("/api/v1/status");
      assertEquals(res.status, 200);
      const s = await res.json();
      for (
        const k of ["id", "nickname", "version", "peerId", "addresses", "peers", "dht", "uptime"]
      ) {
        assert(k in s, `status lacks "${k}"`);
      }
      assertEquals(s.id, node.id);
      assert(s.peers >= 2, `expected peers, got ${s.peers}`);
      assertEquals(
        res.headers.get("access-control-allow-origin"),
        null,
        "the API never sends CORS headers",
      );
    });

    await t.step("a foreign Host header is refused (DNS rebinding)", async () => {
      for (const host of ["evil.example:8180", "127.0.0.1:9999", "attacker.localhost:8180", ""]) {
        const res = await req("/api/v1/status", { headers: { host } });
        assertEquals(res.status, 403, `Host "${host}"`);
      }
      for (const host of ["localhost:8180", "[::1]:8180"]) {
        assertEquals(
          (await req("/api/v1/status", { headers: { host } })).status,
          200,
          `Host "${host}"`,
        );
      }
    });

    await t.step("state-changing calls need the token in a header", async () => {
      assertEquals((await req("/api/v1/identity/publish", { method: "POST" })).status, 401);
      assertEquals(
        (await req("/api/v1/identity/publish", {
          method: "POST",
          headers: { authorization: "Bearer wrong" },
        })).status,
        401,
      );
      assertEquals(
        (await req("/api/v1/identity/publish", {
          method: "POST",
          headers: { cookie: `token=${TOKEN}` },
        })).status,
        401,
        "a cookie is never accepted",
      );
      const ok = await req("/api/v1/identity/publish", {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assertEquals(ok.status, 200);
      assert((await ok.json()).seq >= 0);
    });

    await t.step(
      "state-changing calls need an exact Origin match and are never cross-site",
      async () => {
        const h = { authorization: `Bearer ${TOKEN}` };
        for (
          const origin of [
            "http://127.0.0.1:8181",
            "http://evil.example",
            "null",
            "http://127.0.0.1:8180.evil.example",
          ]
        ) {
          const res = await req("/api/v1/stop", { method: "POST", headers: { ...h, origin } });
          assertEquals(res.status, 403, `Origin ${origin}`);
        }
        const cross = await req("/api/v1/stop", {
          method: "POST",
          headers: { ...h, "sec-fetch-site": "cross-site" },
        });
        assertEquals(cross.status, 403);
        assertEquals(stopAsked, false, "no refused call may have stopped the node");
        const same = await req("/api/v1/stop", { method: "POST", headers: { ...h, origin: BASE } });
        assertEquals(same.status, 200);
        await new Promise((r) => setTimeout(r, 100));
        assertEquals(stopAsked, true);
      },
    );

    await t.step("bad input gets a clear error", async () => {
      const h = { authorization: `Bearer ${TOKEN}` };
      const notJson = await req("/api/v1/peers", {
        method: "POST",
        headers: { ...h, "content-type": "text/plain" },
        body: "x",
      });
      assertEquals(notJson.status, 415);
      const broken = await req("/api/v1/peers", {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: "{",
      });
      assertEquals(broken.status, 400);
      const badAddr = await req("/api/v1/peers", {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: JSON.stringify({ addr: "/not/a/multiaddr" }),
      });
      assertEquals(badAddr.status, 400);
      assert((await badAddr.json()).error.includes("multiaddr"));
      const huge = await req("/api/v1/peers", {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: JSON.stringify({ addr: "x".repeat(100_000) }),
      });
      assertEquals(huge.status, 413);
      assertEquals((await req("/api/v1/identity/not-an-id")).status, 400);
      assertEquals((await req("/api/v1/nothing-here")).status, 404);
    });

    await t.step("identity documents resolve through the DHT", async () => {
      const other = cluster.nodes[2]!;
      await other.publishIdentity();
      const res = await req(`/api/v1/identity/${other.id}`);
      assertEquals(res.status, 200);
      const doc = await res.json();
      assertEquals(doc.id, other.id);
      assertEquals(doc.devices[0].peer, other.p2p.peerId.toString());
    });

    await t.step("/metrics is Prometheus text and / is a page", async () => {
      const m = await req("/metrics");
      assert(m.headers.get("content-type")!.startsWith("text/plain; version=0.0.4"));
      const text = await m.text();
      assert(/^mote_peers_connected \d+$/m.test(text), text.slice(0, 300));
      const page = await req("/");
      assert((await page.text()).includes(node.id));
    });

    await t.step("the event stream sends a status event first and then peer events", async () => {
      const ctl = new AbortController();
      const res = await req("/api/v1/events", { signal: ctl.signal });
      assertEquals(res.headers.get("content-type"), "text/event-stream");
      const reader = res.body!.getReader();
      let text = "";
      const deadline = Date.now() + 5000;
      // Cause a peer event: a fresh connection from a new node.
      const late = cluster.nodes[1]!;
      await late.p2p.hangUp(node.p2p.peerId);
      await late.connect(node.addresses()[0]!);
      while (!/event: peer:connect/.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      ctl.abort();
      await reader.cancel().catch(() => {});
      assert(text.startsWith("event: status"), text.slice(0, 100));
      assert(/event: peer:connect/.test(text), "expected a peer:connect event");
    });
  },
});

Deno.test({
  name: "the public gateway serves verifiable record bytes and refuses malformed keys",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(3);
    const [author, gatewayNode] = cluster.nodes;
    const { key } = await author!.publish("test", utf8("hello"), utf8("public words"));
    const app = createPublicApp({
      records: nodeRecordSource(gatewayNode!),
      info: () => ({ id: gatewayNode!.id, version: "test" }),
    });
    const res = await app.request(`/records/test/${key.hash}`);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/cbor");
    const bytes = new Uint8Array(await res.arrayBuffer());
    const r = decodeRecord(bytes, { namespaces: gatewayNode!.namespaces, key });
    assertEquals(new TextDecoder().decode(r.value), "public words");
    const etag = res.headers.get("etag")!;
    assertEquals(
      (await app.request(`/records/test/${key.hash}`, { headers: { "if-none-match": etag } }))
        .status,
      304,
    );
    const missing = recordKeyOf("test", author!.id, utf8("nothing"));
    assertEquals((await app.request(`/records/test/${missing.hash}`)).status, 404);
    for (
      const bad of [
        "/records/test/short",
        "/records/BAD/" + key.hash,
        "/records/test/" + key.hash.toUpperCase(),
      ]
    ) {
      assertEquals((await app.request(bad)).status, 400, bad);
    }
    assertEquals((await app.request("/records/test/..%2f..%2fetc")).status, 400);
    assertEquals(
      (await app.request("/api/v1/status")).status,
      404,
      "the gateway has no API routes",
    );
  },
});

Deno.test("the public gateway answers 429 past a client's rate limit", async () => {
  let n = 0;
  const app = createPublicApp({
    records: { record: () => Promise.resolve(undefined) },
    info: () => ({ id: "x", version: "test" }),
    admit: () => ++n <= 3,
  });
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push((await app.request("/")).status);
  assertEquals(codes, [200, 200, 200, 429, 429]);
});
