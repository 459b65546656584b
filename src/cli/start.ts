/** `mote start`: runs the node in the foreground until Ctrl-C or `mote stop`. */
import { type Config, ConfigError, type ConfigFlags, loadConfig, OPTIONS } from "../config/mod.ts";
import { UsageError } from "./errors.ts";
import { createLogger, fileSink, stderrSink } from "../log/mod.ts";
import { runNode } from "../node/run.ts";
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
  const flags: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    if (!o.flag) continue;
    const name = o.flag.slice(2);
    if (values[`no-${name}`]) flags[o.key] = false;
    else if (values[name] !== undefined) flags[o.key] = values[name];
  }
  try {
    return (await loadConfig({ dataDir, flags: flags as ConfigFlags, env: Deno.env.toObject() }))
      .config;
  } catch (e) {
    // A bad flag value is a wrong command line (exit 2 with usage); a bad file or variable is not.
    if (e instanceof ConfigError && /(^|\s)--[a-z]/.test(e.message)) {
      throw new UsageError(e.message, command);
    }
    throw e;
  }
}

/** Runs `start`; resolves with the exit code once the node has stopped. */
export async function startCommand(args: string[], dataDir: string): Promise<number> {
  const { values } = parseArgs("start", args, startFlags());
  const config = await startConfig("start", values, dataDir);
  const file = fileSink(`${dataDir}/logs/mote.log`, { maxBytes: config.logFileSize });
  const log = createLogger({
    level: config.logLevel,
    sinks: [stderrSink({ color: Deno.stderr.isTerminal() }), file],
  });
  let running;
  try {
    running = await runNode(dataDir, config, log);
  } catch (e) {
    file.close();
    throw e;
  }
  const { info, node, devnet } = running;
  if (values.json) {
    console.log(
      JSON.stringify({ ...info, peerId: node.p2p.peerId.toString(), addresses: node.addresses() }),
    );
  } else {
    console.log(
      [
        `Mote ${VERSION} is running.`,
        `  Web UI and API:  ${info.api}`,
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
  const onSignal = () => {
    // A second Ctrl-C while stopping forces the exit.
    if (stopping) Deno.exit(130);
    stopping = true;
    console.error("\nStopping…");
    running.stop();
  };
  let stopping = false;
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  await running.stopped;
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  log.info("stopped");
  file.close();
  if (!values.json) console.log("Stopped.");
  return 0;
}
