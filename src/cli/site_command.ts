/**
 * `mote site publish <dir> --name <name>`, `mote site ls`, `mote site rm <name>`: static sites
 * hosted on the network. Publishing uploads the folder into the catalog (`/.sites/<name>/`, so
 * unchanged files are skipped and an interrupted upload resumes) and then signs the site record
 * naming exactly the files of the folder, so the switch to the new version is atomic.
 */
import { relative } from "node:path";
import type { SiteRow } from "../../gateway/site_api.ts";
import { formatSize } from "../config/mod.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode } from "./client.ts";
import { CliError, UsageError } from "./errors.ts";
import { cancellable, uploadFiles, walk } from "./file_commands.ts";
import { json, table } from "./format.ts";

type Out = (line: string) => void;
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `mote site publish|ls|rm ...` */
export async function siteCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "publish":
      return await publish(rest, dataDir, out);
    case "ls":
      return await list(rest, dataDir, out);
    case "rm":
      return await remove(rest, dataDir, out);
    default:
      throw new UsageError(
        `"site" needs "publish", "ls" or "rm" first, got ${
          sub ? `"${sub.slice(0, 40)}"` : "nothing"
        }`,
        "site",
      );
  }
}

function checkName(name: unknown, command: string): string {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new UsageError(
      `A site name is 1 to 63 lower-case letters, digits and hyphens, not ${
        JSON.stringify(name ?? "").slice(0, 60)
      }`,
      command,
    );
  }
  return name;
}

async function publish(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("site publish", args, {
    name: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  expectPositionals("site publish", positionals, 1, 1);
  const name = checkName(values.name, "site publish");
  const dir = positionals[0]!.replace(/\/+$/, "") || "/";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    throw new CliError(`Cannot read ${dir}: ${(e as Error).message}`);
  }
  if (!info.isDirectory) throw new CliError(`${dir} is not a folder`);
  const files: string[] = [];
  for await (const p of walk(dir)) files.push("/" + relative(dir, p).split("\\").join("/"));
  if (files.length === 0) throw new CliError(`${dir} has no files to publish`);
  if (!files.includes("/index.html")) {
    out(`Note: ${dir} has no index.html; visitors to / will get the site's 404.`);
  }
  const client = await connectToNode(dataDir);
  const quiet = values.quiet === true || values.json === true;
  const results = await cancellable((signal) =>
    uploadFiles(client, dir, info, `/.sites/${name}`, { quiet, signal })
  );
  const r = await client.post<{
    name: string;
    address: string;
    seq: number;
    files: number;
    bytes: number;
    urls: string[];
  }>(`/api/v1/sites/${name}`, { files });
  if (values.json) return out(json(r)), 0;
  const sent = results.filter((x) => !x.skipped).length;
  out(
    `Published ${name}: ${r.files} files, ${formatSize(r.bytes)} (${sent} uploaded, ${
      results.length - sent
    } unchanged), version ${r.seq}.`,
  );
  out(`Address: ${r.address}`);
  for (const u of r.urls) out(`  ${u}`);
  out("Any node's gateway serves it at /s/<address>/ or <address>.<gateway host>.");
  return 0;
}

async function list(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("site ls", args, {});
  expectPositionals("site ls", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<{ sites: SiteRow[] }>("/api/v1/sites");
  if (values.json) return out(json(r.sites)), 0;
  if (r.sites.length === 0) {
    out("No sites yet. Publish one with: mote site publish <dir> --name <name>");
    return 0;
  }
  out(table(
    ["NAME", "STATE", "FILES", "SIZE", "VERSION", "PUBLISHED", "URL"],
    r.sites.map((s) => [
      s.name,
      s.removed ? "removed" : s.seq === null ? "not published" : "live",
      s.files,
      formatSize(s.bytes),
      s.seq ?? "-",
      s.published ? new Date(s.published).toISOString().slice(0, 19).replace("T", " ") : "-",
      s.urls[0] ?? "",
    ]),
  ));
  return 0;
}

async function remove(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("site rm", args, {});
  expectPositionals("site rm", positionals, 1, 1);
  const name = checkName(positionals[0], "site rm");
  const r = await (await connectToNode(dataDir)).delete<
    { name: string; address: string; files: number }
  >(`/api/v1/sites/${name}`);
  if (values.json) return out(json(r)), 0;
  out(`Unpublished ${r.name} (${r.address}); ${r.files} files deleted.`);
  return 0;
}
