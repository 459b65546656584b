/**
 * Player edits on real nodes over loopback: the owner creates a world and grants region (0, 0) to
 * node B (and to a key whose grant ends at once); B's node signs and publishes its edits (at most
 * one batch a second); node C's gateway and an edge seeded with it serve chunk (0, 0) merged (the
 * edited heights and object, a new `e`, the new URL immutable, the old one redirected); a node
 * without a grant is refused with 403 and a batch signed after its grant ended is refused by the
 * gateway and never merged; with B's node stopped (its suppliers keep its batch, listed on its
 * keep record), C still serves the merged chunk.
 */
import { createEdgeApp } from "../gateway/edge.ts";
import { HttpError } from "../gateway/errors.ts";
import { createPublicApp } from "../gateway/public.ts";
import { decodeKeepList } from "../src/catalog/records.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import type { MoteNode } from "../src/node/node.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { createWorld, grantWorld } from "../src/node/world_backend.ts";
import { WorldEditor } from "../src/node/world_editor.ts";
import { nodeWorldSource } from "../src/node/world_source.ts";
import { formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { decodeChunk } from "../worlds/codec.ts";
import { editBatchKey, signEditBatch } from "../worlds/edit_record.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import { generateChunk, GENERATOR_ID } from "../worlds/generate.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { startOwner, startSupplier } from "./_storage_net.ts";

const SEED = 424242;

/** A public gateway over `node` on 127.0.0.1, with its logs. */
function gateway(node: MoteNode) {
  const logs: { msg: string; error?: unknown }[] = [];
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
  return { url: `http://127.0.0.1:${server.addr.port}`, logs, server };
}

Deno.test({
  name:
    "edits signed by a granted node are merged into chunks by other nodes' gateways and outlive it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    await using cluster = await startCluster(9, { republishInterval: 2_000 });
    const [ownerNode, editorNode, visitor, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const servers: Deno.HttpServer[] = [];
    try {
      const owner = await startOwner(ownerNode!, { quota: 64 << 20 });
      const editor = await startOwner(editorNode!, { quota: 64 << 20 });
      mark("storage ready");
      const w = await createWorld({
        node: ownerNode!,
        catalog: owner.catalog,
        init: { name: "sculpt", seed: SEED },
      });
      const address = w.address;
      const late = generateIdentity(); // granted region (0, 0) for 1 ms: ended before it signs
      await grantWorld({
        node: ownerNode!,
        name: "sculpt",
        grant: { rx: 0, rz: 0, grantee: editorNode!.id, expires: 3_600_000 },
      });
      const granted = await grantWorld({
        node: ownerNode!,
        name: "sculpt",
        grant: { rx: 0, rz: 0, grantee: late.id, expires: 1 },
      });
      assertEquals(granted.grants.map((g) => g.grantee), [editorNode!.id, late.id]);
      mark("world created and granted");

      const edits = new WorldEditor({
        node: editorNode!,
        worlds: nodeWorldSource(editorNode!),
        catalog: () => editor.storage.catalog(),
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
                // B's view of the world may predate the grant, or a lookup may miss it (404).
                if (e instanceof HttpError && (e.status === 403 || e.status === 404)) return false;
                throw e;
              }
            },
            60_000,
            "B's node sees its grant",
          );
          assertEquals([first!.editor, first!.edits], [editorNode!.id, 3]);
          assertEquals(first!.key, formatRecordKey(editBatchKey(address, 0, 0, editorNode!.id)));
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
          node: visitor!,
          worlds: nodeWorldSource(visitor!),
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
          60_000,
          "C's node finds the world",
        );
        assertEquals(statuses.at(-1), 403, `statuses ${statuses}`);
        const mine = await visitor!.resolve(editBatchKey(address, 0, 0, visitor!.id), {
          timeout: 2_000,
        });
        assertEquals(mine, undefined);
      });

      // A batch signed after its grant ended, put into the DHT by C anyway.
      await visitor!.publishRecord(signEditBatch(late, {
        v: 1,
        world: address,
        region: [0, 0],
        editor: late.id,
        seq: 1_000,
        edits: [{ op: "height", seq: 1_000, x: 3, z: 4, h: 1 }],
      }));

      const e = await editsDigest([{ editor: editorNode!.id, seq: first!.seq }]);
      const generated = generateChunk({ seed: SEED }, 0, 0);
      const expectMerged = (bytes: Uint8Array) => {
        const c = decodeChunk(bytes);
        assertEquals(c.heights[4 * 32 + 3], 3000, "height set");
        assertEquals(
          c.heights[10 * 32 + 10],
          Math.min(4095, generated.heights[10 * 32 + 10]! + 80),
          "raised twice",
        );
        return c;
      };

      const gw = gateway(visitor!);
      servers.push(gw.server);
      const base = `${gw.url}/w/${address}`;
      await t.step(
        "C's gateway serves chunk (0, 0) merged under a new, immutable digest",
        async () => {
          await waitFor(
            async () => {
              const r = await fetch(`${base}/r/0/0`);
              return (await r.json()).e === e;
            },
            60_000,
            "C's gateway sees B's batch",
          );
          mark("C's gateway serves the new digest");
          assertNotEquals(e, NO_EDITS);
          const old = await fetch(`${base}/c/${GENERATOR_ID}/0/0?e=${NO_EDITS}`, {
            redirect: "manual",
          });
          assertEquals(old.status, 302);
          assertEquals(old.headers.get("location"), `/w/${address}/c/${GENERATOR_ID}/0/0?e=${e}`);
          await old.body?.cancel();
          const r = await fetch(`${base}/c/${GENERATOR_ID}/0/0?e=${e}`);
          assertEquals(r.status, 200);
          assertEquals(r.headers.get("cache-control"), "public, max-age=31536000, immutable");
          expectMerged(await r.bytes());
          const obj = await (await fetch(`${base}/c/${GENERATOR_ID}/1/1?e=${e}`)).bytes();
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
          assert(
            gw.logs.some((l) =>
              l.msg === "refused an edit batch" && String(l.error).includes("ended")
            ),
            "the batch signed after its grant ended was refused",
          );
        },
      );

      await t.step("the edge, seeded with C's gateway, serves the same merged chunk", async () => {
        const edge = createEdgeApp({ seeds: [gw.url] });
        const r = await edge.request(`/w/${address}/c/${GENERATOR_ID}/0/0?e=${e}`);
        assertEquals(r.status, 200);
        expectMerged(await r.bytes());
      });

      await t.step("with B's node stopped, C still serves the merged chunk", async () => {
        // B's keep record lists its batch, so its suppliers keep the record alive.
        await waitFor(
          async () => (await editor.catalog.list("/.worlds/.edits").catch(() => [])).length > 0,
          60_000,
          "the batch listed in B's catalog",
        );
        await editor.catalog.publishKeepList();
        const keep = await editorNode!.resolve(recordKeyOf("keep", editorNode!.id));
        assert(
          decodeKeepList(keep!.record.value).records.includes(first!.key),
          "the batch's key is on B's keep record",
        );
        const kept = await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
        assert(kept.some((n) => n > 0), "suppliers took B's records");
        const keepers = suppliers.filter((s) => s.node.keeper.has(first!.key)).length;
        mark(`${keepers} suppliers keep B's batch`);
        assert(keepers > 0, "B's suppliers keep its batch record");
        await editor.storage.stop();
        await editorNode!.stop();
        mark("B stopped");
        const fresh = gateway(visitor!); // nothing cached
        servers.push(fresh.server);
        await waitFor(
          async () =>
            !!(await visitor!.resolve(editBatchKey(address, 0, 0, editorNode!.id), {
              timeout: 10_000,
            })),
          60_000,
          "C's node finds B's batch in the DHT",
        );
        mark("C's node finds B's batch with B offline");
        // A DHT lookup can miss while routing tables still name B (the region is then served
        // unedited under NO_EDITS, which names exactly that): the next lookup finds the batch.
        let last: unknown;
        try {
          await waitFor(
            async () => {
              last = await (await fetch(`${fresh.url}/w/${address}/r/0/0`)).json();
              return (last as { e?: string }).e === e;
            },
            60_000,
            "C's fresh gateway finds B's batch with B offline",
          );
        } catch (err) {
          console.log("last region answer", last, "logs", fresh.logs);
          throw err;
        }
        const r = await fetch(`${fresh.url}/w/${address}/c/${GENERATOR_ID}/0/0`);
        assertEquals(r.status, 200);
        assert(r.url.endsWith(`?e=${e}`), r.url);
        expectMerged(await r.bytes());
        mark("C served the merged chunk with B offline");
      });
      await owner.storage.stop();
    } finally {
      for (const s of servers) await s.shutdown();
    }
  },
});
