/**
 * For storage benchmarks: the embedded network as `mote start` runs it (6 suppliers with memory
 * stores, in their own process) and an owner node in this process that has hired all six.
 */
import { shardId } from "../src/crypto/merkle.ts";
import { createLogger } from "../src/log/mod.ts";
import { startDevnet } from "../src/node/devnet.ts";
import { MoteNode } from "../src/node/node.ts";
import { memoryState } from "../src/node/state.ts";
import { Customer, MAX_SHARD } from "../src/suppliers/mod.ts";
import { quietNodeOptions } from "./_util.ts";

/** A hiring owner over an embedded network; `stop()` ends both. */
export interface EmbeddedOwner {
  customer: Customer;
  hired: string[];
  stop(): Promise<void>;
}

/** Starts 6 suppliers offering `quota` bytes each and an owner that hires them all. */
export async function startEmbeddedOwner(quota: number): Promise<EmbeddedOwner> {
  const devnet = await startDevnet({
    dir: null,
    count: 6,
    supply: quota,
    log: createLogger({ level: "error", sinks: [] }),
    base: quietNodeOptions([]),
  });
  const owner = new MoteNode({ ...quietNodeOptions(devnet.bootstrap), state: memoryState() });
  await owner.start();
  const customer = new Customer(owner, memoryState(), {
    shardId,
    maxShard: MAX_SHARD,
    timeout: 60_000,
  });
  await customer.load();
  let hired: string[] = [];
  // The suppliers' offers reach the DHT a moment after they start.
  for (let i = 0; i < 30 && hired.length < 6; i++) {
    hired = (await customer.hire(6, quota, 3_600_000)).map((c) => c.terms.supplier);
    if (hired.length < 6) await new Promise((r) => setTimeout(r, 500));
  }
  const stop = async () => {
    await owner.stop();
    await devnet.stop();
  };
  if (hired.length < 6) {
    await stop();
    throw new Error(`hired ${hired.length} of 6 suppliers`);
  }
  return { customer, hired, stop };
}
