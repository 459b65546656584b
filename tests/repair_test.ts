/**
 * The repair queue on real nodes: a put with one supplier down succeeds with k + 1 shards per
 * block and reports the rest under-replicated; a later repair rebuilds the missing shards
 * (byte-identical: their ids were fixed at upload) onto another supplier, after which losing two
 * more of the original suppliers still leaves the file readable.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog } from "../src/catalog/mod.ts";
import { RepairQueue } from "../src/files/mod.ts";
import { memoryState } from "../src/node/state.ts";
import { assert, assertEquals } from "./_assert.ts";
import { chunks, collect, startStorageNet } from "./_storage_net.ts";

Deno.test({
  name:
    "shards a put could not place are queued, rebuilt onto a new supplier, and full redundancy returns",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await startStorageNet(7, { timeout: 3_000 });
    const six = net.hired.slice(0, 6), fresh = net.hired[6]!;
    let placement = six;
    const state = memoryState();
    const repairs = new RepairQueue(state);
    const catalog = new Catalog({
      node: net.owner,
      customer: net.customer,
      locator: net.locator,
      suppliers: () => placement,
      repairs,
      k: 4,
      m: 2,
      blockSize: 64 * 1024,
    });
    await catalog.open();
    const byId = new Map(net.suppliers.map((s) => [s.node.id, s]));
    await byId.get(six[3]!)!.node.stop();

    const data = randomBytes(3 * 64 * 1024 + 5);
    await catalog.put("/f.bin", chunks(data), data.length);
    assert(
      catalog.pending >= 4,
      `every block (and folder object) misses a shard: ${catalog.pending}`,
    );

    // The queue is saved: a new instance over the same state sees the same work.
    const reloaded = new RepairQueue(state);
    await reloaded.load();
    assertEquals(reloaded.pendingShards, repairs.pendingShards);

    placement = [...six.filter((s) => s !== six[3]), fresh];
    const placed = await repairs.retry({
      customer: net.customer,
      locator: net.locator,
      suppliers: placement,
    });
    assert(placed >= 4, `placed ${placed}`);
    assertEquals(repairs.pendingShards, 0);
    assertEquals((await net.customer.list(fresh)).shards.length, placed);

    // Redundancy is back: two more of the original suppliers may go.
    await byId.get(six[0]!)!.node.stop();
    await byId.get(six[1]!)!.node.stop();
    assertEquals(await collect((await catalog.get("/f.bin")).stream), data);
  },
});
