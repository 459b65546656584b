/**
 * The data path on real nodes: files of awkward sizes through encryption, a 4+2 Reed-Solomon
 * code and six suppliers, and back; ranges; losing m suppliers (still readable) and m + 1 (a
 * clear error naming what is missing); lying and stalling suppliers; a supplier down at upload.
 */
import { generateDataKey } from "../src/crypto/block.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { getFile, NotEnoughShardsError, putFile, type ReadStats } from "../src/files/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { chunks, collect, startStorageNet } from "./_storage_net.ts";

const BS = 64 * 1024; // small blocks keep the test quick while crossing many block edges
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "files of any size go through 6 suppliers with a 4+2 code and come back identical",
  ...opts,
  async fn(t) {
    await using net = await startStorageNet(6);
    const base = {
      customer: net.customer,
      locator: net.locator,
      suppliers: net.hired,
      k: 4,
      m: 2,
      blockSize: BS,
    };
    for (const size of [0, 1, 1000, BS - 1, BS, BS + 1, 5 * BS + 12_345]) {
      await t.step(`${size} bytes`, async () => {
        const data = randomBytes(size);
        const key = generateDataKey();
        let progress = 0;
        const { manifest, pending } = await putFile(chunks(data, 7_777), size, {
          ...base,
          key,
          onProgress: (p) => (progress = p.bytes),
        });
        assertEquals(pending, []);
        assertEquals(progress, size);
        const back = await collect(
          getFile(manifest, key, {
            customer: net.customer,
            locator: net.locator,
            fallback: net.hired,
          }),
        );
        assertEquals(back, data);
        if (size > 2 * BS) {
          const r = await collect(getFile(manifest, key, {
            customer: net.customer,
            locator: net.locator,
            fallback: net.hired,
            range: { start: BS - 10, end: 2 * BS + 10 },
          }));
          assertEquals(r, data.subarray(BS - 10, 2 * BS + 10));
        }
      });
    }
  },
});

Deno.test({
  name: "a file in default 4 MiB blocks (shards over 1 MiB) round-trips",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const data = randomBytes((4 << 20) + 12_345);
    const key = generateDataKey();
    const { manifest } = await putFile(chunks(data, 1 << 20), data.length, {
      customer: net.customer,
      locator: net.locator,
      suppliers: net.hired,
      k: 4,
      m: 2,
      key,
    });
    assertEquals(manifest.blocks.length, 2);
    assertEquals(
      await collect(
        getFile(manifest, key, {
          customer: net.customer,
          locator: net.locator,
          fallback: net.hired,
        }),
      ),
      data,
    );
  },
});

Deno.test({
  name: "losing m suppliers leaves files readable; losing m + 1 is a clear error",
  ...opts,
  async fn() {
    await using net = await startStorageNet(6);
    const data = randomBytes(3 * BS + 5);
    const key = generateDataKey();
    const { manifest } = await putFile(chunks(data), data.length, {
      customer: net.customer,
      locator: net.locator,
      suppliers: net.hired,
      k: 4,
      m: 2,
      key,
      blockSize: BS,
    });
    const read = (stats?: ReadStats) =>
      collect(
        getFile(manifest, key, {
          customer: net.customer,
          locator: net.locator,
          fallback: net.hired,
          hedge: 200,
          stats,
        }),
      );
    // Kill a data shard's supplier and a parity shard's supplier.
    const byId = new Map(net.suppliers.map((s) => [s.node.id, s]));
    await byId.get(net.hired[0]!)!.node.stop();
    await byId.get(net.hired[5]!)!.node.stop();
    const stats: ReadStats = { shardsFetched: 0, bytesFetched: 0, bytesOut: 0, failedFetches: 0 };
    assertEquals(await read(stats), data);
    assert(stats.failedFetches > 0, "the dead suppliers were tried and bypassed");
    assertEquals(net.customer.contactOf(net.hired[2]!).health, "ok");
    for (const dead of [net.hired[0]!, net.hired[5]!]) {
      const c = net.customer.contactOf(dead);
      assert(
        c.failures > 0 && c.health !== "ok",
        `a dead supplier shows as failing: ${JSON.stringify(c)}`,
      );
    }
    assertEquals(stats.bytesOut, data.length);
    await byId.get(net.hired[1]!)!.node.stop();
    const e = await assertRejects(() => read(), NotEnoughShardsError, "Not enough shards");
    assert(
      (e as NotEnoughShardsError).missing.includes(0) &&
        (e as NotEnoughShardsError).missing.includes(1),
    );
  },
});

Deno.test({
  name:
    "a supplier that lies or stalls is bypassed, and an upload with a supplier down still succeeds",
  ...opts,
  async fn(t) {
    await using net = await startStorageNet(7, { timeout: 20_000 });
    const key = generateDataKey();
    const data = randomBytes(2 * BS + 99);
    const six = net.hired.slice(0, 6), spare = net.hired[6]!;
    const { manifest } = await putFile(chunks(data), data.length, {
      customer: net.customer,
      locator: net.locator,
      suppliers: six,
      k: 4,
      m: 2,
      key,
      blockSize: BS,
    });
    const byId = new Map(net.suppliers.map((s) => [s.node.id, s]));
    const read = () =>
      collect(
        getFile(manifest, key, {
          customer: net.customer,
          locator: net.locator,
          fallback: six,
          hedge: 200,
        }),
      );

    await t.step("a supplier returning tampered bytes never gets them used", async () => {
      const liar = byId.get(six[0]!)!;
      const real = liar.store.get.bind(liar.store);
      liar.store.get = async (c, id) => {
        const b = await real(c, id);
        if (b && b.length > 0) b[b.length - 1] = b[b.length - 1]! ^ 0xff;
        return b;
      };
      assertEquals(await read(), data);
      liar.store.get = real;
    });

    await t.step("a stalling supplier is hedged around long before its timeout", async () => {
      const slow = byId.get(six[1]!)!;
      const real = slow.store.get.bind(slow.store);
      slow.store.get = () => new Promise(() => {});
      const t0 = Date.now();
      assertEquals(await read(), data);
      assert(
        Date.now() - t0 < 15_000,
        "the read must not wait for the stalled supplier's 20 s timeout",
      );
      slow.store.get = real;
    });

    await t.step("an upload with one supplier down places its shards on a spare", async () => {
      await byId.get(six[2]!)!.node.stop();
      const more = randomBytes(BS + 3);
      const k2 = generateDataKey();
      const { manifest: m2, pending } = await putFile(chunks(more), more.length, {
        customer: net.customer,
        locator: net.locator,
        suppliers: [...six, spare],
        k: 4,
        m: 2,
        key: k2,
        blockSize: BS,
      });
      assertEquals(pending, []);
      for (const b of m2.blocks) assert(net.locator.suppliersFor(b.shards[2]!).includes(spare));
      assertEquals(
        await collect(
          getFile(m2, k2, {
            customer: net.customer,
            locator: net.locator,
            fallback: net.hired,
            hedge: 200,
          }),
        ),
        more,
      );
    });
  },
});

Deno.test({
  name: "a 1+1 code stores whole 4 MiB blocks (one data shard each, tag included)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await startStorageNet(2);
    const data = randomBytes((4 << 20) * 2 + 99), key = generateDataKey();
    const { manifest } = await putFile(chunks(data, 1 << 20), data.length, {
      customer: net.customer,
      locator: net.locator,
      suppliers: net.hired,
      k: 1,
      m: 1,
      key,
    });
    assertEquals(manifest.blocks.length, 3);
    const got = getFile(manifest, key, {
      customer: net.customer,
      locator: net.locator,
      fallback: net.hired,
    });
    assertEquals(await collect(got), data);
  },
});
