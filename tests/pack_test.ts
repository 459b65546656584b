/**
 * Small files on real nodes: a 200-file site stored as one batch becomes a handful of shards,
 * not hundreds; every file reads back (ranges too); an unchanged batch adds nothing; a pack's
 * shards go only when the last file packed in it is gone; one member's key opens no neighbour;
 * bad batches are refused before anything is stored.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog } from "../src/catalog/mod.ts";
import { openMember, PACK_FILE_MAX } from "../src/catalog/pack.ts";
import { decodeManifest } from "../src/files/manifest.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { collect, startStorageNet } from "./_storage_net.ts";

Deno.test({
  name: "small files are packed per folder, read back, and their packs freed with the last member",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using net = await startStorageNet(3, { timeout: 3_000 });
    const catalog = new Catalog({
      node: net.owner,
      customer: net.customer,
      locator: net.locator,
      suppliers: () => net.hired,
      k: 2,
      m: 1,
    });
    await catalog.open();
    const shardsHeld = async () => {
      let n = 0;
      for (const s of net.suppliers) for await (const _ of s.store.list(net.owner.id)) n++;
      return n;
    };
    const site = Array.from({ length: 200 }, (_, i) => ({
      name: `page-${i}.html`,
      // 50 tiny files (inline) and 150 of 1.5–30 KB (packed).
      bytes: randomBytes(i < 50 ? 100 + i : 1_500 + i * 190),
      mtime: 1_700_000_000_000 + i,
    }));
    const before = await shardsHeld();

    await t.step("a 200-file site becomes a few shards, and every file reads back", async () => {
      const results = await catalog.putBatch("/site", site);
      assertEquals(results.filter((r) => !r.skipped).length, 200);
      const added = await shardsHeld() - before;
      // One pack (3 shards) plus the new folder objects (3 shards each), not 150 × 3.
      assert(added <= 12, `${added} shards for 200 files`);
      for (const f of site) {
        assertEquals(await collect((await catalog.get(`/site/${f.name}`)).stream), f.bytes);
      }
      const v = (await catalog.versions("/site/page-120.html"))[0]!;
      assert(v.pack, "a mid-size file is packed");
      assert((await catalog.versions("/site/page-3.html"))[0]!.inline, "a tiny file is inline");
      const mid = await catalog.get("/site/page-120.html", { range: { start: 1000, end: 1100 } });
      assertEquals(await collect(mid.stream), site[120]!.bytes.subarray(1000, 1100));
    });

    await t.step("one member's key opens no neighbour", async () => {
      const a = (await catalog.versions("/site/page-120.html"))[0]!;
      const b = (await catalog.versions("/site/page-121.html"))[0]!;
      assertEquals(a.pack!.manifest, b.pack!.manifest, "both in one pack");
      assert(!a.key.every((x, i) => x === b.key[i]), "each has its own key");
      const all = await collect(
        (await catalog.get("/site/page-121.html")).stream,
      );
      assertEquals(all, site[121]!.bytes);
      // b's ciphertext, cut from the pack, does not open under a's key.
      const packBytes = await (async () => {
        const { getFile } = await import("../src/files/get.ts");
        return await collect(
          getFile(decodeManifest(b.pack!.manifest), b.pack!.key, {
            customer: net.customer,
            locator: net.locator,
            fallback: net.hired,
          }),
        );
      })();
      const slice = packBytes.subarray(b.pack!.offset, b.pack!.offset + b.pack!.length);
      assertEquals(await openMember(b.key, slice), site[121]!.bytes);
      await assertRejects(() => openMember(a.key, slice), Error, "authentication");
    });

    await t.step("an unchanged batch stores nothing", async () => {
      const held = await shardsHeld();
      const again = await catalog.putBatch("/site", site);
      assertEquals(again.every((r) => r.skipped), true);
      assertEquals(await shardsHeld(), held);
    });

    await t.step("a pack's shards go only with the last file packed in it", async () => {
      const changed = { ...site[100]!, bytes: randomBytes(4_000), mtime: site[100]!.mtime + 1 };
      await catalog.putBatch("/site", [changed]);
      assertEquals(await collect((await catalog.get("/site/page-100.html")).stream), changed.bytes);
      assertEquals(
        await collect((await catalog.get("/site/page-100.html", { version: 1 })).stream),
        site[100]!.bytes,
        "the previous version is still there",
      );
      const held = await shardsHeld();
      // Pruning the old version of one member keeps the pack: 149 other files live in it.
      assertEquals(await catalog.prune("/site/page-100.html", 1), 1);
      assertEquals(await shardsHeld(), held, "the first pack stays");
      assertEquals(
        await collect((await catalog.get("/site/page-101.html")).stream),
        site[101]!.bytes,
      );
      // Removing every other file of the first pack frees it (and the folder objects churn).
      for (let i = 50; i < 200; i++) if (i !== 100) await catalog.remove(`/site/page-${i}.html`);
      const after = await shardsHeld();
      assert(after <= held - 3, `the first pack's 3 shards are gone (${held} → ${after})`);
      assertEquals(await collect((await catalog.get("/site/page-100.html")).stream), changed.bytes);
      assertEquals(await collect((await catalog.get("/site/page-7.html")).stream), site[7]!.bytes);
    });

    await t.step("the keep list names each pack once", async () => {
      const r = await catalog.publishKeepList();
      // Root and /site folder objects, and one pack (page-100's second version).
      assertEquals(r.objects, 3);
    });

    await t.step("bad batches are refused before anything is stored", async () => {
      const held = await shardsHeld();
      await assertRejects(
        () =>
          catalog.putBatch("/site", [{ name: "big", bytes: new Uint8Array(PACK_FILE_MAX + 1) }]),
        RangeError,
        "on its own",
      );
      await assertRejects(
        () =>
          catalog.putBatch("/site", [{ name: "a", bytes: randomBytes(2000) }, {
            name: "a",
            bytes: randomBytes(2000),
          }]),
        SyntaxError,
        "twice",
      );
      await assertRejects(
        () => catalog.putBatch("/site", [{ name: "../escape", bytes: randomBytes(2000) }]),
        SyntaxError,
      );
      await assertRejects(
        () => catalog.putBatch("/site/../x", [{ name: "a", bytes: randomBytes(2000) }]),
        SyntaxError,
      );
      assertEquals(await shardsHeld(), held);
    });
  },
});
