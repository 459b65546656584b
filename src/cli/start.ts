/** `mote start`: runs the node in the foreground until Ctrl-C or `mote stop`. */
import {
  type Config,
  ConfigError,
  type ConfigFlags,
  loadConfig,
  type LoadedConfig,
  OPTIONS,
} from "../config/mod.ts";
import { UsageError } from "./errors.ts";
import { createLogger, fileSink, stderrSink } from "../log/mod.ts";
import { type RunningNode, runNode } from "../node/run.ts";
import { VERSION } from "../node/node.ts";
import { type FlagSpec, parseArgs, type Parsed } from "./args.ts";

/** The flags of `start`, derived from the option table. */
export function startFlags(): Record<string, FlagSpec> {
  const flags: Record<string, FlagSpec> = {};
  for (const o of OPTIONS) {
    if (!o.flag) continue;
    const name = o.flag.slice(2);
    flags[name] = o.type === "boolean"
      ? { type: "boolean" }
      : { type: "string", multiple: o.type === "string[]" };
    if (o.type === "boolean") flags[`no-${name}`] = { type: "boolean" };
  }
  return flags;
}

/**
 * The configuration for a node started by `command` (`start`, `restore`): the parsed start
 * flags over the environment over `<data>/config.json` over the defaults.
 */
export async function startConfig(
  command: string,
  values: Parsed["values"],
  dataDir: string,
): Promise<Config> {
  return (await loadStartConfig(command, values, dataDir)).config;
}

/** Like {@linkcode startConfig}, with where each value came from. */
async function loadStartConfig(
  command: string,
  values: Parsed["values"],
  dataDir: string,
): Promise<LoadedConfig> {
  const flags: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    if (!o.flag) continue;
    const name = o.flag.slice(2);
    if (values[`no-${name}`]) flags[o.key] = false;
    else if (values[name] !== undefined) flags[o.key] = values[name];
  }
  try {
    return await loadConfig({ dataDir, flags: flags as ConfigFlags, env: Deno.env.toObject() });
  } catch (e) {
    // A bad flag value is a wrong command line (exit 2 with usage); a bad file or variable is not.
    if (e instanceof ConfigError && /(^|\s)--[a-z]/.test(e.message)) {
      throw new UsageError(e.message, command);
    }
    throw e;
  }
}

/**
 * Runs `start`; resolves with the exit code once the node has stopped. A restart asked through
 * the API (new settings, an imported key) stops the node and starts it again in this process,
 * with the configuration loaded afresh (the same flags still win).
 */
export async function startCommand(args: string[], dataDir: string): Promise<number> {
  const { values } = parseArgs("start", args, startFlags());
  let config = await startConfig("start", values, dataDir);
  const reload = () => loadStartConfig("start", values, dataDir);
  const file = fileSink(`${dataDir}/logs/mote.log`, { maxBytes: config.logFileSize });
  const log = createLogger({
    level: config.logLevel,
    sinks: [stderrSink({ color: Deno.stderr.isTerminal() }), file],
  });
  let running: RunningNode | undefined;
  let stopping = false;
  const onSignal = () => {
    // A second Ctrl-C while stopping forces the exit.
    if (stopping) Deno.exit(130);
    stopping = true;
    console.error("\nStopping…");
    running?.stop();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    for (;;) {
      running = await runNode(dataDir, config, log, { reload });
      printBanner(running, config, Boolean(values.json), dataDir);
      if (stopping) running.stop();
      const how = await running.stopped;
      if (how !== "restart" || stopping) break;
      if (!values.json) console.log("Restarting…");
      // Ports the system chose (0) stay as they were, so open pages and clients find the node.
      const fresh = (await reload()).config;
      const pinned = running.ports;
      for (const k of ["port", "gatewayPort", "p2pPort", "wsPort"] as const) {
        if (fresh[k] === 0) fresh[k] = pinned[k];
      }
      config = fresh;
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    log.info("stopped");
    file.close();
  }
  if (!values.json) console.log("Stopped.");
  return 0;
}

function printBanner(running: RunningNode, config: Config, asJson: boolean, dataDir: string) {
  const { info, node, devnet } = running;
  if (asJson) {
    console.log(
      JSON.stringify({ ...info, peerId: node.p2p.peerId.toString(), addresses: node.addresses() }),
    );
    return;
  }
  console.log(
    [
      `Mote ${VERSION} is running.`,
      `  Web UI and API:  ${info.api}${
        config.apiPassword ? ` (remote access with a password on ${config.apiHost})` : ""
      }`,
      `  Public gateway:  ${info.gateway}`,
      `  Node id:         ${node.id}`,
      `  Peer id:         ${node.p2p.peerId}`,
      `  Listening on:    ${node.addresses().join("\n                   ")}`,
      devnet
        ? `  Network:         embedded local network (${devnet.ids.length} supplier nodes on 127.0.0.1; no bootstrap peers given)`
        : `  Network:         ${config.bootstrap.length} bootstrap peer(s)`,
      `  Data:            ${dataDir}`,
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );
}
