// This module is browser compatible.
/**
 * The edge runtime's WebSocket upgrade, chosen in this one place: Workers and workerd have
 * `WebSocketPair` (the server end is accepted here and the client end handed back in a 101
 * response); Deno (`deno serve`, Deno Deploy) has `Deno.upgradeWebSocket`; a runtime with neither
 * gets none, and the world socket answers 501 there (pages fall back to HTTP).
 *
 * The edge's world sockets serve chunks only: there is no gossip at the edge, and a Workers
 * isolate may not touch one request's socket from another's, so the edge has no presence (the
 * page's HUD says "none on this gateway").
 * @module
 */
import { defineWebSocketHelper, type UpgradeWebSocket, WSContext, type WSEvents } from "hono/ws";

/** What both runtimes' server-side sockets have. */
interface ServerSocket {
  readonly protocol: string;
  readonly readyState: number;
  readonly url: string | null;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, fn: (evt: Event) => void): void;
  accept?(): void;
}

type Pair = { 0: ServerSocket; 1: ServerSocket };
type Runtime = {
  WebSocketPair?: new () => Pair;
  Deno?: { upgradeWebSocket?(req: Request): { socket: ServerSocket; response: Response } };
};

function contextOf(socket: ServerSocket): WSContext {
  return new WSContext({
    close: (code, reason) => socket.close(code, reason),
    get protocol() {
      return socket.protocol;
    },
    raw: socket,
    get readyState() {
      return socket.readyState as 0 | 1 | 2 | 3;
    },
    url: socket.url ? new URL(socket.url) : null,
    send: (data) => socket.send(data as string | ArrayBuffer | Uint8Array),
  });
}

function listen(socket: ServerSocket, events: WSEvents, ws: WSContext): void {
  socket.addEventListener("message", (e) => events.onMessage?.(e as MessageEvent, ws));
  socket.addEventListener("close", (e) => events.onClose?.(e as CloseEvent, ws));
  socket.addEventListener("error", (e) => events.onError?.(e, ws));
}

/** The upgrade of the runtime this runs in, or undefined when it has none. */
export function runtimeUpgradeWebSocket(
  runtime: Runtime = globalThis as unknown as Runtime,
): UpgradeWebSocket | undefined {
  const Pair = runtime.WebSocketPair;
  if (Pair) {
    return defineWebSocketHelper((c, events) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
      const pair = new Pair();
      const server = pair[1], ws = contextOf(server);
      listen(server, events, ws);
      // Finish the client's closing handshake (workerd does not answer a close frame by itself
      // before its 2026 compatibility dates), else the client waits for it.
      server.addEventListener("close", (e) => {
        const { code, reason } = e as CloseEvent;
        try {
          server.close(code === 1005 || code === 1006 ? 1000 : code, reason);
        } catch { /* already closed */ }
      });
      server.accept?.();
      // Accepted: open from here on (Workers send no open event to the server end).
      events.onOpen?.(new Event("open"), ws);
      return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
    });
  }
  const deno = runtime.Deno;
  if (deno?.upgradeWebSocket) {
    return defineWebSocketHelper((c, events) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
      const { socket, response } = deno.upgradeWebSocket!(c.req.raw);
      const ws = contextOf(socket);
      socket.addEventListener("open", (e) => events.onOpen?.(e, ws));
      listen(socket, events, ws);
      return response;
    });
  }
  return undefined;
}
