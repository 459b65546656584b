/**
 * The supplier's shard store chosen by the `supplyStore` option: the fs store where it belongs,
 * unstorage drivers by name on a real supplier node that a customer hires, stores with and
 * reads from, and clear startup errors for drivers that do not exist, cannot load or refuse
 * their options (in `openSupplyStore`, in `runNode` and from `mote start`).
 */
import { ConfigError, DEFAULTS, resolveAuto } from "../src/config/mod.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { createLogger, memorySink } from "../src/log/mod.ts";
import { runNode } from "../src/node/run.ts";
import { memoryState } from "../src/node/state.ts";
import { openSupplyStore, startSupply } from "../src/node/supply.ts";
import { Customer, MAX_SHARD } from "../src/suppliers/mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { startCluster } from "./_harness.ts";
import { mote } from "./_process.ts";
import { randomNodeId } from "./_store_suite.ts";

const OPTS = { shardId, maxShardBytes: 1 << 20, quota: () => 1 << 30 };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mote-supply-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("openSupplyStore() puts the fs store in <data>/shards, or in a base of its own", async () => {
  await withDir(async (dir) => {
    const customer = randomNodeId();
    const bytes = randomBytes(100), id = await shardId(bytes);
    const at = (base: string) => `${base}/${customer}/${id.slice(0, 2)}/${id}`;
    for (
      const [options, base] of [
        [undefined, `${dir}/shards`],
        [{ base: "elsewhere" }, `${dir}/elsewhere`],
        [{ base: `${dir}/abs` }, `${dir}/abs`],
      ] as const
    ) {
      const store = await openSupplyStore({ driver: "fs", options }, dir, OPTS);
      await store.put(customer, id, bytes);
      await store.close();
      assert(await exists(at(base)), `no shard at ${at(base)}`);
    }
  });
});

Deno.test({
  name: "a supplier node on an unstorage driver from the config accepts and serves shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(3);
    const [owner, ...nodes] = cluster.nodes;
    for (
      const [i, [driver, options]] of ([
        ["fs-lite", { base: "lite" }],
        ["memory", {}],
      ] as const).entries()
    ) {
      // One supplier node per driver: a node serves the supply protocol once.
      const node = nodes[i]!;
      await t.step(driver, async () => {
        await withDir(async (dir) => {
          const supplier = await startSupply(node, memoryState(), dir, 1 << 30, {
            driver,
            options,
          });
          try {
            await supplier.announce();
            const customer = new Customer(owner!, memoryState(), {
              shardId,
              maxShard: MAX_SHARD,
              timeout: 5_000,
            });
            await customer.load();
            const [contract] = await customer.hire(1, 64 << 20, 3_600_000);
            assertEquals(contract?.terms.supplier, node.id);
            const bytes = randomBytes(300_000), id = await shardId(bytes);
            assertEquals(await customer.putShard(node.id, id, bytes), "stored");
            assertEquals(await customer.getShard(node.id, id), bytes);
            assertEquals(await customer.has(node.id, [id]), [true]);
            assertEquals(await supplier.store.usage(owner!.id), bytes.length);
            // fs-lite keeps keys as paths under its base, taken from the data directory.
            if (driver === "fs-lite") {
              assert(await exists(`${dir}/lite/s/${owner!.id}/${id}`), "no shard bytes in base");
              assert(!await exists(`${dir}/shards`), "the fs store was opened too");
            }
          } finally {
            supplier.stop();
            await supplier.store.close();
          }
        });
      });
    }
  },
});

Deno.test("openSupplyStore() stops with a clear error for a bad driver or bad options", async (t) => {
  const cases: [string, { driver: string; options?: Record<string, unknown> }, string][] = [
    ["a driver unstorage does not have", { driver: "nope" }, 'unstorage has no driver "nope"'],
    [
      "a driver whose package is not installed",
      { driver: "mongodb", options: { connectionString: "mongodb://127.0.0.1:1" } },
      'the unstorage driver "mongodb" needs the package "mongodb"',
    ],
    [
      "options the driver refuses",
      { driver: "fs-lite", options: {} },
      'the unstorage driver "fs-lite" refused its options: [unstorage] [fs-lite] Missing required option `base`',
    ],
    ["a path for a name", { driver: "../../../etc/passwd" }, "is not a driver name"],
  ];
  await withDir(async (dir) => {
    for (const [name, setting, message] of cases) {
      await t.step(name, async () => {
        await assertRejects(() => openSupplyStore(setting, dir, OPTS), ConfigError, message);
      });
    }
  });
});

Deno.test({
  name: "runNode() and mote start refuse to start on a supply store that cannot open",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withDir(async (dir) => {
      const config = resolveAuto({
        ...DEFAULTS,
        port: 0,
        gatewayPort: 0,
        p2pPort: 0,
        devnet: false,
        supply: 1 << 30,
        supplyStore: { driver: "nope" },
      });
      const log = createLogger({ level: "error", sinks: [memorySink()] });
      await assertRejects(() => runNode(dir, config, log), ConfigError, 'no driver "nope"');
      // Everything was unwound: the data directory's lock is free again.
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({ supply: "1GiB", supplyStore: { driver: "fs-lite" } }),
      );
      const r = await mote([
        "start",
        "--data",
        dir,
        "--no-devnet",
        "--port",
        "0",
        "--gateway-port",
        "0",
        "--p2p-port",
        "0",
      ]);
      assertEquals(r.code, 1, r.stderr);
      assert(
        r.stderr.includes(
          'mote: supplyStore: the unstorage driver "fs-lite" refused its options: [unstorage] [fs-lite] Missing required option `base`.',
        ),
        r.stderr,
      );
      assert(!/^\s+at /m.test(r.stderr), `a stack trace: ${r.stderr}`);
    });
  },
});
