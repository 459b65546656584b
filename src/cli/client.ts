/**
 * How commands other than `start` reach the running node: they find it through the data
 * directory (`node.json` written by `start`, the lock it holds, and `api-token`) and call its
 * HTTP API on loopback.
 */
import { isDataDirLocked, readRuntimeInfo, readToken, type RuntimeInfo } from "../node/data_dir.ts";
import { CliError } from "./errors.ts";

/** A client for one running node. */
export interface NodeClient {
  info: RuntimeInfo;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string): Promise<T>;
  /** A raw request with the token (for streaming bodies); errors are thrown as CliError. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
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
