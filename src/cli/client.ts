/**
 * How commands other than `start` reach the running node: they find it through the data
 * directory (`node.json` written by `start`, the lock it holds, and `api-token`) and call its
 * HTTP API on loopback.
 */
import { isDataDirLocked, readRuntimeInfo, readToken, type RuntimeInfo } from "../node/data_dir.ts";
import { concat } from "../encoding/bytes.ts";
import { CliError } from "./errors.ts";
import { request } from "node:http";
import { createReadStream } from "node:fs";

/** A client for one running node. */
export interface NodeClient {
  info: RuntimeInfo;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string): Promise<T>;
  /** A raw request with the token (for streaming bodies); errors are thrown as CliError. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * PUTs a local file as the body, with its Content-Length, and returns the answer's JSON; errors
   * are thrown as CliError (with `status` for an HTTP refusal).
   */
  upload(path: string, file: string, opts: UploadOptions): Promise<unknown>;
}

/** Options of {@linkcode NodeClient.upload}. */
export interface UploadOptions {
  size: number;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Told about every piece of the file sent. */
  onBytes?: (n: number) => void;
}

/** Finds the node running on `dataDir`, or throws a {@linkcode CliError} that says what to do. */
export async function connectToNode(dataDir: string): Promise<NodeClient> {
  const info = await readRuntimeInfo(dataDir);
  if (!info || !(await isDataDirLocked(dataDir))) {
    throw new CliError(
      `No node is running on ${dataDir}: start one with "mote start" (or pass --data)`,
    );
  }
  const token = await readToken(dataDir);
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(info.api + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      throw new CliError(`Cannot reach the node API at ${info.api}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const msg = (json as { error?: string } | undefined)?.error ?? text.slice(0, 200);
      throw new CliError(`The node refused: ${msg} (HTTP ${res.status})`);
    }
    return json as T;
  };
  return {
    info,
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body ?? {}),
    delete: (path) => call("DELETE", path),
    upload: (path, file, opts) => upload(info.api + path, token, file, opts),
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      let res: Response;
      try {
        res = await fetch(info.api + path, { ...init, headers });
      } catch (e) {
        if ((e as Error).name === "AbortError") throw e;
        throw new CliError(`Cannot reach the node API at ${info.api}: ${(e as Error).message}`);
      }
      if (!res.ok) {
        const text = await res.text();
        let msg = text.slice(0, 300);
        try {
          msg = JSON.parse(text).error ?? msg;
        } catch { /* not JSON */ }
        const e = new CliError(`The node refused: ${msg} (HTTP ${res.status})`);
        (e as CliError & { status?: number }).status = res.status;
        throw e;
      }
      return res;
    },
  };
}

/**
 * Streams a file to the node with a Content-Length. Deno's fetch sends a streamed body chunked,
 * and with large uploads that made the node's event loop stall for seconds at a time, long enough
 * for its supplier streams to time out (BENCHMARKS.md, "A 2 GiB file"); a sized body through
 * node:http does not.
 */
function upload(
  url: string,
  token: string | null,
  file: string,
  opts: UploadOptions,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({
      host: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port,
      path: u.pathname + u.search,
      method: "PUT",
      headers: {
        ...opts.headers,
        "content-length": String(opts.size),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      const parts: Uint8Array[] = [];
      let size = 0;
      res.on("data", (d: Uint8Array) => {
        size += d.length;
        if (size <= 1 << 20) parts.push(d);
      });
      res.on(
        "error",
        (e: Error) => reject(new CliError(`The node's answer broke off: ${e.message}`)),
      );
      res.on("end", () => {
        const text = new TextDecoder().decode(concat(...parts));
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(json);
        const msg = (json as { error?: string } | undefined)?.error ?? text.slice(0, 300);
        const e = new CliError(`The node refused: ${msg} (HTTP ${status})`);
        (e as CliError & { status?: number }).status = status;
        reject(e);
      });
    });
    const body = createReadStream(file, { highWaterMark: 1 << 20 });
    const abort = () => {
      const reason = opts.signal.reason ?? new DOMException("Aborted", "AbortError");
      body.destroy();
      req.destroy(reason);
      reject(reason);
    };
    if (opts.signal.aborted) return abort();
    opts.signal.addEventListener("abort", abort, { once: true });
    req.on("close", () => opts.signal.removeEventListener("abort", abort));
    req.on("error", (e: Error) => {
      if (opts.signal.aborted) return;
      reject(new CliError(`Cannot reach the node API at ${u.origin}: ${e.message}`));
    });
    body.on("data", (d: string | Uint8Array) => opts.onBytes?.(d.length));
    body.on("error", (e: Error) => {
      req.destroy(e);
      reject(new CliError(`Cannot read ${file}: ${e.message}`));
    });
    body.pipe(req);
  });
}
