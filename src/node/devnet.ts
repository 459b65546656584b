/**
 * The embedded local network: with no bootstrap peers, `mote start` runs this node plus N
 * supplier nodes on 127.0.0.1, so every feature can be tried on one machine. The suppliers run in
 * a child process (`devnet_process.ts`): they share nothing with the user's node but loopback
 * sockets, as on separate machines, their work runs on another core, and each process's memory
 * can be measured on its own. The child exits when its stdin closes, so it never outlives the
 * node, even one that was killed. Each supplier keeps its keys and shards under
 * `<data>/devnet/supplier-N/`, so a restart brings back the same network.
 */
import type { Logger, LogLevel } from "../log/mod.ts";
import type { DevnetStart } from "./devnet_process.ts";

/** A running embedded network. */
export interface Devnet {
  /** The supplier nodes' ids, in supplier order. */
  ids: string[];
  /** Multiaddrs (with `/p2p/`) to bootstrap from. */
  bootstrap: string[];
  /** The suppliers' process id. */
  pid: number;
  stop(): Promise<void>;
}

/** Options for {@linkcode startDevnet}. */
export interface DevnetOptions {
  /** `<data>/devnet`, or null to keep everything in memory (tests). */
  dir: string | null;
  count: number;
  /** Bytes each supplier offers (0: the nodes do not supply). */
  supply: number;
  /** Scrub duty on every node, on this schedule (none when absent). */
  scrub?: DevnetStart["scrub"];
  log: Logger;
  /** Settings shared with the main node (lifetimes, limits). */
  base: DevnetStart["base"];
  /** How long the suppliers may take to start (ms). */
  timeout?: number;
}

type FromChild =
  | { type: "ready"; nodes: { id: string; address: string }[] }
  | {
    type: "log";
    level: LogLevel;
    component: string;
    msg: string;
    fields: Record<string, unknown>;
  }
  | { type: "error"; message: string }
  | { type: "stopped" };

/** Starts `count` supplier nodes on 127.0.0.1 in a child process, connected to each other. */
export async function startDevnet(opts: DevnetOptions): Promise<Devnet> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL("./devnet_process.ts", import.meta.url).href,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const write = (m: unknown) => stdin.write(new TextEncoder().encode(JSON.stringify(m) + "\n"));
  let waiting:
    | { type: string; resolve: (m: FromChild) => void; reject: (e: Error) => void }
    | null = null;
  const fail = (e: Error) => waiting?.reject(e);

  const receive = (m: FromChild) => {
    if (m.type === "log") {
      const log = m.component ? opts.log.child(m.component) : opts.log;
      log[m.level]?.(String(m.msg), m.fields ?? {});
    } else if (m.type === "error") {
      opts.log.error("the embedded network failed", { error: m.message });
      fail(new Error(m.message));
    } else if (waiting?.type === m.type) waiting.resolve(m);
  };
  const reading = readLines(child.stdout, (line) => {
    let m: FromChild;
    try {
      m = JSON.parse(line);
    } catch {
      opts.log.debug("devnet output", { line: line.slice(0, 500) });
      return;
    }
    receive(m);
  });
  const errors = readLines(child.stderr, (line) => {
    if (line.trim()) opts.log.warn("devnet", { stderr: line.slice(0, 1000) });
  });
  let stopping = false;
  child.status.then((s) => {
    if (!stopping) {
      opts.log.error("the embedded network's process exited", { code: s.code, signal: s.signal });
    }
    fail(new Error(`The embedded network's process exited (${s.code})`));
  });

  const request = (message: unknown, answer: string, timeout: number) =>
    new Promise<FromChild>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting = null;
        reject(new Error(`The embedded network did not answer "${answer}" within ${timeout} ms`));
      }, timeout);
      waiting = {
        type: answer,
        resolve: (m) => (clearTimeout(timer), waiting = null, resolve(m)),
        reject: (e) => (clearTimeout(timer), waiting = null, reject(e)),
      };
      write(message).catch((e) => waiting?.reject(e));
    });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      stopping = true;
      try {
        await request({ type: "stop" }, "stopped", 15_000);
      } catch (e) {
        if (!/exited/.test((e as Error).message)) {
          opts.log.warn("the embedded network did not stop cleanly", { error: e });
        }
      }
      await stdin.close().catch(() => {});
      try {
        child.kill();
      } catch { /* already gone */ }
      await child.status;
      await Promise.allSettled([reading, errors]);
    })();

  try {
    const start: DevnetStart = {
      type: "start",
      dir: opts.dir,
      indexes: Array.from({ length: opts.count }, (_, i) => i + 1),
      supply: opts.supply,
      ...(opts.scrub ? { scrub: opts.scrub } : {}),
      level: opts.log.level,
      // Only these settings cross to the child (plain data).
      base: {
        recordLifetime: opts.base.recordLifetime,
        republishInterval: opts.base.republishInterval,
        maxRecords: opts.base.maxRecords,
        maxRecordsPerSigner: opts.base.maxRecordsPerSigner,
        rateLimit: opts.base.rateLimit,
      },
    };
    const ready = await request(start, "ready", opts.timeout ?? 60_000);
    if (ready.type !== "ready") throw new Error("Unexpected answer from the embedded network");
    return {
      ids: ready.nodes.map((n) => n.id),
      bootstrap: ready.nodes.map((n) => n.address),
      pid: child.pid,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Calls `onLine` for every line of a byte stream (lines over 64 KiB are cut). */
async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    if (buffered.length > 65_536) {
      onLine(buffered);
      buffered = "";
    }
  }
  if (buffered) onLine(buffered);
}
