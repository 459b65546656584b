/**
 * Starts real Mote nodes (real libp2p on 127.0.0.1, memory state) in the test process and tears
 * them down. Every wait is bounded.
 */
import { createLogger, memorySink } from "../src/log/mod.ts";
import { MoteNode, type NodeOptions } from "../src/node/node.ts";
import { memoryState } from "../src/node/state.ts";
import type { Namespace } from "../src/records/mod.ts";

/** A namespace for test records. */
export const TEST_NS: Namespace = { name: "test", maxValue: 1024, maxName: 64 };

/** A set of running nodes. */
export interface Cluster extends AsyncDisposable {
  nodes: MoteNode[];
  stop(): Promise<void>;
}

/** Options for the nodes of a cluster. */
export type NodeOverrides = Partial<Omit<NodeOptions, "state" | "log">>;

/** Builds (but does not start) one test node. */
export function testNode(overrides: NodeOverrides = {}, name = "node"): MoteNode {
  return new MoteNode({
    state: memoryState(),
    log: createLogger({ level: "warn", sinks: [memorySink()] }).child(name),
    host: "127.0.0.1",
    tcpPort: 0,
    wsPort: -1,
    bootstrap: [],
    nickname: name,
    loopback: true,
    recordLifetime: 60_000,
    republishInterval: 30_000,
    maxRecords: 10_000,
    maxRecordsPerSigner: 100,
    rateLimit: 1000,
    announce: [],
    gatewayUrls: [],
    namespaces: [TEST_NS],
    ...overrides,
  });
}

/** Starts `n` nodes; each joins through up to three earlier ones. Waits until every routing table has peers. */
export async function startCluster(n: number, overrides: NodeOverrides = {}): Promise<Cluster> {
  const nodes: MoteNode[] = [];
  const stop = async () => {
    await Promise.allSettled(nodes.map((x) => x.stop()));
  };
  try {
    for (let i = 0; i < n; i++) {
      const earlier = nodes.slice(Math.max(0, i - 3)).map((x) => x.addresses()[0]!);
      const node = testNode({ ...overrides, bootstrap: earlier }, `n${i}`);
      nodes.push(node);
      await node.start();
    }
    await waitFor(
      () => nodes.every((x) => x.status().dht >= Math.min(n - 1, 3)),
      15_000,
      "routing tables",
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, stop, [Symbol.asyncDispose]: stop };
}

/** Polls `cond` every 50 ms until it holds, or throws after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  every = 50,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
