/**
 * One node and its public gateway in a process of its own, as `mote start` runs it: it joins the
 * bench's network through the bootstrap addresses given as arguments, serves hosted sites on a
 * free port, prints `{"port": N}` once listening, and runs until killed. bench/site_http.ts puts
 * the load on it, so the load is not served by the thread that also runs the bench's other nodes.
 *
 * `deno run -A bench/_site_gateway.ts <multiaddr>…`
 */
import { createPublicApp } from "../gateway/public.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { NodeShardSource } from "../src/node/shard_source.ts";
import { NodeSiteSource } from "../src/sites/mod.ts";
import { testNode } from "../tests/_harness.ts";

const node = testNode({ bootstrap: Deno.args }, "gateway");
await node.start();
const end = Date.now() + 15_000;
while (node.status().dht < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
const app = createPublicApp({
  records: nodeRecordSource(node),
  info: () => ({ id: node.id, version: "bench" }),
  sites: new NodeSiteSource(node),
  shards: new NodeShardSource(node, { supplier: null }),
});
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (req) => app.fetch(req, { remoteAddr: "127.0.0.1" }),
);
console.log(JSON.stringify({ port: server.addr.port }));
