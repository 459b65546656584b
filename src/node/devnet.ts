/**
 * The embedded local network: with no bootstrap peers, `mote start` runs this node plus N
 * supplier nodes in the same process on 127.0.0.1, so every feature can be tried on one machine.
 * Each supplier keeps its keys (and, with the storage layer, its shards) under
 * `<data>/devnet/supplier-N/`, so a restart brings back the same network.
 */
import type { Logger } from "../log/mod.ts";
import { MoteNode, type NodeOptions } from "./node.ts";
import { dirState, memoryState } from "./state.ts";
import { startSupply } from "./supply.ts";
import type { Supplier } from "../suppliers/mod.ts";

/** A running embedded network. */
export interface Devnet {
  nodes: MoteNode[];
  suppliers: Supplier[];
  /** Multiaddrs (with `/p2p/`) to bootstrap from. */
  bootstrap: string[];
  stop(): Promise<void>;
}

/** Options for {@linkcode startDevnet}. */
export interface DevnetOptions {
  /** `<data>/devnet`, or null to keep everything in memory (tests). */
  dir: string | null;
  count: number;
  /** Bytes each supplier offers (0: the nodes do not supply). */
  supply: number;
  log: Logger;
  /** Settings shared with the main node (lifetimes, limits). */
  base: Pick<
    NodeOptions,
    | "recordLifetime"
    | "republishInterval"
    | "maxRecords"
    | "maxRecordsPerSigner"
    | "rateLimit"
    | "namespaces"
  >;
}

/** Starts `count` supplier nodes on 127.0.0.1, connected to each other. */
export async function startDevnet(opts: DevnetOptions): Promise<Devnet> {
  const nodes: MoteNode[] = [];
  const suppliers: Supplier[] = [];
  const stop = async () => {
    for (const s of suppliers) s.stop();
    await Promise.allSettled(suppliers.map((s) => s.store.close()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 1; i <= opts.count; i++) {
      const dir = opts.dir ? `${opts.dir}/supplier-${i}` : null;
      const state = dir ? dirState(dir) : memoryState();
      const node = new MoteNode({
        ...opts.base,
        state,
        log: opts.log.child(`devnet-${i}`),
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
      if (opts.supply > 0) suppliers.push(await startSupply(node, state, dir, opts.supply));
    }
    // Publishing identities on a network a moment old costs seconds of queries (BENCHMARKS.md);
    // nothing waits for them, so let them finish in the background.
    for (const n of nodes) {
      n.publishIdentity().catch((e) =>
        n.log.warn("could not publish the identity document", { error: e })
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, suppliers, bootstrap: nodes.map((n) => n.addresses()[0]!), stop };
}
