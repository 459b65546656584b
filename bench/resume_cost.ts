/**
 * What journalling costs a whole put: the same file stored through the catalog with an mtime
 * (journalled: a synced record and a SHA-256 per block) and without one (not journalled, the
 * baseline), alternating, on real nodes on 127.0.0.1 (owner + 6 suppliers, 4+2, 4 MiB blocks,
 * memory shard stores, the journal in a directory on disk). Then a put interrupted halfway and
 * resumed, against the full put.
 *
 * `deno run -A bench/resume_cost.ts [--mib 64] [--rounds 3]`
 */
import { Catalog } from "../src/catalog/mod.ts";
import { UploadJournal } from "../src/files/mod.ts";
import { dirState } from "../src/node/state.ts";
import { chunks, startStorageNet } from "../tests/_storage_net.ts";
import { intFlag } from "./_util.ts";

const SIZE = intFlag("mib", 64) << 20, ROUNDS = intFlag("rounds", 3);
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
const dir = await Deno.makeTempDir({ prefix: "mote-resume-bench-" });
const mbps = (ms: number) => (SIZE / 1e6 / (ms / 1000)).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${SIZE >> 20} MiB`);
const net = await startStorageNet(6, { timeout: 30_000 });
const journal = new UploadJournal(dirState(dir));
await journal.load();
const catalog = new Catalog({
  node: net.owner,
  customer: net.customer,
  locator: net.locator,
  suppliers: () => net.hired,
  journal,
  k: 4,
  m: 2,
});
await catalog.open();

const timed = async (path: string, mtime?: number) => {
  const t = performance.now();
  await catalog.put(path, chunks(data, 1 << 20), SIZE, { mtime });
  return performance.now() - t;
};
await timed("/warm-up.bin", 1);
const plain: number[] = [], journalled: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  plain.push(await timed(`/plain-${r}.bin`));
  journalled.push(await timed(`/journalled-${r}.bin`, 1_000 + r));
}
console.log(`put, not journalled (baseline): ${mbps(median(plain))} MB/s (median of ${ROUNDS})`);
console.log(`put, journalled:                ${mbps(median(journalled))} MB/s`);

const ctl = new AbortController();
const t0 = performance.now();
await catalog.put("/cut.bin", chunks(data, 1 << 20), SIZE, {
  mtime: 7,
  signal: ctl.signal,
  onProgress: (p) => p.bytes >= SIZE / 2 && ctl.abort(),
}).catch(() => {});
const cut = performance.now() - t0;
const stats = { resumed: 0 };
const t1 = performance.now();
await catalog.put("/cut.bin", chunks(data, 1 << 20), SIZE, { mtime: 7, stats });
const resume = performance.now() - t1;
console.log(
  `interrupted at ${(stats.resumed / SIZE * 100).toFixed(0)}% after ${cut.toFixed(0)} ms; ` +
    `the resume took ${resume.toFixed(0)} ms against ${median(journalled).toFixed(0)} ms ` +
    `for a whole journalled put`,
);
await Deno.remove(dir, { recursive: true });
await net.cluster.stop();
Deno.exit(0); // libp2p leaves handles open after stop, as in storage_e2e.ts
