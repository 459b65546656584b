/**
 * Hosted sites over HTTP, side by side with nginx in one run.
 *
 * An owner and 6 suppliers on 127.0.0.1 (memory stores, one thread) publish a site with a 1 KiB
 * and a 100 KiB page and a 4 MiB file; a ninth node, in a process of its own as `mote start`
 * runs one (`bench/_site_gateway.ts`), serves it through the public gateway (`createPublicApp`
 * with `NodeSiteSource`, path mode `/s/<address>/…`, no rate limit) on `Deno.serve`. nginx (Debian's, one worker, access log off) serves the same files from disk.
 * The same load generators run against each in turn, in their own processes, 32 connections,
 * 10 s, no compression asked: ApacheBench (`ab`, a new connection per request) when installed,
 * and `bench/_load.ts` (HTTP/1.1 keep-alive).
 *
 * Then cold reads of the 4 MiB file through a fresh gateway (nothing cached), and through a fresh
 * edge entry (`gateway/edge.ts`, HTTP only, the nodes' public gateways as its seeds): time to the
 * first byte and to the last.
 *
 * `deno run -A bench/site_http.ts [--secs 10] [--conns 32]`
 */
import { parseArgs } from "node:util";
import { createEdgeApp } from "../gateway/edge.ts";
import { createPublicApp } from "../gateway/public.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { memoryState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { NodeShardSource } from "../src/node/shard_source.ts";
import type { Catalog } from "../src/catalog/mod.ts";
import { NodeSiteSource, publishSite } from "../src/sites/mod.ts";
import { startCluster } from "../tests/_harness.ts";
import { startSupplier } from "../tests/_storage_net.ts";
import { waitFor } from "./_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { secs: { type: "string", default: "10" }, conns: { type: "string", default: "32" } },
});

const cluster = await startCluster(8);
const [ownerNode, visitor, ...rest] = cluster.nodes;
const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
await Promise.all(suppliers.map((s) => s.announce()));
const storage = new StorageService(ownerNode!, memoryState(), {
  supplierCount: 6,
  quota: 256 << 20,
  term: 3_600_000,
  auditInterval: 0,
});
await storage.start();
let catalog: Catalog | undefined;
await waitFor(
  () => {
    storage.catalog().then((c) => (catalog = c), () => {});
    return catalog !== undefined;
  },
  60_000,
  200,
);
if (!catalog) throw new Error("no catalog");

const text = (n: number) => {
  const words = "lorem ipsum dolor sit amet consectetur adipiscing elit ";
  return new TextEncoder().encode(`<!doctype html><p>${words.repeat(n / words.length + 1)}`)
    .subarray(0, n);
};
const files: Record<string, Uint8Array> = {
  "p1k.html": text(1024),
  "p100k.html": text(100 * 1024),
  "big.bin": randomBytes(4 << 20),
};
await catalog.putBatch("/.sites/bench", [
  { name: "p1k.html", bytes: files["p1k.html"]! },
  { name: "p100k.html", bytes: files["p100k.html"]! },
]);
await catalog.put(
  "/.sites/bench/big.bin",
  (async function* () {
    yield files["big.bin"]!;
  })(),
  files["big.bin"]!.length,
);
const site = await publishSite({ node: ownerNode!, catalog, name: "bench" });

const serve = (source: NodeSiteSource) => {
  const app = createPublicApp({
    records: nodeRecordSource(visitor!),
    info: () => ({ id: visitor!.id, version: "bench" }),
    sites: source,
  });
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => app.fetch(req, { remoteAddr: "127.0.0.1" }),
  );
};
// The gateway under load: a node of its own in its own process (as `mote start` runs one), so the
// load is not served by the thread that runs the 7 nodes of this script.
const gatewayChild = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("./_site_gateway.ts", import.meta.url).pathname,
    ...cluster.nodes.slice(1, 4).map((n) => n.addresses()[0]!),
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const firstLine = await (async () => {
  const reader = gatewayChild.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  return out.split("\n")[0]!;
})();
const gw = `http://127.0.0.1:${JSON.parse(firstLine).port}/s/${site.address}`;

// nginx on the same files.
const dir = await Deno.makeTempDir({ prefix: "mote-nginx-" });
await Deno.mkdir(`${dir}/www`);
for (const [name, bytes] of Object.entries(files)) {
  await Deno.writeFile(`${dir}/www/${name}`, bytes);
}
const nginxPort = 20000 + Math.floor(Math.random() * 20000);
await Deno.writeTextFile(
  `${dir}/nginx.conf`,
  `user root; worker_processes 1; daemon off; error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  types { text/html html; application/octet-stream bin; }
  server { listen 127.0.0.1:${nginxPort}; root ${dir}/www; } }`,
);
const nginx = new Deno.Command("nginx", {
  args: ["-c", `${dir}/nginx.conf`, "-p", dir],
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 500));
const ng = `http://127.0.0.1:${nginxPort}`;
for (const base of [gw, ng]) {
  for (const name of ["p1k.html", "p100k.html"]) {
    const r = await fetch(`${base}/${name}`, { headers: { "accept-encoding": "identity" } });
    const b = new Uint8Array(await r.arrayBuffer());
    if (r.status !== 200 || b.length !== files[name]!.length) {
      throw new Error(`${base}/${name}: ${r.status}, ${b.length} bytes`);
    }
  }
}

/**
 * Loads `url` with ApacheBench (`ab`, a new connection per request: its HTTP/1.0 keep-alive gets
 * connections reset by Deno's server under load, a known issue left for later) when installed,
 * or with `bench/_load.ts` (HTTP/1.1 keep-alive) when `ab` is not installed or `keepAlive` is set.
 */
const hasAb = await new Deno.Command("ab", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
const load = async (url: string, keepAlive = false) => {
  if (hasAb && !keepAlive) {
    const out = await new Deno.Command("ab", {
      args: ["-q", "-c", values.conns!, "-t", values.secs!, "-n", "100000000", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!/Requests per second/.test(text)) {
      throw new Error(
        `ab failed on ${url}: ${text.slice(-400)}${
          new TextDecoder().decode(out.stderr).slice(-400)
        }`,
      );
    }
    const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    return {
      rps: Math.round(num(/Requests per second:\s+([\d.]+)/)),
      p50: num(/^\s+50%\s+(\d+)/m),
      p99: num(/^\s+99%\s+(\d+)/m),
      errors: (num(/Failed requests:\s+(\d+)/) || 0) + (num(/Non-2xx responses:\s+(\d+)/) || 0),
    };
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_load.ts", import.meta.url).pathname,
      url,
      values.conns!,
      values.secs!,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)) as {
    rps: number;
    p50: number;
    p99: number;
    errors: number;
  };
};
console.log(`${values.conns} connections, ${values.secs} s per run`);
console.log(
  `| page, generator | gateway req/s | gateway p50 / p99 ms | nginx req/s | nginx p50 / p99 ms | ratio |`,
);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const keepAlive of hasAb ? [false, true] : [true]) {
  for (const name of ["p1k.html", "p100k.html"]) {
    const a = await load(`${gw}/${name}`, keepAlive);
    const b = await load(`${ng}/${name}`, keepAlive);
    const how = keepAlive ? "_load.ts keep-alive" : "ab, new connections";
    console.log(
      `| ${name}, ${how} | ${a.rps} | ${a.p50} / ${a.p99} | ${b.rps} | ${b.p50} / ${b.p99} | ${
        (a.rps / b.rps).toFixed(2)
      }× |` + (a.errors || b.errors ? ` (errors ${a.errors} / ${b.errors})` : ""),
    );
  }
}

// Cold reads of the 4 MiB file, each through a fresh gateway with nothing cached.
/** Time to the first byte and to the last of one GET, checked against the file's length. */
async function coldRead(url: string): Promise<{ first: number; all: number; bytes: number }> {
  const t = performance.now();
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  const reader = r.body!.getReader();
  let first = 0, bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!first) first = performance.now() - t;
    bytes += value.length;
  }
  if (bytes !== files["big.bin"]!.length) throw new Error(`${url}: ${bytes} bytes`);
  return { first, all: performance.now() - t, bytes };
}

for (let i = 0; i < 3; i++) {
  const fresh = serve(new NodeSiteSource(visitor!));
  const r = await coldRead(`http://127.0.0.1:${fresh.addr.port}/s/${site.address}/big.bin`);
  console.log(
    `cold 4 MiB through a node gateway: first byte ${r.first.toFixed(0)} ms, all ${
      r.all.toFixed(0)
    } ms (${(r.bytes / 1e6 / (r.all / 1000)).toFixed(1)} MB/s)`,
  );
  await fresh.shutdown();
}

// The same through the edge entry (HTTP only): its seeds are the public gateways of the visitor
// and the suppliers, which serve shards at /shards/<hash>; a fresh edge app each time.
const seedServers = [
  { node: visitor!, supplier: null },
  ...suppliers.map((s) => ({ node: s.node, supplier: s })),
].map(({ node, supplier }) => {
  const app = createPublicApp({
    records: nodeRecordSource(node),
    info: () => ({ id: node.id, version: "bench" }),
    sites: new NodeSiteSource(node),
    shards: new NodeShardSource(node, { supplier }),
  });
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => app.fetch(req, { remoteAddr: "127.0.0.1" }),
  );
});
const seeds = seedServers.map((s) => `http://127.0.0.1:${s.addr.port}`);
for (let i = 0; i < 3; i++) {
  const edge = createEdgeApp({ seeds });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, edge.fetch);
  const r = await coldRead(`http://127.0.0.1:${server.addr.port}/s/${site.address}/big.bin`);
  console.log(
    `cold 4 MiB through the edge entry: first byte ${r.first.toFixed(0)} ms, all ${
      r.all.toFixed(0)
    } ms (${(r.bytes / 1e6 / (r.all / 1000)).toFixed(1)} MB/s)`,
  );
  await server.shutdown();
}
for (const s of seedServers) await s.shutdown();

nginx.kill();
await nginx.status;
await Deno.remove(dir, { recursive: true });
gatewayChild.kill();
await gatewayChild.status;
await storage.stop();
for (const s of suppliers) s.stop();
await cluster.stop();
Deno.exit(0);
