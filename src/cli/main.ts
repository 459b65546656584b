/**
 * The `mote` command line: dispatches to the commands, maps errors to exit codes (2 for a wrong
 * command line, 1 for a failure) and prints errors without stack traces.
 */
import { ConfigError, resolveDataDir } from "../config/mod.ts";
import { VERSION } from "../node/node.ts";
import { COMMANDS as COMMAND_HELP, commandUsage, usage } from "./usage.ts";
import { CliError, UsageError } from "./errors.ts";
import { startCommand } from "./start.ts";
import {
  connectCommand,
  idCommand,
  identityCommand,
  peersCommand,
  statusCommand,
  stopCommand,
} from "./node_commands.ts";
import { keyCommand } from "./key_commands.ts";
import { configCommand } from "./config_command.ts";
import { restoreCommand } from "./restore.ts";
import {
  duCommand,
  getCommand,
  healthCommand,
  lsCommand,
  pruneCommand,
  putCommand,
  rmCommand,
  suppliersCommand,
  versionsCommand,
} from "./file_commands.ts";
import { scrubCommand } from "./scrub_command.ts";
import { siteCommand } from "./site_command.ts";
import { chgrpCommand, chmodCommand, groupCommand, shareCommand } from "./share_commands.ts";
import { linkCommand } from "./link_command.ts";
import { worldCommand } from "./world_command.ts";

type Command = (args: string[], dataDir: string, out: (line: string) => void) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: (args, dataDir) => startCommand(args, dataDir),
  status: statusCommand,
  id: idCommand,
  peers: peersCommand,
  connect: connectCommand,
  identity: identityCommand,
  stop: stopCommand,
  key: keyCommand,
  config: configCommand,
  put: putCommand,
  get: getCommand,
  ls: lsCommand,
  rm: rmCommand,
  versions: versionsCommand,
  prune: pruneCommand,
  suppliers: suppliersCommand,
  du: duCommand,
  health: healthCommand,
  scrub: scrubCommand,
  site: siteCommand,
  chmod: chmodCommand,
  chgrp: chgrpCommand,
  group: groupCommand,
  share: shareCommand,
  link: linkCommand,
  world: worldCommand,
  restore: restoreCommand,
};

/** Finds `--data DIR` / `--data=DIR` anywhere in the arguments. */
function dataFlag(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--data") return args[i + 1];
    if (a.startsWith("--data=")) return a.slice(7);
  }
  return undefined;
}

/** Runs the CLI with `args`; resolves with the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const out = (line: string) => console.log(line);
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    const topic = command === "help" ? rest.join(" ") : "";
    out(topic ? commandUsage(topic) : usage());
    return 0;
  }
  if (command === "--version" || command === "-V" || command === "version") {
    out(`mote ${VERSION}`);
    return 0;
  }
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`Unknown command "${command}"`);
    if (rest.includes("--help") || rest.includes("-h")) {
      const sub = rest[0] && !rest[0].startsWith("-") ? `${command} ${rest[0]}` : command;
      out(commandUsage(sub in COMMAND_HELP ? sub : command));
      return 0;
    }
    const env = Deno.env.toObject();
    const dataDir = resolveDataDir({
      flag: dataFlag(rest),
      env,
      home: env.HOME ?? env.USERPROFILE,
    });
    return await run(rest, dataDir, out);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`mote: ${e.message}\n`);
      console.error(e.command ? commandUsage(e.command) : usage());
      return 2;
    }
    if (e instanceof CliError || e instanceof ConfigError || isUserFacing(e)) {
      console.error(`mote: ${(e as Error).message}`);
      return 1;
    }
    console.error(`mote: unexpected error: ${(e as Error)?.stack ?? e}`);
    return 1;
  }
}

function isUserFacing(e: unknown): boolean {
  const names = [
    "DataDirLockedError",
    "PortInUseError",
    "PassphraseError",
    "DecodeError",
    "ConfigError",
  ];
  return e instanceof Error && names.includes(e.name);
}
