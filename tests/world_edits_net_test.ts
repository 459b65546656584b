/**
 * Player edits on real nodes over loopback (six: owner A, editor B, visitor C, three suppliers):
 * the owner creates a world and grants region (0, 0) to node B and to a key X; B's node signs and
 * publishes its edits (at most one batch a second), X's batch is put into the DHT by C; C's
 * gateway and an edge seeded with it serve chunk (0, 0) merged (the edited heights and object, a
 * new `e`, the new URL immutable, the old one redirected); a node without a grant gets 403. Then
 * the owner ends both grants: B's node refuses to sign (403), the owner's node signs the region's
 * checkpoint listing what each had published, the edits stay merged, and X's batches signed
 * afterwards (one after its grant ended, one backdated into it) are refused and never merged.
 * The checkpoint and B's batch go on their signers' keep records and the suppliers keep them, so
 * with B's node stopped C still serves B's edits merged.
 *
 * Every wait is for a condition, bounded; DHT lookups answer as soon as a few copies are in (or
 * with what they have at their timeout), so no step waits out a dead peer.
 */
import { createEdgeApp } from "../gateway/edge.ts";
import { HttpError } from "../gateway/errors.ts";
import { createPublicApp } from "../gateway/public.ts";
import { decodeKeepList } from "../src/catalog/records.ts";
import { sha256Sync } from "../src/crypto/hash.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { createWorld, grantWorld, listWorlds, revokeGrant } from "../src/node/world_backend.ts";
import { WorldCheckpointer } from "../src/node/world_checkpoints.ts";
import { WorldEditor } from "../src/node/world_editor.ts";
import { nodeWorldSource } from "../src/node/world_source.ts";
import { formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { checkpointKey, verifyCheckpoint } from "../worlds/checkpoint.ts";
import { decodeChunk } from "../worlds/codec.ts";
import type { EditBatch } from "../worlds/edit_batch.ts";
import { editBatchKey, EditRefusedError, signEditBatch } from "../worlds/edit_record.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import { generateChunk, GENERATOR_ID } from "../worlds/generate.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { startOwner, startSupplier } from "./_storage_net.ts";

const SEED = 424242;
const HOUR = 3_600_000;

/** A public gateway over `node` on 127.0.0.1 (its own world source: nothing cached), with logs. */
function gateway(node: MoteNode) {
  const logs: { msg: string; editor?: string; error?: unknown }[] = [];
  const app = createPublicApp({
    log: (msg, f) => logs.push({ msg, ...f }),
    records: nodeRecordSource(node),
    info: () => ({ id: node.id, version: "test" }),
    worlds: nodeWorldSource(node, (msg, f) => logs.push({ msg, ...f })),
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  /** The gateway's refusals of `editor`'s batches, by reason. */
  const refused = (editor: string) =>
    logs.filter((l) => l.msg === "refused an edit batch" && l.editor === editor)
      .map((l) => l.error instanceof EditRefusedError ? l.error.reason : String(l.error));
  return { url, logs, server, refused };
}

type Region = { e: string; editors: { editor: string; seq: number }[] };
type Source = ReturnType<typeof nodeWorldSource>;

/**
 * A world source of `node` that has read world `address` with `ok` true: a fresh source per try,
 * since a source keeps what it read for 15 s.
 */
async function sourceSeeing(
  node: MoteNode,
  address: string,
  ok: (w: NonNullable<Awaited<ReturnType<Source["world"]>>>) => boolean,
  what: string,
): Promise<Source> {
  let source = nodeWorldSource(node);
  await waitFor(
    async () => {
      const w = await source.world(address);
      if (w && ok(w)) return true;
      source = nodeWorldSource(node);
      return false;
    },
    20_000,
    what,
  );
  return source;
}

Deno.test({
  name:
    "edits signed by a granted node are merged by other nodes' gateways, checkpointed when the grant ends, and outlive it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    await using cluster = await startCluster(6);
    const [ownerNode, editorNode, visitor, ...rest] = cluster.nodes as MoteNode[];
    const [A, B, C] = [ownerNode!, editorNode!, visitor!];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const servers: Deno.HttpServer[] = [];
    const [owner, editor] = await Promise.all(
      [A, B].map((n) => startOwner(n, { supplierCount: 3, quota: 64 << 20 })),
    );
    try {
      mark("storage ready");
      const { address } = await createWorld({
        node: A,
        catalog: owner!.catalog,
        init: { name: "sculpt", seed: SEED },
      });
      const X = generateIdentity(); // a grantee without a node: the test signs for it
      await grantWorld({
        node: A,
        name: "sculpt",
        grant: { rx: 0, rz: 0, grantee: B.id, expires: HOUR },
      });
      const granted = await grantWorld({
        node: A,
        name: "sculpt",
        grant: { rx: 0, rz: 0, grantee: X.id, expires: HOUR },
      });
      assertEquals(granted.grants.map((g) => [g.grantee, g.ended]), [[B.id, false], [X.id, false]]);
      mark("world created and granted");

      const edits = new WorldEditor({
        node: B,
        worlds: await sourceSeeing(
          B,
          address,
          (w) => w.value.grants.some((g) => g.grantee === B.id),
          "B's node reads its grant",
        ),
        catalog: () => editor!.storage.catalog(),
      });
      let first: Awaited<ReturnType<WorldEditor["edit"]>> | undefined;
      await t.step(
        "B's node signs and publishes its edits, a batch at most once a second",
        async () => {
          await waitFor(
            async () => {
              try {
                first = await edits.edit(address, 0, 0, [
                  { op: "height", x: 3, z: 4, h: 3000 },
                  { op: "raise", x: 10, z: 10, d: 64 },
                  { op: "place", x: 40 * 8, z: 41 * 8, kind: 5, rotation: 7, scale: 64 },
                ]);
                return true;
              } catch (e) {
                // A lookup may miss the world for a moment (404).
                if (e instanceof HttpError && (e.status === 403 || e.status === 404)) return false;
                throw e;
              }
            },
            20_000,
            "B's node sees its grant",
          );
          assertEquals([first!.editor, first!.edits], [B.id, 3]);
          assertEquals(first!.key, formatRecordKey(editBatchKey(address, 0, 0, B.id)));
          const t0 = performance.now();
          const second = await edits.edit(address, 0, 0, [{ op: "raise", x: 10, z: 10, d: 16 }]);
          const waited = performance.now() - t0;
          assert(second.seq > first!.seq, `${second.seq} after ${first!.seq}`);
          assertEquals(second.edits, 4, "the batch is B's whole contribution to the region");
          assert(waited >= 900, `the second batch waited for its second (${waited.toFixed(0)} ms)`);
          first = second;
          mark(`B published batch ${second.seq}`);
        },
      );

      await t.step("a node without a grant is refused (403) and signs nothing", async () => {
        const other = new WorldEditor({
          node: C,
          worlds: nodeWorldSource(C),
          catalog: () => Promise.reject(new Error("no catalog")),
        });
        const statuses: number[] = [];
        await waitFor(
          async () => {
            try {
              await other.edit(address, 0, 0, [{ op: "height", x: 0, z: 0, h: 1 }]);
              statuses.push(200);
            } catch (e) {
              statuses.push(e instanceof HttpError ? e.status : 500);
            }
            // A DHT lookup can miss the world for a moment (404, "no world"); never a 200.
            return statuses.at(-1) !== 404;
          },
          20_000,
          "C's node finds the world",
        );
        assertEquals(statuses.at(-1), 403, `statuses ${statuses}`);
        assertEquals(C.keeper.has(formatRecordKey(editBatchKey(address, 0, 0, C.id))), false);
      });

      // X's batches, put into the DHT by C (X has no node). Its first is signed in time.
      const xBatch = (seq: number, x: number, h: number): EditBatch => ({
        v: 1,
        world: address,
        region: [0, 0],
        editor: X.id,
        seq,
        edits: [{ op: "height", seq, x, z: 5, h }],
      });
      await C.publishRecord(signEditBatch(X, xBatch(1, 20, 2000)));

      const both = await editsDigest([{ editor: B.id, seq: first!.seq }, { editor: X.id, seq: 1 }]);
      const generated = generateChunk({ seed: SEED }, 0, 0);
      const expectMerged = (bytes: Uint8Array) => {
        const c = decodeChunk(bytes);
        assertEquals(c.heights[4 * 32 + 3], 3000, "height set");
        assertEquals(
          c.heights[10 * 32 + 10],
          Math.min(4095, generated.heights[10 * 32 + 10]! + 80),
          "raised twice",
        );
        // Column (25, 5) is where X's refused batches set 100: never merged.
        assertEquals(c.heights[5 * 32 + 25], generated.heights[5 * 32 + 25], "no refused edit");
        return c;
      };
      const region = async (url: string) =>
        await (await fetch(`${url}/w/${address}/r/0/0`)).json() as Region;

      const gw = gateway(C);
      servers.push(gw.server);
      const base = `${gw.url}/w/${address}`;
      await t.step(
        "C's gateway serves chunk (0, 0) merged under a new, immutable digest",
        async () => {
          await waitFor(
            async () => (await region(gw.url)).e === both,
            20_000,
            "C's gateway sees B's and X's batches",
          );
          mark("C's gateway serves the new digest");
          assertNotEquals(both, NO_EDITS);
          const old = await fetch(`${base}/c/${GENERATOR_ID}/0/0?e=${NO_EDITS}`, {
            redirect: "manual",
          });
          assertEquals(old.status, 302);
          assertEquals(
            old.headers.get("location"),
            `/w/${address}/c/${GENERATOR_ID}/0/0?e=${both}`,
          );
          await old.body?.cancel();
          const r = await fetch(`${base}/c/${GENERATOR_ID}/0/0?e=${both}`);
          assertEquals(r.status, 200);
          assertEquals(r.headers.get("cache-control"), "public, max-age=31536000, immutable");
          const c = expectMerged(await r.bytes());
          assertEquals(c.heights[5 * 32 + 20], 2000, "X's edit made in time is merged");
          const obj = await (await fetch(`${base}/c/${GENERATOR_ID}/1/1?e=${both}`)).bytes();
          assert(
            decodeChunk(obj).objects.some((o) =>
              o.x === 8 * 8 && o.z === 9 * 8 && o.kind === 5 && o.rotation === 7 && o.scale === 64
            ),
            "the placed boulder stands in chunk (1, 1)",
          );
          // Unedited regions keep NO_EDITS.
          const far = await fetch(`${base}/c/${GENERATOR_ID}/8/0`, { redirect: "manual" });
          assert(far.headers.get("location")!.endsWith(`?e=${NO_EDITS}`));
          await far.body?.cancel();
        },
      );

      await t.step("the edge, seeded with C's gateway, serves the same merged chunk", async () => {
        const edge = createEdgeApp({ seeds: [gw.url] });
        const r = await edge.request(`/w/${address}/c/${GENERATOR_ID}/0/0?e=${both}`);
        assertEquals(r.status, 200);
        expectMerged(await r.bytes());
      });

      const checkpointer = new WorldCheckpointer({
        node: A,
        catalog: () => owner!.storage.catalog(),
        settle: 0,
        lookupTimeout: 4_000,
      });
      const cpKey = checkpointKey(address, 0, 0, A.id);
      let xEnd = 0;
      await t.step(
        "ending the grants: B's node refuses to sign, the owner checkpoints the region, the edits stay",
        async () => {
          await revokeGrant({ node: A, name: "sculpt", rx: 0, rz: 0, grantee: B.id });
          const revoked = await revokeGrant({
            node: A,
            name: "sculpt",
            rx: 0,
            rz: 0,
            grantee: X.id,
          });
          assertEquals(revoked.grants.map((g) => [g.grantee, g.ended]), [[B.id, true], [
            X.id,
            true,
          ]]);
          xEnd = revoked.grants.find((g) => g.grantee === X.id)!.expiry;
          mark("grants ended");
          // B's node, once it reads the world's new version, no longer signs for the region.
          const worlds = await sourceSeeing(
            B,
            address,
            (w) => w.seq >= revoked.seq,
            "B's node reads the world with its grant ended",
          );
          const late = new WorldEditor({
            node: B,
            worlds,
            catalog: () => editor!.storage.catalog(),
          });
          const refused = await late.edit(address, 0, 0, [{ op: "height", x: 25, z: 5, h: 100 }])
            .then(() => 200, (e) => e instanceof HttpError ? e.status : 500);
          assertEquals(refused, 403);

          const signed = await checkpointer.pass();
          mark("checkpoint signed");
          assertEquals(signed.map((s) => [s.world, s.rx, s.rz, s.key]), [
            ["sculpt", 0, 0, formatRecordKey(cpKey)],
          ]);
          assertEquals(
            signed[0]!.accepted,
            [{ editor: B.id, seq: first!.seq }, { editor: X.id, seq: 1 }]
              .sort((a, b) => a.editor < b.editor ? -1 : 1),
          );
          assertEquals(await checkpointer.pass(), [], "nothing more to sign");
          // Any node finds it, listing exactly B's published batch.
          const found = await C.resolve(cpKey, { timeout: 5_000 });
          assert(found, "C finds the checkpoint");
          const listed0 = (await listWorlds({ node: A, catalog: owner!.catalog }))[0]!;
          assertEquals(listed0.grants.map((g) => [g.ended, g.checkpointed]), [
            [true, true],
            [true, true],
          ]);
          const world = await nodeWorldSource(C).world(address);
          const cp = verifyCheckpoint(found.record, world!, Date.now());
          const bRecord = B.keeper.get(first!.key)!;
          const listed = cp.accepted.find((a) => a.editor === B.id)!;
          assertEquals([listed.seq, listed.hash], [first!.seq, sha256Sync(bRecord)]);

          // A fresh gateway serves the region as before: the same pairs, the same digest.
          const gw2 = gateway(C);
          servers.push(gw2.server);
          await waitFor(
            async () => (await region(gw2.url)).e === both,
            20_000,
            "a fresh gateway serves the edits made before the grants ended",
          );
          const r = await fetch(`${gw2.url}/w/${address}/c/${GENERATOR_ID}/0/0?e=${both}`);
          assertEquals(r.status, 200);
          const merged = expectMerged(await r.bytes());
          assertEquals(merged.heights[5 * 32 + 20], 2000, "X's edit made in time stays merged");

          // X signs again: after its grant ended (refused by its time), then backdated into the
          // grant (refused by the checkpoint). Neither is merged; what it had made stays.
          await C.publishRecord(signEditBatch(X, xBatch(2, 25, 100)));
          await waitFor(
            async () => (await region(gw2.url), gw2.refused(X.id).includes("expired")),
            20_000,
            "the gateway refuses X's batch signed after its grant ended",
          );
          await C.publishRecord(signEditBatch(X, xBatch(3, 25, 100), xEnd - 1_000));
          await waitFor(
            async () => (await region(gw2.url), gw2.refused(X.id).includes("not-accepted")),
            20_000,
            "the gateway refuses X's backdated batch by the checkpoint",
          );
          const now = await region(gw2.url);
          assertEquals(now.e, both, "X's accepted batch stays merged where it was seen");
          const again = await fetch(`${gw2.url}/w/${address}/c/${GENERATOR_ID}/0/0?e=${both}`);
          expectMerged(await again.bytes());
          mark("X's late batches refused");
        },
      );

      await t.step("with B's node stopped, C still serves B's edits merged", async () => {
        // B's keep record lists its batch, A's the checkpoint: their suppliers keep both alive.
        const kept = async (node: MoteNode, key: string) => {
          const r = await node.resolve(recordKeyOf("keep", node.id), { timeout: 3_000 });
          return !!r && decodeKeepList(r.record.value).records.includes(key);
        };
        await waitFor(() => kept(B, first!.key), 30_000, "B's keep record lists its batch");
        await waitFor(() => kept(A, formatRecordKey(cpKey)), 30_000, "A's lists the checkpoint");
        mark("keep records list the batch and the checkpoint");
        await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
        const keepers = (key: string) => suppliers.filter((s) => s.node.keeper.has(key)).length;
        mark(
          `${keepers(first!.key)} suppliers keep B's batch, ${
            keepers(formatRecordKey(cpKey))
          } the checkpoint`,
        );
        assert(keepers(first!.key) > 0, "B's suppliers keep its batch record");
        assert(keepers(formatRecordKey(cpKey)) > 0, "A's suppliers keep the checkpoint");
        await editor!.storage.stop();
        await B.stop();
        mark("B stopped");
        const fresh = gateway(C); // nothing cached
        servers.push(fresh.server);
        let last: Region | undefined;
        try {
          await waitFor(
            async () => {
              last = await region(fresh.url);
              return last.editors.some((e) => e.editor === B.id && e.seq === first!.seq);
            },
            20_000,
            "C's fresh gateway finds B's batch with B offline",
          );
        } catch (err) {
          console.log("last region answer", last, "logs", fresh.logs);
          throw err;
        }
        const r = await fetch(`${fresh.url}/w/${address}/c/${GENERATOR_ID}/0/0`);
        assertEquals(r.status, 200);
        assert(r.url.endsWith(`?e=${last!.e}`), r.url);
        expectMerged(await r.bytes());
        mark("C served B's edits with B offline");
      });
      await owner!.storage.stop();
    } finally {
      for (const s of servers) await s.shutdown();
      await Promise.allSettled([owner, editor].map((o) => o?.storage.stop()));
    }
  },
});
