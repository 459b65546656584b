/**
 * Real servers started and stopped by tests, on 127.0.0.1 only: a Redis server (Debian's
 * `redis-server`), an entry under `deno serve`, and a bundle under `workerd` (the Cloudflare
 * Workers runtime, from npm). Each waits for its server to answer, with a deadline, and is
 * stopped by `await using`.
 */
import { sleep } from "./_harness.ts";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** A running server process and where it answers. */
export interface Running extends AsyncDisposable {
  url: string;
  /** What it printed (stderr, and stdout where not used), for failure messages. */
  output(): string;
}

/** Keeps a child's output (bounded) and reaps it on dispose. */
function track(child: Deno.ChildProcess, url: string): Running {
  let out = "";
  const keep = async (s: ReadableStream<Uint8Array> | null) => {
    if (!s) return;
    const d = new TextDecoder();
    for await (const c of s) out = (out + d.decode(c, { stream: true })).slice(-8192);
  };
  const drained = Promise.all([keep(child.stdout), keep(child.stderr)]).catch(() => {});
  return {
    url,
    output: () => out,
    async [Symbol.asyncDispose]() {
      // SIGTERM first (a graceful stop); a server still there after 5 s is killed.
      const kill = (signal: Deno.Signal) => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      };
      kill("SIGTERM");
      const late = setTimeout(() => kill("SIGKILL"), 5_000);
      await child.status;
      clearTimeout(late);
      await drained;
    },
  };
}

/** Waits until `ready()` holds, failing with the server's output after `timeout` ms. */
async function until(
  server: Running,
  ready: () => Promise<boolean>,
  what: string,
  timeout: number,
) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await ready().catch(() => false)) return;
    await sleep(100);
  }
  await server[Symbol.asyncDispose]();
  throw new Error(`${what} did not start within ${timeout} ms:\n${server.output()}`);
}

/** Sends one inline command to the Redis server at `url` and returns the first reply line. */
export async function redisCommand(url: string, command: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  const timer = setTimeout(() => conn.close(), 5_000);
  try {
    await conn.write(new TextEncoder().encode(`${command}\r\n`));
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0]!;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** A throwaway `redis-server` on a free port: no persistence, 64 MB, least recently used out. */
export async function startRedis(timeout = 15_000): Promise<Running> {
  const port = freePort();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: [
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory",
        "64mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--protected-mode",
        "yes",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "redis-server is not installed (apt-get install -y redis-server; .ci/run does)",
      );
    }
    throw e;
  }
  const server = track(child, `redis://127.0.0.1:${port}`);
  await until(
    server,
    async () => await redisCommand(server.url, "PING") === "+PONG",
    "redis-server",
    timeout,
  );
  return server;
}

/** `deno serve` of `entry` on a free port with `env`, network limited to 127.0.0.1. */
export async function denoServe(
  entry: string,
  env: Record<string, string>,
  timeout = 60_000,
): Promise<Running> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--no-prompt",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--allow-net=127.0.0.1",
      `--allow-env`,
      "--allow-sys",
      "--allow-read",
      entry,
    ],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = track(child, `http://127.0.0.1:${port}`);
  await until(server, () => httpAnswers(server.url), "deno serve", timeout);
  return server;
}

async function httpAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return true;
}

/** The workerd binary that npm's `workerd` package installs for this platform. */
async function workerdBinary(): Promise<string> {
  const mod = await import("workerd") as { default: string | { default: string } };
  return typeof mod.default === "string" ? mod.default : mod.default.default;
}

/**
 * `workerd serve` of an ES module bundle on a free port, with text bindings (its env), allowed
 * to fetch loopback addresses (workerd's default network is public addresses only).
 */
export async function startWorkerd(
  bundle: string,
  bindings: Record<string, string>,
  timeout = 60_000,
): Promise<Running> {
  const port = freePort();
  const dir = bundle.slice(0, bundle.lastIndexOf("/"));
  const name = bundle.slice(bundle.lastIndexOf("/") + 1);
  const config = `${dir}/workerd.capnp`;
  const binds = Object.entries(bindings)
    .map(([k, v]) => `(name = ${JSON.stringify(k)}, text = ${JSON.stringify(v)})`).join(", ");
  await Deno.writeTextFile(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .edge),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const edge :Workerd.Worker = (
  modules = [(name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)})],
  compatibilityDate = "2025-06-01",
  bindings = [${binds}],
);
`,
  );
  const child = new Deno.Command(await workerdBinary(), {
    args: ["serve", config, "--verbose"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = track(child, `http://127.0.0.1:${port}`);
  await until(server, () => httpAnswers(server.url), "workerd", timeout);
  return server;
}
