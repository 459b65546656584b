/**
 * "Others: write" on real nodes (docs/sharing.md, "Write sharing"): `chmod 777 /inbox --cap 1MiB`
 * publishes the folder's write secret; a stranger (a node the owner never named) writes a file
 * into `<owner-id>:/inbox/` through the owner's suppliers, the owner's node merges it after the
 * writer's hint and reads it back byte for byte, as do others (o+r). A write past the
 * cap is refused by the supplier (`over-cap`) and stores nothing. A supplier restarted with its
 * state refuses a captured request replayed after the restart (`replayed`): nothing stored twice,
 * no byte counted twice. `chmod 755 /inbox` rotates the write key: the stranger's next write is
 * refused, by its node and, with the old key, by every supplier, and nothing new appears. o+w on
 * a file, o+w without o+r and o+w on the root are refused with clear errors.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { fromBase32 } from "../src/encoding/base32.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { sendWrite, SharedWriter } from "../src/node/shared_writer.ts";
import { OTHERS_WRITE_CAP, SharingService } from "../src/node/sharing.ts";
import { dirState, type NodeState } from "../src/node/state.ts";
import { SharingError } from "../src/sharing/errors.ts";
import { signWriteRequest, type WriteRequest } from "../src/sharing/write_request.ts";
import { openUnstorageShardStore, type ShardStore } from "../src/store/mod.ts";
import {
  SHARD_PROTOCOL,
  Supplier,
  SUPPLIER_DEFAULTS,
  SUPPLY_PROTOCOL,
} from "../src/suppliers/mod.ts";
import { createSharingRoutes } from "../gateway/share_api.ts";
import { errorResponse } from "../gateway/errors.ts";
import { sharingBackend } from "../src/node/sharing_backend.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { chunks, collect, startOwner } from "./_storage_net.ts";

/** A supplier whose store and state outlive it, so it can be restarted. */
async function supplierOn(node: MoteNode, store: ShardStore, state: NodeState) {
  const s = new Supplier(node, store, state, { ...SUPPLIER_DEFAULTS, capacity: 1 << 30 });
  await s.start();
  return s;
}

Deno.test({
  name:
    "others may write a capped folder; o+w taken away rotates the key; replays survive restarts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const dir = await Deno.makeTempDir({ prefix: "mote-others-write-" });
    await using cluster = await startCluster(6);
    const [ownerNode, nS, ...rest] = cluster.nodes as MoteNode[];
    // Every supplier keeps its state on disk and its shards in a store that outlives it.
    const stores: ShardStore[] = [], states: NodeState[] = [];
    const suppliers: Supplier[] = [];
    // A restarted supplier is found through the same ref (the store's quota asks it).
    const refs: { s?: Supplier }[] = [];
    for (const [i, n] of rest.entries()) {
      const ref: { s?: Supplier } = {};
      refs.push(ref);
      stores.push(
        await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
          shardId,
          maxShardBytes: SUPPLIER_DEFAULTS.maxShard,
          quota: (c) => ref.s?.quotaOf(c) ?? 0,
        }),
      );
      states.push(dirState(`${dir}/supplier-${i}`));
      suppliers.push(ref.s = await supplierOn(n, stores[i]!, states[i]!));
    }
    try {
      await Promise.all(suppliers.map((s) => s.announce()));
      await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
      const { storage, catalog } = await startOwner(ownerNode!, {
        supplierCount: 4,
        quota: 64 << 20,
      });
      const sharing = new SharingService(storage);
      sharing.start(); // takes writers' hints, as on a running node
      const owner = ownerNode!.id;
      mark("storage ready");
      const readme = randomBytes(3000);
      await catalog.put("/inbox/readme.txt", chunks(readme), readme.length);
      await catalog.put("/pub/keep.txt", chunks(randomBytes(100)), 100);
      const S = new SharedWriter(nS!, new SharedReader(nS!));
      const reader = new SharedReader(nS!);
      const own = async (path: string) => await collect((await catalog.get(path)).stream);
      const names = async (path: string) => (await catalog.list(path)).map((e) => e.name).sort();
      const refused = async (p: Promise<unknown>, reason: string) => {
        const e = await assertRejects(() => p, SharingError);
        assertEquals((e as SharingError).reason, reason, e.message);
        return e as SharingError;
      };
      const stored = (id: string) =>
        Promise.all(stores.map((s) => s.has(owner, id))).then((l) => l.some(Boolean));
      let peers: { id: string; peer: string }[] = [];
      await waitFor(
        async () => (peers = await S.suppliersOf(owner)).length === 4,
        20_000,
        "the owner's four suppliers to be found",
        500,
      );

      await t.step("o+w on a file, without o+r, or on the root is refused", async () => {
        await assertRejects(
          () => sharing.chmod("/inbox/readme.txt", "666"),
          RangeError,
          "Others may write only to folders",
        );
        await assertRejects(() => sharing.chmod("/inbox", "773"), RangeError, "drop box");
        await assertRejects(() => sharing.chmod("/inbox", "o+w"), RangeError, "drop box");
        await assertRejects(() => sharing.chmod("/", "777"), RangeError, "root");
        await assertRejects(
          () => sharing.chmod("/inbox", "755", { cap: 1000 }),
          RangeError,
          "--cap goes with a mode that gives others write",
        );
        // Nothing changed: the folder is still private, and nothing is shared.
        const row = (await sharing.listLong("/")).find((e) => e.name === "inbox")!;
        assertEquals(row.mode, 0o700);
        assertEquals(await sharing.shares(), []);
      });

      let inbox: Awaited<ReturnType<typeof S.writable>>[number] | undefined;
      await t.step("chmod 777 --cap publishes the write secret under that cap", async () => {
        const r = await sharing.chmod("/inbox", "777", { cap: 1 << 20 });
        assertEquals(r.mode, 0o777);
        assertEquals(r.othersWrite, { cap: 1 << 20 });
        const [row] = await sharing.shares();
        assertEquals(row!.path, "/inbox");
        assertEquals(row!.public, true);
        assertEquals(row!.othersWrite, true);
        assertEquals(row!.cap, 1 << 20);
        assertEquals(row!.writers, []);
        // The stranger, named nowhere, finds it writable with the signed policy's cap.
        const w = await S.writable(owner);
        assertEquals(w.map((x) => x.path), ["/inbox"]);
        inbox = w[0]!;
        assertEquals(inbox.policy.byteCap, 1 << 20);
        // Without --cap, o+w newly given gets the modest default.
        const p = await sharing.chmod("/pub", "777");
        assertEquals(p.othersWrite, { cap: OTHERS_WRITE_CAP });
      });
      mark("others may write");

      const file = randomBytes(200_000);
      await t.step("a stranger's file is merged after its hint and read back", async () => {
        const r = await S.put(owner, ["inbox", "from-stranger.bin"], chunks(file), file.length);
        assert(r.shards >= 3, `only ${r.shards} shards placed`);
        // The hint reaches the owner's node, which merges within seconds (no mergeWrites here).
        await waitFor(
          async () => (await names("/inbox")).includes("from-stranger.bin"),
          30_000,
          "the owner's node to merge the stranger's file",
          250,
        );
        assertEquals(await own("/inbox/from-stranger.bin"), file);
        // Others read it too (o+r), from the owner's suppliers.
        assertEquals(
          await collect((await reader.get(owner, ["inbox", "from-stranger.bin"])).stream),
          file,
        );
        // A second file, merged by the owner's own round (as its timer does).
        const again = randomBytes(5000);
        await S.put(owner, ["inbox", "second.bin"], chunks(again), again.length);
        await waitFor(
          async () => (await sharing.mergeWrites(), (await names("/inbox")).includes("second.bin")),
          30_000,
          "the stranger's second file",
          250,
        );
        assertEquals(await own("/inbox/second.bin"), again);
      });
      mark("stranger's write merged");

      const signFor = (
        secret: Uint8Array,
        policy: { folder: string; seq: number },
        supplier: string,
        data: Uint8Array,
        id: string,
      ): WriteRequest =>
        signWriteRequest(secret, {
          owner,
          folder: policy.folder,
          seq: policy.seq,
          supplier,
          shard: fromBase32(id),
          size: data.length,
          expires: Date.now() + 120_000,
        });

      await t.step("a write past the cap is refused by the supplier, nothing stored", async () => {
        const s = peers[0]!;
        const a = randomBytes(700_000), aid = await shardId(a);
        assertEquals(
          await sendWrite(nS!, s.peer, signFor(inbox!.secret, inbox!.policy, s.id, a, aid), a),
          "stored",
        );
        const b = randomBytes(700_000), bid = await shardId(b);
        const e = await refused(
          sendWrite(nS!, s.peer, signFor(inbox!.secret, inbox!.policy, s.id, b, bid), b),
          "over-cap",
        );
        assert(e.message.includes("exceeds the cap"), e.message);
        assertEquals(await stored(bid), false);
      });

      await t.step("a request replayed after a supplier restart is refused", async () => {
        // /pub's cap is exact here: a fresh cap of 30 000 bytes, written only by this step.
        await sharing.chmod("/pub", "777", { cap: 30_000 });
        const pub = (await S.writable(owner)).find((x) => x.path === "/pub")!;
        assertEquals(pub.policy.byteCap, 30_000);
        const i = rest.findIndex((n) => n.id === peers[1]!.id);
        const s = peers[1]!;
        const a = randomBytes(20_000), aid = await shardId(a);
        const captured = signFor(pub.secret, pub.policy, s.id, a, aid);
        assertEquals(await sendWrite(nS!, s.peer, captured, a), "stored");
        await refused(sendWrite(nS!, s.peer, captured, a), "replayed");

        // The supplier restarts: a new Supplier (write book, nonce set) over the same state
        // directory and store.
        suppliers[i]!.stop();
        await rest[i]!.p2p.unhandle([SHARD_PROTOCOL, SUPPLY_PROTOCOL]);
        suppliers[i] = refs[i]!.s = await supplierOn(rest[i]!, stores[i]!, states[i]!);
        const e = await refused(sendWrite(nS!, s.peer, captured, a), "replayed");
        assert(e.message.startsWith("replayed: "), e.message);
        // Stored once: the write book lists the shard once, and its bytes counted once, so
        // exactly the 10 000 bytes left under the cap still fit, and one byte more does not.
        const written = await states[i]!.read(`writes.${owner}`);
        assert(written, "the write book's list");
        assert((await suppliers[i]!.writes.kept(rest[i]!, owner)).has(aid));
        const b = randomBytes(10_000), bid = await shardId(b);
        assertEquals(
          await sendWrite(nS!, s.peer, signFor(pub.secret, pub.policy, s.id, b, bid), b),
          "stored",
        );
        const c = randomBytes(1), cid = await shardId(c);
        await refused(
          sendWrite(nS!, s.peer, signFor(pub.secret, pub.policy, s.id, c, cid), c),
          "over-cap",
        );
        assertEquals(await stores[i]!.has(owner, cid), false);
      });
      mark("replay after restart refused");

      await t.step("the node API's chmod takes the cap and refuses bad ones", async () => {
        const app = createSharingRoutes(sharingBackend(sharing, new SharedReader(ownerNode!)));
        app.onError((err, c) => errorResponse(err, c));
        const chmod = (body: unknown) =>
          app.request("/api/v1/chmod", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
        for (const cap of ["1MiB", 0, -5, 1.5]) {
          const r = await chmod({ path: "/pub", mode: "777", cap });
          assertEquals(r.status, 400, `cap ${cap}`);
          assert((await r.json()).error.includes('"cap"'));
        }
        const file = await chmod({ path: "/pub/keep.txt", mode: "666" });
        assertEquals(file.status, 400);
        assert((await file.json()).error.includes("only to folders"));
        const ok = await chmod({ path: "/pub", mode: "777", cap: 50_000 });
        assertEquals(ok.status, 200);
        assertEquals((await ok.json()).othersWrite, { cap: 50_000 });
        const { shares } = await (await app.request("/api/v1/shares")).json();
        const row = shares.find((x: { path: string }) => x.path === "/pub");
        assertEquals([row.othersWrite, row.cap], [true, 50_000]);
      });

      await t.step("chmod 755 takes write away: the stranger is refused, nothing new", async () => {
        const before = await names("/inbox");
        const r = await sharing.chmod("/inbox", "755");
        assertEquals(r.writeRotated, true);
        assertEquals(r.othersWrite, undefined);
        const row = (await sharing.shares()).find((x) => x.path === "/inbox")!;
        assertEquals(row.othersWrite, undefined);
        assertEquals(row.public, true);
        // The stranger's node no longer finds a write key for /inbox.
        const late = randomBytes(5000);
        await refused(S.put(owner, ["inbox", "late.bin"], chunks(late), late.length), "denied");
        // The published key it kept is refused by every supplier (the owner pushed the policy).
        const data = randomBytes(5000), id = await shardId(data);
        for (const s of peers) {
          await refused(
            sendWrite(nS!, s.peer, signFor(inbox!.secret, inbox!.policy, s.id, data, id), data),
            "stale-policy",
          );
        }
        assertEquals(await stored(id), false);
        await sharing.mergeWrites();
        assertEquals(await names("/inbox"), before);
        // Others still read it (o+r stays).
        assertEquals(
          await collect((await reader.get(owner, ["inbox", "from-stranger.bin"])).stream),
          file,
        );
      });
      mark("o+w taken away");
      sharing.stop();
      await storage.stop();
    } finally {
      for (const s of suppliers) s.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
