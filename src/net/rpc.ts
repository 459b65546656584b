/**
 * A small request/response layer for Mote protocols over libp2p streams: one length-prefixed
 * request frame, one length-prefixed response frame, a maximum frame size on both sides, a
 * per-call timeout, AbortSignal support, and a per-peer rate limit on the serving side.
 *
 * Response frame: one status byte (0 = ok, 1 = error, 2 = rate limited) then the payload (for
 * errors, a UTF-8 message).
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
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

/** A protocol handler: request bytes in, response bytes out; a thrown error's message is sent. */
export type RpcHandler = (request: Uint8Array, ctx: RpcContext) => Promise<Uint8Array>;

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
          await lp.write(concat(new Uint8Array([2]), utf8("rate limited")), { signal });
          await stream.close({ signal });
          return;
        }
        const req = (await lp.read({ signal })).subarray();
        let res: Uint8Array;
        try {
          res = concat(new Uint8Array([0]), await handler(req, { peer, signal }));
          bump(this.served, protocol);
        } catch (e) {
          bump(this.refused, protocol);
          res = concat(new Uint8Array([1]), utf8(String((e as Error).message ?? e).slice(0, 1000)));
        }
        await lp.write(res, { signal });
        await stream.close({ signal });
      } catch (e) {
        stream.abort(e as Error);
      }
    }, { maxInboundStreams: limits.maxInboundStreams ?? 32, runOnLimitedConnection: false });
  }

  /** Calls `protocol` on `peer` and returns the response payload. */
  async request(
    peer: PeerId | Multiaddr,
    protocol: string,
    body: Uint8Array,
    limits: Pick<RpcLimits, "maxResponse" | "timeout"> & { signal?: AbortSignal },
  ): Promise<Uint8Array> {
    const signal = AbortSignal.any([
      this.#stop.signal,
      AbortSignal.timeout(limits.timeout),
      ...(limits.signal ? [limits.signal] : []),
    ]);
    const stream = await this.#libp2p.dialProtocol(peer, protocol, { signal });
    try {
      stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, limits.maxResponse + 1024);
      const lp = lpStream(stream, {
        maxDataLength: limits.maxResponse + 1,
        maxBufferSize: limits.maxResponse + 1024,
      });
      await lp.write(body, { signal });
      const res = (await lp.read({ signal })).subarray();
      await stream.close({ signal });
      if (res.length === 0) throw new RpcError("protocol", `Empty response on ${protocol}`);
      const payload = res.subarray(1);
      if (res[0] === 0) return payload;
      if (res[0] === 2) throw new RpcError("limited", `Rate limited by the peer on ${protocol}`);
      if (res[0] === 1) throw new RpcError("remote", fromUtf8(payload));
      throw new RpcError("protocol", `Bad response status ${res[0]} on ${protocol}`);
    } catch (e) {
      stream.abort(e as Error);
      throw e;
    }
  }

  /** Unregisters the handlers and aborts calls in flight. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("node stopping"));
    for (const p of this.#handled) await this.#libp2p.unhandle(p).catch(() => {});
    this.#handled.clear();
  }
}

function bump(m: Map<string, number>, k: string) {
  m.set(k, (m.get(k) ?? 0) + 1);
}
