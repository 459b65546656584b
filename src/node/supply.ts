/**
 * Turning a node into a supplier: opens its shard store (the file-system store at
 * `<dir>/shards`, or memory for in-memory nodes) with Merkle-root shard ids, and starts the
 * supplier service with the capacity it offers.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { shardId } from "../crypto/merkle.ts";
import { openFsShardStore, openUnstorageShardStore, type ShardStore } from "../store/mod.ts";
import { Supplier, SUPPLIER_DEFAULTS } from "../suppliers/mod.ts";
import type { MoteNode } from "./node.ts";
import type { NodeState } from "./state.ts";

/** Starts supplying `capacity` bytes from `dir/shards` (or memory when `dir` is null). */
export async function startSupply(
  node: MoteNode,
  state: NodeState,
  dir: string | null,
  capacity: number,
): Promise<Supplier> {
  // The store asks the supplier for each customer's quota; the supplier owns the store.
  const ref: { supplier?: Supplier } = {};
  const options = {
    shardId,
    maxShardBytes: SUPPLIER_DEFAULTS.maxShard,
    quota: (customer: string) => ref.supplier?.quotaOf(customer) ?? 0,
  };
  const store: ShardStore = dir
    ? await openFsShardStore(`${dir}/shards`, options)
    : await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), options);
  ref.supplier = new Supplier(node, store, state, { ...SUPPLIER_DEFAULTS, capacity });
  await ref.supplier.start();
  return ref.supplier;
}
