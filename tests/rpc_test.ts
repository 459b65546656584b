/**
 * The request/response layer on two real nodes: round trips, remote errors, frame size limits,
 * per-call timeouts against a stalling handler, and per-peer rate limits.
 */
import { concat, fromUtf8, utf8 } from "../src/encoding/bytes.ts";
import { RpcError } from "../src/net/rpc.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { startCluster } from "./_harness.ts";

const LIMITS = { maxRequest: 1024, maxResponse: 1024, timeout: 2_000 };

Deno.test({
  name: "Rpc serves requests with limits, timeouts and rate limits",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(2, { rateLimit: 5 });
    const [server, client] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    await server!.rpc.handle(
      "/mote/test-echo/1.0.0",
      (req) => Promise.resolve(utf8(`echo:${fromUtf8(req)}`)),
      LIMITS,
    );
    await server!.rpc.handle(
      "/mote/test-fail/1.0.0",
      () => Promise.reject(new Error("no such thing")),
      LIMITS,
    );
    await server!.rpc.handle(
      "/mote/test-stall/1.0.0",
      (_req, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(new Error("aborted")))
        ),
      LIMITS,
    );
    const to = server!.p2p.peerId;

    await t.step("a request gets its response", async () => {
      const res = await client!.rpc.request(to, "/mote/test-echo/1.0.0", utf8("hi"), LIMITS);
      assertEquals(fromUtf8(res), "echo:hi");
    });
    await t.step("a handler's error reaches the caller as a remote RpcError", async () => {
      const e = await assertRejects(
        () => client!.rpc.request(to, "/mote/test-fail/1.0.0", utf8("x"), LIMITS),
        RpcError,
        "no such thing",
      );
      assertEquals((e as RpcError).kind, "remote");
    });
    await t.step("a request over the server's frame limit is refused", async () => {
      await assertRejects(() =>
        client!.rpc.request(to, "/mote/test-echo/1.0.0", new Uint8Array(4096), LIMITS)
      );
    });
    await t.step("a response over the caller's limit is refused", async () => {
      await assertRejects(() =>
        client!.rpc.request(to, "/mote/test-echo/1.0.0", new Uint8Array(900), {
          maxResponse: 100,
          timeout: 2_000,
        })
      );
    });
    await t.step("a stalling handler is timed out by the caller", async () => {
      const t0 = Date.now();
      await assertRejects(() =>
        client!.rpc.request(to, "/mote/test-stall/1.0.0", utf8("x"), {
          maxResponse: 100,
          timeout: 500,
        })
      );
      const took = Date.now() - t0;
      assert(took < 1_900, `the call should end near its 500 ms timeout, took ${took} ms`);
    });
    await t.step("an aborted call ends at once", async () => {
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 100);
      await assertRejects(() =>
        client!.rpc.request(to, "/mote/test-stall/1.0.0", utf8("x"), {
          maxResponse: 100,
          timeout: 5_000,
          signal: ctl.signal,
        })
      );
    });
    await t.step("a peer over its rate limit is told so", async () => {
      const results = await Promise.allSettled(
        Array.from(
          { length: 30 },
          () => client!.rpc.request(to, "/mote/test-echo/1.0.0", utf8("x"), LIMITS),
        ),
      );
      const limited = results.filter((r) =>
        r.status === "rejected" && (r.reason as RpcError).kind === "limited"
      );
      assert(limited.length > 0, "expected some calls to be rate limited");
      assert(results.some((r) => r.status === "fulfilled"), "and some to succeed");
    });
  },
});

Deno.test({
  name: "Rpc sends a body given as chunks as one frame and can return a payload unjoined",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(2);
    const [server, client] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const big = { maxRequest: 1 << 20, maxResponse: 1 << 20, timeout: 5_000 };
    // A payload larger than yamux's and noise's frames, so it arrives in several pieces.
    const tail = new Uint8Array(300_000).map((_, i) => i % 251);
    await server!.rpc.handle(
      "/mote/test-chunks/1.0.0",
      (req) => Promise.resolve([utf8(`got ${req.length}:`), req.subarray(0, 3), tail]),
      big,
    );
    const to = server!.p2p.peerId;
    const body = [utf8("ab"), new Uint8Array(0), tail];
    const joined = await client!.rpc.request(to, "/mote/test-chunks/1.0.0", body, big);
    const head = utf8(`got ${2 + tail.length}:ab`);
    assertEquals(joined.length, head.length + 1 + tail.length);
    assertEquals(joined.subarray(0, head.length), head);
    assertEquals(joined.subarray(head.length + 1), tail);
    const chunks = await client!.rpc.requestChunks(to, "/mote/test-chunks/1.0.0", body, big);
    assert(chunks.length > 1, `expected the payload in pieces, got ${chunks.length}`);
    assertEquals(concat(...chunks), joined);
  },
});
