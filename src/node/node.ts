/**
 * A Mote node: identity, libp2p with the DHT, records (publish, resolve, keep alive), the
 * request/response layer, events and metrics, wired together with one start/stop lifecycle.
 * It opens no HTTP port: the gateway apps are built over it and only `main` listens.
 */
import type { PeerId } from "@libp2p/interface";
import { REVOKED_NAMESPACE } from "../scrub/revocation.ts";
import { SITE_NAMESPACE } from "../sites/record.ts";
import { WORLD_NAMESPACE } from "../../worlds/record.ts";
import { EDIT_NAMESPACE } from "../../worlds/edit_record.ts";
import { CHECKPOINT_NAMESPACE } from "../../worlds/checkpoint.ts";
import { GROUP_NAMESPACE } from "../sharing/group_record.ts";
import { SHARE_NAMESPACE } from "../sharing/share_record.ts";
import { WPOLICY_NAMESPACE, WVER_NAMESPACE } from "../sharing/write_records.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import { equals } from "../encoding/bytes.ts";
import {
  decodeIdentityDocument,
  encodeIdentityDocument,
  IDENTITY_NAMESPACE,
  type IdentityDocument,
  type IdentityKeys,
} from "../identity/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  createP2P,
  DhtRecordStore,
  type P2P,
  parseMultiaddr,
  RateLimiter,
  RecordRouting,
  routingTableSize,
  Rpc,
} from "../net/mod.ts";
import {
  createRecord,
  createRecordValidator,
  decodeRecord,
  encodeRecord,
  formatRecordKey,
  type Namespace,
  type Namespaces,
  namespaces as namespaceTable,
  type RecordKey,
  recordKeyOf,
  type RecordValidator,
  SeqMemory,
  type SignedRecord,
} from "../records/mod.ts";
import { OFFER_NAMESPACE } from "../suppliers/offer.ts";
import { FOLDER_NAMESPACE, KEEP_NAMESPACE, ROOT_NAMESPACE } from "../catalog/records.ts";
import { EventBus } from "./events.ts";
import { RecordKeeper } from "./keeper.ts";
import { loadOrCreateDeviceKey, loadOrCreateIdentity } from "./keys.ts";
import { Metrics } from "./metrics.ts";
import type { NodeState } from "./state.ts";

/** The program version, reported by status and `--version`. */
export const VERSION = "0.1.0";

/** Everything a node is built from. */
export interface NodeOptions {
  state: NodeState;
  log: Logger;
  /** Use these identity keys instead of the ones in the state (tests, restore). */
  keys?: IdentityKeys;
  host: string;
  tcpPort: number;
  /** WebSockets port; -1 for none. */
  wsPort: number;
  bootstrap: string[];
  nickname: string;
  /** Inside the embedded network: loopback addresses are normal and advertised. */
  loopback: boolean;
  recordLifetime: number;
  republishInterval: number;
  maxRecords: number;
  maxRecordsPerSigner: number;
  rateLimit: number;
  announce: string[];
  gatewayUrls: string[];
  /** Extra record namespaces (later layers add theirs). */
  namespaces?: Namespace[];
}

/** A connected peer as `mote peers` shows it. */
export interface PeerInfo {
  peerId: string;
  addresses: string[];
  direction: string;
  /** Round-trip time in ms, or null when the ping failed. */
  rtt: number | null;
}

/** The node's status as `GET /api/v1/status` reports it. */
export interface NodeStatus {
  id: string;
  nickname: string;
  version: string;
  peerId: string;
  addresses: string[];
  peers: number;
  dht: number;
  records: { stored: number; kept: number };
  uptime: number;
  /** When this run began (ms since the epoch). */
  started: number;
}

/** A running Mote node. */
export class MoteNode {
  readonly options: NodeOptions;
  readonly events: EventBus = new EventBus();
  readonly metrics: Metrics = new Metrics();
  readonly log: Logger;
  keys!: IdentityKeys;
  p2p!: P2P;
  rpc!: Rpc;
  routing!: RecordRouting;
  keeper!: RecordKeeper;
  validator!: RecordValidator;
  readonly memory: SeqMemory = new SeqMemory();
  readonly namespaces: Namespaces;
  #store!: DhtRecordStore;
  #started = 0;
  #sweeper?: ReturnType<typeof setInterval>;
  #redial?: ReturnType<typeof setInterval>;
  #stopping = false;

  constructor(options: NodeOptions) {
    this.options = options;
    this.log = options.log;
    this.namespaces = namespaceTable(
      IDENTITY_NAMESPACE,
      OFFER_NAMESPACE,
      FOLDER_NAMESPACE,
      ROOT_NAMESPACE,
      KEEP_NAMESPACE,
      REVOKED_NAMESPACE,
      SITE_NAMESPACE,
      WORLD_NAMESPACE,
      EDIT_NAMESPACE,
      CHECKPOINT_NAMESPACE,
      GROUP_NAMESPACE,
      SHARE_NAMESPACE,
      WPOLICY_NAMESPACE,
      WVER_NAMESPACE,
      ...(options.namespaces ?? []),
    );
  }

  /** The node id (of the identity, not the device). */
  get id(): string {
    return this.keys.id;
  }

  /** The nickname in use. */
  get nickname(): string {
    return this.options.nickname || `mote-${this.keys.id.slice(0, 6)}`;
  }

  /** Loads keys, starts libp2p and the record keeper, joins the network, publishes identity. */
  async start(): Promise<void> {
    const o = this.options;
    if (o.keys) this.keys = o.keys;
    else {
      const { keys, created } = await loadOrCreateIdentity(o.state);
      this.keys = keys;
      if (created) this.log.info("created a new identity", { id: keys.id });
    }
    const seq = await o.state.read("seq-memory.cbor");
    if (seq) {
      try {
        this.memory.import(seq);
      } catch (e) {
        this.log.warn("ignoring an unreadable seq memory file", { error: e });
      }
    }
    this.validator = createRecordValidator({
      namespaces: this.namespaces,
      memory: this.memory,
      onConflict: (key) => {
        this.log.warn(
          "two versions of a record share a sequence number; the tie-break rule chose one",
          { key },
        );
        this.metrics.inc(
          "mote_record_conflicts_total",
          "Records whose sequence number tied with a different version",
        );
      },
      onReject: (e) =>
        this.metrics.inc("mote_records_rejected_total", "Records refused, by reason", {
          reason: e.reason,
        }),
    });
    this.#store = new DhtRecordStore({
      lifetime: o.recordLifetime,
      maxRecords: o.maxRecords,
      maxPerSigner: o.maxRecordsPerSigner,
      exempt: (k) => this.keeper?.has(k) ?? false,
      onRefuse: (e) =>
        this.metrics.inc("mote_records_rejected_total", "Records refused, by reason", {
          reason: e.reason,
        }),
    });
    this.p2p = await createP2P({
      privateKey: await loadOrCreateDeviceKey(o.state),
      host: o.host,
      tcpPort: o.tcpPort,
      wsPort: o.wsPort,
      validator: this.validator,
      datastore: this.#store,
      loopback: o.loopback,
    });
    this.routing = new RecordRouting(this.p2p, this.validator);
    this.rpc = new Rpc(this.p2p, new RateLimiter(o.rateLimit));
    this.keeper = new RecordKeeper({
      state: o.state,
      routing: this.routing,
      validator: this.validator,
      log: this.log.child("keeper"),
      interval: o.republishInterval,
      onRound: () =>
        this.metrics.inc("mote_republish_rounds_total", "Record republish rounds completed"),
    });
    this.#wireEvents();
    this.#defineMetrics();
    try {
      await this.p2p.start();
    } catch (e) {
      throw new Error(
        `Cannot start libp2p on ${o.host} (tcp ${o.tcpPort}): ${(e as Error).message}`,
      );
    }
    this.#started = Date.now();
    await this.keeper.load();
    this.keeper.start();
    this.#sweeper = setInterval(
      () => this.#store.sweep(),
      Math.max(1000, Math.min(60_000, o.recordLifetime / 4)),
    );
    await this.#joinBootstrap();
    // Keep trying the bootstrap list while alone, so a node started before its peers still joins.
    this.#redial = setInterval(() => {
      if (this.p2p.getConnections().length === 0) this.#joinBootstrap().catch(() => {});
    }, 10_000);
  }

  async #joinBootstrap(): Promise<void> {
    const results = await Promise.allSettled(
      this.options.bootstrap.map((a) =>
        this.p2p.dial(parseMultiaddr(a), { signal: AbortSignal.timeout(10_000) })
      ),
    );
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        this.log.warn("could not reach a bootstrap peer", {
          addr: this.options.bootstrap[i],
          error: r.reason,
        });
      }
    });
  }

  #wireEvents() {
    this.p2p.addEventListener("peer:connect", (e) => {
      this.events.emit("peer:connect", { peerId: e.detail.toString() });
      // The first peer after being alone: push our records out now rather than at the next round.
      if (this.p2p.getPeers().length === 1) this.keeper.republishSoon();
      this.log.debug("peer connected", { peer: e.detail.toString() });
    });
    this.p2p.addEventListener("peer:disconnect", (e) => {
      this.events.emit("peer:disconnect", { peerId: e.detail.toString() });
    });
  }

  #defineMetrics() {
    const m = this.metrics;
    m.gauge(
      "mote_uptime_seconds",
      "Seconds since the node started",
      () => this.#started ? (Date.now() - this.#started) / 1000 : 0,
    );
    m.gauge("mote_peers_connected", "Connected libp2p peers", () => this.p2p.getPeers().length);
    m.gauge(
      "mote_dht_routing_table_size",
      "Peers in the DHT routing table",
      () => routingTableSize(this.p2p),
    );
    m.gauge(
      "mote_dht_records_stored",
      "DHT records held by this node",
      () => this.#store.recordCount,
    );
    m.gauge(
      "mote_records_kept",
      "Records this node keeps alive by republishing",
      () => this.keeper.size,
    );
    m.gauge(
      "mote_event_subscribers",
      "Live event stream subscribers",
      () => this.events.subscribers,
    );
    m.gauge("mote_build_info", "Build information", 1, { version: VERSION });
    m.gauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes",
      () => Deno.memoryUsage().rss,
    );
  }

  /** Stops everything; safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#sweeper);
    clearInterval(this.#redial);
    this.events.emit("node:stopping", {});
    this.events.closeAll();
    await this.keeper?.stop();
    await this.rpc?.stop();
    await this.p2p?.stop();
    try {
      await this.options.state.write("seq-memory.cbor", this.memory.export());
    } catch (e) {
      this.log.warn("could not save the seq memory", { error: e });
    }
  }

  /** Addresses this node listens on (with its peer id). */
  addresses(): string[] {
    return this.p2p.getMultiaddrs().map(String);
  }

  /** Current status. */
  status(): NodeStatus {
    return {
      id: this.id,
      nickname: this.nickname,
      version: VERSION,
      peerId: this.p2p.peerId.toString(),
      addresses: this.addresses(),
      peers: this.p2p.getPeers().length,
      dht: routingTableSize(this.p2p),
      records: { stored: this.#store.recordCount, kept: this.keeper.size },
      uptime: this.#started ? Math.round((Date.now() - this.#started) / 1000) : 0,
      // When this run began (ms): a restart changes it, which is how the UI tells one happened.
      started: this.#started ?? 0,
    };
  }

  /** Connected peers with a fresh round-trip time each (pings run in parallel, 2 s timeout). */
  async peers(): Promise<PeerInfo[]> {
    const conns = this.p2p.getConnections();
    const byPeer = new Map<string, typeof conns>();
    for (const c of conns) {
      const k = c.remotePeer.toString();
      byPeer.set(k, [...(byPeer.get(k) ?? []), c]);
    }
    return await Promise.all([...byPeer].map(async ([peerId, cs]) => {
      // libp2p's connection monitor already measures RTT; a ping of our own can collide with
      // its ping (one outbound ping stream per connection), so ping only when none is known.
      let rtt: number | null = cs.find((c) => typeof c.rtt === "number")?.rtt ?? null;
      if (rtt === null) {
        try {
          rtt = await this.p2p.services.ping.ping(cs[0]!.remotePeer, {
            signal: AbortSignal.timeout(2000),
          });
        } catch { /* unreachable right now */ }
      }
      return {
        peerId,
        addresses: cs.map((c) => c.remoteAddr.toString()),
        direction: cs[0]!.direction,
        rtt: rtt === null ? null : Math.round(rtt * 10) / 10,
      };
    }));
  }

  /** Dials a multiaddr (with `/p2p/`) or a peer id. */
  async connect(target: string): Promise<string> {
    const to: PeerId | ReturnType<typeof parseMultiaddr> = target.startsWith("/")
      ? parseMultiaddr(target)
      : peerIdFromString(target);
    const conn = await this.p2p.dial(to, { signal: AbortSignal.timeout(10_000) });
    return conn.remotePeer.toString();
  }

  /**
   * Publishes a value as this identity's signed record `(ns, name)` with the next sequence
   * number, stores it in the DHT and keeps it alive.
   */
  async publish(
    ns: string,
    name: Uint8Array,
    value: Uint8Array,
    opts: { looked?: boolean } = {},
  ): Promise<{ record: SignedRecord; key: RecordKey; stored: number }> {
    const key = recordKeyOf(ns, this.id, name);
    const ks = formatRecordKey(key);
    let prev = this.memory.get(ks)?.seq ?? -1;
    // `looked`: the caller has just searched the DHT for this key, so don't ask twice.
    if (prev < 0 && !opts.looked) {
      const found = await this.routing.get(key, { timeout: 5_000 }).catch(() => undefined);
      if (found) prev = decodeRecord(found, { namespaces: this.namespaces }).seq;
    }
    const record = createRecord(this.keys.signSecret, this.keys.signPublic, {
      ns,
      name,
      seq: prev + 1,
      value,
    });
    const bytes = encodeRecord(record);
    await this.keeper.keep(key, bytes, true);
    const { stored } = await this.routing.put(key, bytes);
    this.events.emit("record:published", { key: ks, seq: record.seq, stored });
    this.metrics.inc("mote_records_published_total", "Records this node signed and published");
    return { record, key, stored };
  }

  /**
   * Publishes a record signed by another key this node holds (a folder's write key, say): the
   * node keeps it alive like its own records and puts it in the DHT.
   */
  async publishRecord(record: SignedRecord): Promise<{ key: RecordKey; stored: number }> {
    const key = recordKeyOf(record.ns, record.signer, record.name);
    const bytes = encodeRecord(record);
    await this.keeper.keep(key, bytes, true);
    const { stored } = await this.routing.put(key, bytes);
    this.events.emit("record:published", { key: formatRecordKey(key), seq: record.seq, stored });
    return { key, stored };
  }

  /** Finds the best record at a key: kept copy, local DHT store and the network. */
  async resolve(
    key: RecordKey,
    opts: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<{ record: SignedRecord; bytes: Uint8Array } | undefined> {
    const ks = formatRecordKey(key);
    const candidates: Uint8Array[] = [];
    const found = await this.routing.get(key, opts).catch(() => undefined);
    // The kept copy is read after the network answers: a publish meanwhile raises the accepted
    // sequence, and a copy read before it would then fail validation below.
    const kept = this.keeper.get(ks);
    if (kept) candidates.push(kept);
    if (found) candidates.push(found);
    if (candidates.length === 0) return undefined;
    const bytes = candidates[this.validator.select(ks, candidates)]!;
    return { record: this.validator.validate(ks, bytes), bytes };
  }

  /** The identity document this node would publish now, keeping other devices' entries. */
  identityDocument(previous?: IdentityDocument): IdentityDocument {
    const own = this.p2p.peerId.toString();
    const addrs = this.options.announce.length > 0
      ? this.options.announce
      : this.addresses().filter((a) =>
        this.options.loopback || !/^\/ip[46]\/(127\.|::1\/)/.test(a)
      );
    const month = 30 * 24 * 3600 * 1000;
    const others = (previous?.devices ?? []).filter((d) =>
      d.peer !== own && Date.now() - d.seen < month
    );
    return {
      v: 1,
      id: this.id,
      sign: this.keys.signPublic,
      agree: this.keys.agreePublic,
      nickname: this.nickname,
      devices: [{ peer: own, addrs: addrs.slice(0, 16), seen: Date.now() }, ...others].slice(0, 8),
      gateways: this.options.gatewayUrls.slice(0, 8),
    };
  }

  /** Publishes (or refreshes) this node's identity document. */
  async publishIdentity(): Promise<SignedRecord> {
    const key = recordKeyOf("id", this.id);
    const prev = await this.resolve(key, { timeout: 5_000 });
    const prevDoc = prev ? decodeIdentityDocument(prev.record.value) : undefined;
    const doc = this.identityDocument(prevDoc);
    const { record } = await this.publish("id", new Uint8Array(0), encodeIdentityDocument(doc), {
      looked: true,
    });
    return record;
  }

  /** Looks up the identity document of a node id. */
  async resolveIdentity(
    id: string,
    opts: { timeout?: number } = {},
  ): Promise<{ doc: IdentityDocument; record: SignedRecord } | undefined> {
    const r = await this.resolve(recordKeyOf("id", id), opts);
    if (!r) return undefined;
    const doc = decodeIdentityDocument(r.record.value);
    if (doc.id !== id || !equals(doc.sign, r.record.signer)) return undefined;
    return { doc, record: r.record };
  }
}
