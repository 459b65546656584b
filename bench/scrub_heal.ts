/**
 * Scrubbers keeping data whole with the owner offline, on real nodes (owner + 9 suppliers + 2
 * scrubbers on 127.0.0.1, one thread, memory shard stores, 4+2 over 6 hired suppliers, 4 MiB
 * blocks). The owner stores `--mib` MiB, hires both scrubbers and stops; then one of its suppliers
 * is stopped. Measured:
 *
 * - time until a scrubber counts the supplier as lost (rounds every `--interval` ms, lost after
 *   `--lost-after` ms of failures), and from then back to full redundancy (a supplier hired under
 *   the ticket and every shard the lost one held rebuilt on it, as the suppliers' stores show);
 * - repair traffic: shard bytes the scrubbers fetched per shard byte they rebuilt (k = 4 is the
 *   baseline), and how many times each lost shard was rebuilt (1 when the two coordinate);
 * - a scrubber round's cost on a healthy network: bytes of proofs and full reads per round.
 *
 * `deno run -A bench/scrub_heal.ts [--mib 256] [--interval 1000] [--lost-after 3000]`
 */
import { parseArgs } from "node:util";
import { randomBytes } from "../src/crypto/hash.ts";
import { memoryState, type NodeState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import type { Catalog } from "../src/catalog/mod.ts";
import { Scrubber, SCRUBBER_DEFAULTS, ScrubManager } from "../src/scrub/mod.ts";
import { startCluster } from "../tests/_harness.ts";
import { startSupplier } from "../tests/_storage_net.ts";
import { mib, waitFor } from "./_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    interval: { type: "string", default: "1000" },
    "lost-after": { type: "string", default: "3000" },
  },
});
const size = Number(values.mib) * 1024 * 1024;
const interval = Number(values.interval);
const lostAfter = Number(values["lost-after"]);

const cluster = await startCluster(12, { republishInterval: 5_000 });
const [ownerNode, ...rest] = cluster.nodes;
const suppliers = await Promise.all(rest.slice(0, 9).map((n) => startSupplier(n, 2 * 2 ** 30)));
await Promise.all(suppliers.map((s) => s.announce()));
const scrubbers = await Promise.all(
  rest.slice(9).map(async (node) => {
    const states = new Map<string, NodeState>();
    const s = new Scrubber(node, memoryState(), {
      ...SCRUBBER_DEFAULTS,
      interval,
      lostAfter,
      takeover: 30_000,
      audit: { fullReadEvery: 1_000_000 }, // proofs only, so fetched bytes are repair traffic
      stateFor: (o) => states.get(o) ?? (states.set(o, memoryState()), states.get(o)!),
    });
    await s.start();
    await s.announce();
    return s;
  }),
);

const storage = new StorageService(ownerNode!, memoryState(), {
  supplierCount: 6,
  quota: 1 << 30,
  term: 3_600_000,
  checkEvery: 500,
  auditInterval: 0,
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
const piece = randomBytes(1 << 20);
async function* source() {
  for (let sent = 0; sent < size; sent += piece.length) {
    yield piece.subarray(0, Math.min(piece.length, size - sent));
  }
}
let t = performance.now();
await catalog.put("/big.bin", source(), size);
console.log(`put ${mib(size)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
await catalog.publishKeepList();
const manager = new ScrubManager(ownerNode!, memoryState(), storage.customer, {
  expiry: 3_600_000,
  maxContracts: 18,
  maxQuota: 1 << 30,
});
const hired = await manager.hire(2);
await manager.tick(2, catalog.lastKeepList);
const owner = ownerNode!.id;
const ids = (await catalog.keptObjects()).flatMap((o) => o.blocks.flat());
await waitFor(
  () =>
    scrubbers.every((s) => {
      const r = s.jobs.get(owner)?.report;
      return !!r && r.rounds >= 2 && r.shards === ids.length && r.missing === 0;
    }),
  120_000,
  100,
);
console.log(`${hired.length} scrubbers at work; ${ids.length} shards on the keep list`);
const before = scrubbers.map((s) => s.jobs.get(owner)!.auditor.totals.bytes);
const roundsBefore = scrubbers.map((s) => s.jobs.get(owner)!.auditor.totals.rounds);
await new Promise((r) => setTimeout(r, 5 * interval));
const auditBytes = scrubbers.reduce(
  (n, s, i) => n + s.jobs.get(owner)!.auditor.totals.bytes - before[i]!,
  0,
);
const auditRounds = scrubbers.reduce(
  (n, s, i) => n + s.jobs.get(owner)!.auditor.totals.rounds - roundsBefore[i]!,
  0,
);
console.log(
  `scrubber audit: ${(auditBytes / Math.max(1, auditRounds) / 1024).toFixed(0)} KiB per round ` +
    `(proofs only; ${auditRounds} rounds of 2 scrubbers)`,
);

// The owner switches off; count what the scrubbers fetch and place from now on.
const victim = storage.suppliers()[0]!;
const victimStore = suppliers.find((s) => s.node.id === victim)!;
const held: string[] = [];
let heldBytes = 0;
for (const id of ids) {
  const b = await victimStore.store.get(owner, id);
  if (b) held.push(id), heldBytes += b.length;
}
await storage.stop();
await ownerNode!.stop();
let fetched = 0, placed = 0;
for (const s of scrubbers) {
  const c = s.jobs.get(owner)!.customer;
  const getShard = c.getShard.bind(c), putShard = c.putShard.bind(c);
  c.getShard = async (...a: Parameters<typeof getShard>) => {
    const b = await getShard(...a);
    fetched += b.length;
    return b;
  };
  c.putShard = async (...a: Parameters<typeof putShard>) => {
    const r = await putShard(...a);
    placed += a[2].length;
    return r;
  };
}
const live = suppliers.filter((s) => s !== victimStore);
t = performance.now();
await victimStore.node.stop();
await waitFor(
  () => scrubbers.some((s) => s.jobs.get(owner)!.health.of(victim).state === "lost"),
  10 * lostAfter + 60_000,
  20,
);
const detected = performance.now();
const whole = async () => {
  for (const id of held) {
    let found = false;
    for (const s of live) if (await s.store.has(owner, id)) found = true;
    if (!found) return false;
  }
  return true;
};
let ok = false;
while (!ok && performance.now() - detected < 600_000) {
  ok = await whole();
  if (!ok) await new Promise((r) => setTimeout(r, 100));
}
const healed = performance.now();
console.log(
  `lost supplier held ${held.length} shards (${mib(heldBytes)}): a scrubber counted it lost after ${
    ((detected - t) / 1000).toFixed(1)
  } s (lost after ${lostAfter / 1000} s, rounds every ${interval / 1000} s); back to full ` +
    `redundancy ${((healed - detected) / 1000).toFixed(1)} s later (${
      (heldBytes / 1e6 / ((healed - detected) / 1000)).toFixed(1)
    } MB/s rebuilt)`,
);
await new Promise((r) => setTimeout(r, 2_000)); // counts settle after the last put's answer
console.log(
  `repair traffic: ${(fetched / placed).toFixed(2)} bytes fetched per byte rebuilt (baseline ` +
    `k = 4); ${(placed / heldBytes).toFixed(2)} copies placed per lost shard`,
);
await Promise.allSettled(scrubbers.map((s) => s.stop()));
for (const s of suppliers) s.stop();
await cluster.stop();
Deno.exit(0);
