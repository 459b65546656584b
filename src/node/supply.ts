/**
 * Turning a node into a supplier: opens its shard store with Merkle-root shard ids (the
 * file-system store at `<dir>/shards` by default, any unstorage driver by configuration, memory
 * for in-memory nodes), and starts the supplier service with the capacity it offers.
 */
import { isAbsolute, join } from "node:path";
import { createStorage, type Driver } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { ConfigError, DRIVER_NAME_RE, type SupplyStoreSetting } from "../config/mod.ts";
import { shardId } from "../crypto/merkle.ts";
import {
  openFsShardStore,
  openUnstorageShardStore,
  type ShardStore,
  type ShardStoreOptions,
} from "../store/mod.ts";
import { Supplier, SUPPLIER_DEFAULTS } from "../suppliers/mod.ts";
import type { MoteNode } from "./node.ts";
import type { NodeState } from "./state.ts";

/** Starts supplying `capacity` bytes from the store `setting` names in `dir` (memory when null). */
export async function startSupply(
  node: MoteNode,
  state: NodeState,
  dir: string | null,
  capacity: number,
  setting: SupplyStoreSetting = { driver: "fs" },
): Promise<Supplier> {
  // The store asks the supplier for each customer's quota; the supplier owns the store.
  const ref: { supplier?: Supplier } = {};
  const options = {
    shardId,
    maxShardBytes: SUPPLIER_DEFAULTS.maxShard,
    quota: (customer: string) => ref.supplier?.quotaOf(customer) ?? 0,
  };
  const store: ShardStore = dir
    ? await openSupplyStore(setting, dir, options)
    : await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), options);
  ref.supplier = new Supplier(node, store, state, { ...SUPPLIER_DEFAULTS, capacity });
  await ref.supplier.start();
  return ref.supplier;
}

/**
 * Opens the shard store a `supplyStore` setting names: `fs` is the file-system store at
 * `<dataDir>/shards` (or `options.base`); any other name is loaded from
 * `unstorage/drivers/<name>` and given `options`. A relative `base` is taken from `dataDir`.
 *
 * @throws {ConfigError} when the driver does not exist, cannot load, refuses its options or
 * cannot be opened; the message names the driver.
 */
export async function openSupplyStore(
  setting: SupplyStoreSetting,
  dataDir: string,
  options: ShardStoreOptions,
): Promise<ShardStore> {
  const { driver: name } = setting;
  const given = { ...setting.options };
  if (typeof given.base === "string" && !isAbsolute(given.base)) {
    given.base = join(dataDir, given.base);
  }
  if (name === "fs") {
    return await openFsShardStore(
      (given.base as string | undefined) ?? `${dataDir}/shards`,
      options,
    );
  }
  const what = `supplyStore: the unstorage driver "${name}"`;
  const factory = await loadDriver(name);
  let driver: Driver;
  try {
    driver = factory(given);
  } catch (e) {
    throw new ConfigError(`${what} refused its options: ${(e as Error).message}`, { cause: e });
  }
  const storage = createStorage({ driver });
  let store: ShardStore;
  try {
    store = await openUnstorageShardStore(storage, options);
  } catch (e) {
    await Promise.resolve(storage.dispose()).catch(() => {});
    throw new ConfigError(`${what} could not be opened: ${(e as Error).message}`, { cause: e });
  }
  // The store leaves its storage open; the supplier's store owns this one.
  return {
    ...store,
    close: async () => {
      await store.close();
      await storage.dispose();
    },
  };
}

async function loadDriver(name: string): Promise<(opts: Record<string, unknown>) => Driver> {
  // The name pattern keeps this a file name inside unstorage's drivers folder, never a path.
  if (!DRIVER_NAME_RE.test(name)) {
    throw new ConfigError(`supplyStore: ${JSON.stringify(name.slice(0, 60))} is not a driver name`);
  }
  let mod: { default?: unknown };
  try {
    mod = await import(`unstorage/drivers/${name}`);
  } catch (e) {
    const message = (e as Error).message;
    const missing = /Could not find package '([^']{1,100})'/.exec(message)?.[1];
    if (missing) {
      throw new ConfigError(
        `supplyStore: the unstorage driver "${name}" needs the package "${missing}", which this ` +
          `installation does not include (add it to deno.json's imports)`,
        { cause: e },
      );
    }
    throw new ConfigError(
      `supplyStore: unstorage has no driver "${name}" (use "fs", or an unstorage driver such ` +
        `as "fs-lite", "memory", "deno-kv" or "http"): ${message}`,
      { cause: e },
    );
  }
  if (typeof mod.default !== "function") {
    throw new ConfigError(`supplyStore: unstorage/drivers/${name} is not a driver`);
  }
  return mod.default as (opts: Record<string, unknown>) => Driver;
}
