/**
 * Write sharing on real nodes (issue 8, docs/sharing.md "Write sharing"). The owner shares
 * `/drop` for writing with W (a byte cap of 300 000 per supplier) and with its group "fam" (D and
 * E: private group storage), and for reading only with R. W and D write through the owner's
 * suppliers and publish the folder's writers' version; R reads their files at once, and again
 * once the owner's node has merged them (the owner reads them too), byte for byte, and while the
 * owner's node is off. Two writers writing one name at once both keep their file. A non-writer's request (a reader's, signed with a key of its own) is refused by every
 * supplier and nothing is stored; a replayed request and one over the cap are refused. After W
 * is revoked its old key is refused (stale policy) while D still writes; after E leaves the group
 * E cannot write either. A concurrent change is kept as `name.conflict-<id>`.
 */
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { fromBase32 } from "../src/encoding/base32.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { sendWrite, SharedWriter } from "../src/node/shared_writer.ts";
import { SharingService } from "../src/node/sharing.ts";
import { sharingBackend } from "../src/node/sharing_backend.ts";
import { createSharingRoutes } from "../gateway/share_api.ts";
import { errorResponse } from "../gateway/errors.ts";
import { SharingError } from "../src/sharing/errors.ts";
import { generateWriteKey } from "../src/sharing/write_key.ts";
import { signWriteRequest } from "../src/sharing/write_request.ts";
import { decodeManifest } from "../src/files/mod.ts";
import { seal } from "../src/catalog/seal.ts";
import { equals, utf8 } from "../src/encoding/bytes.ts";
import { signPublicKey } from "../src/crypto/sign.ts";
import { createRecord } from "../src/records/record.ts";
import { resolveWritten } from "../src/node/write_sharing.ts";
import {
  encodeWritersVersion,
  encodeWrittenFiles,
  WRITTEN_PURPOSE,
  WVER_NS,
} from "../src/sharing/write_records.ts";
import { conflictName } from "../src/sharing/written_merge.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sleep, startCluster, waitFor } from "./_harness.ts";
import { SUPPLIER_DEFAULTS } from "../src/suppliers/mod.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

Deno.test({
  name: "writers write into an owner's folder through its suppliers; others are refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    await using cluster = await startCluster(10);
    const [ownerNode, nW, nD, nE, nR, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
    const { storage, catalog } = await startOwner(ownerNode!, {
      supplierCount: 4,
      quota: 64 << 20,
    });
    const sharing = new SharingService(storage);
    const owner = ownerNode!.id;
    mark("storage ready");
    await catalog.put("/drop/readme.txt", chunks(randomBytes(2000)), 2000);
    await sharing.createGroup("fam");
    await sharing.addMember("fam", nD!.id);
    await sharing.addMember("fam", nE!.id);
    await sharing.share("/drop", { reader: nW!.id }, { write: true, cap: 300_000 });
    await sharing.share("/drop", { group: "fam" }, { write: true });
    await sharing.share("/drop", { reader: nR!.id });
    mark("shared");
    const reader = (n: MoteNode) => new SharedReader(n);
    const writer = (n: MoteNode) => new SharedWriter(n, reader(n));
    const W = writer(nW!), D = writer(nD!), E = writer(nE!), Rw = writer(nR!);
    const R = reader(nR!);
    const read = async (parts: string[]) => await collect((await R.get(owner, parts)).stream);
    const own = async (path: string) => await collect((await catalog.get(path)).stream);
    const refused = async (p: Promise<unknown>, reason: string) => {
      const e = await assertRejects(() => p, SharingError);
      assertEquals((e as SharingError).reason, reason, e.message);
    };
    const stored = (id: string) =>
      Promise.all(suppliers.map((s) => s.store.has(owner, id))).then((l) => l.some(Boolean));
    // Each supplier announces that it serves the owner once hired: wait until all four are found.
    let peers: { id: string; peer: string }[] = [];
    await waitFor(
      async () => (peers = await W.suppliersOf(owner)).length === 4,
      20_000,
      "the owner's four suppliers to be found",
      500,
    );

    const big = randomBytes(100_000), small = randomBytes(500);
    let unmerged = "", unmergedAt = 0; // a shard W sends that no version lists: never merged
    await t.step("a writer's file and a group member's are merged and read back", async () => {
      const r = await W.put(owner, ["drop", "w.bin"], chunks(big), big.length);
      assert(r.shards >= 3, `only ${r.shards} shards placed`);
      await D.put(owner, ["drop", "d.txt"], chunks(small), small.length);
      // Readers see written files before the owner's node merges them.
      assertEquals(await read(["drop", "w.bin"]), big);
      assertEquals(await read(["drop", "d.txt"]), small);
      assertEquals(await sharing.mergeWrites(), 2);
      assertEquals(await sharing.mergeWrites(), 0); // merging again changes nothing
      assertEquals(await own("/drop/w.bin"), big);
      assertEquals(await own("/drop/d.txt"), small);
      assertEquals(await read(["drop", "w.bin"]), big);
      assertEquals(await read(["drop", "d.txt"]), small);
      // The writer's shards are in the owner's space, and the owner's next keep list names them.
      const v = (await catalog.versions("/drop/w.bin"))[0]!;
      const ids = decodeManifest(v.manifest!).blocks.flatMap((b) => b.shards);
      for (const id of ids) assert(await stored(id), `shard ${id} is not stored`);
      await catalog.publishKeepList();
    });
    mark("written, merged, read");

    await t.step(
      "a writer writes into a subfolder that exists (not one that does not) and a shared file",
      async () => {
        await catalog.put("/drop/sub/x.txt", chunks(small), small.length);
        const deep = randomBytes(5000);
        await W.put(owner, ["drop", "sub", "w2.bin"], chunks(deep), deep.length);
        await assertRejects(
          () => W.put(owner, ["drop", "nope", "a.bin"], chunks(deep), deep.length),
          Error,
          "writers add files to folders that exist",
        );
        // A file also shared on its own follows a writer's new version of it.
        await sharing.share("/drop/readme.txt", { reader: nR!.id });
        const readme = randomBytes(4000);
        await W.put(owner, ["drop", "readme.txt"], chunks(readme), readme.length);
        assertEquals(await sharing.mergeWrites(), 2);
        assertEquals(await read(["drop", "sub", "w2.bin"]), deep);
        assertEquals(await read(["drop", "readme.txt"]), readme);
        assertEquals(await read(["drop", "sub", "x.txt"]), small);
      },
    );

    await t.step("a reader without the write key is refused everywhere", async () => {
      await refused(Rw.put(owner, ["drop", "x.bin"], chunks(big), big.length), "denied");
      const { policy } = (await W.writable(owner))[0]!;
      const forged = generateWriteKey();
      const data = randomBytes(20_000), id = await shardId(data);
      for (const s of peers) {
        const req = signWriteRequest(forged.secret, {
          owner,
          folder: policy.folder,
          seq: policy.seq,
          supplier: s.id,
          shard: fromBase32(id),
          size: data.length,
          expires: Date.now() + 60_000,
        });
        await refused(sendWrite(nR!, s.peer, req, data), "bad-signature");
      }
      assertEquals(await stored(id), false);
    });

    await t.step("a replayed request and one over the cap are refused", async () => {
      const [f] = await W.writable(owner);
      const s = peers[0]!;
      const sign = (data: Uint8Array, id: string) =>
        signWriteRequest(f!.secret, {
          owner,
          folder: f!.policy.folder,
          seq: f!.policy.seq,
          supplier: s.id,
          shard: fromBase32(id),
          size: data.length,
          expires: Date.now() + 60_000,
        });
      const data = randomBytes(10_000), id = await shardId(data);
      const req = sign(data, id);
      assertEquals(await sendWrite(nW!, s.peer, req, data), "stored");
      await refused(sendWrite(nW!, s.peer, req, data), "replayed");
      unmerged = id;
      unmergedAt = Date.now();
      const at = suppliers.find((x) => x.node.id === s.id)!;
      assert((await at.writes.kept(at.node, owner)).has(id), "a writer's shard is kept");
      const huge = randomBytes(290_000), hid = await shardId(huge);
      await refused(sendWrite(nW!, s.peer, sign(huge, hid), huge), "over-cap");
      assertEquals(await stored(hid), false);
    });
    mark("refusals");

    await t.step("a revoked writer's old key is refused; the group still writes", async () => {
      const [old] = await W.writable(owner);
      await sharing.share("/drop", { reader: nW!.id }, { write: true, revoke: true });
      await refused(W.put(owner, ["drop", "late.bin"], chunks(big), big.length), "denied");
      const data = randomBytes(5_000), id = await shardId(data);
      for (const s of peers) {
        const req = signWriteRequest(old!.secret, {
          owner,
          folder: old!.policy.folder,
          seq: old!.policy.seq,
          supplier: s.id,
          shard: fromBase32(id),
          size: data.length,
          expires: Date.now() + 60_000,
        });
        await refused(sendWrite(nW!, s.peer, req, data), "stale-policy");
      }
      assertEquals(await stored(id), false);
      // W still reads: revoking write keeps read.
      assertEquals(await collect((await reader(nW!).get(owner, ["drop", "w.bin"])).stream), big);
      const more = randomBytes(70_000);
      await D.put(owner, ["drop", "more.bin"], chunks(more), more.length);
      // Reconciliation against a keep list made now, with a grace of one second (the owner's
      // catalog keeps saving folders meanwhile: a shorter one would race them): D's shards
      // (current key, not merged yet) stay; W's unmerged shard under the rotated key is a stray.
      await sleep(Math.max(0, unmergedAt + 1500 - Date.now()));
      await catalog.publishKeepList();
      const kept = await Promise.all(suppliers.map((s) => s.writes.kept(s.node, owner)));
      assert(kept.some((k) => k.size > 0), "D's shards are on the write book");
      for (const s of suppliers) s.options.strayGrace = 1000;
      await Promise.all(suppliers.map((s) => s.reconcile(owner)));
      for (const s of suppliers) s.options.strayGrace = SUPPLIER_DEFAULTS.strayGrace;
      for (const [i, s] of suppliers.entries()) {
        for (const id of kept[i]!) assert(await s.store.has(owner, id), `lost ${id}`);
        assert(!kept[i]!.has(unmerged));
      }
      assertEquals(await stored(unmerged), false);
      assertEquals(await own("/drop/w.bin"), big);
      assertEquals(await sharing.mergeWrites(), 1);
      assertEquals(await read(["drop", "more.bin"]), more);
    });
    mark("revoked");

    await t.step("a member removed from the group cannot write", async () => {
      const [old] = await E.writable(owner);
      await sharing.removeMember("fam", nE!.id);
      await refused(E.put(owner, ["drop", "e.txt"], chunks(small), small.length), "denied");
      const data = randomBytes(5_000), id = await shardId(data);
      const s = peers[1]!;
      const req = signWriteRequest(old!.secret, {
        owner,
        folder: old!.policy.folder,
        seq: old!.policy.seq,
        supplier: s.id,
        shard: fromBase32(id),
        size: data.length,
        expires: Date.now() + 60_000,
      });
      await refused(sendWrite(nE!, s.peer, req, data), "stale-policy");
      assertEquals(await stored(id), false);
    });
    mark("member removed");

    await t.step("a concurrent change is kept as a conflict copy", async () => {
      const mine = randomBytes(800), theirs = randomBytes(900);
      await D.put(owner, ["drop", "d.txt"], chunks(theirs), theirs.length);
      await catalog.put("/drop/d.txt", chunks(mine), mine.length);
      assertEquals(await sharing.mergeWrites(), 1);
      assertEquals(await own("/drop/d.txt"), mine);
      const copy = `/drop/d.txt.conflict-${nD!.id.slice(0, 8)}`;
      assertEquals(await own(copy), theirs);
      // Removed by the owner, a merged file is not merged again from the version listing it.
      await catalog.remove(copy);
      assertEquals(await sharing.mergeWrites(), 0);
      await assertRejects(() => own(copy));
    });
    mark("conflict");

    await t.step(
      "a written version naming the owner's shards, or a pack, is not merged",
      async () => {
        const f = (await D.writable(owner))[0]!;
        const taken = (await catalog.versions("/drop/w.bin"))[0]!;
        const packed = {
          ...taken,
          manifest: undefined,
          pack: {
            manifest: taken.manifest!,
            key: randomBytes(32),
            offset: 0,
            length: 10,
          },
        };
        const inline = { ...taken, manifest: undefined, size: 3, inline: utf8("ok!") };
        const files = [
          { name: "copy.bin", version: { ...taken, key: randomBytes(32) } },
          { name: "pack.bin", version: { ...packed, key: randomBytes(32) } },
          // A plain inline file in the same version: it is merged, so the version was read.
          { name: "ok.txt", version: { ...inline, key: randomBytes(32) } },
        ].map(({ name, version }) => ({
          name,
          version: Object.fromEntries(Object.entries(version).filter(([, v]) => v !== undefined)),
        }));
        // Published as the next writers' version, signed with the write key as a writer would.
        const cur = await resolveWritten(nD!, f.policy, f.readKey, { timeout: 5_000 });
        const seq = (cur?.record.seq ?? -1) + 1;
        const at = { at: seq, by: nD!.id, base: 0 };
        const box = await seal(
          f.readKey,
          WRITTEN_PURPOSE,
          encodeWrittenFiles(files.map((x) => ({ ...x, ...at }))),
        );
        const value = encodeWritersVersion({
          owner,
          folder: f.policy.folder,
          seq: f.policy.seq,
          parent: new Uint8Array(0),
          box,
        });
        await nD!.publishRecord(
          createRecord(f.secret, signPublicKey(f.secret), {
            ns: WVER_NS,
            name: utf8(f.policy.folder),
            seq,
            value,
          }),
        );
        assertEquals(await sharing.mergeWrites(), 1);
        assertEquals(await own("/drop/ok.txt"), utf8("ok!"));
        await assertRejects(() => own("/drop/copy.bin"));
        await assertRejects(() => own("/drop/pack.bin"));
      },
    );
    mark("copied shards refused");

    await t.step("the node API: a write share and a put into the owner's folder", async () => {
      const routes = (n: MoteNode) => {
        // The owner's sharing service answers the owner's routes; a writer's node uses only
        // its own reader and writer (the service is not touched by a put).
        const app = createSharingRoutes(sharingBackend(sharing, new SharedReader(n)));
        app.onError((err, c) => errorResponse(err, c));
        return app;
      };
      const ownerApi = routes(ownerNode!), rApi = routes(nR!), wApi = routes(nW!);
      const post = (body: unknown) =>
        ownerApi.request("/api/v1/shares", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      assertEquals((await post({ path: "/drop", with: nR!.id, write: "yes" })).status, 400);
      assertEquals((await post({ path: "/drop", with: nR!.id, write: true, cap: -1 })).status, 400);
      const res = await post({ path: "/drop", with: nR!.id, write: true, cap: 500_000 });
      assertEquals(res.status, 200);
      assert(((await res.json()).writers as string[]).includes(nR!.id));
      const bytes = randomBytes(3000);
      const put = (app: typeof ownerApi, name: string) =>
        app.request(`/api/v1/shared/${owner}/files/drop/${name}`, {
          method: "PUT",
          headers: { "content-length": String(bytes.length) },
          body: bytes as Uint8Array<ArrayBuffer>,
        });
      const ok = await put(rApi, "api.bin");
      assertEquals(ok.status, 201, await ok.clone().text());
      assertEquals((await ok.json()).size, bytes.length);
      assertEquals((await put(wApi, "no.bin")).status, 403); // W's write was revoked
      assertEquals(await sharing.mergeWrites(), 1);
      assertEquals(await own("/drop/api.bin"), bytes);
    });
    mark("api");

    await t.step("two writers writing one name at once both keep their file", async () => {
      // Small enough to go inline (no shards to place), so both publish at nearly the same moment.
      const fromD = randomBytes(900), fromR = randomBytes(1000);
      await Promise.all([
        D.put(owner, ["drop", "same.bin"], chunks(fromD), fromD.length),
        Rw.put(owner, ["drop", "same.bin"], chunks(fromR), fromR.length),
      ]);
      // Before and after the owner's node merges, both files are kept the same way. Written at
      // the same moment, the later takes the name and the other is kept as
      // `same.bin.conflict-<its writer>`; when one writer saw the other's file first, its file
      // is a plain update and the other's is the older version under the same name.
      const kept = async (
        get: (p: string) => Promise<Uint8Array>,
        versions: () => Promise<number>,
      ) => {
        const main = await get("same.bin");
        assert(equals(main, fromD) || equals(main, fromR), "the name holds one of the two");
        const other = equals(main, fromD) ? fromR : fromD;
        const loser = equals(main, fromD) ? nR!.id : nD!.id;
        const aside = await get(conflictName("same.bin", loser)).catch(() => undefined);
        if (aside) {
          assertEquals(aside, other);
          return `conflict-${loser}`;
        }
        assert(await versions() >= 2, "the other file is the older version");
        return "versions";
      };
      // A writer whose version lost the records layer's tie-break after its first look puts its
      // file back a few seconds later (`SharedWriter`'s second look): readers see both by then.
      let seen = "";
      await waitFor(
        async () => {
          const fresh = reader(nR!);
          const get = async (p: string) =>
            await collect((await fresh.get(owner, ["drop", p])).stream);
          const versions = async () =>
            (await fresh.list(owner, ["drop"])).find((r) => r.name === "same.bin")?.versions ?? 0;
          seen = await kept(get, versions).catch(() => "");
          return seen !== "";
        },
        30_000,
        "both writers' files to be kept",
        1000,
      );
      assertEquals(await sharing.mergeWrites(), 2);
      const ownVersions = async () => (await catalog.versions("/drop/same.bin")).length;
      assertEquals(await kept((p) => own(`/drop/${p}`), ownVersions), seen);
      if (seen === "versions") {
        // The older version is the other writer's file, byte for byte.
        const newest = await own("/drop/same.bin");
        const older = await collect((await catalog.get("/drop/same.bin", { version: 1 })).stream);
        assertEquals(older, equals(newest, fromD) ? fromR : fromD);
      }
    });
    mark("concurrent writers");

    await t.step("with the owner's node off, a writer writes and a reader reads it", async () => {
      sharing.stop();
      await storage.stop();
      await ownerNode!.stop();
      const later = randomBytes(30_000);
      await D.put(owner, ["drop", "offline.bin"], chunks(later), later.length);
      const fresh = reader(nR!);
      assertEquals(await collect((await fresh.get(owner, ["drop", "offline.bin"])).stream), later);
      const rows = await fresh.list(owner, ["drop"]);
      assert(rows.some((r) => r.name === "offline.bin" && r.size === later.length));
    });
    mark("owner off");
  },
});
