/**
 * End-to-end put and get through real nodes on 127.0.0.1 (owner + 6 suppliers, 4+2, memory
 * shard stores), beside the same pipeline run locally with no network (encrypt → Reed-Solomon
 * → shard ids → a local memory store, and back) in the same run.
 *
 * Two networks: the embedded network as `mote start` runs it (the suppliers in a child process,
 * the owner on the main thread), and all seven nodes on the main thread. Each runs once per
 * noise cipher in `--ciphers` (`MOTE_NOISE_CIPHER`: node:crypto, or the WebAssembly kernel of
 * src/net/chacha) and round; odd rounds take the ciphers in reverse order (A B B A), so a load
 * that changes during the run (this machine is shared) favours neither. The local pipeline runs
 * again right before every network run and each ratio is against that run, so a slow moment
 * does not skew every ratio; the summary gives the median ratios per network and cipher.
 *
 * `deno run -A bench/storage_e2e.ts [--mib 256] [--ciphers node,wasm] [--rounds 2]`
 */
import { parseArgs } from "node:util";
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import {
  blockCount,
  decryptBlock,
  encryptBlock,
  generateDataKey,
  importDataKey,
} from "../src/crypto/block.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { createCodec, joinShards, splitBlock } from "../src/erasure/mod.ts";
import { getFile, putFile } from "../src/files/mod.ts";
import { openUnstorageShardStore } from "../src/store/mod.ts";
import { startStorageNet } from "../tests/_storage_net.ts";
import { ShardLocator } from "../src/files/mod.ts";
import type { Customer } from "../src/suppliers/mod.ts";
import { startEmbeddedOwner } from "./_embedded.ts";
import { NOISE_CIPHER_ENV, type NoiseCipher } from "../src/net/chacha/noise.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    ciphers: { type: "string", default: "node,wasm" },
    rounds: { type: "string", default: "2" },
  },
});
const CIPHERS = values.ciphers.split(",") as NoiseCipher[];
for (const c of CIPHERS) {
  if (c !== "node" && c !== "wasm") throw new TypeError(`--ciphers takes node and wasm, got ${c}`);
}
/** Node processes (this one's and the suppliers') read the cipher when they create libp2p. */
const useCipher = (c: NoiseCipher) => Deno.env.set(NOISE_CIPHER_ENV, c);
const CIPHER_NAME = { node: "noise on node:crypto", wasm: "noise on the WebAssembly kernel" };
const ROUNDS = Number(values.rounds);
/** The ciphers in the order of each run: A B, then B A, and so on. */
const ORDER = Array.from({ length: ROUNDS }, (_, r) => r % 2 ? [...CIPHERS].reverse() : CIPHERS)
  .flat();
const SIZE = Number(values.mib) * 1024 * 1024;
const BS = 4 * 1024 * 1024;
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
async function* source() {
  for (let i = 0; i < SIZE; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
}
const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);

// Local pipeline, the baseline: same steps, no network, shards into a memory store.
async function local() {
  const codec = createCodec({ k: 4, m: 2 });
  const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
    shardId,
    maxShardBytes: 4 << 20,
  });
  const key = await importDataKey(generateDataKey());
  const count = blockCount(SIZE, BS);
  const refs: { len: number; ids: string[] }[] = [];
  let t = performance.now();
  for (let i = 0; i < count; i++) {
    const ct = await encryptBlock(key, i, count, data.subarray(i * BS, (i + 1) * BS));
    const { shards } = splitBlock(ct, 4);
    const all = [...shards, ...codec.encode(shards)];
    const ids = await Promise.all(all.map(shardId));
    await Promise.all(all.map((s, j) => store.put("a".repeat(52), ids[j]!, s)));
    refs.push({ len: ct.length, ids });
  }
  const put = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < count; i++) {
    const shards = await Promise.all(
      refs[i]!.ids.slice(0, 4).map((id) => store.get("a".repeat(52), id)),
    );
    await decryptBlock(key, i, count, joinShards(shards as Uint8Array[], refs[i]!.len));
  }
  return { put, get: performance.now() - t };
}

/** The 1-minute load average (Linux), printed with the figures: this machine is shared. */
const load = () => {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "unknown";
  }
};
console.log(`load average ${load()} at the start`);
/** Puts and gets the data through hired suppliers; returns the times (ms) and peak RSS. */
async function run(customer: Customer, locator: ShardLocator, hired: string[]) {
  peak = 0;
  const key = generateDataKey();
  let t = performance.now();
  const { manifest } = await putFile(source(), SIZE, {
    customer,
    locator,
    suppliers: hired,
    k: 4,
    m: 2,
    key,
  });
  const put = performance.now() - t;
  t = performance.now();
  let got = 0;
  for await (const c of getFile(manifest, key, { customer, locator, fallback: hired })) {
    got += c.length;
  }
  const get = performance.now() - t;
  if (got !== SIZE) throw new Error(`read ${got} of ${SIZE}`);
  return { put, get, peak };
}

type Result = { put: number; get: number; peak: number };
type Times = { put: number; get: number };
const ratios = new Map<string, { put: number; get: number }[]>();
const report = (what: string, r: Result, base: Times) => {
  ratios.set(what, [...ratios.get(what) ?? [], { put: base.put / r.put, get: base.get / r.get }]);
  console.log(
    `${what}: put ${mbps(SIZE, r.put)} MB/s (${(base.put / r.put).toFixed(2)}× local), get ${
      mbps(SIZE, r.get)
    } MB/s (${(base.get / r.get).toFixed(2)}× local); local just before: put ${
      mbps(SIZE, base.put)
    } MB/s, get ${mbps(SIZE, base.get)} MB/s; peak RSS ${
      (r.peak / 2 ** 20).toFixed(0)
    } MiB (data buffer ${SIZE / 2 ** 20} MiB included); load ${load()}`,
  );
};

/** A network to run over: who puts and gets, where shards are, and how to stop it. */
type Net = { customer: Customer; locator: ShardLocator; hired: string[]; stop(): Promise<void> };

/** The local baseline, then the network `start` gives under each cipher of the A B B A order. */
async function measure(what: string, start: () => Promise<Net>) {
  for (const cipher of ORDER) {
    const base = await local();
    useCipher(cipher);
    const net = await start();
    report(
      `${what}, ${CIPHER_NAME[cipher]}`,
      await run(net.customer, net.locator, net.hired),
      base,
    );
    await net.stop();
  }
}

// The embedded network as `mote start` runs it: the suppliers in a child process.
await measure("embedded network (suppliers in their own process)", async () => {
  const { customer, hired, stop } = await startEmbeddedOwner(1 << 30);
  return { customer, hired, stop, locator: new ShardLocator() };
});

// All seven nodes on the main thread.
await measure("all seven nodes on one thread", async () => {
  const net = await startStorageNet(6, { timeout: 60_000 });
  return { ...net, stop: () => net.cluster.stop() };
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log(`\nmedian ratios against the local pipeline, ${ROUNDS} runs each:`);
for (const [what, rs] of ratios) {
  const put = median(rs.map((r) => r.put)), get = median(rs.map((r) => r.get));
  console.log(`  ${what}: put ${put.toFixed(2)}×, get ${get.toFixed(2)}×`);
}
clearInterval(sampler);
console.log(`load average ${load()} at the end`);
Deno.exit(0);
