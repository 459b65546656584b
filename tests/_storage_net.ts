/**
 * A storage network for tests: real nodes, each supplier with a memory shard store, and one
 * customer that has hired them all.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { shardId } from "../src/crypto/merkle.ts";
import { concat } from "../src/encoding/bytes.ts";
import type { MoteNode } from "../src/node/node.ts";
import { memoryState } from "../src/node/state.ts";
import { openUnstorageShardStore } from "../src/store/mod.ts";
import { Customer, MAX_SHARD, Supplier, SUPPLIER_DEFAULTS } from "../src/suppliers/mod.ts";
import { ShardLocator } from "../src/files/mod.ts";
import { Catalog } from "../src/catalog/mod.ts";
import { type StorageOptions, StorageService } from "../src/node/storage.ts";
import { type Cluster, type NodeOverrides, sleep, startCluster, waitFor } from "./_harness.ts";

/**
 * The owner's storage service on `node` (6 suppliers, 256 MiB each for an hour, no audits unless
 * `options` says otherwise), started, and its catalog once the suppliers are hired.
 */
export async function startOwner(
  node: MoteNode,
  options: Partial<StorageOptions> = {},
): Promise<{ storage: StorageService; catalog: Catalog }> {
  const storage = new StorageService(node, memoryState(), {
    supplierCount: 6,
    quota: 256 << 20,
    term: 3_600_000,
    checkEvery: 300,
    auditInterval: 0,
    ...options,
  });
  await storage.start();
  let catalog: Catalog | undefined;
  await waitFor(
    async () => !!(catalog = await storage.catalog().catch(() => undefined)),
    60_000,
    "the owner's catalog",
  );
  return { storage, catalog: catalog! };
}

/** Starts a supplier (memory store) on a node. */
export async function startSupplier(node: MoteNode, capacity = 1 << 30): Promise<Supplier> {
  const ref: { s?: Supplier } = {};
  const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
    shardId,
    maxShardBytes: SUPPLIER_DEFAULTS.maxShard,
    quota: (c) => ref.s?.quotaOf(c) ?? 0,
  });
  ref.s = new Supplier(node, store, memoryState(), { ...SUPPLIER_DEFAULTS, capacity });
  await ref.s.start();
  return ref.s;
}

/** A customer node with `count` hired suppliers. */
export interface StorageNet extends AsyncDisposable {
  cluster: Cluster;
  owner: MoteNode;
  suppliers: Supplier[];
  customer: Customer;
  locator: ShardLocator;
  hired: string[];
}

/** Starts `count` suppliers and an owner that hires `hire` of them (default all). */
export async function startStorageNet(
  count: number,
  opts: { timeout?: number; overrides?: NodeOverrides; hire?: number } = {},
): Promise<StorageNet> {
  const cluster = await startCluster(count + 1, opts.overrides);
  try {
    const [owner, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const customer = new Customer(owner!, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: opts.timeout ?? 5_000,
    });
    await customer.load();
    const wanted = opts.hire ?? count;
    // A loaded machine can miss a supplier's offer or answer in one round: ask again (a few
    // rounds at most) for the ones still missing.
    let contracts = await customer.hire(wanted, 256 << 20, 3_600_000);
    for (let round = 0; round < 4 && contracts.length < wanted; round++) {
      await sleep(500);
      contracts = await customer.hire(wanted, 256 << 20, 3_600_000);
    }
    if (contracts.length !== wanted) {
      throw new Error(`hired ${contracts.length} of ${wanted} suppliers`);
    }
    return {
      cluster,
      owner: owner!,
      suppliers,
      customer,
      locator: new ShardLocator(),
      hired: contracts.map((c) => c.terms.supplier),
      [Symbol.asyncDispose]: () => cluster.stop(),
    };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

/** Collects a stream into one array. */
export async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of s) parts.push(p);
  return concat(...parts);
}

/** Yields `data` in chunks of `size` bytes (a stand-in for a file read stream). */
export async function* chunks(data: Uint8Array, size = 10_000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/**
 * The catalog as a fresh device holding only the identity keys sees it: a customer with no
 * local state finds the suppliers serving this identity and reads through them.
 */
export async function restoredCatalog(
  device: MoteNode,
  code: { k: number; m: number; blockSize?: number },
): Promise<{ catalog: Catalog; serving: string[] }> {
  const customer = new Customer(device, memoryState(), {
    shardId,
    maxShard: MAX_SHARD,
    timeout: 5_000,
  });
  const serving = (await customer.findServing()).map((s) => s.id);
  const catalog = new Catalog({
    node: device,
    customer,
    locator: new ShardLocator(),
    suppliers: () => serving,
    ...code,
  });
  return { catalog, serving };
}
