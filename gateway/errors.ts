// This module is browser compatible.
/**
 * One mapping from domain errors to HTTP answers, used by every app's `onError`, so handlers
 * never invent their own status codes and no stack trace ever reaches a client.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Raised by handlers for a client mistake with a specific status. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: ContentfulStatusCode;
  constructor(status: ContentfulStatusCode, message: string) {
    super(message);
    this.status = status;
  }
}

const BY_NAME: Record<string, ContentfulStatusCode> = {
  DecodeError: 400,
  SyntaxError: 400,
  RangeError: 400,
  TypeError: 400,
  RecordError: 422,
  RpcError: 502,
  PassphraseError: 403,
  TimeoutError: 504,
  AbortError: 504,
  NotFoundError: 404,
  NotReadyError: 503,
  PlacementError: 503,
  NotEnoughShardsError: 503,
  SourceChangedError: 400,
  SealError: 422,
  BlockAuthError: 502,
  ContractError: 409,
  SupplierError: 502,
  ChangedError: 409,
  ConfigError: 400,
  ResumeMismatchError: 409,
};

/** Turns any thrown value into a JSON error response. */
export function errorResponse(
  err: unknown,
  c: Context,
  log?: (msg: string, f: Record<string, unknown>) => void,
): Response {
  return errorJson(err, c.req.raw, log);
}

/** {@linkcode errorResponse} for a plain request handler (no Hono context). */
export function errorJson(
  err: unknown,
  req: Request,
  log?: (msg: string, f: Record<string, unknown>) => void,
): Response {
  const e = err instanceof Error ? err : new Error(String(err));
  const status = err instanceof HTTPException
    ? err.status
    : e instanceof HttpError
    ? e.status
    : BY_NAME[e.name] ?? 500;
  if (status >= 500) log?.("request failed", { path: new URL(req.url).pathname, error: e });
  const message = err instanceof HTTPException
    ? err.message || "request refused"
    : status === 500
    ? "internal error (see the node's log)"
    : e.message;
  return Response.json({ error: message }, { status });
}

/** Security headers for every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};
