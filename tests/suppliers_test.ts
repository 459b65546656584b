/**
 * Suppliers and a customer on real nodes: discovery through DHT provider records, verified
 * offers, contracts signed by both, the shard protocol and its refusals (no contract, quota,
 * tampered shards, replayed deletes, misaddressed requests).
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import type { MoteNode } from "../src/node/node.ts";
import { memoryState } from "../src/node/state.ts";
import { openUnstorageShardStore, type ShardStore } from "../src/store/mod.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import {
  Customer,
  encodeRequest,
  SHARD_PROTOCOL,
  signDelete,
  Supplier,
  SUPPLIER_DEFAULTS,
  SupplierError,
} from "../src/suppliers/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { startCluster } from "./_harness.ts";

const shardId = async (b: Uint8Array) => toBase32(await sha256(b));
const MiB = 1 << 20;

async function supplierOn(node: MoteNode, capacity = 64 * MiB) {
  // The store asks the supplier for quotas, and the supplier owns the store.
  const ref: { supplier?: Supplier } = {};
  const store: ShardStore = await openUnstorageShardStore(
    createStorage({ driver: memoryDriver() }),
    {
      shardId,
      maxShardBytes: SUPPLIER_DEFAULTS.maxShard,
      quota: (c) => ref.supplier?.quotaOf(c) ?? 0,
    },
  );
  ref.supplier = new Supplier(node, store, memoryState(), { ...SUPPLIER_DEFAULTS, capacity });
  await ref.supplier.start();
  return ref.supplier;
}

Deno.test({
  name: "a customer finds suppliers in the DHT, hires them and stores shards under contract",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8);
    const [me, other, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(
      rest.map((n, i) => supplierOn(n!, i === 0 ? 1 * MiB : 64 * MiB)),
    );
    await Promise.all(suppliers.map((s) => s.announce()));
    const customer = new Customer(me!, memoryState(), {
      shardId,
      maxShard: 4 * MiB,
      timeout: 5_000,
    });
    await customer.load();

    await t.step("offers are found through the DHT and verified", async () => {
      const found = await customer.findSuppliers();
      assertEquals(new Set(found.map((f) => f.id)), new Set(rest.map((n) => n!.id)));
      for (const f of found) assertEquals(f.offer.peer, f.peer);
    });

    let hired: string[] = [];
    await t.step("hiring picks suppliers with room and gets doubly signed contracts", async () => {
      const contracts = await customer.hire(4, 8 * MiB, 3_600_000);
      assertEquals(contracts.length, 4);
      hired = contracts.map((c) => c.terms.supplier);
      assert(!hired.includes(rest[0]!.id), "the 1 MiB supplier cannot take an 8 MiB contract");
      for (const s of suppliers.filter((s) => hired.includes(s.node.id))) {
        assertEquals(s.contracts.get(me!.id)?.terms.quota, 8 * MiB);
      }
    });

    const data = randomBytes(300_000);
    const id = await shardId(data);
    await t.step("a shard goes in and comes back identical", async () => {
      assertEquals(await customer.putShard(hired[0]!, id, data), "stored");
      assertEquals(await customer.putShard(hired[0]!, id, data), "exists");
      assertEquals(await customer.getShard(hired[0]!, id), data);
      assertEquals(await customer.has(hired[0]!, [id, await shardId(utf8("nope"))]), [true, false]);
      const listed = await customer.list(hired[0]!);
      assertEquals(listed.shards.map((s) => s[0]), [id]);
      assertEquals(listed.usage, data.length);
    });

    await t.step(
      "a put with a wrong id, over quota, or without a contract is refused",
      async () => {
        await assertRejects(
          () => customer.putShard(hired[1]!, id, utf8("other bytes")),
          SupplierError,
        );
        assertEquals(await customer.has(hired[1]!, [id]), [false], "nothing was stored");
        // The quota is 8 MiB: two 4 MiB shards fit, a third does not.
        for (const fill of [1, 2]) {
          const block = new Uint8Array(4 * MiB).fill(fill);
          assertEquals(await customer.putShard(hired[1]!, await shardId(block), block), "stored");
        }
        const third = new Uint8Array(4 * MiB).fill(3);
        const e = await assertRejects(
          async () => customer.putShard(hired[1]!, await shardId(third), third),
          SupplierError,
        );
        assert(/quota/i.test(e.message), e.message);
        const stranger = new Customer(other!, memoryState(), {
          shardId,
          maxShard: 4 * MiB,
          timeout: 5_000,
        });
        await assertRejects(
          () => stranger.putShard(hired[0]!, id, data),
          SupplierError,
          "No live contract",
        );
      },
    );
    await t.step("a supplier serving a tampered shard is caught", async () => {
      const sup = suppliers.find((s) => s.node.id === hired[2])!;
      await customer.putShard(hired[2]!, id, data);
      const bad = data.slice();
      bad[1000] = bad[1000]! ^ 1;
      // A lying supplier answers with other bytes under the same id.
      const honest = sup.store.get.bind(sup.store);
      sup.store.get = () => Promise.resolve(bad);
      await assertRejects(() => customer.getShard(hired[2]!, id), SupplierError, "does not match");
      sup.store.get = honest;
    });

    await t.step("deletes are signed and cannot be replayed, redirected or used late", async () => {
      const sup = suppliers.find((s) => s.node.id === hired[0])!;
      const peer = peerIdFromString(customer.peerOf(hired[0]!)!);
      const send = (req: Parameters<typeof signDelete>[0]) =>
        me!.rpc.request(
          peer,
          SHARD_PROTOCOL,
          encodeRequest("delete", { req, sig: signDelete(req, me!.keys.signSecret) }),
          {
            maxResponse: 1024,
            timeout: 5_000,
          },
        );
      const base = {
        customer: me!.id,
        supplier: hired[0]!,
        seq: 0,
        expiry: Date.now() + 60_000,
        ids: [id],
      };
      const counter = customer.contracts.counter(hired[0]!) + 1_000_000;
      await send({ ...base, counter });
      assertEquals(await sup.store.has(me!.id, id), false, "the delete worked");
      await customer.putShard(hired[0]!, id, data);
      await assertRejects(() => send({ ...base, counter }), Error, "Replayed");
      await assertRejects(
        () => send({ ...base, counter: counter + 1, expiry: Date.now() - 1 }),
        Error,
        "expired",
      );
      await assertRejects(
        () => send({ ...base, counter: counter + 2, supplier: hired[1]! }),
        Error,
        "another supplier",
      );
      assertEquals(await sup.store.has(me!.id, id), true, "no refused delete changed anything");
      // The customer's own next delete still works (its counter starts above anything used).
      assertEquals(await customer.deleteShards(hired[0]!, [await shardId(utf8("absent"))]), 0);
      await customer.putShard(hired[0]!, id, data);
    });

    await t.step("a shard stored by two customers survives one customer's delete", async () => {
      const c2 = new Customer(other!, memoryState(), {
        shardId,
        maxShard: 4 * MiB,
        timeout: 5_000,
      });
      await c2.load();
      const found = (await c2.findSuppliers()).find((f) => f.id === hired[0])!;
      await c2.contractWith(found, 1 * MiB, 3_600_000);
      await c2.putShard(hired[0]!, id, data);
      assertEquals(await c2.deleteShards(hired[0]!, [id]), 1);
      assertEquals(
        await customer.getShard(hired[0]!, id),
        data,
        "the first customer's copy is intact",
      );
    });
  },
});
