/**
 * DHT put and get latency among N real Mote nodes on 127.0.0.1 in one process.
 *
 *     deno run -A bench/dht_latency.ts [--nodes 20] [--rounds 50]
 *
 * Each round a random node publishes a fresh record (its own identity, a new name) and another
 * random node resolves it. Side by side in the same round it also measures the parts and a
 * baseline: a bare DHT put of a second record without `publish()`'s lookup of the previous
 * version, the time until a third node's query sees the first copy of the value against the time
 * the whole query takes, and one libp2p ping over an open connection (one request/response hop).
 * Every wait is bounded; the whole run gives up after 150 s. Figures are in BENCHMARKS.md.
 */
import process from "node:process";
import { equals, utf8 } from "../src/encoding/bytes.ts";
import { routingTableSize } from "../src/net/mod.ts";
import { MoteNode } from "../src/node/node.ts";
import { createRecord, encodeRecord, formatRecordKey, recordKeyOf } from "../src/records/mod.ts";
import type { Namespace } from "../src/records/mod.ts";
import {
  BENCH_NAMESPACE,
  intFlag,
  mib,
  percentile,
  quietNodeOptions,
  summary,
  waitFor,
  withDeadline,
} from "./_util.ts";

const N = intFlag("nodes", 20);
const R = intFlag("rounds", 50);
if (N < 3) throw new RangeError(`--nodes must be at least 3, got ${N}`);
/** Rounds stop being started after this long, so the script stays near two minutes. */
const ROUNDS_BUDGET_MS = 90_000;

const watchdog = setTimeout(() => {
  console.error("dht_latency: gave up after 150 s");
  Deno.exit(1);
}, 150_000);

// Every full verification of a bench record (decodeRecord) ends in the namespace's validate
// hook, so giving each node its own namespace object counts each node's signature checks.
const checks: number[] = [];
const namespaceFor = (i: number): Namespace => {
  checks[i] = 0;
  return { ...BENCH_NAMESPACE, validate: () => void checks[i]!++ };
};
const totalChecks = () => checks.reduce((a, b) => a + b, 0);

// With `--v8-flags=--expose-gc` the heap figures are taken after a full collection.
const gc = (globalThis as { gc?: () => void }).gc;
const rand = (n: number) => Math.floor(Math.random() * n);
const now = () => performance.now();

const rssBefore = Deno.memoryUsage().rss;
const nodes: MoteNode[] = [];
const startMs: number[] = [];
const tSetup = now();
try {
  for (let i = 0; i < N; i++) {
    // Join through up to 3 random earlier nodes.
    const earlier = nodes.map((n) => n.addresses()[0]!);
    const bootstrap: string[] = [];
    while (bootstrap.length < Math.min(3, earlier.length)) {
      const a = earlier.splice(rand(earlier.length), 1)[0]!;
      bootstrap.push(a);
    }
    const node = new MoteNode(quietNodeOptions(bootstrap, [namespaceFor(i)]));
    nodes.push(node);
    const t = now();
    await withDeadline(node.start(), 20_000, `starting node ${i}`);
    startMs.push(now() - t);
  }
  const tStarted = now();
  // Routing tables fill through identify and kad-dht's self-query after the bootstrap dials.
  const target = Math.min(N - 1, 10);
  const filled = await waitFor(
    () => nodes.every((n) => routingTableSize(n.p2p) >= target),
    30_000,
  );
  const tReady = now();
  const rt = nodes.map((n) => routingTableSize(n.p2p));
  const conns = nodes.map((n) => n.p2p.getConnections().length);
  gc?.();
  const rssNodes = Deno.memoryUsage().rss;
  const heapAfterSetup = Deno.memoryUsage().heapUsed;

  console.log(`dht_latency: ${N} nodes, ${R} rounds, Deno ${Deno.version.deno}`);
  console.log(
    `setup: started ${N} nodes in ${(tStarted - tSetup).toFixed(0)} ms ` +
      `(one start: ${summary(startMs)})`,
  );
  console.log(
    `       routing tables ${filled ? "reached" : "did NOT reach"} ${target} entries each after ` +
      `${(tReady - tStarted).toFixed(0)} ms more; total setup ${(tReady - tSetup).toFixed(0)} ms`,
  );
  console.log(
    `       routing table size min/median/max ${Math.min(...rt)}/${percentile(rt, 50)}/${
      Math.max(...rt)
    }, connections per node min/median/max ${Math.min(...conns)}/${percentile(conns, 50)}/${
      Math.max(...conns)
    }`,
  );
  console.log(
    `       process RSS ${mib(rssBefore)} before, ${mib(rssNodes)} with ${N} nodes ` +
      `(${mib((rssNodes - rssBefore) / N)} per node)`,
  );

  const publishMs: number[] = [], putMs: number[] = [], getMs: number[] = [];
  const firstValueMs: number[] = [], firstRemoteMs: number[] = [], queryMs: number[] = [];
  const pingMs: number[] = [], stored: number[] = [];
  const putChecksOwn: number[] = [], putChecksOthers: number[] = [];
  const getChecksOwn: number[] = [], getChecksOthers: number[] = [];
  let firstWasLocal = 0, pingSkipped = 0;
  let missed = 0, failed = 0, done = 0;
  const tRounds = now();
  const cpuRounds = process.cpuUsage();
  for (let r = 0; r < R; r++) {
    if (now() - tRounds > ROUNDS_BUDGET_MS) {
      console.log(`(stopped after ${r} rounds: the ${ROUNDS_BUDGET_MS / 1000} s budget ran out)`);
      break;
    }
    const p = rand(N);
    let q = rand(N - 1);
    if (q >= p) q++;
    let c = rand(N);
    while (c === p || c === q) c = rand(N);
    const pub = nodes[p]!, res = nodes[q]!, third = nodes[c]!;
    const value = crypto.getRandomValues(new Uint8Array(200));
    try {
      // What a user sees: publish() = look up the previous version, sign, keep, DHT put.
      let own = checks[p]!, all = totalChecks(), t = now();
      const out = await withDeadline(
        pub.publish("bench", utf8(`round-${r}`), value),
        40_000,
        "publish",
      );
      publishMs.push(now() - t);
      putChecksOwn.push(checks[p]! - own);
      putChecksOthers.push(totalChecks() - all - (checks[p]! - own));
      stored.push(out.stored);

      // The DHT put alone, of a second fresh record from the same node.
      const name = utf8(`round-${r}-bare`);
      const rec = createRecord(pub.keys.signSecret, pub.keys.signPublic, {
        ns: "bench",
        name,
        seq: 0,
        value,
      });
      t = now();
      await withDeadline(
        pub.routing.put(recordKeyOf("bench", pub.id, name), encodeRecord(rec), { timeout: 30_000 }),
        35_000,
        "put",
      );
      putMs.push(now() - t);

      // What a user sees: resolve() on another node.
      own = checks[q]!;
      all = totalChecks();
      t = now();
      const got = await withDeadline(res.resolve(out.key, { timeout: 15_000 }), 20_000, "resolve");
      getMs.push(now() - t);
      getChecksOwn.push(checks[q]! - own);
      getChecksOthers.push(totalChecks() - all - (checks[q]! - own));
      if (!got || !equals(got.record.value, value)) missed++;

      // The same query from a third node, timing the first copy of the value it meets.
      const dht = third.p2p.services.dht as unknown as {
        contentFetching: {
          getMany(
            k: Uint8Array,
            o: { signal: AbortSignal },
          ): AsyncIterable<{ name: string; from?: { equals(o: unknown): boolean } }>;
        };
      };
      let first = NaN, firstRemote = NaN;
      t = now();
      for await (
        const ev of dht.contentFetching.getMany(utf8(formatRecordKey(out.key)), {
          signal: AbortSignal.timeout(15_000),
        })
      ) {
        if (ev.name !== "VALUE") continue;
        const local = ev.from?.equals(third.p2p.peerId) ?? false;
        if (Number.isNaN(first)) {
          first = now() - t;
          if (local) firstWasLocal++;
        }
        if (!local && Number.isNaN(firstRemote)) firstRemote = now() - t;
      }
      queryMs.push(now() - t);
      if (!Number.isNaN(first)) firstValueMs.push(first);
      if (!Number.isNaN(firstRemote)) firstRemoteMs.push(firstRemote);

      // Baseline: one ping over a connection the resolver already has.
      const peer = res.p2p.getConnections()[0]?.remotePeer;
      if (peer) {
        // libp2p's connection monitor pings too, and only one outbound ping stream per
        // connection is allowed; a collision just skips this sample.
        t = now();
        await res.p2p.services.ping.ping(peer, { signal: AbortSignal.timeout(5_000) }).then(
          () => pingMs.push(now() - t),
          () => pingSkipped++,
        );
      }
      done++;
    } catch (e) {
      failed++;
      console.error(`round ${r}: ${(e as Error).message}`);
    }
  }
  const roundsSec = (now() - tRounds) / 1000;
  const cpu = process.cpuUsage(cpuRounds);
  const cpuShare = (cpu.user + cpu.system) / 1e6 / roundsSec;

  // The same ping with nothing else going on: what a hop costs on an idle event loop.
  await new Promise((r) => setTimeout(r, 1000));
  const idlePingMs: number[] = [];
  const a = nodes[0]!, b = a.p2p.getConnections()[0]?.remotePeer;
  for (let i = 0; b && i < 20; i++) {
    const t = now();
    await a.p2p.services.ping.ping(b, { signal: AbortSignal.timeout(5_000) }).then(
      () => idlePingMs.push(now() - t),
      () => {},
    );
  }

  console.log(
    `rounds: ${done} completed, ${failed} failed, ${missed} resolves missed the value, ` +
      `${roundsSec.toFixed(1)} s wall, process CPU ${(cpuShare * 100).toFixed(0)}% of one core`,
  );
  console.log(`publish()      ${summary(publishMs)}  [lookup previous + sign + keep + put]`);
  console.log(`  DHT put      ${summary(putMs)}  [routing.put alone]`);
  console.log(`resolve()      ${summary(getMs)}  [whole Kademlia query]`);
  console.log(
    `  first value  ${
      summary(firstValueMs)
    }  [3rd node: first copy seen; ${firstWasLocal} of ${firstValueMs.length} were its own]`,
  );
  console.log(`  first remote ${summary(firstRemoteMs)}  [3rd node: first copy from a peer]`);
  console.log(`  whole query  ${summary(queryMs)}  [3rd node: getMany to the end]`);
  console.log(
    `baseline ping  ${summary(pingMs)}  [one hop on an open connection; ${pingSkipped} skipped]`,
  );
  console.log(
    `idle ping      ${summary(idlePingMs)}  [same, after the rounds, nothing else running]`,
  );
  const med = (x: number[]) => percentile(x, 50);
  console.log(
    `peers that stored each put: median ${med(stored)}, min ${Math.min(...stored)}`,
  );
  console.log(
    `record signature checks, median per publish(): ${med(putChecksOwn)} on the publisher + ` +
      `${med(putChecksOthers)} on other nodes; per resolve(): ${med(getChecksOwn)} on the ` +
      `resolver + ${med(getChecksOthers)} on other nodes`,
  );
  gc?.();
  const mem = Deno.memoryUsage();
  console.log(
    `process RSS at the end ${mib(mem.rss)} (V8 heap used ${mib(mem.heapUsed)} of ${
      mib(mem.heapTotal)
    }; after setup it was ${mib(heapAfterSetup)}${gc ? ", both after a full GC" : ""})`,
  );
} finally {
  const t = now();
  const stopped = await withDeadline(
    Promise.allSettled(nodes.map((n) => n.stop())),
    15_000,
    "stopping the nodes",
  ).then(() => true, () => false);
  console.log(
    `stopped ${nodes.length} nodes in ${(now() - t).toFixed(0)} ms${stopped ? "" : " (timed out)"}`,
  );
  clearTimeout(watchdog);
}
// libp2p can leave timers behind after stop(); the figures are printed, so leave now.
Deno.exit(0);
