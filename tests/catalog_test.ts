/**
 * The catalog on real nodes: nested folders, inline and erasure-coded files, versions, pruning,
 * removal, bad paths; and a restore on a fresh device that holds only the identity keys.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog, NotFoundError } from "../src/catalog/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { testNode } from "./_harness.ts";
import { chunks, collect, restoredCatalog, startStorageNet } from "./_storage_net.ts";

const BS = 64 * 1024;

Deno.test({
  name:
    "the catalog stores, lists, versions and removes files, and a fresh device restores it from the key",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using net = await startStorageNet(6);
    const catalog = new Catalog({
      node: net.owner,
      customer: net.customer,
      locator: net.locator,
      suppliers: () => net.hired,
      k: 4,
      m: 2,
      blockSize: BS,
    });
    assertEquals(await catalog.open(), "created");
    const big = randomBytes(3 * BS + 17), small = randomBytes(200);
    const text = new TextEncoder().encode("héllo wörld, spaces and unicode");

    await t.step("files go in at any depth and come back identical", async () => {
      await catalog.put("/photos/2024/big.bin", chunks(big), big.length, { mtime: 1000 });
      await catalog.put("/photos/small.bin", chunks(small), small.length);
      await catalog.put("/docs/a b/ünïcode.txt", chunks(text), text.length);
      await catalog.put("/empty", chunks(new Uint8Array(0)), 0);
      assertEquals(await collect((await catalog.get("/photos/2024/big.bin")).stream), big);
      assertEquals(await collect((await catalog.get("/photos/small.bin")).stream), small);
      assertEquals(await collect((await catalog.get("docs/a b/ünïcode.txt")).stream), text);
      assertEquals(await collect((await catalog.get("/empty")).stream), new Uint8Array(0));
      const r = await catalog.get("/photos/2024/big.bin", { range: { start: 10, end: BS + 10 } });
      assertEquals(await collect(r.stream), big.subarray(10, BS + 10));
    });

    await t.step("folders list their entries", async () => {
      assertEquals((await catalog.list("/")).map((e) => [e.name, e.type]), [
        ["docs", "folder"],
        ["empty", "file"],
        ["photos", "folder"],
      ]);
      const photos = await catalog.list("/photos");
      assertEquals(photos.map((e) => e.name), ["2024", "small.bin"]);
      assertEquals(photos[1]!.size, 200);
    });

    await t.step("putting a path again keeps the previous version until pruned", async () => {
      const v2 = randomBytes(2 * BS);
      await catalog.put("/photos/2024/big.bin", chunks(v2), v2.length);
      const versions = await catalog.versions("/photos/2024/big.bin");
      assertEquals(versions.map((v) => v.size), [v2.length, big.length]);
      assertEquals(
        await collect((await catalog.get("/photos/2024/big.bin", { version: 1 })).stream),
        big,
      );
      const oldIds =
        (await import("../src/files/mod.ts")).decodeManifest(versions[1]!.manifest!).blocks[0]!
          .shards;
      assertEquals(await catalog.prune("/photos/2024/big.bin", 1), 1);
      assertEquals((await catalog.versions("/photos/2024/big.bin")).length, 1);
      // The pruned version's shards are gone from its suppliers.
      const holders = await Promise.all(net.hired.map((s) => net.customer.has(s, [oldIds[0]!])));
      assert(holders.every((h) => h[0] === false), "pruned shards must be deleted");
      assertEquals(await collect((await catalog.get("/photos/2024/big.bin")).stream), v2);
    });

    await t.step(
      "prune keeps the newest N and those younger than D days, file or folder",
      async () => {
        const bytes = () => randomBytes(BS + 5);
        for (let i = 0; i < 3; i++) await catalog.put("/logs/deep/b.bin", chunks(bytes()), BS + 5);
        await catalog.put("/logs/a.bin", chunks(bytes()), BS + 5);
        await new Promise((r) => setTimeout(r, 1_000));
        for (let i = 0; i < 2; i++) await catalog.put("/logs/a.bin", chunks(bytes()), BS + 5);
        const [, middle, oldest] = await catalog.versions("/logs/a.bin");
        // An age between the first version's and the second's: the two recent versions stay.
        const age = Date.now() - (oldest!.added + middle!.added) / 2;
        assertEquals(await catalog.prune("/logs/a.bin", { days: age / 86_400_000 }), 1);
        assertEquals((await catalog.versions("/logs/a.bin")).length, 2);
        const ids =
          (await import("../src/files/mod.ts")).decodeManifest(oldest!.manifest!).blocks[0]!
            .shards;
        const held = await Promise.all(net.hired.map((s) => net.customer.has(s, [ids[0]!])));
        assert(held.every((h) => h[0] === false), "the pruned version's shards are deleted");
        // A whole folder, recursively: keep the newest of every file.
        assertEquals(await catalog.prune("/logs", { keep: 1 }), 3);
        assertEquals((await catalog.versions("/logs/a.bin")).length, 1);
        assertEquals((await catalog.versions("/logs/deep/b.bin")).length, 1);
        // Age alone never removes the newest version.
        assertEquals(await catalog.prune("/logs", { days: 0 }), 0);
        await assertRejects(() => catalog.prune("/logs/none", 1), NotFoundError);
        await assertRejects(() => catalog.prune("/logs", { keep: 0 }), RangeError);
        // A prune of the whole catalog leaves hosted sites' files to their publisher.
        for (let i = 0; i < 2; i++) {
          await catalog.put("/.sites/s/page.html", chunks(bytes()), BS + 5);
          await catalog.put("/logs/a.bin", chunks(bytes()), BS + 5);
        }
        assertEquals(await catalog.prune("/", { keep: 1 }), 2);
        assertEquals((await catalog.versions("/.sites/s/page.html")).length, 2);
        assertEquals((await catalog.versions("/logs/a.bin")).length, 1);
        await catalog.remove("/.sites/s/page.html");
        await catalog.remove("/.sites/s");
        await catalog.remove("/.sites");
        await catalog.remove("/logs/a.bin");
        await catalog.remove("/logs/deep/b.bin");
        await catalog.remove("/logs/deep");
        await catalog.remove("/logs");
      },
    );

    await t.step("skipping unchanged files compares size, mtime and the keyed hash", async () => {
      const v = (await catalog.versions("/photos/small.bin"))[0]!;
      assert(await catalog.unchanged("/photos/small.bin", v.size, v.mtime, v.hash));
      assert(!await catalog.unchanged("/photos/small.bin", v.size, v.mtime + 1, v.hash));
      assert(!await catalog.unchanged("/nope", 1, 1, v.hash));
    });

    await t.step("bad paths and missing files get clear errors", async () => {
      for (const bad of ["/../etc/passwd", "/a/../b", "/a/./b", "a\\b", "x\u0000y"]) {
        await assertRejects(() => catalog.put(bad, chunks(small), small.length), SyntaxError);
      }
      await assertRejects(() => catalog.get("/photos/missing.bin"), NotFoundError);
      await assertRejects(() => catalog.list("/photos/small.bin/x"), NotFoundError);
      await assertRejects(() => catalog.remove("/photos"), SyntaxError, "not empty");
    });

    await t.step("removing a file deletes its shards", async () => {
      await catalog.remove("/photos/small.bin");
      assertEquals((await catalog.list("/photos")).map((e) => e.name), ["2024"]);
    });

    await t.step(
      "a fresh device with only the identity keys lists and reads everything",
      async () => {
        const device = testNode({
          keys: net.owner.keys,
          bootstrap: [net.suppliers[0]!.node.addresses()[0]!],
        }, "restored");
        try {
          await device.start();
          const { catalog: restored, serving } = await restoredCatalog(device, {
            k: 4,
            m: 2,
            blockSize: BS,
          });
          assertEquals(serving.length, 6, "all six suppliers announce serving this identity");
          assertEquals(await restored.open(), "found");
          assertEquals((await restored.list("/")).map((e) => e.name), ["docs", "empty", "photos"]);
          assertEquals(await collect((await restored.get("/docs/a b/ünïcode.txt")).stream), text);
          const v2 = await collect((await catalog.get("/photos/2024/big.bin")).stream);
          assertEquals(await collect((await restored.get("/photos/2024/big.bin")).stream), v2);
        } finally {
          await device.stop();
        }
      },
    );
  },
});
