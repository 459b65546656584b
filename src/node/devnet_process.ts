/**
 * The process that runs the embedded network's supplier nodes. The user's node and the suppliers
 * share nothing but loopback sockets, as they would on separate machines: the suppliers' work
 * (noise, shard checks, disk) runs on another core, and each process's memory is its own.
 *
 * It speaks JSON lines. In, on stdin: one `{ type: "start", … }`; then `{ type: "stop" }` or the
 * end of stdin (the parent exited, even if killed) stops every node and exits. Out, on stdout:
 * `ready` (the nodes' ids and addresses), `log` (every log record, for the parent's logger),
 * `error`, `stopped`.
 */
import { createLogger, type LogLevel, type LogRecord } from "../log/mod.ts";
import { MoteNode, type NodeOptions } from "./node.ts";
import { dirState, memoryState } from "./state.ts";
import { startSupply } from "./supply.ts";
import { watchEventLoop } from "./lag.ts";
import type { Supplier } from "../suppliers/mod.ts";
import type { Scrubber } from "../scrub/mod.ts";
import { type ScrubSchedule, startScrub } from "./scrub.ts";

/** What the parent sends to start the nodes. */
export interface DevnetStart {
  type: "start";
  /** `<data>/devnet`, or null for memory. */
  dir: string | null;
  /** Supplier numbers to run (1-based, they name the data folders). */
  indexes: number[];
  supply: number;
  /** Scrub duty on every node (the embedded network offers it, so it can be tried). */
  scrub?: ScrubSchedule;
  level: LogLevel;
  base: Pick<
    NodeOptions,
    "recordLifetime" | "republishInterval" | "maxRecords" | "maxRecordsPerSigner" | "rateLimit"
  >;
}

const encoder = new TextEncoder();
/** Writes one JSON line to stdout (synchronously, so lines never interleave). */
function send(message: unknown) {
  const bytes = encoder.encode(JSON.stringify(message) + "\n");
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

const nodes: MoteNode[] = [];
const suppliers: Supplier[] = [];
const scrubbers: Scrubber[] = [];

/** Log fields made safe for JSON (errors as text, anything else not plain as a string). */
function plain(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) out[k] = `${v.name}: ${v.message}`;
    else if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
    else if (v !== undefined) out[k] = String(v);
  }
  return out;
}

async function start(msg: DevnetStart) {
  const log = createLogger({
    level: msg.level,
    sinks: [{
      write: (_line: string, r: LogRecord) =>
        send({
          type: "log",
          level: r.level,
          component: r.component,
          msg: r.msg,
          fields: plain(r.fields),
        }),
    }],
  });
  watchEventLoop(log.child("devnet"));
  for (const i of msg.indexes) {
    const dir = msg.dir ? `${msg.dir}/supplier-${i}` : null;
    const state = dir ? dirState(dir) : memoryState();
    const node = new MoteNode({
      ...msg.base,
      state,
      log: log.child(`devnet-${i}`),
      host: "127.0.0.1",
      tcpPort: 0,
      wsPort: -1,
      // Each supplier joins through the ones started before it.
      bootstrap: nodes.slice(-3).map((n) => n.addresses()[0]!),
      nickname: `devnet-supplier-${i}`,
      loopback: true,
      announce: [],
      gatewayUrls: [],
    });
    nodes.push(node);
    await node.start();
    if (msg.supply > 0) suppliers.push(await startSupply(node, state, dir, msg.supply));
    if (msg.scrub) scrubbers.push(await startScrub(node, state, dir, msg.scrub));
  }
  // Publishing identities on a network a moment old costs seconds of queries (BENCHMARKS.md);
  // nothing waits for them, so let them finish in the background.
  for (const n of nodes) {
    n.publishIdentity().catch((e) =>
      n.log.warn("could not publish the identity document", { error: e })
    );
  }
  send({
    type: "ready",
    nodes: nodes.map((n) => ({ id: n.id, address: n.addresses()[0]! })),
  });
}

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  return stopping ??= (async () => {
    await Promise.allSettled(scrubbers.map((s) => s.stop()));
    for (const s of suppliers) s.stop();
    await Promise.allSettled(suppliers.map((s) => s.store.close()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
    send({ type: "stopped" });
    // libp2p leaves timers behind after stop; the process has nothing left to do.
    Deno.exit(0);
  })();
}

async function main() {
  // Reads JSON lines from stdin until it ends; at most 64 KiB per line.
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    if (buffered.length > 65_536) throw new Error("Message from the parent over 64 KiB");
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = JSON.parse(line) as DevnetStart | { type: "stop" };
      if (msg.type === "start") {
        start(msg).catch((err) => {
          send({ type: "error", message: `${(err as Error).name}: ${(err as Error).message}` });
        });
      } else await stop();
    }
  }
  await stop(); // stdin ended: the parent is gone
}

if (import.meta.main) await main();
