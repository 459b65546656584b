/**
 * Start-up time and memory of a Mote node.
 *
 *     deno run -A bench/node_start.ts [--runs 3]
 *
 * (a) In this process: `MoteNode.start()` of a bare node (memory state, no peers, no devnet),
 *     the first one (cold: modules initialise, code is not yet optimised) and then warm ones,
 *     next to the libp2p node alone (`createP2P` + `start`, the same configuration) and a node
 *     that joins through one running peer.
 * (b) The whole program, `deno run -A mod.ts start --json` in a subprocess, timed until its
 *     JSON line appears, its RSS read from /proc after it settles for 2 s, then stopped through
 *     `POST /api/v1/stop`: with the default embedded network (8 suppliers + the main node) and
 *     with `--no-devnet` (the main node alone), next to `mod.ts --version` (loading the code and
 *     exiting) and the RSS of an idle process with and without mod.ts imported. Each program
 *     run is repeated `--runs` times; medians are reported.
 *
 * Every wait is bounded; the script gives up after 150 s. Figures are in BENCHMARKS.md.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createP2P, DhtRecordStore } from "../src/net/mod.ts";
import { startDevnet } from "../src/node/devnet.ts";
import { MoteNode } from "../src/node/node.ts";
import { createLogger } from "../src/log/mod.ts";
import { createRecordValidator, namespaces, SeqMemory } from "../src/records/mod.ts";
import { IDENTITY_NAMESPACE } from "../src/identity/mod.ts";
import {
  BENCH_NAMESPACE,
  intFlag,
  mib,
  percentile,
  quietNodeOptions,
  rssOf,
  withDeadline,
} from "./_util.ts";

const RUNS = intFlag("runs", 3);
const REPO = new URL("..", import.meta.url).pathname;
const now = () => performance.now();
const ms = (x: number) => `${x.toFixed(0)} ms`;
const med = (xs: number[]) => percentile(xs, 50);

const watchdog = setTimeout(() => {
  console.error("node_start: gave up after 150 s");
  Deno.exit(1);
}, 150_000);

console.log(`node_start: Deno ${Deno.version.deno}, ${RUNS} runs of each program measurement`);

// (a) In-process starts.
{
  const bare: number[] = [];
  for (let i = 0; i < 6; i++) {
    const node = new MoteNode(quietNodeOptions([]));
    const t = now();
    await withDeadline(node.start(), 20_000, "MoteNode.start()");
    bare.push(now() - t);
    await node.stop();
  }
  const libp2p: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = now();
    const p2p = await createP2P({
      privateKey: await generateKeyPair("Ed25519"),
      host: "127.0.0.1",
      tcpPort: 0,
      wsPort: -1,
      validator: createRecordValidator({
        namespaces: namespaces(IDENTITY_NAMESPACE, BENCH_NAMESPACE),
        memory: new SeqMemory(),
      }),
      datastore: new DhtRecordStore({ lifetime: 3600_000, maxRecords: 1000, maxPerSigner: 100 }),
      loopback: true,
    });
    await withDeadline(Promise.resolve(p2p.start()), 20_000, "libp2p start");
    libp2p.push(now() - t);
    await p2p.stop();
  }
  const seed = new MoteNode(quietNodeOptions([]));
  await seed.start();
  const joining: number[] = [];
  for (let i = 0; i < 5; i++) {
    const node = new MoteNode(quietNodeOptions([seed.addresses()[0]!]));
    const t = now();
    await withDeadline(node.start(), 20_000, "MoteNode.start() with a bootstrap peer");
    joining.push(now() - t);
    await node.stop();
  }
  await seed.stop();
  // The embedded network as `mote start` runs it, in memory: 8 suppliers started one after
  // another, then each publishes its identity document.
  const devnet: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = now();
    const net = await withDeadline(
      startDevnet({
        dir: null,
        count: 8,
        supply: 10 * 1024 ** 3,
        log: createLogger({ level: "error", sinks: [] }),
        base: quietNodeOptions([]),
      }),
      30_000,
      "startDevnet",
    );
    devnet.push(now() - t);
    await net.stop();
  }
  // Where startDevnet's time goes: the same two phases, timed apart (a replica of its loop).
  const suppliers: MoteNode[] = [];
  let t = now();
  for (let i = 0; i < 8; i++) {
    const node = new MoteNode(quietNodeOptions(suppliers.slice(-3).map((n) => n.addresses()[0]!)));
    suppliers.push(node);
    await withDeadline(node.start(), 20_000, "starting a supplier");
  }
  const phaseStart = now() - t;
  t = now();
  const each = await withDeadline(
    Promise.all(suppliers.map(async (n) => {
      const s = now();
      await n.publishIdentity().catch(() => {});
      return now() - s;
    })),
    30_000,
    "publishIdentity on 8 suppliers",
  );
  const phasePublish = now() - t;
  t = now();
  await withDeadline(suppliers[0]!.publishIdentity(), 20_000, "one more publishIdentity");
  const onePublish = now() - t;
  await Promise.allSettled(suppliers.map((n) => n.stop()));
  const warm = bare.slice(1);
  console.log(`(a) MoteNode.start(), bare, cold (first in process): ${ms(bare[0]!)}`);
  console.log(
    `    MoteNode.start(), bare, warm: median ${ms(med(warm))} (${warm.map(ms).join(", ")})`,
  );
  console.log(
    `    baseline createP2P + libp2p start: median ${ms(med(libp2p))} (${
      libp2p.map(ms).join(", ")
    })`,
  );
  console.log(
    `    MoteNode.start() joining through one peer: median ${ms(med(joining))} (${
      joining.map(ms).join(", ")
    })`,
  );
  console.log(
    `    startDevnet (8 suppliers, in memory): median ${ms(med(devnet))} (${
      devnet.map(ms).join(", ")
    })`,
  );
  console.log(
    `      of which (replica): 8 starts one after another ${ms(phaseStart)}, then 8 ` +
      `publishIdentity() at once ${ms(phasePublish)} (each ${each.map(ms).join(", ")}); ` +
      `one publishIdentity() afterwards on the settled network ${ms(onePublish)}`,
  );
}

// (b) The program in a subprocess.
interface ProgramRun {
  /** Spawn until the JSON line (or exit, for --version). */
  ready: number;
  /** The node's process. */
  rss: number;
  /** Its child processes (the embedded network's suppliers), 0 without. */
  childRss: number;
  /** POST /stop until the process exited. */
  stop: number;
  peers: number;
}

async function readLine(reader: ReadableStreamDefaultReader<string>, ms: number): Promise<string> {
  let buf = "";
  const end = now() + ms;
  while (!buf.includes("\n")) {
    const left = end - now();
    if (left <= 0) throw new Error(`no line on stdout within ${ms} ms`);
    const { value, done } = await withDeadline(reader.read(), left, "reading stdout");
    if (done) throw new Error(`stdout closed before a line; got "${buf}"`);
    buf += value;
  }
  return buf.slice(0, buf.indexOf("\n"));
}

async function runProgram(extra: string[]): Promise<ProgramRun> {
  const data = await Deno.makeTempDir({ prefix: "mote-bench-" });
  const t0 = now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "mod.ts",
      "start",
      "--data",
      data,
      "--port",
      "0",
      "--gateway-port",
      "0",
      "--p2p-port",
      "0",
      "--json",
      ...extra,
    ],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Keep stderr drained (the node logs at info there) and at hand for error messages.
  let stderr = "";
  const drain = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await readLine(out, 60_000);
    const ready = now() - t0;
    const info = JSON.parse(line) as { api: string; pid: number };
    await new Promise((r) => setTimeout(r, 2_000));
    const rss = await rssOf(child.pid);
    const kids = await Deno.readTextFile(`/proc/${child.pid}/task/${child.pid}/children`)
      .catch(() => "");
    let childRss = 0;
    for (const pid of kids.trim().split(/\s+/).filter(Boolean)) {
      childRss += await rssOf(Number(pid));
    }
    const token = (await Deno.readTextFile(`${data}/api-token`)).trim();
    const headers = { authorization: `Bearer ${token}` };
    const status = await (await fetch(`${info.api}/api/v1/status`, {
      headers,
      signal: AbortSignal.timeout(5_000),
    })).json() as { peers: number };
    const t1 = now();
    const res = await fetch(`${info.api}/api/v1/stop`, {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`POST /api/v1/stop answered ${res.status}`);
    const code = await withDeadline(child.status, 20_000, "waiting for the node to exit");
    const stop = now() - t1;
    if (code.code !== 0) throw new Error(`mote start exited with ${code.code}`);
    return { ready, rss, childRss, stop, peers: status.peers };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- stderr ---\n${stderr.slice(-2000)}`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await out.cancel().catch(() => {});
    await withDeadline(drain, 5_000, "draining stderr").catch(() => {});
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
}

async function versionRun(): Promise<number> {
  const t = now();
  const out = await withDeadline(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "mod.ts", "--version"],
      cwd: REPO,
      stdout: "null",
      stderr: "null",
    }).output(),
    30_000,
    "mod.ts --version",
  );
  if (out.code !== 0) throw new Error(`mod.ts --version exited with ${out.code}`);
  return now() - t;
}

/** RSS of `deno eval <code>` 2 s after it prints its first line; the process is then killed. */
async function idleRss(code: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    await readLine(out, 30_000);
    await new Promise((r) => setTimeout(r, 2_000));
    return await rssOf(child.pid);
  } finally {
    child.kill("SIGKILL");
    await out.cancel().catch(() => {});
    await withDeadline(child.status, 5_000, "waiting for deno eval to exit").catch(() => {});
  }
}

const HOLD = "await new Promise((r) => setTimeout(r, 30000));";
const rssEmpty = await idleRss(`console.log("up"); ${HOLD}`);
const rssLoaded = await idleRss(`await import("./mod.ts"); console.log("up"); ${HOLD}`);

const version: number[] = [];
const devnet: ProgramRun[] = [], alone: ProgramRun[] = [];
// Interleaved, so drift in the machine's load hits all three alike.
for (let i = 0; i < RUNS; i++) {
  version.push(await versionRun());
  devnet.push(await runProgram([]));
  alone.push(await runProgram(["--no-devnet"]));
}
const row = (name: string, runs: ProgramRun[]) =>
  console.log(
    `    ${name}: ready median ${ms(med(runs.map((r) => r.ready)))} (${
      runs.map((r) => ms(r.ready)).join(", ")
    }); RSS median ${mib(med(runs.map((r) => r.rss)))} (${
      runs.map((r) => mib(r.rss)).join(", ")
    }), child processes ${mib(med(runs.map((r) => r.childRss)))}; stop ${
      ms(med(runs.map((r) => r.stop)))
    }; peers ${runs.map((r) => r.peers).join(", ")}`,
  );
console.log(
  `(b) baseline mod.ts --version (load the code, exit): median ${ms(med(version))} (${
    version.map(ms).join(", ")
  })`,
);
console.log(
  `    baseline RSS: empty deno process ${mib(rssEmpty)}; mod.ts imported, nothing started ${
    mib(rssLoaded)
  }`,
);
row("mote start (devnet: 8 suppliers + main node)", devnet);
row("mote start --no-devnet (main node alone)", alone);
const perSupplier = (med(devnet.map((r) => r.childRss)) - rssLoaded) / 8;
console.log(
  `    RSS per devnet supplier ((suppliers' process − mod.ts imported) / 8): ${mib(perSupplier)}`,
);
clearTimeout(watchdog);
// A process that ever started a libp2p node never exits on its own under Deno: @libp2p/peer-store's
// lock (mortice) opens a BroadcastChannel and calls `unref?.()`, which Deno's lacks.
Deno.exit(0);
