// This module is browser compatible.
/**
 * The chunk streamer: which chunks to load, in what order, when to let them go, and how much
 * main-thread work to do per frame. Engine-agnostic (no WebGL, no DOM, no timers): fetching,
 * decoding, showing and hiding are injected, and time comes from an injected clock, so it is tested
 * in Deno with real chunks and a fake clock.
 *
 * - **Ring and hysteresis.** Chunks whose centre is within `radius` chunks of the player, or of the
 *   point the player will reach in `lookaheadSeconds` at the current velocity (prefetch), are
 *   wanted. A chunk is released only beyond `radius + releaseMargin` of both points, so walking
 *   back and forth across a chunk border does not load and unload the same row over and over.
 * - **Order.** Nearest first, boosted along the direction of travel: a chunk's priority is its
 *   distance minus `aheadBoost` × its distance along the velocity (chunks behind get no boost).
 * - **Job limit.** At most `jobLimit` chunks are fetching or decoding at once (a fetch holds its
 *   slot until it settles, aborted or not), so a fast flight cannot open hundreds of requests.
 * - **Aborts.** A chunk released while queued is dropped; while fetching or decoding, its signal is
 *   aborted. A job running past `jobTimeoutMs` is aborted and retried after a back-off.
 * - **Byte budget.** Decoded chunks go to an LRU bounded by bytes, so a released chunk that comes
 *   back into range is shown again without a fetch while it is cached.
 * - **Frame budget.** {@linkcode ChunkStreamer.frame} hides and shows (GPU uploads) chunks until
 *   `frameBudgetMs` of the frame is used, at least one per frame, nearest first: arrivals are
 *   spread over frames instead of stalling one.
 * @module
 */
import { CHUNK_SIZE } from "../chunk.ts";
import { type ChunkKey, chunkKey } from "./keys.ts";
import { ByteLru } from "./lru.ts";
import { PriorityQueue } from "./queue.ts";

const WRAP = 2 ** 32;

/**
 * From a point (in chunks, any real number: the player's position is not wrapped) to the centre of
 * chunk index `k` (wrapped to i32), the short way round the world's 2^32-chunk circle, so chunks
 * across the wrap are near, not 2^32 chunks away.
 */
function offset(k: number, p: number): number {
  const d = k + 0.5 - p;
  return d - WRAP * Math.round(d / WRAP);
}

/** Where a chunk is in its life. A released chunk is gone from the streamer. */
export type LoadState = "queued" | "fetching" | "decoding" | "ready" | "released";

/** A point or a velocity on the ground plane, in metres (or metres per second). */
export interface Vec2 {
  readonly x: number;
  readonly z: number;
}

/** What the streamer needs from its surroundings. */
export interface StreamerDeps<D> {
  /** Fetches a chunk's encoded bytes; must reject soon after `signal` aborts. */
  fetchChunk(key: ChunkKey, opts: { signal: AbortSignal }): Promise<Uint8Array>;
  /** Decodes and meshes encoded bytes (in a worker, in the browser). */
  decode(key: ChunkKey, bytes: Uint8Array, opts: { signal: AbortSignal }): Promise<D>;
  /** Bytes a decoded chunk holds (for the LRU budget). */
  sizeOf(data: D): number;
  /** Puts a decoded chunk on screen (GPU upload): main-thread work, within the frame budget. */
  show(key: ChunkKey, data: D): void;
  /** Removes a chunk from the screen and frees its GPU resources. */
  hide(key: ChunkKey): void;
  /** Milliseconds from any fixed origin (performance.now in the browser, a fake clock in tests). */
  now(): number;
  /** Hears about failed jobs (they are retried after a back-off). */
  onError?(key: ChunkKey, error: unknown): void;
}

/** Tuning. Defaults are in {@linkcode STREAMER_DEFAULTS}. */
export interface StreamerOptions {
  /** Chunks around the player that are loaded (radius in chunks, ≥ 1). */
  radius: number;
  /** Extra chunks beyond `radius` before one is released (hysteresis). */
  releaseMargin: number;
  /** Fetches and decodes in flight at most. */
  jobLimit: number;
  /** Chunks waiting in the queue at most. */
  queueCapacity: number;
  /** How far ahead (seconds at the current velocity) to prefetch; capped at `radius` chunks. */
  lookaheadSeconds: number;
  /** Priority bonus per chunk of distance along the direction of travel (0..1). */
  aheadBoost: number;
  /** Byte budget of the decoded-chunk LRU. */
  cacheBytes: number;
  /** Main-thread milliseconds per frame for showing and hiding chunks. */
  frameBudgetMs: number;
  /**
   * Chunks shown per 60 Hz frame at most. Three.js uploads a chunk's buffers at the next render,
   * not in `show`, so the time budget alone does not see that cost; this caps it. A slower frame
   * (software WebGL, a busy phone) may show proportionally more, up to 8×, so arrivals are not
   * throttled to a trickle where frames are rare anyway.
   */
  maxShowsPerFrame: number;
  /** A fetch and decode taking longer than this is aborted and retried. */
  jobTimeoutMs: number;
  /** Wait before retrying a failed chunk. */
  retryMs: number;
}

/** Defaults: radius 6 (a 384 m wide ring), 6 jobs, 16 MiB of decoded chunks, 4 ms a frame. */
export const STREAMER_DEFAULTS: StreamerOptions = {
  radius: 6,
  releaseMargin: 2,
  jobLimit: 6,
  queueCapacity: 1024,
  lookaheadSeconds: 3,
  aheadBoost: 0.75,
  cacheBytes: 16 * 1024 * 1024,
  frameBudgetMs: 4,
  maxShowsPerFrame: 4,
  jobTimeoutMs: 15_000,
  retryMs: 1_000,
};

interface Entry<D> {
  readonly key: ChunkKey;
  state: LoadState;
  ctrl?: AbortController;
  startedAt?: number;
  /** Decoded data waiting to be shown (the LRU may evict its own copy meanwhile). */
  pending?: D;
  shown: boolean;
}

/** Counters, all monotonic except the gauges `jobs`, `queued`, `loaded` and `cacheBytes`. */
export interface StreamerStats {
  /** Fetches started. */
  requested: number;
  /** Chunks released (left the ring). */
  released: number;
  /** Chunks shown on screen, counting each showing. */
  shown: number;
  /** Fetches or decodes aborted (released in flight, or timed out). */
  aborted: number;
  /** Chunks shown again from the LRU without a fetch. */
  cacheHits: number;
  /** Failed jobs. */
  errors: number;
  /** Jobs in flight now, and the most ever at once. */
  jobs: number;
  maxJobs: number;
  /** Chunks queued now. */
  queued: number;
  /** Chunks shown now. */
  loaded: number;
  /** Bytes in the LRU now. */
  cacheBytes: number;
  /** Frames that did chunk work, and the longest such frame's chunk work in ms. */
  busyFrames: number;
  maxFrameMs: number;
  /** The same for the last 256 busy frames, sorted (for percentiles). */
  recentFrameMs: number[];
}

/** The streamer; see the module doc. */
export class ChunkStreamer<D> {
  readonly options: StreamerOptions;
  readonly #deps: StreamerDeps<D>;
  readonly #entries = new Map<string, Entry<D>>();
  readonly #queue: PriorityQueue<Entry<D>>;
  readonly #lru: ByteLru<string, D>;
  readonly #hides: ChunkKey[] = [];
  readonly #retryAt = new Map<string, number>();
  /** First time each chunk was requested (bounded: the oldest are forgotten past 4096). */
  readonly #firstRequest = new Map<string, number>();
  readonly #recent: number[] = [];
  #lastFrame: number | undefined;
  #pos: Vec2 = { x: 0, z: 0 };
  #ahead: Vec2 = { x: 0, z: 0 };
  #dir: Vec2 = { x: 0, z: 0 };
  #stats: StreamerStats = {
    requested: 0,
    released: 0,
    shown: 0,
    aborted: 0,
    cacheHits: 0,
    errors: 0,
    jobs: 0,
    maxJobs: 0,
    queued: 0,
    loaded: 0,
    cacheBytes: 0,
    busyFrames: 0,
    maxFrameMs: 0,
    recentFrameMs: [],
  };

  constructor(deps: StreamerDeps<D>, options: Partial<StreamerOptions> = {}) {
    const o = { ...STREAMER_DEFAULTS, ...options };
    if (!Number.isInteger(o.radius) || o.radius < 1 || o.radius > 32) {
      throw new RangeError(`A streaming radius must be an integer from 1 to 32, got ${o.radius}`);
    }
    if (!Number.isInteger(o.jobLimit) || o.jobLimit < 1) {
      throw new RangeError(`A job limit must be a positive integer, got ${o.jobLimit}`);
    }
    if (!(o.releaseMargin >= 0)) {
      throw new RangeError(`A release margin must be ≥ 0, got ${o.releaseMargin}`);
    }
    this.options = o;
    this.#deps = deps;
    this.#queue = new PriorityQueue(o.queueCapacity);
    this.#lru = new ByteLru(o.cacheBytes);
  }

  /** A snapshot of the counters. */
  get stats(): StreamerStats {
    return {
      ...this.#stats,
      recentFrameMs: [...this.#recent].sort((a, b) => a - b),
      queued: this.#queue.size,
      cacheBytes: this.#lru.bytes,
    };
  }

  /** The state of chunk (x, z): undefined when the streamer does not hold it (never or released). */
  stateOf(x: number, z: number): LoadState | undefined {
    return this.#entries.get(chunkKey(x, z).id)?.state;
  }

  /** Whether chunk (x, z) is on screen. */
  isShown(x: number, z: number): boolean {
    return this.#entries.get(chunkKey(x, z).id)?.shown ?? false;
  }

  /** When chunk (x, z) was first requested (clock ms), if it was among the last 4096 requested. */
  requestedAt(x: number, z: number): number | undefined {
    return this.#firstRequest.get(chunkKey(x, z).id);
  }

  /**
   * Forgets chunk (x, z)'s data (its edits changed): it leaves the cache and, if held, is dropped
   * so the next update fetches it again (its old mesh stays on screen until the new one shows).
   */
  refresh(x: number, z: number): void {
    const id = chunkKey(x, z).id;
    this.#lru.delete(id);
    this.#retryAt.delete(id);
    const e = this.#entries.get(id);
    if (!e) return;
    const shown = e.shown;
    e.shown = false; // the new mesh replaces it (show hides the old one first): no hole
    this.#drop(e);
    if (shown) this.#stats.loaded--;
  }

  /** Keys of the chunks held, with their states. */
  *chunks(): IterableIterator<[ChunkKey, LoadState, boolean]> {
    for (const e of this.#entries.values()) yield [e.key, e.state, e.shown];
  }

  /**
   * Tells the streamer where the player is (metres) and how fast they move (m/s): releases chunks
   * that left the ring, queues the ones that entered it, re-scores the queue and starts jobs.
   */
  update(position: Vec2, velocity: Vec2 = { x: 0, z: 0 }): void {
    const o = this.options, now = this.#deps.now();
    this.#pos = { x: position.x / CHUNK_SIZE, z: position.z / CHUNK_SIZE };
    const speed = Math.hypot(velocity.x, velocity.z);
    this.#dir = speed > 0.5 ? { x: velocity.x / speed, z: velocity.z / speed } : { x: 0, z: 0 };
    // Prefetch point: where the player will be after the lookahead, at most `radius` chunks on.
    const reach = Math.min(speed * o.lookaheadSeconds / CHUNK_SIZE, o.radius);
    this.#ahead = { x: this.#pos.x + this.#dir.x * reach, z: this.#pos.z + this.#dir.z * reach };
    this.#release(now);
    this.#want();
    this.#queue.rescore((e) => this.#priority(e.key));
    this.#start(now);
  }

  /**
   * Main-thread chunk work for one frame: hides released chunks, then shows decoded ones nearest
   * first, until `frameBudgetMs` is used (at least one step per frame, so progress never stops).
   */
  frame(): void {
    const start = this.#deps.now(), budget = this.options.frameBudgetMs;
    const interval = this.#lastFrame === undefined ? 0 : start - this.#lastFrame;
    this.#lastFrame = start;
    const maxShows = Math.round(
      this.options.maxShowsPerFrame * Math.min(8, Math.max(1, interval / (1000 / 60))),
    );
    let steps = 0, shows = 0;
    const left = () => steps === 0 || this.#deps.now() - start < budget;
    while (this.#hides.length > 0 && left()) {
      this.#deps.hide(this.#hides.shift()!);
      steps++;
    }
    if (this.#hides.length === 0) {
      const ready = [...this.#entries.values()].filter((e) => e.state === "ready" && !e.shown);
      ready.sort((a, b) => this.#distance(a.key) - this.#distance(b.key));
      for (const e of ready) {
        if (!left() || shows >= maxShows) break;
        const data = e.pending ?? this.#lru.get(e.key.id);
        e.pending = undefined;
        if (data === undefined) { // evicted before it was shown: load it again
          this.#entries.delete(e.key.id);
          continue;
        }
        this.#deps.show(e.key, data);
        e.shown = true;
        this.#stats.shown++;
        this.#stats.loaded++;
        steps++;
        shows++;
      }
    }
    if (steps > 0) {
      const ms = this.#deps.now() - start;
      this.#stats.busyFrames++;
      if (ms > this.#stats.maxFrameMs) this.#stats.maxFrameMs = ms;
      this.#recent.push(ms);
      if (this.#recent.length > 256) this.#recent.shift();
    }
  }

  /** Releases every chunk and aborts every job (the page is going away). */
  close(): void {
    for (const e of [...this.#entries.values()]) this.#drop(e);
    while (this.#hides.length > 0) this.#deps.hide(this.#hides.shift()!);
  }

  /** Distance in chunks from the player to a chunk's centre. */
  #distance(k: ChunkKey): number {
    return Math.hypot(offset(k.x, this.#pos.x), offset(k.z, this.#pos.z));
  }

  #priority(k: ChunkKey): number {
    const dx = offset(k.x, this.#pos.x), dz = offset(k.z, this.#pos.z);
    const along = dx * this.#dir.x + dz * this.#dir.z;
    return Math.hypot(dx, dz) - this.options.aheadBoost * Math.max(0, along);
  }

  #release(now: number): void {
    const limit = this.options.radius + this.options.releaseMargin;
    for (const e of [...this.#entries.values()]) {
      const { x, z } = e.key;
      const near = Math.hypot(offset(x, this.#pos.x), offset(z, this.#pos.z)) <= limit ||
        Math.hypot(offset(x, this.#ahead.x), offset(z, this.#ahead.z)) <= limit;
      if (!near) this.#drop(e);
      else if (
        e.ctrl && e.startedAt !== undefined && now - e.startedAt > this.options.jobTimeoutMs
      ) {
        e.ctrl.abort(new DOMException("chunk job timed out", "TimeoutError"));
      }
    }
    for (const [id, at] of this.#retryAt) if (at <= now) this.#retryAt.delete(id);
  }

  #drop(e: Entry<D>): void {
    this.#entries.delete(e.key.id);
    if (e.state === "queued") this.#queue.removeWhere((q) => q === e);
    if (e.ctrl) {
      e.ctrl.abort(new DOMException("chunk left the ring", "AbortError"));
      this.#stats.aborted++;
    }
    if (e.shown) {
      this.#hides.push(e.key);
      this.#stats.loaded--;
    }
    e.pending = undefined;
    e.state = "released";
    this.#stats.released++;
  }

  #want(): void {
    const r = this.options.radius;
    for (const c of [this.#pos, this.#ahead]) {
      const x0 = Math.floor(c.x - r), x1 = Math.floor(c.x + r);
      const z0 = Math.floor(c.z - r), z1 = Math.floor(c.z + r);
      for (let z = z0; z <= z1; z++) {
        for (let x = x0; x <= x1; x++) {
          if (Math.hypot(x + 0.5 - c.x, z + 0.5 - c.z) > r) continue;
          const key = chunkKey(x, z);
          if (this.#entries.has(key.id) || this.#retryAt.has(key.id)) continue;
          const e: Entry<D> = { key, state: "queued", shown: false };
          const cached = this.#lru.get(key.id);
          if (cached !== undefined) {
            e.state = "ready";
            e.pending = cached;
            this.#stats.cacheHits++;
            this.#entries.set(key.id, e);
            continue;
          }
          const dropped = this.#queue.push(e, this.#priority(key));
          if (dropped !== e) this.#entries.set(key.id, e);
          if (dropped && dropped !== e) this.#entries.delete(dropped.key.id);
        }
      }
    }
  }

  #start(now: number): void {
    while (this.#stats.jobs < this.options.jobLimit) {
      const e = this.#queue.pop();
      if (!e) return;
      void this.#run(e, now);
    }
  }

  async #run(e: Entry<D>, now: number): Promise<void> {
    const ctrl = new AbortController();
    e.ctrl = ctrl;
    e.startedAt = now;
    e.state = "fetching";
    this.#stats.requested++;
    if (!this.#firstRequest.has(e.key.id)) {
      this.#firstRequest.set(e.key.id, now);
      if (this.#firstRequest.size > 4096) {
        this.#firstRequest.delete(this.#firstRequest.keys().next().value!);
      }
    }
    this.#stats.jobs++;
    if (this.#stats.jobs > this.#stats.maxJobs) this.#stats.maxJobs = this.#stats.jobs;
    try {
      const bytes = await this.#deps.fetchChunk(e.key, { signal: ctrl.signal });
      ctrl.signal.throwIfAborted();
      e.state = "decoding";
      const data = await this.#deps.decode(e.key, bytes, { signal: ctrl.signal });
      ctrl.signal.throwIfAborted();
      this.#lru.set(e.key.id, data, this.#deps.sizeOf(data));
      e.pending = data;
      e.state = "ready";
    } catch (err) {
      if (this.#entries.get(e.key.id) === e) {
        // Failed or timed out while still wanted: forget it and retry after a back-off.
        this.#entries.delete(e.key.id);
        this.#retryAt.set(e.key.id, this.#deps.now() + this.options.retryMs);
        if (ctrl.signal.aborted) this.#stats.aborted++;
        this.#stats.errors++;
        this.#deps.onError?.(e.key, err);
      }
    } finally {
      e.ctrl = undefined;
      this.#stats.jobs--;
      // A slot is free: start the next job now rather than waiting for the next update.
      this.#start(this.#deps.now());
    }
  }
}
