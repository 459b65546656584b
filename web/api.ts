// This module is browser compatible.
/**
 * The UI's client for the node API (same origin). Reads need nothing; state-changing calls carry
 * the token from `GET /api/v1/session`, which the node gives only to script on its own origin.
 * Every error carries the API's own `{error}` text.
 */

/** An API answer that was not 2xx, with the node's message. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

let token: Promise<string> | undefined;

/** The local token, fetched once per page load. */
export function sessionToken(): Promise<string> {
  token ??= getJson<{ token: string }>("/api/v1/session").then((r) => r.token).catch((e) => {
    token = undefined;
    throw e;
  });
  return token;
}

async function failure(res: Response): Promise<ApiError> {
  let msg = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") msg = body.error;
  } catch { /* not JSON */ }
  // With remote access, a session that ended (12 h, or the node restarted) logs in again.
  if (res.status === 401 && msg.startsWith("Log in first")) location.assign("/login");
  return new ApiError(res.status, msg);
}

/** GETs a JSON answer. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { signal, headers: { accept: "application/json" } });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "The node is not answering (is it still running?)");
  }
  if (!res.ok) throw await failure(res);
  return await res.json() as T;
}

/** A state-changing call with the token; JSON in, the raw response out. */
export async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${await sessionToken()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The node is not answering (is it still running?)");
  }
  if (!res.ok) throw await failure(res);
  return res;
}

/**
 * PUTs a file's bytes with the token (no progress: for small files, such as a write into a folder
 * another node shares); the raw response out.
 */
export async function putFile(path: string, file: File): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${await sessionToken()}`,
        "content-type": "application/octet-stream",
        "x-mote-size": String(file.size),
        "x-mote-mtime": String(Math.max(0, Math.round(file.lastModified))),
      },
      body: file,
    });
  } catch {
    throw new ApiError(0, "The node is not answering (is it still running?)");
  }
  if (!res.ok) throw await failure(res);
  return res;
}

/** A remote path (`/a/b c`) as URL path segments (`/a/b%20c`). */
export function encodePath(path: string): string {
  return path.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/");
}

/** The URL of a file (a version, and as a download with its name). */
export function fileUrl(path: string, opts: { version?: number; download?: boolean } = {}) {
  const q = new URLSearchParams();
  if (opts.version !== undefined) q.set("version", String(opts.version));
  if (opts.download) q.set("download", "1");
  const qs = q.toString();
  return `/api/v1/files/${encodePath(path)}${qs ? `?${qs}` : ""}`;
}

/** One row of a folder listing. */
export interface Entry {
  name: string;
  type: "file" | "folder";
  size: number;
  mtime: number;
  versions: number;
}

/** One stored version of a file (0 is the newest). */
export interface Version {
  version: number;
  size: number;
  mtime: number;
  added: number;
  stored: string;
}

/** What `GET /api/v1/status` answers (the fields the UI uses). */
export interface Status {
  id: string;
  nickname: string;
  version: string;
  peerId: string;
  addresses: string[];
  peers: number;
  dht: number;
  records: { stored: number; kept: number };
  uptime: number;
  devnet: { running: boolean; suppliers: number };
  /** When this run of the node began (ms); a restart changes it. */
  started: number;
  /** Whether the API takes remote logins with a password. */
  remoteAccess?: boolean;
}

/** The settings the UI edits, and `GET /api/v1/settings` (types only: nothing is bundled). */
export type { EditableSettings, SettingsView } from "../gateway/settings.ts";

/** The scrubbers (`GET /api/v1/scrub`, types only: nothing is bundled). */
export type { HireAnswer, ScrubTicketRow, ScrubView } from "../gateway/scrub.ts";

/** A hosted site as `GET /api/v1/sites` lists it (types only: nothing is bundled). */
export type { SiteRow } from "../gateway/site_api.ts";

/** A world as `GET /api/v1/worlds` lists it (types only: nothing is bundled). */
export type { WorldRow } from "../gateway/world_api.ts";

/** A hired supplier as `GET /api/v1/suppliers` lists it. */
export interface SupplierRow {
  supplier: string;
  peer?: string;
  quota: number;
  expiry: number;
  live: boolean;
  lastContact: number | null;
  failures: number;
  health: string;
  error?: string;
  /** Last audit of its shards (ms), and whether every proof held. */
  lastAudit?: number | null;
  lastAuditOk?: boolean | null;
}

/** `GET /api/v1/suppliers`. */
export interface Suppliers {
  code: string;
  wanted: number;
  suppliers: SupplierRow[];
  migration?: { code: string; state: string; files: number; folders: number } | null;
}

/** `GET /api/v1/health` (the fields the UI uses). */
export interface Health {
  audit: { interval: number; lastRound: number | null; rounds: number; bad: number };
  repair: { pendingShards: number; repairedShards: number; lastRepair: number | null };
}

/** `GET /api/v1/du`. */
export interface Usage {
  suppliers: { supplier: string; shards: number; bytes: number; reachable: boolean }[];
  total: number;
}

/** A connected peer. */
export interface Peer {
  peerId: string;
  addresses: string[];
  direction: string;
  rtt: number | null;
}

/**
 * Uploads a file with the browser's upload progress (bytes sent). `X-Mote-Mtime` lets an
 * interrupted upload resume when the same file is sent again; with `skipUnchanged`, the node
 * answers `{skipped: true}` instead of storing a file it has as its newest version (409 when it
 * only looks unchanged: send it again without).
 */
export async function upload(
  path: string,
  file: File,
  onSent: (sent: number, total: number) => void,
  opts: { signal?: AbortSignal; skipUnchanged?: boolean } = {},
): Promise<Record<string, unknown>> {
  const auth = `Bearer ${await sessionToken()}`;
  return await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", fileUrl(path));
    xhr.setRequestHeader("authorization", auth);
    xhr.setRequestHeader("x-mote-size", String(file.size));
    xhr.setRequestHeader("x-mote-mtime", String(Math.max(0, Math.round(file.lastModified))));
    xhr.setRequestHeader("content-type", "application/octet-stream");
    if (opts.skipUnchanged) xhr.setRequestHeader("x-mote-skip-unchanged", "1");
    xhr.upload.onprogress = (e) => onSent(e.loaded, file.size);
    xhr.onload = () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const msg = typeof body.error === "string" ? body.error : `${xhr.status} ${xhr.statusText}`;
        reject(new ApiError(xhr.status, msg));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload was cut off (is the node running?)"));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
