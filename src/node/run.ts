/**
 * Running a node as a program: takes the data directory's lock, starts the embedded network
 * when asked, starts the node, serves the API (loopback) and the public gateway on their own
 * ports, writes `node.json` for the CLI, and stops all of it cleanly.
 */
import { type Config, loadConfig, type LoadedConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  type ApiBackend,
  createApiApp,
  createPublicApp,
  loopbackAllowlist,
  PasswordGate,
  type RecordSource,
} from "../../gateway/mod.ts";
import { applyStagedIdentity } from "./identity_swap.ts";
import { nodeSettingsBackend } from "./settings.ts";
import { RateLimiter } from "../net/rate_limit.ts";
import type { decodeIdentityDocument } from "../identity/document.ts";
import { toHex } from "../encoding/bytes.ts";
import { parseRecordKey } from "../records/record.ts";
import {
  loadOrCreateToken,
  lockDataDir,
  removeRuntimeInfo,
  type RuntimeInfo,
  writeRuntimeInfo,
} from "./data_dir.ts";
import { type Devnet, startDevnet } from "./devnet.ts";
import { watchEventLoop } from "./lag.ts";
import { MoteNode, VERSION } from "./node.ts";
import { dirState } from "./state.ts";
import { startSupply } from "./supply.ts";
import { startScrub } from "./scrub.ts";
import { StorageService } from "./storage.ts";
import { storageFilesBackend } from "./files_backend.ts";
import { scrubBackend } from "./scrub_backend.ts";
import { siteBackend } from "./site_backend.ts";
import { SharingService } from "./sharing.ts";
import { SharedReader } from "./shared_reader.ts";
import { sharingBackend } from "./sharing_backend.ts";
import { NodeSiteSource } from "../sites/mod.ts";
import { NodeShardSource } from "./shard_source.ts";
import { worldBackend } from "./world_backend.ts";
import { WorldCheckpointer } from "./world_checkpoints.ts";
import { nodeWorldSource } from "./world_source.ts";
import { nodeLiveHub } from "./world_gossip.ts";
import { upgradeWebSocket } from "hono/deno";
import type { Supplier } from "../suppliers/mod.ts";
import { exportKeyFile } from "../identity/mod.ts";
import { linkPageBundle, webBundle, worldClientBundle } from "./web_bundle.ts";
import { linkBackend } from "./link_backend.ts";

/** A running node program. */
export interface RunningNode {
  node: MoteNode;
  storage: StorageService;
  devnet: Devnet | null;
  info: RuntimeInfo;
  /** The ports it listens on (a restart keeps them, even those first chosen by the system). */
  ports: { port: number; gatewayPort: number; p2pPort: number; wsPort: number };
  /**
   * Resolves once the node has stopped: `"restart"` when it was asked to start again (`POST
   * /api/v1/restart`, or a key imported from the UI), `"stop"` otherwise.
   */
  stopped: Promise<"stop" | "restart">;
  stop(): Promise<void>;
}

/** Raised when a listening port is taken. */
export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/** Options for {@linkcode runNode}. */
export interface RunOptions {
  /** Loads the configuration as a restart would (by default config.json and the environment). */
  reload?: () => Promise<LoadedConfig>;
}

/** Starts everything `mote start` runs. */
export async function runNode(
  dataDir: string,
  config: Config,
  log: Logger,
  opts: RunOptions = {},
): Promise<RunningNode> {
  const lock = await lockDataDir(dataDir);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const unwind = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    // A key imported from the web UI waits for this moment: nothing has read the state yet.
    const swapped = await applyStagedIdentity(dataDir);
    if (swapped) log.info("took over the imported identity", { ...swapped });
    const base = {
      recordLifetime: config.recordLifetime,
      republishInterval: config.republishInterval,
      maxRecords: config.maxRecords,
      maxRecordsPerSigner: config.maxRecordsPerSigner,
      rateLimit: config.rateLimit,
    };
    let devnet: Devnet | null = null;
    if (config.devnet) {
      devnet = await startDevnet({
        dir: `${dataDir}/devnet`,
        count: config.devnetSuppliers,
        supply: config.devnetSupply,
        scrub: { interval: config.auditInterval, lostAfter: config.lostAfter },
        log: log.child("devnet"),
        base,
      });
      cleanups.push(() => devnet!.stop());
    }
    const state = dirState(dataDir);
    const node = new MoteNode({
      ...base,
      state,
      log: log.child("node"),
      host: config.host,
      tcpPort: config.p2pPort,
      wsPort: config.wsPort,
      bootstrap: [...config.bootstrap, ...(devnet?.bootstrap ?? [])],
      nickname: config.nickname,
      // A node listening only on loopback lives in a network on this machine, where loopback
      // addresses are the real ones; a node on a public address drops them from the DHT.
      loopback: config.devnet || isLoopbackHost(config.host),
      announce: config.announce,
      gatewayUrls: config.gatewayUrls,
    });
    cleanups.push(() => node.stop());
    cleanups.push(watchEventLoop(log.child("node")));
    try {
      await node.start();
    } catch (e) {
      if (/EADDRINUSE|address already in use/i.test(String(e))) {
        throw new PortInUseError(
          `The p2p port ${config.p2pPort} (or ${config.wsPort}) is in use: choose others with --p2p-port and --ws-port`,
        );
      }
      throw e;
    }
    let supplier: Supplier | null = null;
    if (config.supply > 0) {
      supplier = await startSupply(node, state, dataDir, config.supply, config.supplyStore);
      cleanups.push(async () => {
        supplier!.stop();
        await supplier!.store.close();
      });
    }

    if (config.scrub) {
      const scrubber = await startScrub(node, state, dataDir, {
        interval: config.auditInterval,
        lostAfter: config.lostAfter,
      });
      cleanups.push(() => scrubber.stop());
    }

    const storage = new StorageService(node, state, {
      supplierCount: config.supplierCount,
      quota: 1 << 30,
      term: 30 * 24 * 3600 * 1000,
      checkEvery: config.devnet ? 3_000 : 30_000,
      auditInterval: config.auditInterval,
      lostAfter: config.lostAfter,
      scrubbers: config.scrubbers,
      scrubExpiry: config.scrubExpiry,
    });
    await storage.start();
    cleanups.push(() => storage.stop());
    const sharing = new SharingService(storage);
    sharing.start();
    cleanups.push(() => sharing.stop());

    let resolveStopped!: (how: "stop" | "restart") => void;
    const stopped = new Promise<"stop" | "restart">((r) => (resolveStopped = r));
    let stopping: Promise<void> | undefined;
    let how: "stop" | "restart" = "stop";
    const stop = () =>
      stopping ??= (async () => {
        log.info(how === "restart" ? "restarting" : "stopping");
        await unwind();
        await removeRuntimeInfo(dataDir);
        resolveStopped(how);
      })();
    const restart = () => {
      how = "restart";
      void stop();
    };

    const token = await loadOrCreateToken(dataDir);
    const closing = new AbortController();
    // One world source for the gateway and the API's edits (which read grants and counters).
    const worlds = nodeWorldSource(node, (m, f) => log.warn(m, f));
    // One live hub for both origins' world sockets: presence and edits over gossip.
    const live = nodeLiveHub(node, worlds, log.child("live"));
    cleanups.push(() => live.close());
    // The owner's region checkpoints, signed when its worlds' grants end (on the embedded
    // network, a local trial, within seconds rather than a minute).
    const checkpoints = new WorldCheckpointer({
      node,
      catalog: () => storage.catalog(),
      ...(config.devnet ? { firstPass: 2_000, interval: 5_000, settle: 2_000 } : {}),
    });
    checkpoints.start();
    cleanups.push(() => checkpoints.stop());
    const worldClient = worldClientBundle({
      cacheDir: `${dataDir}/web`,
      log: (m, f) => log.info(m, f),
    });
    const apiServer = listen(
      "API",
      config.apiHost,
      config.port,
      "--port",
      (port) =>
        createApiApp({
          ...loopbackAllowlist(config.apiHost, port),
          gate: config.apiPassword ? new PasswordGate(config.apiPassword) : undefined,
          closing: closing.signal,
          token,
          log: (m, f) => log.warn(m, f),
          backend: nodeApiBackend(node, devnet, () => void stop()),
          files: storageFilesBackend(storage),
          scrub: scrubBackend(storage.scrubs, config.scrubbers),
          sites: siteBackend(storage, () => gatewayUrl),
          sharing: sharingBackend(sharing, new SharedReader(node)),
          links: linkBackend(storage, () => gatewayUrl),
          worlds: worldBackend(
            storage,
            () => gatewayUrl,
            worlds,
            (...a) => live.announceEdit(...a),
            checkpoints,
          ),
          // The world page with editing, on the UI's origin (the token stays on it).
          worldPages: { worlds, client: worldClient, upgradeWebSocket, live },
          settings: nodeSettingsBackend({
            dataDir,
            running: config,
            id: node.id,
            nickname: () => node.status().nickname as string,
            reload: opts.reload ?? (() => loadConfig({ dataDir, env: Deno.env.toObject() })),
            restart,
          }),
          ui: webBundle({ cacheDir: `${dataDir}/web`, log: (m, f) => log.info(m, f) }),
        }).fetch,
    );
    cleanups.push(() => {
      closing.abort();
      return apiServer.shutdown();
    });
    let gatewayUrl = "http://127.0.0.1:8181"; // set once the gateway listens, below
    const sites = new NodeSiteSource(node);
    const shards = new NodeShardSource(node, { supplier });
    const limiter = new RateLimiter(50, 200);
    const gatewayServer = listen(
      "gateway",
      config.host,
      config.gatewayPort,
      "--gateway-port",
      () => {
        const app = createPublicApp({
          info: () => ({ id: node.id, version: VERSION }),
          admit: (client) => limiter.take(client),
          log: (m, f) => log.warn(m, f),
          records: nodeRecordSource(node),
          sites,
          shards,
          worlds,
          upgradeWebSocket,
          worldClient,
          live,
          linkPage: linkPageBundle({ cacheDir: `${dataDir}/web`, log: (m, f) => log.info(m, f) }),
        });
        return (req, info) => app.fetch(req, { remoteAddr: hostOf(info) });
      },
    );
    cleanups.push(() => gatewayServer.shutdown());
    gatewayUrl = urlOf(
      config.host === "0.0.0.0" ? "127.0.0.1" : config.host,
      gatewayServer.addr.port,
    );

    const info: RuntimeInfo = {
      pid: Deno.pid,
      id: node.id,
      version: VERSION,
      // A wildcard address is reached on loopback from this machine.
      api: urlOf(
        config.apiHost === "0.0.0.0" || config.apiHost === "::" ? "127.0.0.1" : config.apiHost,
        apiServer.addr.port,
      ),
      gateway: urlOf(
        config.host === "0.0.0.0" ? "127.0.0.1" : config.host,
        gatewayServer.addr.port,
      ),
      started: Date.now(),
      devnet: config.devnet,
    };
    await writeRuntimeInfo(dataDir, info);
    node.publishIdentity().then(
      (r) => log.info("published the identity document", { seq: r.seq }),
      (e) => log.warn("could not publish the identity document yet", { error: e }),
    );
    const portOf = (re: RegExp) =>
      Number(node.addresses().map((a) => re.exec(a)?.[1]).find(Boolean));
    const ports = {
      port: apiServer.addr.port,
      gatewayPort: gatewayServer.addr.port,
      p2pPort: portOf(/\/tcp\/(\d+)\/p2p\//) || config.p2pPort,
      wsPort: portOf(/\/tcp\/(\d+)\/ws\//) || config.wsPort,
    };
    return { node, storage, devnet, info, ports, stopped, stop };
  } catch (e) {
    await unwind();
    throw e;
  }
}

type Handler = (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

function listen(
  what: string,
  hostname: string,
  port: number,
  flag: string,
  make: (port: number) => Handler,
): Deno.HttpServer<Deno.NetAddr> {
  // The app needs its own port (the API checks Host against it), so resolve port 0 first.
  let handler: Handler | undefined;
  try {
    const server = Deno.serve(
      { hostname, port, onListen: () => {} },
      (req, info) => handler ? handler(req, info) : new Response("starting", { status: 503 }),
    );
    handler = make(server.addr.port);
    return server;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(
        `The ${what} port ${port} on ${hostname} is in use: choose another with ${flag}`,
      );
    }
    throw e;
  }
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function hostOf(info: Deno.ServeHandlerInfo<Deno.NetAddr>): string {
  return info.remoteAddr.hostname;
}

/** Signed records for the public gateway, from the node's view of the DHT. */
export function nodeRecordSource(node: MoteNode): RecordSource {
  return {
    async record(ns, hash) {
      const r = await node.resolve(parseRecordKey(`/mote/${ns}/${hash}`), { timeout: 10_000 });
      return r && { bytes: r.bytes, seq: r.record.seq };
    },
  };
}

/** The node API backend over a running node (and its embedded network, if any). */
export function nodeApiBackend(
  node: MoteNode,
  devnet: Devnet | null,
  requestStop: () => void,
): ApiBackend {
  const jsonDoc = (doc: ReturnType<typeof decodeIdentityDocument>, seq: number, ts: number) => ({
    ...doc,
    sign: toHex(doc.sign),
    agree: toHex(doc.agree),
    revision: seq,
    timestamp: ts,
  });
  return {
    status: () => ({
      ...node.status(),
      devnet: devnet
        ? { running: true, suppliers: devnet.ids.length }
        : { running: false, suppliers: 0 },
    }),
    peers: () => node.peers(),
    connect: (addr: string) => node.connect(addr),
    identity: async () => {
      const r = await node.resolveIdentity(node.id, { timeout: 5_000 });
      if (r) return jsonDoc(r.doc, r.record.seq, r.record.ts);
      return jsonDoc(node.identityDocument(), 0, Date.now());
    },
    resolveIdentity: async (id: string) => {
      const r = await node.resolveIdentity(id, { timeout: 10_000 });
      return r && jsonDoc(r.doc, r.record.seq, r.record.ts);
    },
    publishIdentity: async () => ({ seq: (await node.publishIdentity()).seq }),
    subscribe: (signal: AbortSignal) => node.events.subscribe({ signal }),
    metrics: () => node.metrics.render(),
    requestStop,
    exportKey: async (passphrase?: string) => ({
      id: node.id,
      text: await exportKeyFile(node.keys, passphrase),
    }),
  };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
