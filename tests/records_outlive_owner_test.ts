/**
 * Suppliers keep their customers' records alive: with the DHT's record lifetime shrunk to 3 s,
 * an owner stores files and goes offline for several lifetimes; a fresh device holding only the
 * identity keys still finds the catalog (root, keep list and every folder record) and reads the
 * files, because the suppliers kept republishing those records.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog } from "../src/catalog/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { sleep, testNode } from "./_harness.ts";
import { chunks, collect, restoredCatalog, startStorageNet } from "./_storage_net.ts";

const LIFETIME = 3000;

Deno.test({
  name: "a catalog stays readable after its owner has been offline for several record lifetimes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const overrides = { recordLifetime: LIFETIME, republishInterval: 1500 };
    await using net = await startStorageNet(6, { overrides });
    const catalog = new Catalog({
      node: net.owner,
      customer: net.customer,
      locator: net.locator,
      suppliers: () => net.hired,
      k: 4,
      m: 2,
      blockSize: 64 * 1024,
    });
    await catalog.open();
    await net.owner.publishIdentity();
    const data = randomBytes(100_000);
    await catalog.put("/deep/er/file.bin", chunks(data), data.length);
    assertEquals((await catalog.publishKeepList()).folders, 3, "root, /deep and /deep/er");
    for (const s of net.suppliers) {
      assert(await s.keepCustomerRecords() >= 6, "id, root, keep and 3 folders");
    }

    const keys = net.owner.keys;
    await net.owner.stop();
    await sleep(LIFETIME * 3);

    const device = testNode({
      ...overrides,
      keys,
      bootstrap: [net.suppliers[2]!.node.addresses()[0]!],
    }, "new-device");
    try {
      await device.start();
      const { catalog: restored } = await restoredCatalog(device, { k: 4, m: 2 });
      assertEquals(await restored.open({ create: false }), "found");
      assertEquals(await collect((await restored.get("/deep/er/file.bin")).stream), data);
    } finally {
      await device.stop();
    }
  },
});
