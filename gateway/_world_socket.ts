// This module is browser compatible.
/**
 * One world WebSocket (`GET /w/<address>/ws`): the client asks for chunks with
 * `{ "t": "want", "c": [[x, z], …] }` and takes some back with `{ "t": "cancel", "c": […] }`; the
 * gateway answers each wanted chunk with one binary message, the encoded chunk (its header carries
 * x and z), in the order asked, one at a time, and `{ "t": "error", "c": [x, z], "error": "…" }`
 * for a chunk it cannot make.
 *
 * Everything is bounded: a message is at most 8 KiB of JSON naming at most 64 chunks, at most 256
 * chunks wait per socket, at most 50 messages a second, and at most 1 MiB waits in the socket's
 * send buffer (the client must read). A socket is sent at most 256 chunks a second on average
 * (it waits beyond that: wanting more is not an offence, but it gets no larger share). A client past any of these floods and is dropped (close code
 * 1008, or 1009 for a message too large, 1003 for binary, 1007 for malformed JSON).
 *
 * With live presence (`hooks.live`, see `world_live.ts`), the gateway first sends
 * `{ "t": "hello", "id": "<player id>", "live": true | false }`, then `{ "t": "players", "p":
 * [[id, x, y, z, heading], …] }` when players near change and `{ "t": "edits", "r": [rx, rz],
 * "e": "<digest>", "c"?: [[x, z], …] }` when a region's edits change; the client reports where
 * it is with `{ "t": "pos", "p": [x, y, z], "h": heading }` (metres, radians; counted in the
 * messages a second). Notices are dropped, not queued, while the client is not reading.
 * @module
 */
import type { WSContext, WSEvents } from "hono/ws";
import type { LiveNotice, LiveSession } from "./world_live.ts";

/** Limits of one world socket. */
export interface SocketLimits {
  /** Chunks one message may name. */
  maxPerMessage: number;
  /** Chunks waiting to be sent. */
  maxQueue: number;
  /** Bytes of one client message. */
  maxMessageBytes: number;
  /** Messages per second. */
  maxMessagesPerSecond: number;
  /** Bytes waiting in the send buffer before the gateway waits for the client to read. */
  maxBuffered: number;
  /** How long it waits for a client that does not read before dropping it (ms). */
  stallTimeout: number;
  /**
   * Chunks one socket is sent per second, on average (a burst of as many at first): making a
   * chunk costs the gateway about 0.3 ms, so without it one socket that keeps wanting could hold a
   * core. A player flying over new ground needs a few dozen a second.
   */
  maxChunksPerSecond: number;
}

/** The default limits. */
export const SOCKET_LIMITS: SocketLimits = {
  maxPerMessage: 64,
  maxQueue: 256,
  maxMessageBytes: 8192,
  maxMessagesPerSecond: 50,
  maxBuffered: 1 << 20,
  stallTimeout: 10_000,
  maxChunksPerSecond: 256,
};

const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;
/**
 * Most time one socket's sending runs before it lets other work in (ms): making a chunk is
 * synchronous (about 0.3 ms), so without a break one socket's 256 chunks would hold the event
 * loop for ~100 ms, and its own cancels would wait behind them.
 */
const SLICE_MS = 4;

/** What a world socket reports to its gateway. */
export interface SocketHooks {
  /** The socket closed (whoever closed it). */
  onClose?: () => void;
  /** The gateway dropped the socket for breaking a limit. */
  onDrop?: (code: number, reason: string) => void;
  /** Live presence: called once the socket is open, with a sender of notices. */
  live?: (send: (n: LiveNotice) => void) => LiveSession;
}

/**
 * Builds the events of one socket; `chunk(x, z)` makes an encoded chunk.
 *
 * A dropped client may still have frames in flight after the close frame; Deno then ends the
 * connection without a clean close, so a client sees either the code and reason or an unclean
 * close. `onDrop` is where the gateway learns why.
 */
export function worldSocket(
  chunk: (x: number, z: number) => Promise<Uint8Array>,
  limits: SocketLimits = SOCKET_LIMITS,
  hooks: SocketHooks = {},
): WSEvents {
  const queue = new Map<string, [number, number]>();
  let pumping = false, closed = false, windowStart = 0, inWindow = 0;
  let session: LiveSession | undefined;
  const leave = () => {
    session?.close();
    session = undefined;
  };
  // A token bucket of chunks: full (one second's worth) at first, refilled as time passes.
  let tokens = limits.maxChunksPerSecond, filled = performance.now();
  const drop = (ws: WSContext, code: number, reason: string) => {
    if (closed) return;
    closed = true;
    queue.clear();
    leave();
    hooks.onDrop?.(code, reason);
    ws.close(code, reason);
  };
  const buffered = (ws: WSContext) =>
    (ws.raw as { bufferedAmount?: number } | undefined)?.bufferedAmount ?? 0;
  const pump = async (ws: WSContext) => {
    if (pumping) return;
    pumping = true;
    let slice = performance.now();
    try {
      while (!closed && queue.size > 0) {
        if (performance.now() - slice > SLICE_MS) {
          await new Promise((r) => setTimeout(r, 0));
          slice = performance.now();
          if (closed || queue.size === 0) break;
        }
        const now = performance.now();
        tokens = Math.min(
          limits.maxChunksPerSecond,
          tokens + (now - filled) * limits.maxChunksPerSecond / 1000,
        );
        filled = now;
        if (tokens < 1) {
          const wait = (1 - tokens) * 1000 / limits.maxChunksPerSecond;
          await new Promise((r) => setTimeout(r, wait));
          slice = performance.now();
          continue;
        }
        tokens--;
        const [key, [x, z]] = queue.entries().next().value!;
        queue.delete(key);
        let bytes: Uint8Array;
        try {
          bytes = await chunk(x, z);
        } catch (e) {
          if (ws.readyState === 1) {
            ws.send(JSON.stringify({ t: "error", c: [x, z], error: (e as Error).message }));
          }
          continue;
        }
        const since = Date.now();
        while (!closed && buffered(ws) > limits.maxBuffered) {
          if (Date.now() - since > limits.stallTimeout) {
            return drop(ws, 1008, "The client does not read its chunks");
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        if (closed || ws.readyState !== 1) return;
        ws.send(bytes as Uint8Array<ArrayBuffer>);
      }
    } finally {
      pumping = false;
    }
  };
  return {
    onOpen(_evt, ws) {
      if (!hooks.live || closed) return;
      session = hooks.live((n) => {
        // Presence is news: a client that does not read misses some rather than queueing it.
        if (!closed && ws.readyState === 1 && buffered(ws) <= limits.maxBuffered) {
          ws.send(JSON.stringify(n));
        }
      });
    },
    onMessage(evt, ws) {
      if (closed) return;
      const now = Date.now();
      if (now - windowStart >= 1000) (windowStart = now), (inWindow = 0);
      if (++inWindow > limits.maxMessagesPerSecond) {
        return drop(ws, 1008, `Over ${limits.maxMessagesPerSecond} messages a second`);
      }
      if (typeof evt.data !== "string") return drop(ws, 1003, "Send JSON text messages");
      if (evt.data.length > limits.maxMessageBytes) {
        return drop(ws, 1009, `A message is at most ${limits.maxMessageBytes} bytes`);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(evt.data);
      } catch {
        return drop(ws, 1007, "Not JSON");
      }
      const m = msg as { t?: unknown; c?: unknown; p?: unknown; h?: unknown };
      if (typeof m === "object" && m !== null && m.t === "pos") {
        const p = m.p;
        if (
          !Array.isArray(p) || p.length !== 3 || ![...p, m.h].every(Number.isFinite)
        ) {
          return drop(ws, 1007, 'Expected {"t": "pos", "p": [x, y, z], "h": heading}');
        }
        session?.move(p[0], p[1], p[2], m.h as number);
        return;
      }
      if (typeof m !== "object" || m === null || (m.t !== "want" && m.t !== "cancel")) {
        return drop(ws, 1007, 'Expected {"t": "want" | "cancel" | "pos", …}');
      }
      if (!Array.isArray(m.c) || m.c.length > limits.maxPerMessage) {
        return drop(ws, 1008, `"c" must list at most ${limits.maxPerMessage} chunks`);
      }
      const coords: [number, number][] = [];
      for (const p of m.c) {
        if (!Array.isArray(p) || p.length !== 2 || !p.every(isI32)) {
          return drop(ws, 1007, "Each chunk is [x, z], signed 32-bit integers");
        }
        coords.push([p[0] as number, p[1] as number]);
      }
      if (m.t === "cancel") {
        for (const [x, z] of coords) queue.delete(`${x},${z}`);
        return;
      }
      for (const [x, z] of coords) queue.set(`${x},${z}`, [x, z]);
      if (queue.size > limits.maxQueue) {
        return drop(ws, 1008, `Over ${limits.maxQueue} chunks waiting: cancel some first`);
      }
      void pump(ws);
    },
    onClose() {
      closed = true;
      queue.clear();
      leave();
      hooks.onClose?.();
    },
    onError() {
      closed = true;
      queue.clear();
      leave();
      hooks.onClose?.();
    },
  };
}

function isI32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX;
}
