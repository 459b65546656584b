/**
 * Storage proofs on real nodes: a shard's id is its Merkle root, so the owner (or anyone who
 * knows the id and size) checks random leaves without keeping the data. A supplier that silently
 * dropped 10% of a shard is caught.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { LEAF_SIZE, shardId } from "../src/crypto/merkle.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startStorageNet } from "./_storage_net.ts";

Deno.test({
  name: "audits pass for an honest supplier and catch one that dropped 10% of a shard",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await startStorageNet(2);
    const [honest, cheat] = net.hired as [string, string];
    const data = randomBytes(100 * LEAF_SIZE + 123);
    const id = await shardId(data);
    await net.customer.putShard(honest, id, data);
    await net.customer.putShard(cheat, id, data);

    for (let i = 0; i < 5; i++) {
      assert(await net.customer.audit(honest, id, data.length, 64), "honest audit");
    }

    // The cheat keeps only 90% of the shard: every tenth leaf is gone (zeros on its disk).
    const sup = net.suppliers.find((s) => s.node.id === cheat)!;
    const real = sup.store.get.bind(sup.store);
    sup.store.get = async (c, i) => {
      const b = await real(c, i);
      if (b) {
        for (let leaf = 0; leaf * LEAF_SIZE < b.length; leaf += 10) {
          b.fill(0, leaf * LEAF_SIZE, (leaf + 1) * LEAF_SIZE);
        }
      }
      return b;
    };
    // One 64-leaf audit misses 10% damage with probability 0.9^64 ≈ 0.1%; three ≈ 1e-9.
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await net.customer.audit(cheat, id, data.length, 64));
    assert(results.includes(false), `the cheating supplier passed every audit: ${results}`);

    // A supplier that lost the shard entirely fails at once.
    await sup.store.delete(net.owner.id, id);
    sup.store.get = real;
    assertEquals(await net.customer.audit(cheat, id, data.length, 16), false);
  },
});
