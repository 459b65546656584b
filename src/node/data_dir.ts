/**
 * The data directory: its layout, the lock that stops two nodes from sharing it, the API token,
 * and the runtime file through which CLI commands find the running node.
 *
 * Layout: `identity.key`, `device.key` (owner-only), `api-token` (0600), `config.json`,
 * `node.lock`, `node.json` (while running), `logs/mote.log`, `devnet/supplier-N/`.
 */
import { toBase64 } from "../encoding/bytes.ts";
import { randomBytes } from "../crypto/hash.ts";

/** Raised when another node already runs on a data directory. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

/** What a running node writes so commands can find it. */
export interface RuntimeInfo {
  pid: number;
  id: string;
  version: string;
  /** The node API base URL, such as `http://127.0.0.1:8180`. */
  api: string;
  /** The public gateway base URL. */
  gateway: string;
  started: number;
  devnet: boolean;
}

/** Creates the data directory owner-only if needed. */
export async function ensureDataDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Takes the data directory's lock, or throws {@linkcode DataDirLockedError}. */
export async function lockDataDir(dir: string): Promise<{ release(): void }> {
  await ensureDataDir(dir);
  const file = await Deno.open(`${dir}/node.lock`, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    const info = await readRuntimeInfo(dir);
    throw new DataDirLockedError(
      `Another node is already running on ${dir}` +
        (info ? ` (pid ${info.pid}, API ${info.api}); stop it first or use --data` : ""),
    );
  }
  return {
    release() {
      try {
        file.unlockSync();
      } catch { /* already closed */ }
      file.close();
    },
  };
}

/** Whether a node holds the data directory's lock right now. */
export async function isDataDirLocked(dir: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${dir}/node.lock`, { read: true, write: true });
  } catch {
    return false;
  }
  try {
    const got = await file.tryLock(true);
    if (got) await file.unlock();
    return !got;
  } finally {
    file.close();
  }
}

/** Reads the API token, creating a random one (0600) on first use. */
export async function loadOrCreateToken(dir: string): Promise<string> {
  const path = `${dir}/api-token`;
  try {
    const t = (await Deno.readTextFile(path)).trim();
    if (t.length >= 32) return t;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const token = toBase64(randomBytes(32)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
  return token;
}

/** Reads the API token; null when there is none. */
export async function readToken(dir: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(`${dir}/api-token`)).trim();
  } catch {
    return null;
  }
}

/** Writes `node.json`. */
export async function writeRuntimeInfo(dir: string, info: RuntimeInfo): Promise<void> {
  await Deno.writeTextFile(`${dir}/node.json`, JSON.stringify(info, null, 2) + "\n");
}

/** Reads `node.json`; null when absent or unreadable. */
export async function readRuntimeInfo(dir: string): Promise<RuntimeInfo | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/node.json`)) as RuntimeInfo;
  } catch {
    return null;
  }
}

/** Removes `node.json` (on a clean stop). */
export async function removeRuntimeInfo(dir: string): Promise<void> {
  await Deno.remove(`${dir}/node.json`).catch(() => {});
}
