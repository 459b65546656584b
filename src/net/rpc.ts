/**
 * A small request/response layer for Mote protocols over libp2p streams: one length-prefixed
 * request frame, one length-prefixed response frame, a maximum frame size on both sides, a
 * per-call timeout, AbortSignal support, and a per-peer rate limit on the serving side.
 *
 * Response frame: one status byte (0 = ok, 1 = error, 2 = rate limited) then the payload (for
 * errors, a UTF-8 message).
 *
 * A frame may be written from several chunks and read back as the chunks it arrived in, so a
 * large payload (a 1 MiB shard) is never joined into one array on either side: each join was a
 * copy, and a put or get moved every shard through two or three of them.
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";
import { concat, fromUtf8, utf8 } from "../encoding/bytes.ts";
import type { RateLimiter } from "./rate_limit.ts";

/** Raised by {@linkcode Rpc.request} when the remote answered with an error or misbehaved. */
export class RpcError extends Error {
  override name = "RpcError";
  /** `remote`: the handler refused; `limited`: rate limited; `protocol`: a bad frame. */
  readonly kind: "remote" | "limited" | "protocol";
  constructor(kind: "remote" | "limited" | "protocol", message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Context passed to a handler. */
export interface RpcContext {
  /** The remote peer id. */
  peer: string;
  /** Aborted when the call times out or the node stops. */
  signal: AbortSignal;
}

/**
 * A protocol handler: request bytes in, response bytes out (one array, or chunks sent in order
 * without being joined); a thrown error's message is sent.
 */
export type RpcHandler = (
  request: Uint8Array,
  ctx: RpcContext,
) => Promise<Uint8Array | readonly Uint8Array[]>;

/** Limits of one protocol. */
export interface RpcLimits {
  /** Largest request frame accepted (bytes). */
  maxRequest: number;
  /** Largest response frame accepted (bytes). */
  maxResponse: number;
  /** Per-call timeout (ms). */
  timeout: number;
  /** Concurrent inbound streams per connection. */
  maxInboundStreams?: number;
}

/** Serves and calls Mote request/response protocols. */
export class Rpc {
  #libp2p: Libp2p;
  #limiter: RateLimiter;
  #stop = new AbortController();
  #handled = new Set<string>();
  /** Counters for metrics, by protocol. */
  readonly served: Map<string, number> = new Map();
  readonly refused: Map<string, number> = new Map();

  constructor(libp2p: Libp2p, limiter: RateLimiter) {
    this.#libp2p = libp2p;
    this.#limiter = limiter;
  }

  /** Registers `handler` for `protocol`. */
  async handle(protocol: string, handler: RpcHandler, limits: RpcLimits): Promise<void> {
    this.#handled.add(protocol);
    await this.#libp2p.handle(protocol, async (stream, connection) => {
      const peer = connection.remotePeer.toString();
      const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(limits.timeout)]);
      // Buffers must hold a whole frame: libp2p's defaults (4 MiB) would reset larger ones.
      stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, limits.maxRequest + 1024);
      const lp = lpStream(stream, {
        maxDataLength: limits.maxRequest,
        maxBufferSize: limits.maxRequest + 1024,
      });
      try {
        if (!this.#limiter.take(peer)) {
          bump(this.refused, protocol);
          await writeFrame(stream, [STATUS_LIMITED, utf8("rate limited")], signal);
          await stream.close({ signal });
          return;
        }
        const req = (await lp.read({ signal })).subarray();
        let res: Uint8Array[];
        try {
          res = [STATUS_OK, ...chunksOf(await handler(req, { peer, signal }))];
          bump(this.served, protocol);
        } catch (e) {
          bump(this.refused, protocol);
          res = [STATUS_ERROR, utf8(String((e as Error).message ?? e).slice(0, 1000))];
        }
        await writeFrame(stream, res, signal);
        await stream.close({ signal });
      } catch (e) {
        stream.abort(e as Error);
      }
    }, { maxInboundStreams: limits.maxInboundStreams ?? 32, runOnLimitedConnection: false });
  }

  /**
   * Calls `protocol` on `peer` and returns the response payload. The body may be given as chunks,
   * sent in order as one frame without being joined.
   */
  async request(
    peer: PeerId | Multiaddr,
    protocol: string,
    body: Uint8Array | readonly Uint8Array[],
    limits: Pick<RpcLimits, "maxResponse" | "timeout"> & { signal?: AbortSignal },
  ): Promise<Uint8Array> {
    const chunks = await this.requestChunks(peer, protocol, body, limits);
    return chunks.length === 1 ? chunks[0]! : concat(...chunks);
  }

  /**
   * Like {@linkcode Rpc.request}, but returns the payload as the chunks it arrived in (in order,
   * never joined), so a caller can copy a large payload straight to where it goes.
   */
  async requestChunks(
    peer: PeerId | Multiaddr,
    protocol: string,
    body: Uint8Array | readonly Uint8Array[],
    limits: Pick<RpcLimits, "maxResponse" | "timeout"> & { signal?: AbortSignal },
  ): Promise<Uint8Array[]> {
    const signal = AbortSignal.any([
      this.#stop.signal,
      AbortSignal.timeout(limits.timeout),
      ...(limits.signal ? [limits.signal] : []),
    ]);
    const stream = await this.#dial(peer, protocol, signal);
    try {
      stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, limits.maxResponse + 1024);
      const lp = lpStream(stream, {
        maxDataLength: limits.maxResponse + 1,
        maxBufferSize: limits.maxResponse + 1024,
      });
      await writeFrame(stream, chunksOf(body), signal);
      const res = [...await lp.read({ signal })].filter((c) => c.length > 0);
      await stream.close({ signal });
      if (res.length === 0) throw new RpcError("protocol", `Empty response on ${protocol}`);
      const status = res[0]![0];
      res[0] = res[0]!.subarray(1);
      const payload = res[0].length === 0 ? res.slice(1) : res;
      if (status === 0) return payload.length === 0 ? [new Uint8Array(0)] : payload;
      if (status === 2) throw new RpcError("limited", `Rate limited by the peer on ${protocol}`);
      if (status === 1) throw new RpcError("remote", fromUtf8(concat(...payload)));
      throw new RpcError("protocol", `Bad response status ${status} on ${protocol}`);
    } catch (e) {
      stream.abort(e as Error);
      throw e;
    }
  }

  /**
   * Opens a stream. A connection that is closing (its muxer no longer open) is tried once more
   * after a moment, on a fresh connection: nothing was sent yet, so the retry is safe.
   */
  async #dial(peer: PeerId | Multiaddr, protocol: string, signal: AbortSignal) {
    try {
      return await this.#libp2p.dialProtocol(peer, protocol, { signal });
    } catch (e) {
      if (signal.aborted || !/muxer is "closed"|not "open"|connection.*clos/i.test(String(e))) {
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
      return await this.#libp2p.dialProtocol(peer, protocol, { signal });
    }
  }

  /** Unregisters the handlers and aborts calls in flight. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("node stopping"));
    for (const p of this.#handled) await this.#libp2p.unhandle(p).catch(() => {});
    this.#handled.clear();
  }
}

const STATUS_OK = new Uint8Array([0]);
const STATUS_ERROR = new Uint8Array([1]);
const STATUS_LIMITED = new Uint8Array([2]);

function chunksOf(body: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  return body instanceof Uint8Array ? [body] : [...body];
}

/**
 * Writes one length-prefixed frame (an unsigned varint, as `lpStream` reads it) from chunks. The
 * stream queues each chunk as it is, without a copy; like `lpStream.write`, it waits for a drain
 * only once the whole frame is queued.
 */
async function writeFrame(stream: Stream, chunks: readonly Uint8Array[], signal: AbortSignal) {
  let length = 0;
  for (const c of chunks) length += c.length;
  let open = stream.send(varint(length));
  for (const c of chunks) if (c.length > 0) open = stream.send(c);
  if (!open) await stream.onDrain({ signal });
}

/** An unsigned LEB128 varint (the multiformats length prefix). */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return new Uint8Array(out);
}

function bump(m: Map<string, number>, k: string) {
  m.set(k, (m.get(k) ?? 0) + 1);
}
