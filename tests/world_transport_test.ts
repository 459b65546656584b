/**
 * The world client's chunk transport (worlds/client/transport.ts) against a real WebSocket and HTTP
 * server on loopback that speaks the gateway's world protocol: chunks over the socket with wants
 * batched at most 64 a message, cancels for aborted chunks, HTTP while the socket handshakes,
 * after it fails and for chunks it does not answer in time.
 */
import { encodeChunk, generateChunk } from "../worlds/mod.ts";
import { chunkKey } from "../worlds/client/keys.ts";
import { chunkHeader, httpChunks, SocketChunks } from "../worlds/client/transport.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { waitFor } from "./_harness.ts";

const SEED = 5;
const bytesOf = (x: number, z: number) => encodeChunk(generateChunk({ seed: SEED }, x, z));

/** A loopback server: `answer` decides whether the socket sends a wanted chunk. */
function server(answer: (x: number, z: number) => boolean = () => true) {
  const seen = {
    wants: [] as number[],
    cancels: [] as [number, number][],
    http: 0,
    sockets: [] as WebSocket[],
  };
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/w/a/ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      seen.sockets.push(socket);
      socket.onmessage = (e) => {
        const m = JSON.parse(e.data as string) as { t: string; c: [number, number][] };
        if (m.t === "cancel") seen.cancels.push(...m.c);
        else {
          seen.wants.push(m.c.length);
          for (const [x, z] of m.c) if (answer(x, z)) socket.send(bytesOf(x, z));
        }
      };
      return response;
    }
    const m = url.pathname.match(/^\/w\/a\/c\/terrain-v1\/(-?\d+)\/(-?\d+)$/);
    if (m) {
      seen.http++;
      return new Response(bytesOf(Number(m[1]), Number(m[2])) as Uint8Array<ArrayBuffer>);
    }
    return new Response("no", { status: 404 });
  });
  const base = new URL(`http://127.0.0.1:${s.addr.port}/w/a/`);
  const ws = new URL(`ws://127.0.0.1:${s.addr.port}/w/a/ws`);
  return { s, seen, base, ws, http: httpChunks(base, "terrain-v1") };
}

const signal = () => new AbortController().signal;

Deno.test("transport: chunks come over the socket, wanted at most 64 a message", async () => {
  const { s, seen, ws, http } = server();
  const t = new SocketChunks(ws, http);
  try {
    await waitFor(() => t.stats.state === "open", 5_000, "socket open");
    const keys = Array.from({ length: 150 }, (_, i) => chunkKey(i % 15 - 7, Math.floor(i / 15)));
    const got = await Promise.all(keys.map((k) => t.fetchChunk(k, { signal: signal() })));
    got.forEach((b, i) => assertEquals(b, bytesOf(keys[i]!.x, keys[i]!.z)));
    assertEquals(t.stats.viaSocket, 150);
    assertEquals(seen.http, 0);
    assert(seen.wants.every((n) => n <= 64), `batches ${seen.wants}`);
    assertEquals(seen.wants.reduce((a, b) => a + b, 0), 150);
    assert(seen.wants.length <= 4, `${seen.wants.length} messages for 150 chunks`);
  } finally {
    t.close();
    await s.shutdown();
  }
});

Deno.test("transport: an aborted chunk is cancelled on the socket and rejects", async () => {
  const { s, seen, ws, http } = server((x) => x !== 9); // never answers x = 9
  const t = new SocketChunks(ws, http);
  try {
    await waitFor(() => t.stats.state === "open", 5_000, "socket open");
    const ac = new AbortController();
    const p = t.fetchChunk(chunkKey(9, 1), { signal: ac.signal });
    await waitFor(() => seen.wants.length > 0, 5_000, "want sent");
    ac.abort(new DOMException("left the ring", "AbortError"));
    await assertRejects(() => p, DOMException);
    await waitFor(() => seen.cancels.length > 0, 5_000, "cancel sent");
    assertEquals(seen.cancels, [[9, 1]]);
    assertEquals(seen.http, 0, "an aborted chunk is not fetched another way");
  } finally {
    t.close();
    await s.shutdown();
  }
});

Deno.test("transport: HTTP while the socket handshakes, after it fails, and past the answer timeout", async (t) => {
  await t.step("before the socket opens", async () => {
    const { s, seen, ws, http } = server();
    const tr = new SocketChunks(ws, http);
    try {
      assertEquals(tr.stats.state, "connecting");
      assertEquals(await tr.fetchChunk(chunkKey(1, 2), { signal: signal() }), bytesOf(1, 2));
      assertEquals([seen.http, tr.stats.viaHttp], [1, 1]);
    } finally {
      tr.close();
      await s.shutdown();
    }
  });
  await t.step("a chunk the socket does not answer in time", async () => {
    const { s, seen, ws, http } = server(() => false);
    const tr = new SocketChunks(ws, http, { answerTimeoutMs: 200 });
    try {
      await waitFor(() => tr.stats.state === "open", 5_000, "socket open");
      assertEquals(await tr.fetchChunk(chunkKey(-3, 4), { signal: signal() }), bytesOf(-3, 4));
      assertEquals(seen.http, 1);
      await waitFor(() => seen.cancels.length > 0, 5_000, "the socket's want is cancelled");
    } finally {
      tr.close();
      await s.shutdown();
    }
  });
  await t.step("the socket closes with chunks waiting", async () => {
    const { s, seen, ws, http } = server(() => false);
    const tr = new SocketChunks(ws, http, { reconnects: 0 });
    try {
      await waitFor(() => tr.stats.state === "open", 5_000, "socket open");
      const p = tr.fetchChunk(chunkKey(0, 0), { signal: signal() });
      await waitFor(() => seen.wants.length > 0, 5_000, "want sent");
      seen.sockets[0]!.close(1011, "gone");
      assertEquals(await p, bytesOf(0, 0));
      await waitFor(() => tr.stats.state === "failed", 5_000, "failed");
      assertEquals(await tr.fetchChunk(chunkKey(0, 1), { signal: signal() }), bytesOf(0, 1));
      assertEquals([seen.http, tr.stats.socketFailures], [2, 1]);
    } finally {
      tr.close();
      await s.shutdown();
    }
  });
});

Deno.test("chunkHeader reads x and z from an encoded chunk and refuses anything else", () => {
  assertEquals(chunkHeader(bytesOf(-2147483648, 2147483647)), { x: -2147483648, z: 2147483647 });
  assertEquals(chunkHeader(new TextEncoder().encode('{"t":"error"}')), undefined);
  assertEquals(chunkHeader(bytesOf(1, 1).subarray(0, 12)), undefined);
});
