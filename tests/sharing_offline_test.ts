/**
 * Reading shared data with the owner's node stopped (issue 8): an owner shares a folder with
 * reader A and a file with everyone, its suppliers keep its `share`, group and folder records
 * (listed through its keep and share records), the owner's node stops, and A reads both byte
 * for byte from the owner's suppliers; a node the folder was not shared with is still refused.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { SharingService } from "../src/node/sharing.ts";
import { SharingError } from "../src/sharing/errors.ts";
import { assertEquals, assertRejects } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

Deno.test({
  name: "a reader reads what an owner shares from its suppliers while the owner's node is stopped",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    await using cluster = await startCluster(9);
    const [ownerNode, nodeA, nodeC, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
    const { storage, catalog } = await startOwner(ownerNode!, { quota: 64 << 20 });
    const sharing = new SharingService(storage);
    const owner = ownerNode!.id;
    mark("storage ready");
    const big = randomBytes(600_000), small = randomBytes(3000);
    await catalog.put("/album/big.bin", chunks(big), big.length);
    await catalog.put("/notes.txt", chunks(small), small.length);
    await sharing.share("/album", { reader: nodeA!.id });
    await sharing.chmod("/notes.txt", "644");
    await catalog.publishKeepList();
    await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
    mark("shared, records kept by the suppliers");
    await storage.stop();
    await ownerNode!.stop();
    mark("owner stopped");

    const A = new SharedReader(nodeA!), C = new SharedReader(nodeC!);
    const read = async (r: SharedReader, path: string[]) =>
      await collect((await r.get(owner, path)).stream);
    let got: Uint8Array | undefined;
    await waitFor(
      async () => (got = await read(A, ["album", "big.bin"]).catch(() => undefined)) !== undefined,
      20_000,
      "A reads the shared folder with the owner away",
    );
    assertEquals(got, big);
    assertEquals(await read(A, ["notes.txt"]), small);
    assertEquals(await read(C, ["notes.txt"]), small);
    const e = await assertRejects(() => read(C, ["album", "big.bin"]), SharingError);
    assertEquals((e as SharingError).reason, "denied");
    mark("read");
  },
});
