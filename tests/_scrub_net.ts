/**
 * A small network for the scrubber fault tests, on real nodes: an owner with 6 hired suppliers,
 * its catalog and a scrubber it can hire (`scrub_fault_test.ts`, `scrub_secrets_test.ts`).
 */
import type { Catalog } from "../src/catalog/mod.ts";
import { memoryState, type NodeState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import type { MoteNode } from "../src/node/node.ts";
import { Scrubber, SCRUBBER_DEFAULTS, ScrubManager } from "../src/scrub/mod.ts";
import type { Supplier } from "../src/suppliers/mod.ts";
import { assertEquals } from "./_assert.ts";
import { type Cluster, startCluster, waitFor } from "./_harness.ts";
import { chunks, startSupplier } from "./_storage_net.ts";

/** The block size these tests store with (small, so a few KiB make several blocks). */
export const BS = 32 * 1024;

/** The network `scrubNet` starts. */
export interface Net extends AsyncDisposable {
  cluster: Cluster;
  owner: MoteNode;
  storage: StorageService;
  catalog: Catalog;
  suppliers: Supplier[];
  scrubber: Scrubber;
  manager: ScrubManager;
}

/** An owner with 6 hired suppliers (of `supply`), a catalog, and one scrubber it hired. */
export async function scrubNet(
  supply: number,
  scrubState: () => NodeState = memoryState,
  term = 3_600_000,
): Promise<Net> {
  const cluster = await startCluster(supply + 2, { republishInterval: 2_000 });
  const [owner, ...rest] = cluster.nodes;
  const suppliers = await Promise.all(rest.slice(0, supply).map((n) => startSupplier(n)));
  await Promise.all(suppliers.map((s) => s.announce()));
  const states = new Map<string, NodeState>();
  const scrubber = new Scrubber(rest[supply]!, scrubState(), {
    ...SCRUBBER_DEFAULTS,
    interval: 500,
    lostAfter: 2_000,
    takeover: 2_000,
    audit: { sample: 6, fullReadEvery: 2 },
    stateFor: (o) => states.get(o) ?? (states.set(o, scrubState()), states.get(o)!),
  });
  await scrubber.start();
  await scrubber.announce();
  const storage = new StorageService(owner!, memoryState(), {
    supplierCount: 6,
    quota: 64 << 20,
    term,
    blockSize: BS,
    checkEvery: 300,
    auditInterval: 0,
  });
  await storage.start();
  let catalog: Catalog | undefined;
  await waitFor(
    async () => !!(catalog = await storage.catalog().catch(() => undefined)),
    30_000,
    "the catalog",
  );
  const manager = new ScrubManager(owner!, memoryState(), storage.customer, {
    expiry: 3_600_000,
    maxContracts: 8,
    maxQuota: 64 << 20,
  });
  const stop = async () => {
    await storage.stop();
    await scrubber.stop();
    for (const s of suppliers) s.stop();
    await cluster.stop();
  };
  return {
    cluster,
    owner: owner!,
    storage,
    catalog: catalog!,
    suppliers,
    scrubber,
    manager,
    [Symbol.asyncDispose]: stop,
  };
}

/** Stores a file, sends the keep list, hires the scrubber and waits for its first full round. */
export async function storeAndHire(net: Net, data: Uint8Array, path = "/f.bin") {
  await net.catalog.put(path, chunks(data), data.length);
  await net.catalog.publishKeepList();
  assertEquals((await net.manager.hire(1)).length, 1);
  await net.manager.tick(1, net.catalog.lastKeepList);
  const owner = net.owner.id;
  await waitFor(
    () => {
      const r = net.scrubber.jobs.get(owner)?.report;
      return !!r && r.rounds > 0 && r.shards > 0 && r.missing === 0;
    },
    30_000,
    "the scrubber's first round",
  );
  return net.scrubber.jobs.get(owner)!;
}
