/**
 * `mote restore --key <key-file>`: bring everything back on a fresh machine from the key alone.
 * It installs the identity (refusing to replace another one without `--force`), uses the node
 * running on the data directory (it must hold that identity) or starts one in-process with the
 * given `start` flags (`--bootstrap` to reach the network), waits until the catalog is found in
 * the network, lists what it holds, and with `--to <dir>` downloads every file.
 */
import { formatSize } from "../config/mod.ts";
import { importKeyFile, isSealed } from "../identity/mod.ts";
import { createLogger, fileSink, stderrSink } from "../log/mod.ts";
import { isDataDirLocked } from "../node/data_dir.ts";
import { replaceIdentity } from "../node/identity_swap.ts";
import { runNode } from "../node/run.ts";
import { parseArgs } from "./args.ts";
import { connectToNode, type NodeClient } from "./client.ts";
import { CliError, UsageError } from "./errors.ts";
import { getCommand } from "./file_commands.ts";
import { readIdentityOffline } from "./offline.ts";
import { startConfig, startFlags } from "./start.ts";

type Out = (line: string) => void;

/** `mote restore --key F [--passphrase-file P] [--to DIR] [--force] [start flags]` */
export async function restoreCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values } = parseArgs("restore", args, {
    ...startFlags(),
    key: { type: "string" },
    "passphrase-file": { type: "string" },
    to: { type: "string" },
    force: { type: "boolean" },
    wait: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  if (typeof values.key !== "string") {
    throw new UsageError("restore needs --key <key-file>", "restore");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(values.key);
  } catch (e) {
    throw new CliError(`Cannot read ${values.key}: ${(e as Error).message}`);
  }
  const passFile = values["passphrase-file"] as string | undefined;
  if (isSealed(text) && !passFile) {
    throw new CliError(`${values.key} is sealed with a passphrase: pass --passphrase-file`);
  }
  const passphrase = passFile
    ? (await Deno.readTextFile(passFile)).replace(/\r?\n$/, "")
    : undefined;
  const keys = await importKeyFile(text, passphrase);
  const waitMs = Number(values.wait ?? "120") * 1000;

  let stopInProcess: (() => Promise<void>) | undefined;
  if (await isDataDirLocked(dataDir)) {
    const client = await connectToNode(dataDir);
    const s = await client.get<{ id: string }>("/api/v1/status");
    if (s.id !== keys.id) {
      throw new CliError(
        `The node running on ${dataDir} is ${s.id}, not ${keys.id}: stop it first, or use another --data`,
      );
    }
  } else {
    const current = await readIdentityOffline(dataDir).catch(() => null);
    if (current && current.id !== keys.id && !values.force) {
      throw new CliError(
        `${dataDir} holds the identity ${current.id}; restoring ${keys.id} would replace it (pass --force)`,
      );
    }
    if (!current || current.id !== keys.id) {
      const { backup } = await replaceIdentity(dataDir, keys);
      if (backup) out(`The identity it replaced, with its key, is kept in ${backup}.`);
    }
    const config = await startConfig("restore", values, dataDir);
    if (config.devnet) {
      out(
        "Note: no --bootstrap peers were given, so the node runs its own embedded network; the data is",
      );
      out(
        "only found there if it was stored there. Pass --bootstrap <multiaddr> to reach another network.",
      );
    }
    const file = fileSink(`${dataDir}/logs/mote.log`, { maxBytes: config.logFileSize });
    const log = createLogger({ level: "warn", sinks: [stderrSink(), file] });
    const running = await runNode(dataDir, config, log);
    stopInProcess = async () => {
      await running.stop();
      file.close();
    };
    out(`Started a node for ${keys.id} to restore from the network.`);
  }
  try {
    const client = await connectToNode(dataDir);
    const listing = await waitForCatalog(client, waitMs);
    const { files, bytes } = await count(client, "/", listing);
    out(
      `Found the catalog of ${keys.id}: ${files} file${files === 1 ? "" : "s"}, ${
        formatSize(bytes)
      }.`,
    );
    if (typeof values.to === "string") {
      await getCommand(
        [
          "/",
          values.to,
          "--data",
          dataDir,
          ...(values.json ? ["--json"] : []),
          ...(values.quiet ? ["-q"] : []),
        ],
        dataDir,
        out,
      );
    } else {
      out('Every file is readable again: "mote ls" lists them, "mote get" fetches them.');
    }
  } finally {
    await stopInProcess?.();
  }
  return 0;
}

type Entry = { name: string; type: "file" | "folder"; size: number };

async function waitForCatalog(client: NodeClient, ms: number): Promise<Entry[]> {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    try {
      return (await client.get<{ entries: Entry[] }>("/api/v1/ls")).entries;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new CliError(`The catalog was not found within ${Math.round(ms / 1000)} s: ${last}`);
}

async function count(
  client: NodeClient,
  dir: string,
  entries: Entry[],
): Promise<{ files: number; bytes: number }> {
  let files = 0, bytes = 0;
  for (const e of entries) {
    if (e.type === "file") {
      files++;
      bytes += e.size;
    } else {
      const path = `${dir === "/" ? "" : dir}/${e.name}`;
      const sub = await client.get<{ entries: Entry[] }>(
        "/api/v1/ls/" + path.split("/").filter(Boolean).map(encodeURIComponent).join("/"),
      );
      const c = await count(client, path, sub.entries);
      files += c.files;
      bytes += c.bytes;
    }
  }
  return { files, bytes };
}
