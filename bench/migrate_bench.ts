/**
 * Moving a stored file to a new erasure map through real nodes on 127.0.0.1: an owner stores a
 * file on 2+2 over 4 suppliers, hires 2 more and migrates it to 4+2 (`Catalog.migrate`). In the
 * same run, as baselines: a fresh put of the same bytes on 4+2 and a get of the 2+2 copy (a
 * migration is one get and one put, plus the swap and the deletes). Not 1+1: with 4 MiB blocks
 * its one data shard would exceed the 4 MiB shard limit.
 *
 * `deno run -A bench/migrate_bench.ts [--mib 128]`
 */
import { parseArgs } from "node:util";
import { Catalog } from "../src/catalog/mod.ts";
import { startStorageNet } from "../tests/_storage_net.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { mib: { type: "string", default: "128" } },
});
const SIZE = Number(values.mib) * 1024 * 1024;
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
async function* source() {
  for (let i = 0; i < SIZE; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
}
const mbps = (ms: number) => (SIZE / 1e6 / (ms / 1000)).toFixed(0);
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);
console.log(`load average: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const net = await startStorageNet(6, { hire: 4, timeout: 30_000 });
const hired = [...net.hired];
const catalog = new Catalog({
  node: net.owner,
  customer: net.customer,
  locator: net.locator,
  suppliers: () => hired,
  k: 2,
  m: 2,
});
await catalog.open();
await catalog.put("/old.bin", source(), SIZE);

catalog.options.k = 4;
catalog.options.m = 2;
for (const c of await net.customer.hire(6, 256 << 20, 3_600_000)) {
  if (!hired.includes(c.terms.supplier)) hired.push(c.terms.supplier);
}

let t = performance.now();
for await (const _ of (await catalog.get("/old.bin")).stream) { /* drain */ }
const get = performance.now() - t;

t = performance.now();
await catalog.put("/fresh.bin", source(), SIZE);
const put = performance.now() - t;

t = performance.now();
const r = await catalog.migrate();
const migrate = performance.now() - t;
if (r.files !== 1 || r.failed !== 0) throw new Error(`unexpected result ${JSON.stringify(r)}`);

clearInterval(sampler);
console.log(`${values.mib} MiB, 4 MiB blocks, memory shard stores, all nodes in one process`);
console.log(`get on 2+2 (baseline):      ${mbps(get)} MB/s (${get.toFixed(0)} ms)`);
console.log(`put on 4+2 (baseline):      ${mbps(put)} MB/s (${put.toFixed(0)} ms)`);
console.log(`migrate 2+2 -> 4+2:         ${mbps(migrate)} MB/s (${migrate.toFixed(0)} ms)`);
console.log(`peak RSS:                   ${(peak / 2 ** 20).toFixed(0)} MiB`);
await net.cluster.stop();
Deno.exit(0);
