/**
 * File commands: `put`, `get`, `ls`, `rm`, `versions`, `prune`, `suppliers`, `du`. They stream
 * through the running node's API. `put` of a folder skips files whose size, mtime and keyed hash
 * match the newest version; Ctrl-C cancels cleanly (an interrupted upload adds no version, and
 * running the put again resumes it, sending only what was not stored yet; `get` writes to a
 * temporary file that is renamed only when complete).
 */
import { basename, dirname, join } from "node:path";
import { formatDuration, formatSize, updateConfigFile } from "../config/mod.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode, type NodeClient } from "./client.ts";
import { CliError, UsageError } from "./errors.ts";
import { fields, json, table } from "./format.ts";
import { Progress } from "./progress.ts";
import { PACK_FILE_MAX } from "../catalog/pack.ts";
import type { SupplierHealth } from "../health/mod.ts";
import { isRemotePath } from "../sharing/remote_path.ts";
import { type LongRow, longTable, remoteGet, remoteLs, remotePut } from "./share_commands.ts";

type Out = (line: string) => void;

/** Percent-encodes each segment of a remote path. */
function remoteUrl(prefix: string, remote: string): string {
  const parts = remote.split("/").filter((p) => p !== "");
  return prefix + parts.map(encodeURIComponent).join("/");
}

function normalizeRemote(r: string): string {
  return "/" + r.split("/").filter((p) => p !== "").join("/");
}

/** Aborts on Ctrl-C while `run` is going. */
export async function cancellable<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  const onSignal = () => ctl.abort(new CliError("Cancelled"));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    return await run(ctl.signal);
  } catch (e) {
    if (ctl.signal.aborted) {
      throw new CliError("Cancelled: nothing was changed by the interrupted transfer");
    }
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** Every file under a folder, sorted, symbolic links not followed (what `uploadFiles` sends). */
export async function* walk(dir: string): AsyncIterable<string> {
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isSymlink) continue; // not followed: a link could leave the folder or loop
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

/** `mote put <local> [remote]` */
export async function putCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("put", args, {
    quiet: { type: "boolean", short: "q" },
  });
  expectPositionals("put", positionals, 1, 2);
  const local = positionals[0]!;
  if (positionals[1] !== undefined && isRemotePath(positionals[1])) {
    // `<owner-id>:/folder/…`: into a folder another owner lets this node write to.
    const client = await connectToNode(dataDir);
    const r = await cancellable((signal) => remotePut(client, local, positionals[1]!, signal));
    if (values.json) out(json(r));
    else {
      out(
        `${r.path}: written (${formatSize(r.size)}); the owner's node adds it to the folder ` +
          `when it merges (readers see it then)`,
      );
    }
    return 0;
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(local);
  } catch (e) {
    throw new CliError(`Cannot read ${local}: ${(e as Error).message}`);
  }
  const client = await connectToNode(dataDir);
  const remoteBase = normalizeRemote(positionals[1] ?? basename(local.replace(/\/+$/, "")));
  const quiet = values.quiet === true || values.json === true;
  const results = await cancellable((signal) =>
    uploadFiles(client, local, info, remoteBase, { quiet, signal })
  );
  const sent = results.filter((r) => !r.skipped);
  if (values.json) out(json(results));
  else {
    out(
      `${sent.length} file${sent.length === 1 ? "" : "s"} stored, ${
        results.length - sent.length
      } unchanged, ` +
        `${formatSize(sent.reduce((a, r) => a + r.size, 0))} uploaded`,
    );
    const resumed = results.reduce((a, r) => a + r.resumed, 0);
    if (resumed > 0) {
      out(`Resumed: ${formatSize(resumed)} was already stored by an interrupted put.`);
    }
    const under = results.filter((r) => r.underReplicated > 0).length;
    if (under) {
      out(
        `Warning: ${under} file(s) are under-replicated until their remaining shards are placed.`,
      );
    }
  }
  return 0;
}

/**
 * Uploads a file or a folder (`info` says which) to `remoteBase`: small files of a folder in
 * batches (one request and one folder update each, packed together by the node), larger ones
 * streamed one by one. Unchanged files are skipped, interrupted ones resume.
 */
export async function uploadFiles(
  client: NodeClient,
  local: string,
  info: Deno.FileInfo,
  remoteBase: string,
  opts: { quiet: boolean; signal: AbortSignal },
): Promise<PutResult[]> {
  const { quiet, signal } = opts;
  const files = info.isDirectory ? walk(local) : (async function* () {
    yield local;
  })();
  const results: PutResult[] = [];
  const batches = new Map<string, SmallFile[]>();
  const flush = async (dir: string) => {
    const batch = batches.get(dir);
    batches.delete(dir);
    if (batch?.length) results.push(...await putBatch(client, dir, batch, signal, quiet));
  };
  for await (const path of files) {
    const rel = info.isDirectory ? path.slice(local.replace(/\/+$/, "").length) : "";
    const remote = info.isDirectory ? normalizeRemote(remoteBase + "/" + rel) : remoteBase;
    const st = info.isDirectory ? await Deno.stat(path) : info;
    if (info.isDirectory && st.size <= PACK_FILE_MAX) {
      const dir = remote.slice(0, remote.lastIndexOf("/")) || "/";
      const batch = batches.get(dir) ?? [];
      batches.set(dir, batch);
      batch.push({ path, remote, size: st.size, mtime: st.mtime?.getTime() });
      const bytes = batch.reduce((a, f) => a + f.size, 0);
      if (batch.length >= BATCH_FILES || bytes >= BATCH_BYTES) await flush(dir);
      continue;
    }
    results.push(await putOne(client, path, remote, signal, quiet));
  }
  for (const dir of [...batches.keys()]) await flush(dir);
  return results;
}

/** How many small files, and how many of their bytes, go in one batch request. */
const BATCH_FILES = 256, BATCH_BYTES = 4 << 20;

interface SmallFile {
  path: string;
  remote: string;
  size: number;
  mtime?: number;
}

export interface PutResult {
  path: string;
  size: number;
  skipped: boolean;
  underReplicated: number;
  /** Bytes an interrupted put had already stored. */
  resumed: number;
}

/** Sends small files of one remote folder in one request. */
async function putBatch(
  client: NodeClient,
  dir: string,
  batch: SmallFile[],
  signal: AbortSignal,
  quiet: boolean,
): Promise<PutResult[]> {
  const form = new FormData();
  const meta = [];
  let total = 0;
  for (const f of batch) {
    const bytes = await Deno.readFile(f.path);
    total += bytes.length;
    const name = f.remote.slice(f.remote.lastIndexOf("/") + 1);
    meta.push({ name, ...(f.mtime !== undefined ? { mtime: f.mtime } : {}) });
    form.append("file", new Blob([bytes]), "file");
  }
  form.set("meta", JSON.stringify(meta));
  const progress = new Progress(`${dir} (${batch.length} small files)`, total, { quiet });
  const res = await client.fetch(remoteUrl("/api/v1/batch/", dir), {
    method: "POST",
    body: form,
    signal,
  });
  const r = await res.json() as {
    results: { name: string; size: number; skipped: boolean }[];
    underReplicated: number;
  };
  progress.add(total);
  const skipped = r.results.filter((x) => x.skipped).length;
  progress.finish(skipped === batch.length ? "unchanged" : `stored, ${skipped} unchanged`);
  return r.results.map((x, i) => ({
    path: batch[i]!.remote,
    size: x.size,
    skipped: x.skipped,
    underReplicated: r.underReplicated,
    resumed: 0,
  }));
}

async function putOne(
  client: NodeClient,
  path: string,
  remote: string,
  signal: AbortSignal,
  quiet: boolean,
): Promise<PutResult> {
  const st = await Deno.stat(path);
  const mtime = st.mtime ? st.mtime.getTime() : undefined;
  const send = async (skip: boolean) => {
    const progress = new Progress(remote, st.size, { quiet });
    const r = await client.upload(remoteUrl("/api/v1/files/", remote), path, {
      size: st.size,
      headers: {
        "x-mote-size": String(st.size),
        ...(mtime !== undefined ? { "x-mote-mtime": String(mtime) } : {}),
        ...(skip ? { "x-mote-skip-unchanged": "1" } : {}),
      },
      signal,
      onBytes: (n) => progress.add(n),
    }) as { size: number; skipped?: boolean; underReplicated?: number; resumed?: number };
    const resumed = r.resumed ?? 0;
    progress.finish(
      r.skipped ? "unchanged" : resumed ? `stored (resumed ${formatSize(resumed)})` : "stored",
    );
    return {
      path: remote,
      size: r.size,
      skipped: r.skipped === true,
      underReplicated: r.underReplicated ?? 0,
      resumed,
    };
  };
  // 409 means: same size and time as the newest version but new content, or content that
  // changed since an interrupted upload of it. Either way the node asks for the whole file again,
  // and at most once each.
  for (let attempt = 0;; attempt++) {
    try {
      return await send(attempt === 0 && mtime !== undefined);
    } catch (e) {
      if ((e as { status?: number }).status !== 409 || attempt === 2) throw e;
    }
  }
}

interface Listing {
  name: string;
  type: "file" | "folder";
  size: number;
  mtime: number;
  versions: number;
}

/** `mote get <remote> [local]` */
export async function getCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("get", args, {
    version: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  expectPositionals("get", positionals, 1, 2);
  const client = await connectToNode(dataDir);
  if (isRemotePath(positionals[0]!)) {
    // `<owner-id>:/path`: what another owner shares with this node, read from its suppliers.
    const got = await cancellable((signal) =>
      remoteGet(client, positionals[0]!, positionals[1], signal)
    );
    if (values.json) out(json(got));
    else {
      out(
        `${got.length} file${got.length === 1 ? "" : "s"} written (${
          formatSize(got.reduce((a, d) => a + d.size, 0))
        })`,
      );
    }
    return 0;
  }
  const remote = normalizeRemote(positionals[0]!);
  const local = positionals[1] ?? basename(remote === "/" ? "mote" : remote);
  const quiet = values.quiet === true || values.json === true;
  const version = values.version as string | undefined;
  if (version !== undefined && !/^\d+$/.test(version)) {
    throw new UsageError("--version takes a number", "get");
  }
  const folder = await client.get<{ entries: Listing[] }>(remoteUrl("/api/v1/ls/", remote)).then(
    () => true,
    () => false,
  );
  const done: { path: string; size: number }[] = [];
  await cancellable(async (signal) => {
    if (!folder) {
      done.push(await getOne(client, remote, local, signal, quiet, version));
      return;
    }
    const visit = async (dir: string, into: string): Promise<void> => {
      const { entries } = await client.get<{ entries: Listing[] }>(remoteUrl("/api/v1/ls/", dir));
      await Deno.mkdir(into, { recursive: true });
      for (const e of entries) {
        const r = `${dir === "/" ? "" : dir}/${e.name}`;
        if (e.type === "folder") await visit(r, join(into, e.name));
        else done.push(await getOne(client, r, join(into, e.name), signal, quiet));
      }
    };
    await visit(remote, local);
  });
  if (values.json) out(json(done));
  else {out(
      `${done.length} file${done.length === 1 ? "" : "s"} written (${
        formatSize(done.reduce((a, d) => a + d.size, 0))
      })`,
    );}
  return 0;
}

async function getOne(
  client: NodeClient,
  remote: string,
  local: string,
  signal: AbortSignal,
  quiet: boolean,
  version?: string,
): Promise<{ path: string; size: number }> {
  const res = await client.fetch(
    remoteUrl("/api/v1/files/", remote) + (version ? `?version=${version}` : ""),
    { signal },
  );
  const size = Number(res.headers.get("content-length") ?? 0);
  await Deno.mkdir(dirname(local), { recursive: true });
  // Write to a temporary file beside the target and rename when complete: an interrupted
  // download never leaves a half-written file under the real name.
  const tmp = `${local}.mote-part-${crypto.randomUUID().slice(0, 8)}`;
  const progress = new Progress(remote, size, { quiet });
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    await res.body!.pipeThrough(progress.counting()).pipeTo(file.writable, { signal });
    const written = (await Deno.stat(tmp)).size;
    if (written !== size) throw new CliError(`${remote}: got ${written} of ${size} bytes`);
    await Deno.rename(tmp, local);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  progress.finish("written");
  return { path: local, size };
}

/** `mote ls [remote]` */
export async function lsCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("ls", args, {
    long: { type: "boolean", short: "l" },
  });
  expectPositionals("ls", positionals, 0, 1);
  if (positionals[0] !== undefined && isRemotePath(positionals[0])) {
    const client = await connectToNode(dataDir);
    return await remoteLs(client, positionals[0], values.long === true, values.json === true, out);
  }
  const remote = normalizeRemote(positionals[0] ?? "/");
  if (values.long) {
    const { entries } = await (await connectToNode(dataDir)).get<{ entries: LongRow[] }>(
      remote === "/" ? "/api/v1/perms" : remoteUrl("/api/v1/perms/", remote),
    );
    if (values.json) return out(json(entries)), 0;
    return out(entries.length ? longTable(entries) : `${remote} is empty.`), 0;
  }
  const { entries } = await (await connectToNode(dataDir)).get<{ entries: Listing[] }>(
    remote === "/" ? "/api/v1/ls" : remoteUrl("/api/v1/ls/", remote),
  );
  if (values.json) return out(json(entries)), 0;
  if (entries.length === 0) return out(`${remote} is empty.`), 0;
  out(table(
    ["NAME", "SIZE", "MODIFIED", "VERSIONS"],
    entries.map((e) =>
      e.type === "folder" ? [e.name + "/", "-", "-", "-"] : [
        e.name,
        formatSize(e.size),
        new Date(e.mtime).toISOString().slice(0, 19).replace("T", " "),
        e.versions,
      ]
    ),
  ));
  return 0;
}

/** `mote rm <remote>` */
export async function rmCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("rm", args, {});
  expectPositionals("rm", positionals, 1, 1);
  const remote = normalizeRemote(positionals[0]!);
  await (await connectToNode(dataDir)).delete(remoteUrl("/api/v1/files/", remote));
  out(
    values.json
      ? json({ removed: remote })
      : `Removed ${remote} (its shards were deleted from the suppliers).`,
  );
  return 0;
}

/** `mote versions <remote>` */
export async function versionsCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("versions", args, {});
  expectPositionals("versions", positionals, 1, 1);
  const { versions } = await (await connectToNode(dataDir)).get<{
    versions: { version: number; size: number; mtime: number; added: number; stored: string }[];
  }>(remoteUrl("/api/v1/versions/", normalizeRemote(positionals[0]!)));
  if (values.json) return out(json(versions)), 0;
  out(table(
    ["VERSION", "SIZE", "ADDED", "SOURCE MODIFIED"],
    versions.map((v) => [v.version, formatSize(v.size), iso(v.added), iso(v.mtime)]),
  ));
  return 0;
}

/** `mote prune <remote> --keep N` */
export async function pruneCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("prune", args, {
    keep: { type: "string" },
    days: { type: "string" },
  });
  expectPositionals("prune", positionals, 1, 1);
  const rule: { keep?: number; days?: number } = {};
  if (values.keep !== undefined) {
    rule.keep = Number(values.keep);
    if (!Number.isInteger(rule.keep) || rule.keep < 1) {
      throw new UsageError("--keep takes a whole number of at least 1", "prune");
    }
  }
  if (values.days !== undefined) {
    rule.days = Number(values.days);
    if (!/^\d+(\.\d+)?$/.test(String(values.days))) {
      throw new UsageError("--days takes a number of days of at least 0", "prune");
    }
  }
  if (rule.keep === undefined && rule.days === undefined) rule.keep = 1;
  const r = await (await connectToNode(dataDir)).post<{ deleted: number }>("/api/v1/prune", {
    path: normalizeRemote(positionals[0]!),
    ...rule,
  });
  out(values.json ? json(r) : `Deleted ${r.deleted} old version${r.deleted === 1 ? "" : "s"}.`);
  return 0;
}

/** `mote suppliers` */
export async function suppliersCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("suppliers", args, { count: { type: "string" } });
  expectPositionals("suppliers", positionals, 0, 0);
  if (values.count !== undefined) return await setCount(String(values.count), dataDir, out);
  const r = await (await connectToNode(dataDir)).get<{
    code: string;
    wanted: number;
    suppliers: {
      supplier: string;
      quota: number;
      expiry: number;
      live: boolean;
      health: string;
      lastContact: number | null;
      lastAudit?: number | null;
      lastAuditOk?: boolean | null;
    }[];
    migration?: MigrationLine;
  }>("/api/v1/suppliers");
  if (values.json) return out(json(r)), 0;
  const live = r.suppliers.filter((s) => s.live).length;
  out(
    `New files use ${r.code} over ${r.wanted} suppliers; ${live} hired${
      live < r.wanted ? ", looking for more" : ""
    }.`,
  );
  const migrating = r.migration && migrationLine(r.migration);
  if (migrating) out(migrating);
  if (r.suppliers.length) {
    out(table(
      ["SUPPLIER", "QUOTA", "CONTRACT ENDS", "CONTRACT", "HEALTH", "LAST CONTACT", "LAST AUDIT"],
      r.suppliers.map((s) => [
        s.supplier,
        formatSize(s.quota),
        iso(s.expiry),
        s.live ? "live" : "expired",
        s.health,
        s.lastContact ? iso(s.lastContact) : "never",
        s.lastAudit ? `${iso(s.lastAudit)} ${s.lastAuditOk ? "ok" : "FAILED"}` : "never",
      ]),
    ));
  }
  return 0;
}

/** `mote health` */
export async function healthCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("health", args, {});
  expectPositionals("health", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<{
    audit: {
      interval: number;
      lostAfter: number;
      rounds: number;
      checked: number;
      bad: number;
      bytes: number;
      lastRound: number | null;
    };
    suppliers: (SupplierHealth & { hired: boolean })[];
    repair: { pendingShards: number; repairedShards: number; lastRepair: number | null };
  }>("/api/v1/health");
  if (values.json) return out(json(r)), 0;
  const a = r.audit;
  out(
    a.interval > 0
      ? `Audits every ${formatDuration(a.interval)}; a supplier failing for ${
        formatDuration(a.lostAfter)
      } is replaced. ${a.rounds} round(s) so far, ${a.checked} shard(s) checked, ${a.bad} bad${
        a.lastRound ? `, last at ${iso(a.lastRound)}` : ""
      }.`
      : "Audits are off (auditInterval 0).",
  );
  out(
    r.repair.pendingShards
      ? `Rebuilding: ${r.repair.pendingShards} shard(s) waiting; ${r.repair.repairedShards} rebuilt so far.`
      : `Fully redundant: nothing waiting to be rebuilt (${r.repair.repairedShards} shard(s) rebuilt so far).`,
  );
  if (r.suppliers.length) {
    out(table(
      ["SUPPLIER", "STATE", "HIRED", "LAST CONTACT", "LAST AUDIT", "AUDITS", "FAILED", "BAD"],
      r.suppliers.map((s) => [
        s.supplier,
        s.state + (s.reason ? ` (${s.reason})` : ""),
        s.hired ? "yes" : "no",
        s.lastContact ? iso(s.lastContact) : "never",
        s.lastAudit ? `${iso(s.lastAudit)} ${s.lastAuditOk ? "ok" : "FAILED"}` : "never",
        s.audits,
        s.auditFailures,
        s.badShards,
      ]),
    ));
  }
  return 0;
}

/** The migration status in the `/api/v1/suppliers` answer. */
export interface MigrationLine {
  code: string;
  state: string;
  files: number | null;
  folders: number | null;
}

/** "Migrating to 4+2: 3 files left.", or nothing when nothing is left on an old map. */
export function migrationLine(m: MigrationLine): string | undefined {
  const files = m.files ?? 0, folders = m.folders ?? 0;
  if (files + folders === 0) return undefined;
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  return `Migrating to ${m.code}: ${plural(files, "file")}${
    folders ? ` and ${plural(folders, "folder")}` : ""
  } left${m.state === "waiting" ? " (waiting for enough suppliers)" : ""}.`;
}

/** `mote du` */
export async function duCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("du", args, {});
  expectPositionals("du", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<{
    total: number;
    suppliers: { supplier: string; shards: number; bytes: number; reachable: boolean }[];
  }>("/api/v1/du");
  if (values.json) return out(json(r)), 0;
  out(table(
    ["SUPPLIER", "SHARDS", "USED", "REACHABLE"],
    r.suppliers.map((s) => [s.supplier, s.shards, formatSize(s.bytes), s.reachable ? "yes" : "NO"]),
  ));
  out(fields([["Total", formatSize(r.total)]]));
  return 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** `mote suppliers --count N`: saved in config.json, and applied to the running node if any. */
async function setCount(text: string, dataDir: string, out: Out): Promise<number> {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 2 || count > 64) {
    throw new UsageError(`--count takes a whole number from 2 to 64, got "${text}"`, "suppliers");
  }
  const file = join(dataDir, "config.json");
  await updateConfigFile(dataDir, { supplierCount: count });
  let code = "";
  try {
    const r = await (await connectToNode(dataDir)).post<{ k: number; m: number }>(
      "/api/v1/suppliers",
      { count },
    );
    code = ` New files use ${r.k}+${r.m} now; more suppliers are hired in the background.`;
  } catch (e) {
    if (!(e instanceof CliError) || !/No node is running/.test(e.message)) throw e;
    code = " It applies when the node starts.";
  }
  out(
    `Saved supplierCount ${count} in ${file}.${code} Files already stored stay readable and move to the new code in the background.`,
  );
  return 0;
}
