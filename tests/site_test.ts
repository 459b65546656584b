/**
 * Hosted sites on real nodes: the owner publishes a site from its catalog and switches off; any
 * other node resolves the signed record by the address alone, reads the index and every file
 * from the owner's suppliers (inline, packed and multi-block files), sees a republish atomically,
 * and stops serving an unpublished site.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { decodeKeepList } from "../src/catalog/records.ts";
import { formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { NodeSiteSource, publishSite, removeSite, siteAddress } from "../src/sites/mod.ts";
import { brotliDecompressSync } from "node:zlib";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster } from "./_harness.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

const html = (title: string) => utf8(`<!doctype html><title>${title}</title><h1>${title}</h1>`);

Deno.test({
  name: "a site published by an owner who then goes offline is served by any node",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(8, { republishInterval: 2_000 });
    const [ownerNode, visitor, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    try {
      const { storage, catalog } = await startOwner(ownerNode!, { blockSize: 64 * 1024 });
      const c = catalog!;
      // Small files in one batch (inline and packed), one large file over several blocks.
      const css = utf8("body{color:#333}".repeat(200)); // 3.2 KB: packed
      await c.putBatch("/.sites/blog", [
        { name: "index.html", bytes: html("v1") },
        { name: "style.css", bytes: css },
      ]);
      const photo = randomBytes(300_000);
      await c.put("/.sites/blog/img/photo.jpg", chunks(photo), photo.length);
      const first = await publishSite({ node: ownerNode!, catalog: c, name: "blog" });
      assertEquals(first.address, siteAddress(ownerNode!.id, "blog"));
      assertEquals(first.files, 3);

      // The keep record lists the site's record, so suppliers keep it alive.
      await c.publishKeepList();
      const keep = await ownerNode!.resolve(recordKeyOf("keep", ownerNode!.id));
      const listed = decodeKeepList(keep!.record.value).records;
      assert(
        listed.includes(formatRecordKey(recordKeyOf("site", ownerNode!.id, utf8("blog")))),
        "the site record is on the keep record",
      );
      await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));

      // A republish with a changed page: one record switch.
      await c.putBatch("/.sites/blog", [{ name: "index.html", bytes: html("v2") }]);
      const second = await publishSite({ node: ownerNode!, catalog: c, name: "blog" });
      assert(second.seq > first.seq, "a higher sequence");
      await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
      await storage.stop();
      await ownerNode!.stop();

      const source = new NodeSiteSource(visitor!);
      const site = await source.site(first.address);
      assert(site, "the visitor resolves the site by its address alone");
      assertEquals(site.seq, second.seq);
      assertEquals([...site.files.keys()].sort(), ["/img/photo.jpg", "/index.html", "/style.css"]);
      assertEquals(site.files.get("/index.html")!.type, "text/html; charset=utf-8");
      assertEquals(site.files.get("/img/photo.jpg")!.type, "image/jpeg");
      const read = async (path: string, range?: { start: number; end: number }) =>
        await collect(await source.open(site, site.files.get(path)!, range ? { range } : {}));
      assertEquals(await read("/index.html"), html("v2"));
      assertEquals(await read("/style.css"), css);
      // Compressed at publish: both copies stored, each decoding to the file.
      const styled = site.files.get("/style.css")!;
      assert(styled.encodings?.br && styled.encodings.gzip, "br and gzip copies");
      assert(styled.encodings.br < css.length / 5, "brotli shrinks repetitive CSS");
      const gz = await source.open(site, styled, { encoding: "gzip" });
      assertEquals(
        await new Response(
          (gz as ReadableStream<Uint8Array<ArrayBuffer>>).pipeThrough(
            new DecompressionStream("gzip"),
          ),
        ).bytes(),
        css,
      );
      const br = await collect(await source.open(site, styled, { encoding: "br" }));
      assertEquals(new Uint8Array(brotliDecompressSync(br)), css);
      assertEquals(site.files.get("/img/photo.jpg")!.encodings, undefined, "not for images");
      // A supplier that serves tampered shards: every byte still comes out right.
      for (const sup of suppliers.slice(0, 2)) {
        const realGet = sup.store.get.bind(sup.store);
        sup.store.get = async (customer, id) => {
          const b = await realGet(customer, id);
          if (!b) return b;
          const bad = b.slice();
          bad[0] = bad[0]! ^ 0xff;
          return bad;
        };
      }
      assertEquals(await read("/img/photo.jpg"), photo);
      assertEquals(
        await read("/img/photo.jpg", { start: 70_000, end: 200_000 }),
        photo.subarray(70_000, 200_000),
        "a range across blocks",
      );
      assertEquals(await source.site("a".repeat(52)), undefined, "an unknown address");
      assertEquals(await source.site("not-an-address"), undefined);
    } finally {
      for (const s of suppliers) s.stop();
    }
  },
});

Deno.test({
  name: "an unpublished site is no longer served, and its files are deleted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(8);
    const [ownerNode, visitor, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    try {
      const { storage, catalog } = await startOwner(ownerNode!);
      await catalog!.putBatch("/.sites/gone", [{ name: "index.html", bytes: html("bye") }]);
      const r = await publishSite({ node: ownerNode!, catalog: catalog!, name: "gone" });
      assert(await new NodeSiteSource(visitor!).site(r.address), "served while published");
      const removed = await removeSite({ node: ownerNode!, catalog: catalog!, name: "gone" });
      assertEquals(removed.files, 1);
      assertEquals(await new NodeSiteSource(visitor!).site(r.address), undefined);
      assertEquals(
        (await catalog!.list("/")).map((e) => e.name),
        [],
        "files, index and the empty .sites folder deleted",
      );
      await storage.stop();
    } finally {
      for (const s of suppliers) s.stop();
    }
  },
});
