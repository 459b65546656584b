/**
 * Sharing commands (issue 8, docs/sharing.md): `chmod <mode> <path>`, `chgrp <group|-> <path>`,
 * `group create|add|remove|ls`, `share <path> --with <id|group:name> --read [--revoke]`,
 * `share ls`, and reading what others share: `ls [-l] <owner-id>:/path` and
 * `get <owner-id>:/path [local]` (used by `ls` and `get` for such paths).
 */
import { basename, dirname, join } from "node:path";
import { formatSize, parseSize } from "../config/mod.ts";
import { formatMode } from "../sharing/mode.ts";
import { parseRemotePath } from "../sharing/remote_path.ts";
import type { LongListing } from "../sharing/rows.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode, type NodeClient } from "./client.ts";
import { CliError, UsageError } from "./errors.ts";
import { json, table } from "./format.ts";

type Out = (line: string) => void;

/** A row of a long listing, as the API answers it. */
export type LongRow = LongListing;

/** Prints rows as `ls -l` does: type and mode, owner, group, size, date, name. */
export function longTable(rows: LongRow[]): string {
  return table(
    ["MODE", "OWNER", "GROUP", "SIZE", "MODIFIED", "NAME"],
    rows.map((e) => [
      (e.type === "folder" ? "d" : "-") + formatMode(e.mode),
      e.owner.slice(0, 8),
      e.group ?? "-",
      e.type === "folder" ? "-" : formatSize(e.size),
      e.type === "folder" ? "-" : new Date(e.mtime).toISOString().slice(0, 19).replace("T", " "),
      e.type === "folder" ? e.name + "/" : e.name,
    ]),
  );
}

function enc(parts: readonly string[]): string {
  return parts.map(encodeURIComponent).join("/");
}

/**
 * `mote chmod <mode> <path> [--cap SIZE]`. `--cap`: bytes each of the owner's suppliers takes
 * under the folder's write key when the mode gives others write (o+w); 64 MiB when o+w is newly
 * given without it.
 */
export async function chmodCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("chmod", args, { cap: { type: "string" } });
  expectPositionals("chmod", positionals, 2, 2);
  const [mode, path] = positionals as [string, string];
  let cap: number | undefined;
  if (values.cap !== undefined) {
    try {
      cap = parseSize(values.cap as string);
    } catch (e) {
      throw new UsageError(`--cap: ${(e as Error).message}`, "chmod");
    }
    if (cap <= 0) throw new UsageError("--cap: a cap is at least 1 byte", "chmod");
  }
  const r = await (await connectToNode(dataDir)).post<{
    path: string;
    mode: number;
    othersWrite?: { cap: number };
    writeRotated?: boolean;
  }>("/api/v1/chmod", { path, mode, ...(cap !== undefined ? { cap } : {}) });
  if (values.json) return out(json(r)), 0;
  out(`${r.path}: ${formatMode(r.mode)}`);
  if (r.othersWrite) {
    out(
      `Anyone may write files into ${r.path}: at most ${formatSize(r.othersWrite.cap)} on each ` +
        `of your suppliers (one cap for every writer of the folder; change it with --cap).`,
    );
  }
  if (r.writeRotated) {
    out(
      `Others may no longer write to ${r.path}: its write key was rotated, and your suppliers ` +
        `refuse the published one from now on. What was written before stays.`,
    );
  }
  return 0;
}

/** `mote chgrp <group|-> <path>` */
export async function chgrpCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("chgrp", args, {});
  expectPositionals("chgrp", positionals, 2, 2);
  const [group, path] = positionals as [string, string];
  const r = await (await connectToNode(dataDir)).post<{ path: string; group: string | null }>(
    "/api/v1/chgrp",
    { path, group: group === "-" ? null : group },
  );
  out(values.json ? json(r) : `${r.path}: group ${r.group ?? "none"}`);
  return 0;
}

/** `mote group create|add|remove|ls` */
export async function groupCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs(`group ${sub ?? ""}`.trim(), rest, {});
  const name = positionals[0] ?? "";
  type Row = { name: string; epoch: number; members: string[] };
  const show = (r: Row) =>
    values.json ? json(r) : `${r.name}: epoch ${r.epoch}, ${r.members.length} members`;
  switch (sub) {
    case "create": {
      expectPositionals("group create", positionals, 1, 1);
      const r = await (await connectToNode(dataDir)).post<Row>("/api/v1/groups", { name });
      return out(show(r)), 0;
    }
    case "add": {
      expectPositionals("group add", positionals, 2, 2);
      const r = await (await connectToNode(dataDir)).post<Row>(
        `/api/v1/groups/${encodeURIComponent(name)}/members`,
        { id: positionals[1] },
      );
      return out(show(r)), 0;
    }
    case "remove": {
      expectPositionals("group remove", positionals, 2, 2);
      const r = await (await connectToNode(dataDir)).delete<Row>(
        `/api/v1/groups/${encodeURIComponent(name)}/members/${encodeURIComponent(positionals[1]!)}`,
      );
      if (!values.json) out(`${show(r)} (new epoch: what the group could read was re-keyed)`);
      else out(show(r));
      return 0;
    }
    case "ls": {
      expectPositionals("group ls", positionals, 0, 0);
      const r = await (await connectToNode(dataDir)).get<{
        owned: Row[] | null;
        memberOf: { owner: string; name: string; epoch: number; members: number }[];
      }>("/api/v1/groups");
      if (values.json) return out(json(r)), 0;
      if (r.owned === null) out("Your own groups show once storage is ready.");
      const rows = [
        ...(r.owned ?? []).map((g) => [g.name, "you", g.epoch, g.members.length]),
        ...r.memberOf.map((g) => [g.name, g.owner, g.epoch, g.members]),
      ];
      out(rows.length ? table(["GROUP", "OWNER", "EPOCH", "MEMBERS"], rows) : "No groups.");
      return 0;
    }
    default:
      throw new UsageError(
        `"group" needs "create", "add", "remove" or "ls" first, got ${
          sub ? `"${sub.slice(0, 40)}"` : "nothing"
        }`,
        "group",
      );
  }
}

/**
 * `mote share <path> --with <id|group:name> --read|--write [--cap 1GiB] [--revoke]`,
 * `mote share ls`
 */
export async function shareCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  if (args[0] === "ls") {
    const { values, positionals } = parseArgs("share ls", args.slice(1), {});
    expectPositionals("share ls", positionals, 0, 0);
    const { shares } = await (await connectToNode(dataDir)).get<{
      shares: {
        path: string;
        kind: string;
        readers: string[];
        groups: string[];
        public: boolean;
        writers?: string[];
        writeGroups?: string[];
        othersWrite?: boolean;
        cap?: number;
      }[];
    }>("/api/v1/shares");
    if (values.json) return out(json(shares)), 0;
    out(
      shares.length
        ? table(
          ["PATH", "KIND", "READERS", "GROUPS", "PUBLIC", "WRITERS", "CAP"],
          shares.map((s) => [
            s.path,
            s.kind,
            s.readers.map((r) => r.slice(0, 8)).join(",") || "-",
            s.groups.join(",") || "-",
            s.public ? "yes" : "no",
            [
              ...(s.writers ?? []).map((r) => r.slice(0, 8)),
              ...(s.writeGroups ?? []).map((g) => `group:${g}`),
              ...(s.othersWrite ? ["everyone"] : []),
            ].join(",") || "-",
            s.cap !== undefined ? formatSize(s.cap) : "-",
          ]),
        )
        : "Nothing is shared.",
    );
    return 0;
  }
  const { values, positionals } = parseArgs("share", args, {
    with: { type: "string" },
    read: { type: "boolean" },
    write: { type: "boolean" },
    revoke: { type: "boolean" },
    cap: { type: "string" },
  });
  expectPositionals("share", positionals, 1, 1);
  if (typeof values.with !== "string") {
    throw new UsageError("Say with whom: --with <node id> or --with group:<name>", "share");
  }
  if (!values.read && !values.write && !values.revoke) {
    throw new UsageError("Say what to share: --read or --write (--revoke takes it back)", "share");
  }
  if (values.read && values.write) {
    throw new UsageError("--write gives read too: give one of --read and --write", "share");
  }
  let cap: number | undefined;
  if (values.cap !== undefined) {
    if (!values.write || values.revoke) {
      throw new UsageError("--cap goes with --write (bytes each supplier takes)", "share");
    }
    try {
      cap = parseSize(values.cap as string);
    } catch (e) {
      throw new UsageError(`--cap: ${(e as Error).message}`, "share");
    }
  }
  const r = await (await connectToNode(dataDir)).post<{
    path: string;
    readers: string[];
    groups: string[];
    public: boolean;
    writers?: string[];
    writeGroups?: string[];
  }>("/api/v1/shares", {
    path: positionals[0],
    with: values.with,
    ...(values.revoke ? { revoke: true } : {}),
    ...(values.write ? { write: true } : {}),
    ...(cap !== undefined ? { cap } : {}),
  });
  if (values.json) return out(json(r)), 0;
  out(
    `${r.path}: readable by ${r.readers.length} node(s), groups [${r.groups.join(", ")}]${
      r.public ? ", everyone" : ""
    }`,
  );
  if (r.writers || r.writeGroups) {
    out(
      `${r.path}: writable by ${r.writers?.length ?? 0} node(s), groups [${
        (r.writeGroups ?? []).join(", ")
      }]`,
    );
  }
  if (values.revoke && values.write) {
    out(
      "Its write key was rotated: the revoked writer's requests are refused by your suppliers " +
        "from now on (it can still read). What it wrote before stays.",
    );
  } else if (values.revoke) {
    out(
      "Its key was rotated: the revoked reader cannot open it from now on, but what it already " +
        "downloaded cannot be unread, and file versions it fetched keep their old keys.",
    );
  }
  return 0;
}

/** `mote ls [-l] <owner-id>:/path`: what another owner shares with this node. */
export async function remoteLs(
  client: NodeClient,
  address: string,
  long: boolean,
  asJson: boolean,
  out: Out,
): Promise<number> {
  const p = parseRemotePath(address);
  const { entries } = await client.get<{ entries: LongRow[] }>(
    p.parts.length === 0
      ? `/api/v1/shared/${p.owner}`
      : `/api/v1/shared/${p.owner}/ls/${enc(p.parts)}`,
  );
  if (asJson) return out(json(entries)), 0;
  if (entries.length === 0) return out(`${address} is empty.`), 0;
  if (long) return out(longTable(entries)), 0;
  out(table(
    ["NAME", "SIZE", "MODIFIED"],
    entries.map((e) =>
      e.type === "folder" ? [e.name + "/", "-", "-"] : [
        e.name,
        formatSize(e.size),
        new Date(e.mtime).toISOString().slice(0, 19).replace("T", " "),
      ]
    ),
  ));
  return 0;
}

/** `mote get <owner-id>:/path [local]`: a shared file, or a shared folder whole. */
export async function remoteGet(
  client: NodeClient,
  address: string,
  local: string | undefined,
  signal: AbortSignal,
): Promise<{ path: string; size: number }[]> {
  const p = parseRemotePath(address);
  const target = local ?? (p.parts.at(-1) ?? p.owner.slice(0, 8));
  const done: { path: string; size: number }[] = [];
  const one = async (parts: readonly string[], into: string) => {
    const res = await client.fetch(`/api/v1/shared/${p.owner}/files/${enc(parts)}`, { signal });
    const size = Number(res.headers.get("content-length") ?? 0);
    await Deno.mkdir(dirname(into), { recursive: true });
    const tmp = `${into}.mote-part-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true });
      await res.body!.pipeTo(file.writable, { signal });
      const written = (await Deno.stat(tmp)).size;
      if (written !== size) throw new CliError(`${address}: got ${written} of ${size} bytes`);
      await Deno.rename(tmp, into);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    done.push({ path: into, size });
  };
  const list = (parts: readonly string[]) =>
    client.get<{ entries: LongRow[] }>(
      parts.length ? `/api/v1/shared/${p.owner}/ls/${enc(parts)}` : `/api/v1/shared/${p.owner}`,
    );
  // A folder lists; a file (or a refusal, which the file fetch then reports) does not.
  const folder = await list(p.parts).catch(() => undefined);
  if (!folder) {
    await one(p.parts, target);
    return done;
  }
  const visit = async (parts: readonly string[], into: string, entries: LongRow[]) => {
    await Deno.mkdir(into, { recursive: true });
    for (const e of entries) {
      const child = [...parts, e.name];
      if (e.type === "folder") await visit(child, join(into, e.name), (await list(child)).entries);
      else await one(child, join(into, e.name));
    }
  };
  await visit(p.parts, target, folder.entries);
  return done;
}

/**
 * `mote put <local> <owner-id>:/folder/[name]`: writes one file into a folder another owner
 * shares with this node for writing (a trailing `/` keeps the local name).
 */
export async function remotePut(
  client: NodeClient,
  local: string,
  address: string,
  signal: AbortSignal,
): Promise<{ path: string; size: number; shards: number }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(local);
  } catch (e) {
    throw new CliError(`Cannot read ${local}: ${(e as Error).message}`);
  }
  if (!info.isFile) {
    throw new CliError(`${local} is not a file: write files one at a time into a shared folder`);
  }
  const p = parseRemotePath(address);
  const parts = address.endsWith("/") ? [...p.parts, basename(local)] : p.parts;
  if (parts.length < 2) {
    throw new UsageError(`Name a folder shared with you: ${p.owner}:/folder/`, "put");
  }
  return await client.upload(`/api/v1/shared/${p.owner}/files/${enc(parts)}`, local, {
    size: info.size,
    headers: {
      "x-mote-size": String(info.size),
      ...(info.mtime ? { "x-mote-mtime": String(info.mtime.getTime()) } : {}),
    },
    signal,
  }) as { path: string; size: number; shards: number };
}
