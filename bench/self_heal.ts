/**
 * Self-healing figures on real nodes (owner + 9 suppliers on 127.0.0.1, one thread, memory shard
 * stores, 4+2 over 6 hired suppliers, 4 MiB blocks):
 *
 * - audit cost: bytes moved per audit round over a healthy network holding `--mib` MiB, and what
 *   that makes per GB stored per day at the default schedule (one round an hour);
 * - after killing one hired supplier: time until it counts as lost (audits every `--interval` ms,
 *   lost after `--lost-after` ms of failures), and time from then back to full redundancy (a
 *   replacement hired and every shard it held rebuilt on it);
 * - repair traffic: shard bytes fetched per shard byte rebuilt (k = 4 is the baseline: a missing
 *   shard is decoded from any k of its block's shards).
 *
 * `deno run -A bench/self_heal.ts [--mib 256] [--interval 1000] [--lost-after 3000]`
 */
import { parseArgs } from "node:util";
import { randomBytes } from "../src/crypto/hash.ts";
import { memoryState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import type { Catalog } from "../src/catalog/mod.ts";
import { startStorageNet } from "../tests/_storage_net.ts";
import { mib, waitFor } from "./_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    interval: { type: "string", default: "1000" },
    "lost-after": { type: "string", default: "3000" },
    rounds: { type: "string", default: "24" },
  },
});
const size = Number(values.mib) * 1024 * 1024;
const interval = Number(values.interval);
const lostAfter = Number(values["lost-after"]);

const net = await startStorageNet(9, { hire: 0 });
const storage = new StorageService(net.owner, memoryState(), {
  supplierCount: 6,
  quota: 512 << 20,
  term: 3_600_000,
  checkEvery: 500,
  // Rounds are driven by hand below until the kill, then by the schedule.
  auditInterval: 0,
  lostAfter,
});
await storage.start();
let catalog: Catalog | undefined;
await waitFor(
  () => {
    storage.catalog().then((c) => (catalog = c), () => {});
    return catalog !== undefined;
  },
  60_000,
  200,
);
if (!catalog) throw new Error("no catalog");

// The file, streamed from a generator (1 MiB pieces of random bytes).
const piece = randomBytes(1 << 20);
async function* source() {
  for (let sent = 0; sent < size; sent += piece.length) {
    yield piece.subarray(0, Math.min(piece.length, size - sent));
  }
}
let t = performance.now();
await catalog.put("/big.bin", source(), size);
console.log(`put ${mib(size)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// Audit cost on the healthy network.
const rounds = Number(values.rounds);
let bytes = 0, checked = 0;
for (let i = 0; i < rounds; i++) {
  const r = await storage.auditor.round();
  bytes += r.bytes;
  checked += r.checked;
}
const perRound = bytes / rounds;
const perDay = perRound * 24;
console.log(
  `audit: ${
    (perRound / 1024).toFixed(0)
  } KiB moved per round on average over ${rounds} rounds (6 suppliers, ${
    (checked / rounds).toFixed(1)
  } shards checked per round); at one round an hour ${
    (perDay / 1e6).toFixed(1)
  } MB a day whatever is stored (a fixed sample), so ${
    (perDay / 1e6).toFixed(1)
  } MB per GB stored per day for 1 GB and ${(perDay / 1e6 / 100).toFixed(2)} for 100 GB`,
);

// Count repair traffic: shard bytes fetched and placed once the supplier is dismissed.
let fetched = 0, placed = 0, counting = false;
const customer = storage.customer;
const getShard = customer.getShard.bind(customer);
const putShard = customer.putShard.bind(customer);
customer.getShard = async (...a: Parameters<typeof getShard>) => {
  const b = await getShard(...a);
  if (counting) fetched += b.length;
  return b;
};
customer.putShard = async (...a: Parameters<typeof putShard>) => {
  const r = await putShard(...a);
  if (counting) placed += a[2].length;
  return r;
};

const victim = storage.suppliers()[0]!;
const held = storage.locator.heldBy(victim);
const timer = setInterval(() => void storage.auditor.round().catch(() => {}), interval);
t = performance.now();
await net.suppliers.find((s) => s.node.id === victim)!.node.stop();
await waitFor(() => storage.health.of(victim).state === "lost", 10 * lostAfter + 60_000, 20);
const detected = performance.now();
counting = true;
const whole = () =>
  storage.suppliers().length === 6 && storage.repairs.pendingShards === 0 &&
  held.every((id) => storage.locator.suppliersFor(id).length > 0);
await waitFor(whole, 600_000, 50);
const healed = performance.now();
counting = false;
clearInterval(timer);
console.log(
  `lost supplier held ${held.length} shards (${mib(placed)} rebuilt): detected after ${
    ((detected - t) / 1000).toFixed(1)
  } s (lost after ${lostAfter / 1000} s, audits every ${
    interval / 1000
  } s); back to full redundancy ${((healed - detected) / 1000).toFixed(1)} s later (${
    (placed / 1e6 / ((healed - detected) / 1000)).toFixed(1)
  } MB/s rebuilt)`,
);
console.log(
  `repair traffic: ${
    (fetched / placed).toFixed(2)
  } bytes fetched per byte rebuilt (baseline k = 4)`,
);
await storage.stop();
await net[Symbol.asyncDispose]();
Deno.exit(0); // libp2p leaves handles open after stop, as in storage_e2e.ts
