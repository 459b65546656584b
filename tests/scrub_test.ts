/**
 * Scrubbers on real nodes: an owner hires two scrubbers and switches off; suppliers die one after
 * another, and the scrubbers hire replacements under the owner's ticket and rebuild the lost
 * shards byte-identical, so the data outlives more losses than its code alone allows and a fresh
 * device holding only the key file reads it back exactly.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { memoryState, type NodeState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import type { Catalog } from "../src/catalog/mod.ts";
import type { KeptObject } from "../src/files/keep_list.ts";
import { Scrubber, SCRUBBER_DEFAULTS, ScrubManager } from "../src/scrub/mod.ts";
import type { Supplier } from "../src/suppliers/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { chunks, collect, restoredCatalog, startSupplier } from "./_storage_net.ts";
import { testNode } from "./_harness.ts";

/** A scrubber with memory state and a fast schedule. */
async function startScrubber(node: Parameters<typeof startSupplier>[0]): Promise<Scrubber> {
  // The second in line waits 20 s before taking over a repair, so a repair that happens twice
  // would show in the counts below.
  const states = new Map<string, NodeState>();
  const s = new Scrubber(node, memoryState(), {
    ...SCRUBBER_DEFAULTS,
    interval: 700,
    lostAfter: 2_000,
    takeover: 20_000,
    audit: { sample: 2, fullReadEvery: 4 },
    stateFor: (owner) => {
      if (!states.has(owner)) states.set(owner, memoryState());
      return states.get(owner)!;
    },
  });
  await s.start();
  return s;
}

/** Every shard id the owner keeps. */
function keptIds(objects: KeptObject[]): string[] {
  return objects.flatMap((o) => o.blocks.flat());
}

/** The live suppliers holding each shard (asked of their stores directly). */
async function holders(
  suppliers: Supplier[],
  owner: string,
  ids: string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const id of ids) out.set(id, []);
  for (const s of suppliers) {
    for (const id of ids) if (await s.store.has(owner, id)) out.get(id)!.push(s.node.id);
  }
  return out;
}

Deno.test({
  name: "scrubbers keep an offline owner's data whole through four supplier losses, byte-identical",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // 12 nodes: the owner, 9 suppliers (6 hired, 3 spare) and 2 scrubbers.
    await using cluster = await startCluster(12, { republishInterval: 2_000 });
    const [ownerNode, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.slice(0, 9).map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const scrubbers = await Promise.all(rest.slice(9).map(startScrubber));
    await Promise.all(scrubbers.map((s) => s.announce()));
    try {
      const storage = new StorageService(ownerNode!, memoryState(), {
        supplierCount: 6,
        quota: 256 << 20,
        term: 3_600_000,
        checkEvery: 500,
        auditInterval: 0,
      });
      await storage.start();
      let catalog: Catalog | undefined;
      await waitFor(
        async () => !!(catalog = await storage.catalog().catch(() => undefined)),
        30_000,
        "the catalog",
      );
      const data = randomBytes(16 << 20);
      await catalog!.put("/big.bin", chunks(data, 1 << 20), data.length);
      await catalog!.publishKeepList();
      const owner = ownerNode!.id;
      const ids = keptIds(await catalog!.keptObjects());
      const original = storage.suppliers();
      assertEquals(original.length, 6);

      const manager = new ScrubManager(ownerNode!, memoryState(), storage.customer, {
        expiry: 3_600_000,
        maxContracts: 18,
        maxQuota: 256 << 20,
      });
      const hired = await manager.hire(2);
      assertEquals(hired.length, 2, "two scrubbers hired");
      await manager.tick(2, catalog!.lastKeepList);
      // The ticket carries no key: only ids, keys to check signatures, times and caps.
      for (const r of hired) {
        assertEquals(r.ticket.owner, owner);
        assert(r.ticket.bytes.length < 400, "a ticket is small");
      }
      await waitFor(
        () =>
          scrubbers.every((s) => {
            const r = s.jobs.get(owner)?.report;
            return !!r && r.rounds > 0 && r.shards === ids.length && r.missing === 0;
          }),
        90_000,
        "both scrubbers at work with the whole keep list",
      );

      // The owner switches off.
      await storage.stop();
      await ownerNode!.stop();

      const byId = (id: string) => suppliers.find((s) => s.node.id === id)!;
      const live = new Set(suppliers);
      const rebuiltAfterLoss = async (gone: string) => {
        const lost = suppliers.find((s) => s.node.id === gone)!;
        const copies = new Map<string, Uint8Array>();
        for (const id of ids) {
          const b = await lost.store.get(owner, id);
          if (b) copies.set(id, b);
        }
        assert(copies.size > 0, "the supplier held shards");
        await lost.node.stop();
        live.delete(lost);
        await waitFor(
          async () =>
            [...(await holders([...live], owner, [...copies.keys()])).values()].every((h) =>
              h.length > 0
            ),
          90_000,
          `shards of ${gone.slice(0, 8)} rebuilt`,
        );
        // Byte-identical: each rebuilt copy matches the lost one (and its id).
        const where = await holders([...live], owner, [...copies.keys()]);
        for (const [id, bytes] of copies) {
          const copy = await byId(where.get(id)![0]!).store.get(owner, id);
          assertEquals(copy, bytes);
          assertEquals(await shardId(copy!), id);
        }
        return copies.size;
      };
      const rebuilt = () =>
        scrubbers.reduce((n, s) => n + (s.jobs.get(owner)?.report.rebuilt ?? 0), 0);
      const lost1 = await rebuiltAfterLoss(original[0]!);
      // Coordinated: each lost shard was rebuilt once, by one of the two scrubbers.
      // (The counts move when a scrubber hears the put succeed, a moment after the store has it.)
      await waitFor(() => rebuilt() >= lost1, 10_000, "the scrubbers' counts");
      assertEquals(rebuilt(), lost1);
      // One scrubber goes too: the other takes over its share of the next repair.
      await scrubbers[0]!.stop();
      await scrubbers[0]!.node.stop();
      const alone = scrubbers[1]!.jobs.get(owner)!.report.rebuilt;
      const lost2 = await rebuiltAfterLoss(original[1]!);
      const second = () => scrubbers[1]!.jobs.get(owner)!.report.rebuilt - alone;
      await waitFor(() => second() >= lost2, 10_000, "the scrubber's count");
      assertEquals(scrubbers[1]!.jobs.get(owner)!.report.rebuilt - alone, lost2);
      const newcomers = [...live].filter((s) =>
        !original.includes(s.node.id) && s.contracts.get(owner)
      );
      assert(newcomers.length >= 2, "the scrubbers hired replacements");
      for (const s of newcomers) {
        const c = s.contracts.get(owner)!;
        assert(c.delegation, "signed under a scrub ticket");
      }

      // Two more of the original suppliers go: 2 originals and 2 replacements remain (k = 4).
      for (const gone of original.slice(2, 4)) {
        await byId(gone).node.stop();
        live.delete(byId(gone));
      }
      const device = testNode({
        keys: ownerNode!.keys,
        bootstrap: [[...live][0]!.node.addresses()[0]!],
      }, "new-device");
      try {
        await device.start();
        const { catalog: restored } = await restoredCatalog(device, { k: 4, m: 2 });
        assertEquals(await restored.open({ create: false }), "found");
        const back = await collect((await restored.get("/big.bin")).stream);
        assertEquals(back.length, data.length);
        assert(back.every((b, i) => b === data[i]), "the bytes read back exactly");
      } finally {
        await device.stop();
      }
    } finally {
      await Promise.allSettled(scrubbers.map((s) => s.stop()));
      for (const s of suppliers) s.stop();
    }
  },
});
