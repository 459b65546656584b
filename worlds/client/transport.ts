// This module is browser compatible.
/**
 * Getting encoded chunks from the gateway: over the world's WebSocket (`./ws`: send
 * `{"t":"want","c":[[x,z],…]}` or `{"t":"cancel",…}`, at most 64 chunks a message; each chunk
 * comes back as one binary message, the encoded chunk, whose header carries x and z), with HTTP
 * (`./c/<generator>/<x>/<z>?e=<digest>`) as the fallback while the socket is not open, after it
 * fails, and for a chunk the socket has not answered in time.
 *
 * The gateway drops a socket that sends more than 50 messages a second, so wants and cancels are
 * gathered and sent at most every {@linkcode FLUSH_MS} (at most 2 messages per tick).
 * @module
 */
import { CHUNK_MAGIC } from "../codec.ts";
import { type ChunkKey, chunkKey } from "./keys.ts";

/** Fetches one encoded chunk (the streamer's injected fetch). */
export type FetchChunk = (key: ChunkKey, opts: { signal: AbortSignal }) => Promise<Uint8Array>;

/** Chunks per want or cancel message (the gateway's limit). */
export const MAX_PER_MESSAGE = 64;
/** Least time between two flushes of wants and cancels: 20 ticks a second, 2 messages each. */
export const FLUSH_MS = 50;

/**
 * Chunk fetches over HTTP: `<base>c/<generator>/<x>/<z>?e=<digest>` (a missing e is a 302). `e`
 * may depend on the chunk: a region whose edits changed is asked for under its new digest, so
 * no cached redirect or chunk of the old one is used.
 */
export function httpChunks(
  base: URL,
  generator: string,
  e?: string | ((key: ChunkKey) => string | undefined),
): FetchChunk {
  return async (key, { signal }) => {
    const url = new URL(`c/${generator}/${key.x}/${key.z}`, base);
    const digest = typeof e === "function" ? e(key) : e;
    if (digest) url.searchParams.set("e", digest);
    const res = await fetch(url, { signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Chunk (${key.x}, ${key.z}): HTTP ${res.status} from ${url.pathname}`);
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}

/** The chunk coordinates in an encoded chunk's header, or undefined if it is not one. */
export function chunkHeader(bytes: Uint8Array): { x: number; z: number } | undefined {
  if (bytes.length < 6 || CHUNK_MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  const n = bytes[5]!;
  if (bytes.length < 18 + n) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { x: v.getInt32(10 + n, true), z: v.getInt32(14 + n, true) };
}

interface Waiter {
  key: ChunkKey;
  signal: AbortSignal;
  resolve(b: Uint8Array): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

/** Options of {@linkcode SocketChunks}. */
export interface SocketOptions {
  /** A chunk the socket has not answered in this long is fetched over HTTP instead. */
  answerTimeoutMs: number;
  /** Reconnect attempts after the socket fails (with doubling waits from `retryMs`). */
  reconnects: number;
  retryMs: number;
  /** Chunks waiting on the socket at most (the gateway queues 256); beyond, HTTP. */
  maxWaiting: number;
}

const SOCKET_DEFAULTS: SocketOptions = {
  answerTimeoutMs: 8_000,
  reconnects: 3,
  retryMs: 2_000,
  maxWaiting: 192,
};

/** Counters of where chunks came from. */
export interface TransportStats {
  viaSocket: number;
  viaHttp: number;
  socketFailures: number;
  state: "connecting" | "open" | "failed" | "closed";
  /** Positions sent to the gateway (presence). */
  positions: number;
}

/** A live notice from the gateway (`gateway/world_live.ts`): hello, players, edits. */
export type Notice = { t: string } & Record<string, unknown>;

/** Least time between two positions sent (ms): the gateway relays at most 5 a second. */
export const POSITION_MS = 200;
/** A player standing still still says so this often (ms): the gateway forgets one after 5 s. */
export const KEEPALIVE_MS = 2_000;

/** Chunks over the world WebSocket with HTTP as the fallback; see the module doc. */
export class SocketChunks {
  readonly #url: URL;
  readonly #http: FetchChunk;
  readonly #o: SocketOptions;
  readonly #waiting = new Map<string, Waiter>();
  #wants: ChunkKey[] = [];
  #cancels: ChunkKey[] = [];
  #ws: WebSocket | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = -Infinity;
  #attempts = 0;
  readonly stats: TransportStats = {
    viaSocket: 0,
    viaHttp: 0,
    socketFailures: 0,
    state: "connecting",
    positions: 0,
  };
  /** Live notices (hello, players, edits) go here; a socket that says no hello has no presence. */
  onNotice: ((n: Notice) => void) | undefined;
  #hello = false;
  #lastPos = { at: -Infinity, key: "" };

  constructor(url: URL, http: FetchChunk, options: Partial<SocketOptions> = {}) {
    this.#url = url;
    this.#http = http;
    this.#o = { ...SOCKET_DEFAULTS, ...options };
    this.#connect();
  }

  /** Whether the gateway said hello on the open socket (it takes positions). */
  get presence(): boolean {
    return this.#hello && this.stats.state === "open";
  }

  /**
   * Tells the gateway where the player is (metres, heading in radians), at most every
   * {@linkcode POSITION_MS}, and only when it moved or {@linkcode KEEPALIVE_MS} passed.
   */
  sendPosition(x: number, y: number, z: number, heading: number, now: number): void {
    const ws = this.#ws;
    if (!this.presence || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (now - this.#lastPos.at < POSITION_MS) return;
    const p = [round2(x), round2(y), round2(z)], h = Math.round(heading * 1000) / 1000;
    const key = `${p},${h}`;
    if (key === this.#lastPos.key && now - this.#lastPos.at < KEEPALIVE_MS) return;
    this.#lastPos = { at: now, key };
    this.stats.positions++;
    ws.send(JSON.stringify({ t: "pos", p, h }));
  }

  /** Fetches one chunk: over the socket when it is usable, else over HTTP. */
  readonly fetchChunk: FetchChunk = (key, { signal }) => {
    signal.throwIfAborted();
    // Not open (yet, or any more): HTTP, so the first chunks do not wait for the handshake.
    if (this.stats.state !== "open" || this.#waiting.size >= this.#o.maxWaiting) {
      return this.#viaHttp(key, signal);
    }
    this.#waiting.get(key.id)?.reject(new Error(`Chunk (${key.x}, ${key.z}) asked for again`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = {
        key,
        signal,
        resolve,
        reject,
        sent: false,
        timer: setTimeout(() => this.#toHttp(w), this.#o.answerTimeoutMs),
      };
      const onAbort = () => {
        if (this.#finish(w)) {
          if (w.sent) this.#cancels.push(key);
          else this.#wants = this.#wants.filter((k) => k.id !== key.id);
          this.#schedule();
          reject(signal.reason);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(key.id, w);
      this.#wants.push(key);
      this.#schedule();
    });
  };

  /** Closes the socket; chunks still waiting go over HTTP. */
  close(): void {
    this.stats.state = "closed";
    this.#hello = false;
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    this.#ws?.close(1000, "leaving");
    for (const w of [...this.#waiting.values()]) this.#toHttp(w);
  }

  #viaHttp(key: ChunkKey, signal: AbortSignal): Promise<Uint8Array> {
    this.stats.viaHttp++;
    return this.#http(key, { signal });
  }

  /** Removes a waiter; false if it was already gone. */
  #finish(w: Waiter): boolean {
    if (this.#waiting.get(w.key.id) !== w) return false;
    this.#waiting.delete(w.key.id);
    clearTimeout(w.timer);
    return true;
  }

  #toHttp(w: Waiter): void {
    if (!this.#finish(w)) return;
    if (w.sent && this.stats.state === "open") this.#cancels.push(w.key), this.#schedule();
    this.#wants = this.#wants.filter((k) => k.id !== w.key.id);
    this.#viaHttp(w.key, w.signal).then(w.resolve, w.reject);
  }

  #connect(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url);
    } catch {
      return this.#failed();
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    this.stats.state = "connecting";
    ws.onopen = () => {
      this.stats.state = "open";
      this.#hello = false;
      this.#lastPos = { at: -Infinity, key: "" };
      this.#attempts = 0;
      // Everything waiting is (re)sent on the fresh socket.
      for (const w of this.#waiting.values()) w.sent = false;
      this.#wants = [...this.#waiting.values()].map((w) => w.key);
      this.#cancels = [];
      this.#schedule();
    };
    ws.onmessage = (e) => this.#message(e.data);
    ws.onclose = () => {
      if (this.#ws === ws) this.#failed();
    };
  }

  #failed(): void {
    this.#ws = undefined;
    if (this.#hello) this.onNotice?.({ t: "gone" });
    this.#hello = false;
    if (this.stats.state === "closed") return;
    this.stats.socketFailures++;
    this.stats.state = "failed";
    for (const w of [...this.#waiting.values()]) this.#toHttp(w);
    this.#wants = [];
    this.#cancels = [];
    if (this.#attempts < this.#o.reconnects) {
      const wait = this.#o.retryMs * 2 ** this.#attempts++;
      this.#retryTimer = setTimeout(() => this.stats.state === "failed" && this.#connect(), wait);
    }
  }

  #message(data: unknown): void {
    if (typeof data === "string") {
      let m: { t?: unknown; c?: unknown; error?: unknown };
      try {
        m = JSON.parse(data);
      } catch {
        return;
      }
      const c = m.c;
      if (m.t === "error" && Array.isArray(c) && c.length === 2 && c.every(Number.isInteger)) {
        const w = this.#waiting.get(chunkKey(c[0], c[1]).id);
        if (w && this.#finish(w)) w.reject(new Error(`Chunk (${w.key.x}, ${w.key.z}): ${m.error}`));
      } else if (typeof m === "object" && m !== null && typeof m.t === "string") {
        if (m.t === "hello") this.#hello = true;
        this.onNotice?.(m as Notice);
      }
      return;
    }
    if (!(data instanceof ArrayBuffer)) return;
    const bytes = new Uint8Array(data), at = chunkHeader(bytes);
    if (!at) return;
    const w = this.#waiting.get(chunkKey(at.x, at.z).id);
    if (w && this.#finish(w)) {
      this.stats.viaSocket++;
      w.resolve(bytes);
    }
  }

  #schedule(): void {
    if (this.#flushTimer !== undefined || this.stats.state !== "open") return;
    const wait = Math.max(0, this.#lastFlush + FLUSH_MS - performance.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, wait);
  }

  #flush(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.#lastFlush = performance.now();
    const send = (t: "want" | "cancel", keys: ChunkKey[]) => {
      if (keys.length) ws.send(JSON.stringify({ t, c: keys.map((k) => [k.x, k.z]) }));
    };
    const cancels = this.#cancels.splice(0, MAX_PER_MESSAGE);
    const wants = this.#wants.splice(0, MAX_PER_MESSAGE);
    send("cancel", cancels);
    send("want", wants);
    for (const k of wants) {
      const w = this.#waiting.get(k.id);
      if (w) w.sent = true;
    }
    if (this.#wants.length || this.#cancels.length) this.#schedule();
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
