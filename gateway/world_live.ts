// This module is browser compatible.
/**
 * Live presence and edit broadcast for a gateway's world sockets.
 *
 * Every world socket is a **session**: a player with a random id (8 bytes, new for each page
 * session) who reports where they stand (`move`, at most {@linkcode LiveLimits.relayHz} times a
 * second reaches other gateways). A session is interested in the 3 × 3 regions around its own;
 * the hub keeps one **room** per region someone is interested in, holding the players there
 * (this gateway's own and those heard from others), and pushes to each session, at most
 * `pushHz` times a second and only when something changed, the players in its 3 × 3 regions.
 * A player not heard from for `expireMs` is gone.
 *
 * Between gateways the hub uses a {@linkcode LiveBus} (a node's gossipsub; none at the edge, where
 * presence is that gateway's own players only): it joins a room's topic while the room exists (at
 * most `maxTopics`), publishes its own players' presence to their region's topic, and judges
 * every message received (`receive`): malformed, oversized, other-region and flooding messages
 * are rejected (gossipsub then stops forwarding them and scores the sender down), presence beyond
 * a player's or a region's bound is ignored. A signed edit batch announced on a topic is verified
 * against the world (grant, region) before it is accepted, then merged by `offerEdit` (which also
 * checks the region's checkpoint), and the sessions that see the region are told its new digest
 * and which chunks changed, so they fetch them again. An edit that fails verification is never
 * shown.
 *
 * Players are anonymous (a random id per session), except a node's own: a session attached with
 * `own` (the page on the node's UI origin) carries the node's id, and a gateway that hears one
 * shows the id only once `vouch` confirmed that the node's identity lists the publishing peer.
 * @module
 */
import { CHUNK_SIZE, OBJECT_STEPS_PER_COLUMN } from "../worlds/chunk.ts";
import type { VerifiedEditBatch } from "../worlds/edit_record.ts";
import { verifyEditBatch } from "../worlds/edit_record.ts";
import {
  assertInRegion,
  decodeLiveMessage,
  encodeEditAnnouncement,
  encodePresence,
  regionAt,
  type RegionRef,
  regionTopic,
  wrapMetres,
} from "../worlds/live_message.ts";
import { RateLimiter } from "../src/net/rate_limit.ts";
import type { World } from "./world_source.ts";
import type { OfferedEdit } from "./region_edits.ts";

/** What a topic's handler says about a received message (gossipsub's validation result). */
export type Verdict = "accept" | "reject" | "ignore";

/** Publish/subscribe between gateways (a node's gossipsub). */
export interface LiveBus {
  /** Joins `topic`; every message received on it is judged by `receive` before it spreads. */
  join(topic: string, receive: (from: string, data: Uint8Array) => Verdict): void;
  leave(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<void>;
}

/** Limits of the hub. */
export interface LiveLimits {
  /** Presence relayed per player per second (to other gateways). */
  relayHz: number;
  /** Player lists pushed per session per second. */
  pushHz: number;
  /** A player not heard from for this long is gone (ms). */
  expireMs: number;
  /** Players kept per region (this gateway's own always fit; others beyond are ignored). */
  maxPlayersPerRegion: number;
  /** Players one push lists at most (nearest first). */
  maxListed: number;
  /** Topics joined at most (rooms beyond get this gateway's own players only). */
  maxTopics: number;
  /** Presence messages a peer may send a second, on average (twice that in a burst). */
  peerPresencePerSecond: number;
  /** Presence messages per second from one player (beyond: ignored, not punished). */
  playerPresencePerSecond: number;
  /** Edit announcements a peer may send a second, on average. */
  peerEditsPerSecond: number;
  /** Chunks one edit notice lists at most (beyond, the client refreshes the whole region). */
  maxNoticeChunks: number;
}

/** The default limits. */
export const LIVE_LIMITS: LiveLimits = {
  relayHz: 5,
  pushHz: 5,
  expireMs: 5_000,
  maxPlayersPerRegion: 64,
  maxListed: 32,
  maxTopics: 256,
  peerPresencePerSecond: 200,
  playerPresencePerSecond: 10,
  peerEditsPerSecond: 4,
  maxNoticeChunks: 64,
};

/** Options of {@linkcode LiveHub}. */
export interface LiveHubOptions {
  bus?: LiveBus;
  /** This node's id: players on its own UI origin (`attach(…, { own: true })`) carry it. */
  self?: string;
  /**
   * Whether libp2p peer `peer` speaks for node `node` (its signed identity document lists the
   * peer as a device): only then is a heard player shown as that node's own.
   */
  vouch?: (node: string, peer: string) => Promise<boolean>;
  /** Resolves a world (for edits announced by this node). */
  world?: (address: string) => Promise<World | undefined>;
  /** Merges a verified-on-receipt batch into the region's edits (checkpoint included). */
  offerEdit?: (
    world: World,
    rx: number,
    rz: number,
    record: Uint8Array,
  ) => Promise<OfferedEdit | undefined>;
  limits?: Partial<LiveLimits>;
  now?: () => number;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * One player as a session sees it: `[id, x, y, z, heading, node]` (metres, radians; `node` the id
 * of the node whose own player it is, checked, or null).
 */
export type PlayerRow = [string, number, number, number, number, string | null];

/** What the hub sends a session (JSON text on the socket). */
export type LiveNotice =
  | { t: "hello"; id: string; live: boolean }
  | { t: "players"; p: PlayerRow[] }
  | { t: "edits"; r: [number, number]; e: string; c?: [number, number][] };

interface Player {
  /** Unique in the room: `local/<id>` or `<peer>/<id>`. */
  key: string;
  id: string;
  /** The node whose own player this is (checked), if any. */
  node?: string;
  x: number;
  y: number;
  z: number;
  h: number;
  at: number;
}

interface Room extends RegionRef {
  topic: string;
  side: number;
  players: Map<string, Player>;
  /** Sessions whose 3 × 3 block holds this room. */
  interest: number;
  joined: boolean;
  /** Bumped on every change, so pushes are sent only when something moved. */
  version: number;
}

/** A player connected to this gateway (one world socket). */
export interface LiveSession {
  readonly id: string;
  /** The player stands at (x, y, z) metres looking at `heading` radians. */
  move(x: number, y: number, z: number, heading: number): void;
  close(): void;
}

interface Session {
  id: string;
  node?: string;
  world: World;
  send: (n: LiveNotice) => void;
  region?: { rx: number; rz: number };
  player?: Player;
  lastRelay: number;
  relayDue: boolean;
  lastPush: number;
  seen: string;
}

/** The live hub of one gateway; see the module doc. */
export class LiveHub {
  readonly #o: LiveHubOptions;
  readonly #limits: LiveLimits;
  readonly #now: () => number;
  readonly #rooms = new Map<string, Room>();
  readonly #sessions = new Set<Session>();
  readonly #worlds = new Map<string, World>();
  readonly #peerPresence: RateLimiter;
  readonly #playerPresence: RateLimiter;
  readonly #peerEdits: RateLimiter;
  #topics = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #vouches = new Map<string, { ok: boolean; at: number; pending: boolean }>();
  #checking = 0;
  #worldsAt = 0;
  /** Counters for tests, metrics and the benchmark. */
  readonly stats = { relayed: 0, heard: 0, rejected: 0, ignored: 0, edits: 0, refusedEdits: 0 };

  constructor(opts: LiveHubOptions = {}) {
    this.#o = opts;
    this.#limits = { ...LIVE_LIMITS, ...opts.limits };
    this.#now = opts.now ?? Date.now;
    const l = this.#limits;
    const keys = 10_000, now = this.#now;
    this.#peerPresence = new RateLimiter(
      l.peerPresencePerSecond,
      2 * l.peerPresencePerSecond,
      keys,
      now,
    );
    this.#playerPresence = new RateLimiter(
      l.playerPresencePerSecond,
      l.playerPresencePerSecond,
      keys,
      now,
    );
    this.#peerEdits = new RateLimiter(l.peerEditsPerSecond, 2 * l.peerEditsPerSecond, keys, now);
  }

  /** Whether presence reaches other gateways (a bus is wired). */
  get live(): boolean {
    return this.#o.bus !== undefined;
  }

  /** Topics joined now. */
  get topics(): number {
    return this.#topics;
  }

  /** Connects a player to `world`; `send` delivers notices to its socket (it may drop them). */
  attach(
    world: World,
    send: (n: LiveNotice) => void,
    opts: { own?: boolean } = {},
  ): LiveSession {
    const id = randomId();
    this.#remember(world);
    const s: Session = {
      id,
      ...(opts.own && this.#o.self ? { node: this.#o.self } : {}),
      world,
      send,
      lastRelay: -Infinity,
      relayDue: false,
      lastPush: 0,
      seen: "",
    };
    this.#sessions.add(s);
    this.#timer ??= setInterval(() => this.tick(), 100);
    send({ t: "hello", id, live: this.live });
    return {
      id,
      move: (x, y, z, heading) => this.#move(s, x, y, z, heading),
      close: () => this.#detach(s),
    };
  }

  /**
   * Announces a batch this node signed and published (`record`: the signed `wedit` record's bytes)
   * on its region's topic, and merges it here at once (gossip does not echo one's own messages).
   */
  async announceEdit(address: string, rx: number, rz: number, record: Uint8Array): Promise<void> {
    const topic = regionTopic(address, rx, rz);
    await this.#o.bus?.publish(topic, encodeEditAnnouncement(record)).catch((error) =>
      this.#o.log?.("could not announce an edit batch", { address, rx, rz, error })
    );
    const world = this.#worlds.get(address) ?? await this.#o.world?.(address);
    if (world) await this.#merge(world, rx, rz, record);
  }

  /** Expires players, relays due presence and pushes changes (run every 100 ms while needed). */
  tick(): void {
    const now = this.#now();
    const l = this.#limits;
    if (now - this.#worldsAt > 5_000) this.#refreshWorlds(now);
    for (const room of this.#rooms.values()) {
      for (const [k, p] of room.players) {
        if (now - p.at > l.expireMs) room.players.delete(k), room.version++;
      }
    }
    for (const s of this.#sessions) {
      if (s.relayDue && s.player && s.region && now - s.lastRelay >= 1000 / l.relayHz) {
        s.relayDue = false;
        s.lastRelay = now;
        this.#relay(s);
      }
      if (s.region && now - s.lastPush >= 1000 / l.pushHz) this.#push(s, now);
    }
    if (this.#sessions.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Stops the timer and leaves every topic. */
  close(): void {
    for (const s of [...this.#sessions]) this.#detach(s);
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #move(s: Session, x: number, y: number, z: number, heading: number): void {
    if (![x, y, z, heading].every(Number.isFinite)) return;
    const side = s.world.value.region;
    const wx = wrapMetres(x), wz = wrapMetres(z);
    const at = regionAt(wx, wz, side);
    if (!s.region || s.region.rx !== at.rx || s.region.rz !== at.rz) {
      const old = s.region;
      const left = old && s.player ? this.#room(s.world, old.rx, old.rz) : undefined;
      if (left?.players.delete(s.player!.key)) left.version++;
      this.#interest(s.world, at, +1);
      if (old) this.#interest(s.world, old, -1);
      s.region = at;
      s.seen = "";
    }
    const now = this.#now();
    const p: Player = {
      key: `local/${s.id}`,
      id: s.id,
      ...(s.node ? { node: s.node } : {}),
      x: wx,
      y,
      z: wz,
      h: heading,
      at: now,
    };
    s.player = p;
    const room = this.#room(s.world, at.rx, at.rz)!;
    room.players.set(p.key, p);
    room.version++;
    s.relayDue = true;
  }

  #detach(s: Session): void {
    if (!this.#sessions.delete(s)) return;
    if (s.region) {
      if (s.player) {
        const room = this.#room(s.world, s.region.rx, s.region.rz);
        if (room?.players.delete(s.player.key)) room.version++;
      }
      this.#interest(s.world, s.region, -1);
    }
  }

  #relay(s: Session): void {
    const bus = this.#o.bus, p = s.player!, r = s.region!;
    if (!bus) return;
    const room = this.#room(s.world, r.rx, r.rz);
    if (!room) return;
    let bytes: Uint8Array;
    try {
      bytes = encodePresence({
        world: s.world.address,
        rx: r.rx,
        rz: r.rz,
        id: p.id,
        x: p.x,
        y: p.y,
        z: p.z,
        heading: p.h,
        ts: this.#now(),
        ...(p.node ? { node: p.node } : {}),
      });
    } catch {
      return; // out of range (a position far under the ground): not worth telling anyone
    }
    this.stats.relayed++;
    bus.publish(room.topic, bytes).catch((error) =>
      this.#o.log?.("could not relay presence", { topic: room.topic, error })
    );
  }

  #push(s: Session, now: number): void {
    const { rx, rz } = s.region!;
    const rooms: Room[] = [];
    let seen = "";
    for (let dz = -1; dz <= 1; dz++) {
      for (let dx = -1; dx <= 1; dx++) {
        const room = this.#room(s.world, (rx + dx) | 0, (rz + dz) | 0);
        if (room) rooms.push(room), (seen += `${room.version},`);
      }
    }
    if (seen === s.seen) return;
    s.seen = seen;
    s.lastPush = now;
    const me = s.player;
    const rows: { d: number; row: PlayerRow }[] = [];
    for (const room of rooms) {
      for (const p of room.players.values()) {
        if (p.key === me?.key) continue;
        const d = me ? Math.hypot(p.x - me.x, p.z - me.z) : 0;
        rows.push({
          d,
          row: [p.id, round2(p.x), round2(p.y), round2(p.z), round3(p.h), p.node ?? null],
        });
      }
    }
    rows.sort((a, b) => a.d - b.d);
    s.send({ t: "players", p: rows.slice(0, this.#limits.maxListed).map((r) => r.row) });
  }

  #room(world: World, rx: number, rz: number): Room | undefined {
    return this.#rooms.get(regionTopic(world.address, rx, rz));
  }

  /** Adds (+1) or removes (−1) a session's interest in the 3 × 3 regions around `at`. */
  #interest(world: World, at: { rx: number; rz: number }, delta: 1 | -1): void {
    for (let dz = -1; dz <= 1; dz++) {
      for (let dx = -1; dx <= 1; dx++) {
        const rx = (at.rx + dx) | 0, rz = (at.rz + dz) | 0;
        const topic = regionTopic(world.address, rx, rz);
        let room = this.#rooms.get(topic);
        if (!room) {
          if (delta < 0) continue;
          room = {
            world: world.address,
            rx,
            rz,
            topic,
            side: world.value.region,
            players: new Map(),
            interest: 0,
            joined: false,
            version: 0,
          };
          this.#rooms.set(topic, room);
        }
        room.interest += delta;
        if (room.interest > 0 && !room.joined) this.#join(room);
        if (room.interest <= 0) {
          if (room.joined) this.#o.bus?.leave(topic), this.#topics--;
          this.#rooms.delete(topic);
        }
      }
    }
  }

  #join(room: Room): void {
    const bus = this.#o.bus;
    if (!bus || this.#topics >= this.#limits.maxTopics) return;
    room.joined = true;
    this.#topics++;
    bus.join(room.topic, (from, data) => this.receive(room.topic, from, data));
  }

  /** Judges (and, when accepted, applies) a message heard on `topic` from peer `from`. */
  receive(topic: string, from: string, data: Uint8Array): Verdict {
    const room = this.#rooms.get(topic);
    if (!room) return this.#count("ignore");
    const now = this.#now();
    let msg;
    try {
      msg = decodeLiveMessage(data, room, now);
    } catch (error) {
      this.#o.log?.("refused a live message", { topic, from, error });
      return this.#count("reject");
    }
    if (msg.type === "presence") {
      if (!this.#peerPresence.take(from)) return this.#count("reject");
      try {
        assertInRegion(msg, room.side);
      } catch {
        return this.#count("reject");
      }
      const key = `${from}/${msg.id}`;
      if (!this.#playerPresence.take(key)) return this.#count("ignore");
      // Old news (or a clock far ahead) is not a position to show.
      if (msg.ts < now - this.#limits.expireMs || msg.ts > now + 60_000) {
        return this.#count("ignore");
      }
      if (!room.players.has(key) && room.players.size >= this.#limits.maxPlayersPerRegion) {
        return this.#count("ignore");
      }
      const node = msg.node && this.#vouched(msg.node, from) ? msg.node : undefined;
      room.players.set(key, {
        key,
        id: msg.id,
        ...(node ? { node } : {}),
        x: msg.x,
        y: msg.y,
        z: msg.z,
        h: msg.heading,
        at: now,
      });
      room.version++;
      this.stats.heard++;
      return "accept";
    }
    if (!this.#peerEdits.take(from)) return this.#count("reject");
    const world = this.#worlds.get(room.world);
    if (!world) return this.#count("ignore");
    try {
      verifyEditBatch(msg.bytes, world, now);
    } catch (error) {
      this.stats.refusedEdits++;
      this.#o.log?.("refused an announced edit batch", { topic, from, error });
      // Our copy of the world may predate a new grant: not the sender's fault, and never shown.
      const reason = (error as { reason?: string }).reason;
      if (reason === "no-grant" || reason === "expired") {
        this.#worldsAt = 0;
        return this.#count("ignore");
      }
      return this.#count("reject");
    }
    void this.#merge(world, room.rx, room.rz, msg.bytes);
    return "accept";
  }

  async #merge(world: World, rx: number, rz: number, record: Uint8Array): Promise<void> {
    const news = await this.#o.offerEdit?.(world, rx, rz, record).catch((error) => {
      this.#o.log?.("could not merge an announced edit batch", { rx, rz, error });
      return undefined;
    });
    if (!news) return;
    this.stats.edits++;
    const chunks = changedChunks(news.batch, news.previous, rx, rz);
    const notice: LiveNotice = {
      t: "edits",
      r: [rx, rz],
      e: news.edits.e,
      ...(chunks.length <= this.#limits.maxNoticeChunks ? { c: chunks } : {}),
    };
    for (const s of this.#sessions) {
      if (s.world.address !== world.address || !s.region) continue;
      if (Math.abs(s.region.rx - rx) <= 1 && Math.abs(s.region.rz - rz) <= 1) s.send(notice);
    }
  }

  /**
   * Whether `peer` speaks for node `node`, as last checked (10 min); an unknown pair is checked in
   * the background (at most 16 at a time, 4096 remembered) and is not vouched for meanwhile.
   */
  #vouched(node: string, peer: string): boolean {
    const key = `${node}/${peer}`, now = this.#now();
    const known = this.#vouches.get(key);
    if (known && (known.pending || now - known.at < 600_000)) return known.ok;
    const vouch = this.#o.vouch;
    if (!vouch || this.#checking >= 16) return known?.ok ?? false;
    const entry = { ok: known?.ok ?? false, at: now, pending: true };
    this.#vouches.delete(key);
    this.#vouches.set(key, entry);
    if (this.#vouches.size > 4096) this.#vouches.delete(this.#vouches.keys().next().value!);
    this.#checking++;
    vouch(node, peer).then(
      (ok) => (entry.ok = ok),
      () => (entry.ok = false),
    ).finally(() => {
      entry.pending = false;
      entry.at = this.#now();
      this.#checking--;
    });
    return entry.ok;
  }

  /** Keeps the newest record seen of a world sessions are on (at most 1024 worlds). */
  #remember(world: World): void {
    const known = this.#worlds.get(world.address);
    if (known && known.seq > world.seq) return;
    this.#worlds.delete(world.address);
    this.#worlds.set(world.address, world);
    if (this.#worlds.size > 1024) this.#worlds.delete(this.#worlds.keys().next().value!);
  }

  /** Looks again at the worlds sessions are on (new grants), at most every 5 s. */
  #refreshWorlds(now: number): void {
    this.#worldsAt = now;
    const resolve = this.#o.world;
    if (!resolve) return;
    const live = new Set([...this.#sessions].map((s) => s.world.address));
    for (const address of live) {
      resolve(address).then((w) => w && this.#remember(w), () => {});
    }
  }

  #count(v: "reject" | "ignore"): Verdict {
    if (v === "reject") this.stats.rejected++;
    else this.stats.ignored++;
    return v;
  }
}

/**
 * The chunks whose bytes a new batch can change: those holding an edit newer than the editor's
 * previous batch (all of them without one), with the neighbours west and north of a column on a
 * chunk's first row or column (their meshes share its vertices) and east and south of one on the
 * last; sorted, at most once each.
 */
export function changedChunks(
  batch: VerifiedEditBatch,
  previous: VerifiedEditBatch | undefined,
  rx: number,
  rz: number,
): [number, number][] {
  const side = batch.side, since = previous?.seq ?? -1;
  const out = new Map<string, [number, number]>();
  const add = (cx: number, cz: number) => {
    const x = cx | 0, z = cz | 0;
    out.set(`${x},${z}`, [x, z]);
  };
  for (const e of batch.batch.edits) {
    if (e.seq <= since) continue;
    const object = e.op === "place" || e.op === "remove";
    const col = object ? Math.floor(e.x / OBJECT_STEPS_PER_COLUMN) : e.x;
    const row = object ? Math.floor(e.z / OBJECT_STEPS_PER_COLUMN) : e.z;
    const cx = rx * side + Math.floor(col / CHUNK_SIZE),
      cz = rz * side + Math.floor(row / CHUNK_SIZE);
    const lx = col % CHUNK_SIZE, lz = row % CHUNK_SIZE;
    add(cx, cz);
    if (object) continue; // objects do not change terrain vertices
    const dxs = [0, ...(lx === 0 ? [-1] : lx === CHUNK_SIZE - 1 ? [1] : [])];
    const dzs = [0, ...(lz === 0 ? [-1] : lz === CHUNK_SIZE - 1 ? [1] : [])];
    for (const dx of dxs) for (const dz of dzs) add(cx + dx, cz + dz);
  }
  return [...out.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
