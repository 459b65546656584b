/**
 * `mote link <path> [--expires 7d]`, `mote link ls`, `mote link rm <id>`: quick links, through
 * the running node's API. A link is a snapshot of the file or folder under a fresh key; the URL
 * (the key in its #fragment) is printed once and never kept by the node. A link already opened
 * cannot be taken back: `rm` and `--expires` only delete the snapshot from the suppliers.
 */
import { formatSize, parseDuration } from "../config/mod.ts";
import type { LinkRow } from "../../gateway/link_api.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode } from "./client.ts";
import { UsageError } from "./errors.ts";
import { json, table } from "./format.ts";

type Out = (line: string) => void;

const when = (ms: number | null) =>
  ms === null ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");

/** `mote link <path> | ls | rm <id>` */
export async function linkCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  // A catalog path starts with "/"; a bare "ls" or "rm" is the subcommand.
  if (sub === "ls") return await list(rest, dataDir, out);
  if (sub === "rm") return await remove(rest, dataDir, out);
  return await create(args, dataDir, out);
}

async function create(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("link", args, { expires: { type: "string" } });
  expectPositionals("link", positionals, 1, 1);
  let expires: number | undefined;
  if (values.expires !== undefined) {
    try {
      expires = parseDuration(values.expires as string);
    } catch (e) {
      throw new UsageError(`--expires: ${(e as Error).message}`, "link");
    }
    if (expires < 1000) throw new UsageError("--expires must be at least 1s", "link");
  }
  const client = await connectToNode(dataDir);
  const r = await client.post<LinkRow & { url: string }>("/api/v1/links", {
    path: positionals[0],
    ...(expires !== undefined ? { expires } : {}),
  });
  if (values.json) return out(json(r)), 0;
  out(
    `Link ${r.id} to ${r.path}: ${r.files} file(s), ${formatSize(r.bytes)}, expires ${
      when(r.expires)
    }.`,
  );
  out(r.url);
  out("Anyone with this URL can download the files as they are now (later changes are not");
  out("in it). It is shown only this once. Once opened it cannot be taken back; `mote link rm`");
  out("and --expires only delete the snapshot from your suppliers.");
  return 0;
}

async function list(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("link ls", args, {});
  expectPositionals("link ls", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<{ links: LinkRow[] }>("/api/v1/links");
  if (values.json) return out(json(r.links)), 0;
  if (r.links.length === 0) {
    out("No links. Make one with: mote link <path> [--expires 7d]");
    return 0;
  }
  out(table(
    ["ID", "PATH", "FILES", "SIZE", "CREATED", "EXPIRES"],
    r.links.map((
      l,
    ) => [l.id, l.path, l.files, formatSize(l.bytes), when(l.created), when(l.expires)]),
  ));
  return 0;
}

async function remove(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("link rm", args, {});
  expectPositionals("link rm", positionals, 1, 1);
  const id = positionals[0]!;
  if (!/^[0-9a-f]{12}$/.test(id)) {
    throw new UsageError(`"${id.slice(0, 40)}" is not a link id (see: mote link ls)`, "link rm");
  }
  const r = await (await connectToNode(dataDir)).delete<LinkRow>(`/api/v1/links/${id}`);
  if (values.json) return out(json(r)), 0;
  out(`Deleted link ${r.id} (${r.path}) from your suppliers. Copies already downloaded remain.`);
  return 0;
}
