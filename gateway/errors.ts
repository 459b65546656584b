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
  if (err instanceof HTTPException) {
    return c.json({ error: err.message || "request refused" }, err.status);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const status = e instanceof HttpError ? e.status : BY_NAME[e.name] ?? 500;
  if (status >= 500) log?.("request failed", { path: c.req.path, error: e });
  const message = status === 500 ? "internal error (see the node's log)" : e.message;
  return c.json({ error: message }, status);
}

/** Security headers for every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};
