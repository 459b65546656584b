/**
 * Reconciliation on real nodes: the owner's catalog publishes its signed keep list to every
 * supplier, and a supplier removes a shard only when its latest complete list leaves it out and
 * it was stored more than the grace period before that list was made.
 *
 * The races: a shard stored after the list was made (an upload in flight) survives; a shard the
 * grace period still covers survives; an older list arriving after a newer one is refused, so it
 * can never delete what the newer one keeps; a list missing pages deletes nothing. Previous
 * versions stay until pruned. (Deletes replayed after a re-upload: suppliers_test.)
 */
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { Catalog } from "../src/catalog/mod.ts";
import { buildKeepPages } from "../src/files/keep_list.ts";
import type { Supplier } from "../src/suppliers/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { chunks, collect, startStorageNet } from "./_storage_net.ts";

const HOUR = 3_600_000;

Deno.test({
  name: "suppliers remove strays by the keep list, and the races keep what they must",
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
      blockSize: 64 * 1024,
    });
    await catalog.open();
    const v1 = randomBytes(150_000), v2 = randomBytes(70_000), b = randomBytes(5_000);
    await catalog.put("/site/index.html", chunks(v1), v1.length);
    await catalog.put("/site/index.html", chunks(v2), v2.length);
    await catalog.put("/b.bin", chunks(b), b.length);

    const me = net.owner.id;
    const ids = async (s: Supplier) => {
      const out = new Set<string>();
      for await (const x of s.store.list(me)) out.add(x.id);
      return out;
    };
    const stray = async (s: Supplier) => {
      const bytes = randomBytes(4096);
      const id = await shardId(bytes);
      await net.customer.putShard(s.node.id, id, bytes);
      return id;
    };
    const publish = async () => {
      const r = await catalog.publishKeepList();
      assertEquals(r.suppliers, 3, "every supplier got the list");
      return r;
    };
    const readsBack = async () => {
      assertEquals(await collect((await catalog.get("/site/index.html")).stream), v2);
      assertEquals(
        await collect((await catalog.get("/site/index.html", { version: 1 })).stream),
        v1,
        "the previous version",
      );
      assertEquals(await collect((await catalog.get("/b.bin")).stream), b);
    };

    await t.step("a stray past the grace period goes; everything kept stays", async () => {
      for (const s of net.suppliers) s.options.strayGrace = 0;
      const strays = await Promise.all(net.suppliers.map(stray));
      const before = await Promise.all(net.suppliers.map(ids));
      await new Promise((r) => setTimeout(r, 5));
      const report = await publish();
      assert(report.objects >= 5, `objects: ${report.objects}`);
      for (const s of net.suppliers) await s.reconcile();
      for (const [i, s] of net.suppliers.entries()) {
        const after = await ids(s);
        assertEquals(after.has(strays[i]!), false, "the stray is gone");
        assertEquals(after.size, before[i]!.size - 1, "nothing else was removed");
      }
      await readsBack();
    });

    await t.step("a shard stored after the list was made (an upload in flight) stays", async () => {
      const s = net.suppliers[0]!;
      const late = await stray(s);
      assertEquals(await s.reconcile(), 0);
      assert((await ids(s)).has(late));
      // A newer list made after it, with the grace period back at 24 h: still covered.
      for (const x of net.suppliers) x.options.strayGrace = 24 * HOUR;
      await new Promise((r) => setTimeout(r, 5));
      await publish();
      assertEquals(await s.reconcile(), 0, "within the grace period");
      assert((await ids(s)).has(late));
      for (const x of net.suppliers) x.options.strayGrace = 0;
      assertEquals(await s.reconcile(), 1, "past it, it goes");
    });

    await t.step("an older list arriving after a newer one is refused", async () => {
      const s = net.suppliers[1]!;
      // A list made before /c.bin existed, held back and delivered late.
      const old = buildKeepPages(
        [],
        { owner: me, seq: 1, created: Date.now() },
        net.owner.keys.signSecret,
      );
      const c = randomBytes(90_000);
      await new Promise((r) => setTimeout(r, 5));
      await catalog.put("/c.bin", chunks(c), c.length);
      await publish();
      await assertRejects(() => net.customer.sendKeepList(s.node.id, old), Error, "Stale");
      assertEquals(await s.reconcile(), 0);
      assertEquals(await collect((await catalog.get("/c.bin")).stream), c);
    });

    await t.step("a list missing pages deletes nothing", async () => {
      const s = net.suppliers[2]!;
      const target = await stray(s);
      await new Promise((r) => setTimeout(r, 5));
      // Two pages of a newer list, only the first delivered: the older complete list stops
      // counting and the partial one does not count yet.
      const filler = Array.from({ length: 6_000 }, () => ({
        id: randomBytes(32),
        k: 2,
        m: 1,
        blocks: [[0, 1, 2].map(() => toBase32(randomBytes(32)))],
      }));
      const pages = buildKeepPages(filler, {
        owner: me,
        seq: Date.now() + 1_000,
        created: Date.now(),
      }, net.owner.keys.signSecret);
      assert(pages.length >= 2, `pages: ${pages.length}`);
      assertEquals(await net.customer.sendKeepList(s.node.id, pages.slice(0, 1)), false);
      assertEquals(await s.reconcile(), 0, "nothing reconciles from a partial list");
      assert((await ids(s)).has(target));
      await readsBack();
      // The owner's next list (a higher sequence) completes at once and takes the stray.
      await new Promise((r) => setTimeout(r, 1_100));
      await publish();
      await s.reconcile();
      assertEquals((await ids(s)).has(target), false);
      await readsBack();
    });

    await t.step("forged, foreign and future-dated lists are refused", async () => {
      const s = net.suppliers[0]!;
      const [good] = buildKeepPages([], {
        owner: me,
        seq: Date.now() + 10_000,
        created: Date.now(),
      }, net.owner.keys.signSecret);
      const other = randomBytes(32);
      const [forged] = buildKeepPages([], {
        owner: me,
        seq: Date.now() + 20_000,
        created: Date.now(),
      }, other);
      await assertRejects(
        () => net.customer.sendKeepList(s.node.id, [forged!]),
        Error,
        "signature",
      );
      const [future] = buildKeepPages([], {
        owner: me,
        seq: Date.now() + 30_000,
        created: Date.now() + 2 * HOUR,
      }, net.owner.keys.signSecret);
      await assertRejects(() => net.customer.sendKeepList(s.node.id, [future!]), Error, "future");
      const [foreign] = buildKeepPages([], {
        owner: toBase32(randomBytes(32)).slice(0, 52),
        seq: Date.now() + 40_000,
        created: Date.now(),
      }, net.owner.keys.signSecret);
      await assertRejects(
        () => net.customer.sendKeepList(s.node.id, [foreign!]),
        Error,
        "another customer",
      );
      assert(good, "a well-formed page builds");
      assertEquals(await s.reconcile(), 0);
      await readsBack();
    });
  },
});
