/**
 * File shares to a group, public folders taken back, and reading shared data with the owner's
 * node stopped (issue 8). The owner shares a file with its group "team" (member A) and a folder
 * with everyone (o+r): A reads the file, C does not; C reads the folder until `chmod o-r` re-keys
 * it (C's old key then opens nothing); revoking the group from the file leaves A refused. Then
 * the owner shares a folder with A and a file with everyone, its suppliers keep its `share`,
 * group and folder records, the owner's node stops, and A and C read from the owner's suppliers
 * byte for byte; C is still refused the folder.
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
  name: "group file shares and public folders are taken back; shares read with the owner away",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
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
    const team = randomBytes(20_000), page = randomBytes(5000);
    await catalog.put("/album/big.bin", chunks(big), big.length);
    await catalog.put("/notes.txt", chunks(small), small.length);
    await catalog.put("/team.txt", chunks(team), team.length);
    await catalog.put("/pub/page.html", chunks(page), page.length);
    const A = new SharedReader(nodeA!), C = new SharedReader(nodeC!);
    const read = async (r: SharedReader, path: string[]) =>
      await collect((await r.get(owner, path)).stream);
    const refused = async (p: Promise<unknown>, reason: string) => {
      const e = await assertRejects(() => p, SharingError);
      assertEquals((e as SharingError).reason, reason, e.message);
    };

    await t.step("a file shared with a group, a public folder, and taking both back", async () => {
      await sharing.createGroup("team");
      await sharing.addMember("team", nodeA!.id);
      await sharing.share("/team.txt", { group: "team" });
      await sharing.chmod("/pub", "o+r");
      assertEquals(await read(A, ["team.txt"]), team);
      await refused(read(C, ["team.txt"]), "denied");
      assertEquals(await read(C, ["pub", "page.html"]), page);
      const held = (await C.shares(owner)).find((s) => s.path === "/pub")!;
      assertEquals(held.via, "public");
      await sharing.chmod("/pub", "o-r");
      await refused(read(C, ["pub", "page.html"]), "revoked");
      await refused(C.openFolder(owner, held.object, held.key), "revoked");
      await sharing.share("/team.txt", { group: "team" }, { revoke: true });
      await refused(read(A, ["team.txt"]), "revoked");
    });
    mark("group file and public folder");

    await sharing.share("/album", { reader: nodeA!.id });
    await sharing.chmod("/notes.txt", "644");
    await catalog.publishKeepList();
    await Promise.all(suppliers.map((s) => s.keepCustomerRecords()));
    mark("shared, records kept by the suppliers");
    await storage.stop();
    await ownerNode!.stop();
    mark("owner stopped");

    let got: Uint8Array | undefined;
    await waitFor(
      async () => (got = await read(A, ["album", "big.bin"]).catch(() => undefined)) !== undefined,
      20_000,
      "A reads the shared folder with the owner away",
    );
    assertEquals(got, big);
    assertEquals(await read(A, ["notes.txt"]), small);
    assertEquals(await read(C, ["notes.txt"]), small);
    await refused(read(C, ["album", "big.bin"]), "denied");
    mark("read");
  },
});
