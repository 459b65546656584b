/**
 * Running the real `mote` program as child processes for end-to-end tests. Every wait is
 * bounded and every child is killed on cleanup.
 */
import { NODE_V8_FLAGS } from "../src/node/v8_flags.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/** The result of a finished command. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mote <args>` to completion (bounded by `timeout` ms). */
export async function mote(args: string[], timeout = 30_000): Promise<Ran> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(timeout),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** What `mote start --json` prints once the node runs. */
export interface StartInfo {
  pid: number;
  id: string;
  api: string;
  gateway: string;
  devnet: boolean;
  peerId: string;
  addresses: string[];
}

/** A `mote start` child process. */
export interface Started extends AsyncDisposable {
  info: StartInfo;
  child: Deno.ChildProcess;
  /** Everything printed so far on stdout after the JSON line, and on stderr. */
  output(): { stdout: string; stderr: string };
  /** Sends a signal and waits for the exit (bounded); returns the exit code. */
  signal(sig: Deno.Signal, timeout?: number): Promise<number>;
}

/** Starts `mote start --json <args>` and waits for its JSON line (bounded by `timeout` ms). */
export async function startMote(args: string[], timeout = 60_000): Promise<Started> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", NODE_V8_FLAGS, MOD, "start", "--json", ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stdout = "", stderr = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const c of s) add(dec.decode(c, { stream: true }));
  };
  const pumps = Promise.all([
    pump(child.stdout, (t) => (stdout += t)),
    pump(child.stderr, (t) => (stderr += t)),
  ]).catch(() => {});
  let exited: number | undefined;
  const status = child.status.then((s) => (exited = s.code));
  const end = Date.now() + timeout;
  while (!stdout.includes("\n")) {
    if (exited !== undefined || Date.now() > end) {
      if (exited === undefined) child.kill("SIGKILL");
      await status;
      await pumps;
      throw new Error(`mote start did not come up (exit ${exited}):\n${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const info = JSON.parse(stdout.slice(0, stdout.indexOf("\n"))) as StartInfo;
  const signal = async (sig: Deno.Signal, wait = 20_000) => {
    if (exited === undefined) {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, wait);
    const code = await status;
    clearTimeout(timer);
    await pumps;
    return code;
  };
  return {
    info,
    child,
    output: () => ({ stdout: stdout.slice(stdout.indexOf("\n") + 1), stderr }),
    signal,
    [Symbol.asyncDispose]: async () => {
      if (exited === undefined) await signal("SIGTERM");
    },
  };
}

/** Ports 0 everywhere, so tests never collide with each other or a user's node. */
export const FREE_PORTS = ["--port", "0", "--gateway-port", "0", "--p2p-port", "0"];

/** Whether a TCP port on 127.0.0.1 can be bound right now. */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}
