/**
 * Read sharing on real nodes over loopback (issue 8): an owner with six suppliers shares a
 * folder with reader A, a file with A, a folder with its group "family" (member B, through the
 * mode g+r and chgrp) and a folder with everyone (o+r); non-member C gets nothing else. Every
 * allowed read returns the stored bytes; every other one is refused with its reason. Revoking A
 * re-keys the folder (A's old key opens none of the new records), removing B from the group
 * re-keys the group and the folder; forged and replayed share records are refused. (Reading with
 * the owner's node stopped: sharing_offline_test.ts.)
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { SharingService } from "../src/node/sharing.ts";
import { RecordError } from "../src/records/errors.ts";
import { createRecord, encodeRecord, formatRecordKey, recordKeyOf } from "../src/records/record.ts";
import { SharingError } from "../src/sharing/errors.ts";
import { decodeShareList, encodeShareList } from "../src/sharing/share_record.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { startCluster } from "./_harness.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

/** Reads owner:/path as `reader`, whole. */
async function read(reader: SharedReader, owner: string, path: string): Promise<Uint8Array> {
  const { stream } = await reader.get(owner, path.split("/").filter(Boolean));
  return await collect(stream);
}

/** Asserts a read is refused with `reason`. */
async function refused(p: Promise<unknown>, reason: string): Promise<Error> {
  const e = await assertRejects(() => p, SharingError);
  assertEquals((e as SharingError).reason, reason, e.message);
  return e;
}

Deno.test({
  name: "shared folders and files read exactly for whom they are shared, and stop after revoking",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    await using cluster = await startCluster(10);
    const [ownerNode, nodeA, nodeB, nodeC, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
    const { storage, catalog } = await startOwner(ownerNode!, { quota: 64 << 20 });
    const sharing = new SharingService(storage);
    const owner = ownerNode!.id;
    const [A, B, C] = [nodeA!, nodeB!, nodeC!].map((n) => new SharedReader(n)) as [
      SharedReader,
      SharedReader,
      SharedReader,
    ];
    mark("storage ready");

    const files: Record<string, Uint8Array> = {
      "/photos/a.jpg": randomBytes(150_000),
      "/photos/sub/b.txt": utf8("small, inline"),
      "/docs/secret.txt": randomBytes(5000),
      "/family/plan.txt": randomBytes(30_000),
      "/pub/index.html": utf8("<h1>hello</h1>"),
      "/single.bin": randomBytes(9000),
    };
    for (const [path, bytes] of Object.entries(files)) {
      await catalog.put(path, chunks(bytes), bytes.length);
    }
    mark("files stored");

    await t.step("the owner shares, groups and sets modes", async () => {
      await sharing.createGroup("family");
      const g = await sharing.addMember("family", nodeB!.id);
      assertEquals(g.members, [owner, nodeB!.id].sort());
      await sharing.share("/photos", { reader: nodeA!.id });
      await sharing.share("/single.bin", { reader: nodeA!.id });
      assertEquals((await sharing.chgrp("/family", "family")).group, "family");
      assertEquals((await sharing.chmod("/family", "750")).mode, 0o750);
      assertEquals((await sharing.chmod("/pub", "o+rx")).mode, 0o705);
      const rows = await sharing.shares();
      assertEquals(rows.map((r) => [r.path, r.readers, r.groups, r.public]), [
        ["/family", [], ["family"], false],
        ["/photos", [nodeA!.id], [], false],
        ["/pub", [], [], true],
        ["/single.bin", [nodeA!.id], [], false],
      ]);
      await refused(sharing.share("/photos", { reader: "a".repeat(52) }), "unknown-id");
      const long = await sharing.listLong("/");
      const fam = long.find((r) => r.name === "family")!;
      assertEquals([fam.mode, fam.group, fam.owner], [0o750, "family", owner]);
    });
    mark("shared");

    await t.step("each reader reads exactly what it was given, byte for byte", async () => {
      assertEquals((await A.list(owner, [])).map((r) => r.name), ["photos", "pub", "single.bin"]);
      assertEquals(await read(A, owner, "/photos/a.jpg"), files["/photos/a.jpg"]);
      assertEquals(await read(A, owner, "/photos/sub/b.txt"), files["/photos/sub/b.txt"]);
      assertEquals(await read(A, owner, "/single.bin"), files["/single.bin"]);
      assertEquals((await A.list(owner, ["photos"])).map((r) => r.name), ["a.jpg", "sub"]);
      assertEquals(await read(B, owner, "/family/plan.txt"), files["/family/plan.txt"]);
      assertEquals(await read(C, owner, "/pub/index.html"), files["/pub/index.html"]);
      assertEquals(await read(B, owner, "/pub/index.html"), files["/pub/index.html"]);
      assertEquals((await C.list(owner, [])).map((r) => r.name), ["pub"]);
      assert(B.memberships().some((m) => m.name === "family" && m.owner === owner));
    });

    await t.step("everything else is refused with its reason", async () => {
      await refused(read(A, owner, "/docs/secret.txt"), "denied");
      await refused(read(A, owner, "/family/plan.txt"), "denied");
      await refused(read(B, owner, "/photos/a.jpg"), "denied");
      await refused(read(C, owner, "/photos/a.jpg"), "denied");
      await refused(read(C, owner, "/family/plan.txt"), "denied");
      await refused(read(C, owner, "/single.bin"), "denied");
      await refused(A.list(nodeC!.id, []), "nothing-shared");
      await refused(A.list("b".repeat(52), []), "no-owner");
    });
    mark("matrix read");

    await t.step("without x, others read a folder's files by name but cannot list it", async () => {
      assertEquals((await sharing.chmod("/pub", "o-x")).mode, 0o704);
      const fresh = new SharedReader(nodeC!);
      assertEquals(await read(fresh, owner, "/pub/index.html"), files["/pub/index.html"]);
      const e = await refused(fresh.list(owner, ["pub"]), "denied");
      assert(e.message.includes("no x"), e.message);
      assertEquals((await sharing.chmod("/pub", "o+x")).mode, 0o705);
      assertEquals((await new SharedReader(nodeC!).list(owner, ["pub"])).map((r) => r.name), [
        "index.html",
      ]);
    });

    // A's keys to /photos, as A's node holds them now.
    const heldByA = (await A.shares(owner)).find((s) => s.path === "/photos")!;
    const heldByB = (await B.shares(owner)).find((s) => s.path === "/family")!;
    const before = await ownerNode!.resolve(recordKeyOf("share", owner));

    await t.step("revoking A re-keys /photos: A's old key opens none of it", async () => {
      await sharing.share("/photos", { reader: nodeA!.id }, { revoke: true });
      await refused(read(A, owner, "/photos/a.jpg"), "revoked");
      await refused(
        A.openFolder(owner, heldByA.object, heldByA.key),
        "revoked",
      );
      // A still reads the file shared on its own; the owner still reads its folder.
      assertEquals(await read(A, owner, "/single.bin"), files["/single.bin"]);
      assertEquals(
        await collect((await catalog.get("/photos/a.jpg")).stream),
        files["/photos/a.jpg"],
      );
    });

    await t.step("removing B from the group re-keys it and the folder", async () => {
      const g = await sharing.removeMember("family", nodeB!.id);
      assertEquals(g.epoch, 1);
      await refused(read(B, owner, "/family/plan.txt"), "revoked");
      await refused(B.openFolder(owner, heldByB.object, heldByB.key), "revoked");
      // Public data stays readable to B.
      assertEquals(await read(B, owner, "/pub/index.html"), files["/pub/index.html"]);
    });
    mark("revoked");

    await t.step("a shared file follows its new versions; revoked, then removed", async () => {
      const next = randomBytes(4000);
      await catalog.put("/single.bin", chunks(next), next.length);
      await sharing.refresh(); // what the node does on put:done through its API
      assertEquals(await read(A, owner, "/single.bin"), next);
      await sharing.share("/single.bin", { reader: nodeA!.id }, { revoke: true });
      await refused(read(A, owner, "/single.bin"), "revoked");
      await sharing.share("/single.bin", { reader: nodeC!.id });
      assertEquals(await read(C, owner, "/single.bin"), next);
      await catalog.remove("/single.bin");
      await sharing.refresh();
      assertEquals((await sharing.shares()).some((r) => r.path === "/single.bin"), false);
      await refused(read(C, owner, "/single.bin"), "revoked");
    });

    await t.step("forged and replayed share records are refused", () => {
      const key = formatRecordKey(recordKeyOf("share", owner));
      // C signs a share record claiming to be the owner's: it does not belong at the owner's key.
      const forged = createRecord(nodeC!.keys.signSecret, nodeC!.keys.signPublic, {
        ns: "share",
        name: new Uint8Array(0),
        seq: 1_000,
        value: encodeShareList(decodeShareList(before!.record.value)),
      });
      assertThrows(() => nodeA!.validator.validate(key, encodeRecord(forged)), RecordError);
      // The owner's own older record (which still granted A): refused where the newer was seen.
      assertThrows(() => ownerNode!.validator.validate(key, before!.bytes), RecordError);
    });

    mark("done");
  },
});
