/**
 * `mote key export <file>` and `mote key import <file>`. Both work on the data directory
 * directly: export reads the identity key (the node may be running), import replaces it and so
 * refuses while a node runs on that directory.
 */
import { exportKeyFile, importKeyFile, isSealed } from "../identity/mod.ts";
import { isDataDirLocked } from "../node/data_dir.ts";
import { replaceIdentity } from "../node/identity_swap.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { json } from "./format.ts";
import { readIdentityOffline } from "./offline.ts";

type Out = (line: string) => void;
const FLAGS = {
  "passphrase-file": { type: "string" as const },
  force: { type: "boolean" as const },
};

async function readPassphrase(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return (await Deno.readTextFile(path)).replace(/\r?\n$/, "");
  } catch (e) {
    throw new CliError(`Cannot read the passphrase file ${path}: ${(e as Error).message}`);
  }
}

/** `mote key export|import ...` */
export async function keyCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "export" && sub !== "import") {
    throw new UsageError(
      `"key" needs "export" or "import", got ${sub ? `"${sub}"` : "nothing"}`,
      `key export`,
    );
  }
  const { values, positionals } = parseArgs(`key ${sub}`, rest, FLAGS);
  expectPositionals(`key ${sub}`, positionals, 1, 1);
  const file = positionals[0]!;
  const passphrase = await readPassphrase(values["passphrase-file"] as string | undefined);
  if (sub === "export") {
    const keys = await readIdentityOffline(dataDir);
    if (!keys) {
      throw new CliError(`There is no identity in ${dataDir} yet: run "mote start" once first`);
    }
    const text = await exportKeyFile(keys, passphrase);
    try {
      await Deno.writeTextFile(file, text, { mode: 0o600, createNew: !values.force });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new CliError(`${file} already exists: choose another name or pass --force`);
      }
      throw new CliError(`Cannot write ${file}: ${(e as Error).message}`);
    }
    out(
      values.json ? json({ id: keys.id, file, sealed: passphrase !== undefined }) : [
        `Exported the identity ${keys.id} to ${file}${
          passphrase ? " (sealed with your passphrase)" : ""
        }.`,
        "Keep it safe: this file alone is enough to recover your data and act as you.",
      ].join("\n"),
    );
    return 0;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new CliError(`Cannot read ${file}: ${(e as Error).message}`);
  }
  if (isSealed(text) && passphrase === undefined) {
    throw new CliError(`${file} is sealed with a passphrase: pass --passphrase-file`);
  }
  const keys = await importKeyFile(text, passphrase);
  if (await isDataDirLocked(dataDir)) {
    throw new CliError(
      `A node is running on ${dataDir}: stop it ("mote stop") before importing a key`,
    );
  }
  const current = await readIdentityOffline(dataDir).catch(() => null);
  if (current && current.id !== keys.id && !values.force) {
    throw new CliError(
      `${dataDir} already holds the identity ${current.id}; importing would replace it. ` +
        `Export it first, then pass --force`,
    );
  }
  // The imported identity may already own data: the node must find that catalog, not start a
  // new one; a replaced identity's key and customer state are kept aside.
  const { backup } = await replaceIdentity(dataDir, keys);
  if (values.json) out(json({ id: keys.id, backup }));
  else {
    out(`Installed the identity ${keys.id} in ${dataDir}.`);
    if (backup) out(`The identity it replaced, with its key, is kept in ${backup}.`);
  }
  return 0;
}
