/**
 * The owner's memory during a large put and get, measured alone: the 6 suppliers run in their own
 * process (the embedded network as `mote start` runs it), the owner's data path (putFile, getFile)
 * in this one, fed from a generated stream so no source buffer counts. Samples this process's RSS,
 * V8 heap and external (ArrayBuffer) memory every 100 ms.
 *
 * `deno run -A bench/owner_memory.ts [--mib 1024] [--concurrency N] [--ahead N]` (default: the data
 * path's own defaults)
 * With `--v8-flags=--expose-gc --live` it collects garbage at every sample, which shows the live
 * set (what the data path holds) apart from the garbage V8 has not collected yet.
 */
import { parseArgs } from "node:util";
import { generateDataKey } from "../src/crypto/block.ts";
import { getFile, putFile, ShardLocator } from "../src/files/mod.ts";
import { startEmbeddedOwner } from "./_embedded.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "1024" },
    concurrency: { type: "string" },
    ahead: { type: "string" },
    live: { type: "boolean", default: false },
  },
});
const SIZE = Number(values.mib) * 2 ** 20;
const GiB = 2 ** 30;
const { customer, hired, stop } = await startEmbeddedOwner(4 * GiB);

const piece = new Uint8Array(1 << 20);
crypto.getRandomValues(piece.subarray(0, 65536));
async function* source() {
  for (let i = 0; i < SIZE; i += 1 << 20) {
    piece[0] = (i >> 20) & 255;
    yield piece.slice();
  }
}
const gc = values.live ? (globalThis as { gc?: () => void }).gc : undefined;
let peak = { rss: 0, heap: 0, ext: 0 };
const sampler = setInterval(() => {
  gc?.();
  const m = Deno.memoryUsage();
  peak = {
    rss: Math.max(peak.rss, m.rss),
    heap: Math.max(peak.heap, m.heapUsed),
    ext: Math.max(peak.ext, m.external),
  };
}, 100);
const mib = (x: number) => (x / 2 ** 20).toFixed(0);
const show = (what: string, ms: number) => {
  console.log(
    `${what}: ${(SIZE / 1e6 / (ms / 1000)).toFixed(0)} MB/s, peak RSS ${mib(peak.rss)} MiB ` +
      `(V8 heap ${mib(peak.heap)} MiB, ArrayBuffers ${mib(peak.ext)} MiB)`,
  );
  peak = { rss: 0, heap: 0, ext: 0 };
};
const idle = Deno.memoryUsage();
console.log(
  `${values.mib} MiB, owner alone${gc ? ", gc at every sample" : ""}: idle RSS ${
    mib(idle.rss)
  } MiB (V8 heap ${mib(idle.heapUsed)} MiB, ArrayBuffers ${mib(idle.external)} MiB)`,
);
const key = generateDataKey(), locator = new ShardLocator();
let t = performance.now();
const { manifest } = await putFile(source(), SIZE, {
  customer,
  locator,
  suppliers: hired,
  k: 4,
  m: 2,
  key,
  ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
});
show(`put (${values.concurrency ?? "default"} blocks in flight)`, performance.now() - t);
t = performance.now();
let got = 0;
for await (
  const c of getFile(manifest, key, {
    customer,
    locator,
    fallback: hired,
    ...(values.ahead ? { ahead: Number(values.ahead) } : {}),
  })
) got += c.length;
if (got !== SIZE) throw new Error(`read ${got} of ${SIZE}`);
show(`get (${values.ahead ?? "default"} blocks ahead)`, performance.now() - t);
clearInterval(sampler);
await stop();
Deno.exit(0);
