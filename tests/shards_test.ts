/**
 * `GET /shards/<hash>?owner=…` on real nodes' public gateways, served over real HTTP: a supplier
 * answers a shard it holds from its store; a node that does not hold it fetches it from the
 * owner's suppliers over libp2p; validators, HEAD and 304; 400 for bad input, 404 for a shard
 * nobody holds, 503 with Retry-After when the node's fetches for others are at their limit.
 */
import { createPublicApp } from "../gateway/mod.ts";
import { ShardsBusyError } from "../gateway/shards.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { NodeShardSource, type NodeShardSourceOptions } from "../src/node/shard_source.ts";
import { memoryState } from "../src/node/state.ts";
import { Customer, MAX_SHARD } from "../src/suppliers/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { startStorageNet } from "./_storage_net.ts";

/** Serves a node's public gateway on 127.0.0.1 (port chosen by the system). */
function serveGateway(node: MoteNode, opts: NodeShardSourceOptions = {}) {
  const shards = new NodeShardSource(node, opts);
  const app = createPublicApp({
    info: () => ({ id: node.id, version: "test" }),
    records: nodeRecordSource(node),
    shards,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, server, shards };
}

Deno.test({
  name: "the public gateway serves shards by hash: held here, or fetched from a supplier",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using net = await startStorageNet(3);
    const owner = net.owner.id;
    const data = randomBytes(100_000);
    const id = await shardId(data);
    const holder = net.hired[0]!;
    assertEquals(await net.customer.putShard(holder, id, data), "stored");
    const holderSupplier = net.suppliers.find((s) => s.node.id === holder)!;
    const other = net.suppliers.find((s) => s.node.id !== holder)!;

    // The holder announces that it serves the owner; a fresh customer must find it.
    const probe = new Customer(other.node, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: 5_000,
    });
    await waitFor(
      async () => (await probe.findServing(owner, { timeout: 2_000 })).some((f) => f.id === holder),
      20_000,
      "the holder's serves announcement",
    );

    const atHolder = serveGateway(holderSupplier.node, { supplier: holderSupplier });
    const atOther = serveGateway(other.node, { supplier: other });
    const atOwner = serveGateway(net.owner);
    const busy = serveGateway(net.owner, { maxInFlight: 0 });
    const path = `/shards/${id}?owner=${owner}`;
    try {
      await t.step("held locally: the bytes, immutable, with CORS and an ETag", async () => {
        const res = await fetch(atHolder.url + path);
        assertEquals(res.status, 200);
        assertEquals(new Uint8Array(await res.arrayBuffer()), data);
        assertEquals(res.headers.get("content-type"), "application/octet-stream");
        assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
        assertEquals(res.headers.get("etag"), `"${id}"`);
        assertEquals(res.headers.get("access-control-allow-origin"), "*");
        assertEquals(res.headers.get("content-length"), String(data.length));
        assertEquals(atHolder.shards.inFlight, 0);
      });

      await t.step("not held: fetched from the owner's suppliers over libp2p", async () => {
        for (const gw of [atOther, atOwner]) {
          const res = await fetch(gw.url + path);
          assertEquals(res.status, 200, gw.url);
          assertEquals(new Uint8Array(await res.arrayBuffer()), data);
        }
        assertEquals(atOwner.shards.inFlight, 0, "the slot is given back");
      });

      await t.step("If-None-Match answers 304, HEAD the headers alone", async () => {
        const res = await fetch(atOwner.url + path, { headers: { "if-none-match": `"${id}"` } });
        assertEquals(res.status, 304);
        assertEquals(res.headers.get("etag"), `"${id}"`);
        await res.body?.cancel();
        const head = await fetch(atHolder.url + path, { method: "HEAD" });
        assertEquals(head.status, 200);
        assertEquals(head.headers.get("content-length"), String(data.length));
        assertEquals((await head.arrayBuffer()).byteLength, 0);
      });

      await t.step("bad hash or owner: 400; nobody holds it: 404", async () => {
        const bad = [
          `/shards/${id.toUpperCase()}?owner=${owner}`,
          `/shards/${id.slice(1)}?owner=${owner}`,
          `/shards/${id}`,
          `/shards/${id}?owner=${owner.slice(2)}`,
          `/shards/${id}?owner=../../etc`,
        ];
        for (const p of bad) {
          const res = await fetch(atOther.url + p);
          assertEquals(res.status, 400, p);
          assert(typeof (await res.json()).error === "string");
        }
        const unknown = toBase32(randomBytes(32));
        for (const gw of [atHolder, atOwner]) {
          const res = await fetch(`${gw.url}/shards/${unknown}?owner=${owner}`);
          assertEquals(res.status, 404, gw.url);
          await res.body?.cancel();
        }
        // An owner nobody serves.
        const res = await fetch(`${atOther.url}/shards/${id}?owner=${toBase32(randomBytes(32))}`);
        assertEquals(res.status, 404);
        await res.body?.cancel();
      });

      await t.step("fetches for others at their limit: 503 with Retry-After", async () => {
        const res = await fetch(busy.url + path);
        assertEquals(res.status, 503);
        assertEquals(res.headers.get("retry-after"), "1");
        await res.body?.cancel();
        // A source with one slot: a second fetch while the first runs is refused at once.
        const one = new NodeShardSource(net.owner, { maxInFlight: 1 });
        const first = one.shard(owner, id);
        await assertRejects(() => one.shard(owner, toBase32(randomBytes(32))), ShardsBusyError);
        assertEquals(await first, data);
        assertEquals(one.inFlight, 0);
      });
    } finally {
      for (const gw of [atHolder, atOther, atOwner, busy]) await gw.server.shutdown();
    }
  },
});
