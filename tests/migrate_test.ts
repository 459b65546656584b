/**
 * Moving stored files to a new erasure map, on real nodes: files stored on 1+1 over two
 * suppliers move to 2+2 once four are hired; every version reads back, old shards leave the
 * suppliers, reads in progress are not cut off, and a prune racing the migration leaves neither
 * orphans nor damage. Then the same through the storage service, as `mote suppliers --count`
 * drives it.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog, type MigrationResult } from "../src/catalog/mod.ts";
import { decodeManifest } from "../src/files/mod.ts";
import { memoryState } from "../src/node/state.ts";
import { StorageService } from "../src/node/storage.ts";
import { storageFilesBackend } from "../src/node/files_backend.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { type MigrationLine, migrationLine } from "../src/cli/file_commands.ts";
import { chunks, collect, startStorageNet, type StorageNet } from "./_storage_net.ts";

const BS = 16 * 1024;

/** Every shard id the suppliers hold for the owner. */
async function storedIds(net: StorageNet): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const s of net.suppliers) {
    for await (const info of s.store.list(net.owner.id)) ids.add(info.id);
  }
  return ids;
}

/** Every file version's shard ids, walking the catalog; and how many folders it has. */
async function referenced(catalog: Catalog): Promise<{ ids: Set<string>; folders: number }> {
  const ids = new Set<string>();
  let folders = 0;
  const visit = async (path: string) => {
    folders++;
    for (const e of await catalog.list(path)) {
      const p = `${path === "/" ? "" : path}/${e.name}`;
      if (e.type === "folder") await visit(p);
      else {
        for (const v of await catalog.versions(p)) {
          if (!v.manifest) continue;
          for (const b of decodeManifest(v.manifest).blocks) for (const id of b.shards) ids.add(id);
        }
      }
    }
  };
  await visit("/");
  return { ids, folders };
}

/**
 * The suppliers hold exactly the shards of the catalog's files and folder objects: no orphan.
 * Each folder object is one small block of `perFolder` distinct shards (k + m, but 1 for 1+1,
 * whose one parity shard is a copy of its data shard).
 */
async function assertNoOrphans(net: StorageNet, catalog: Catalog, perFolder: number) {
  const held = await storedIds(net);
  const { ids, folders } = await referenced(catalog);
  for (const id of ids) assert(held.has(id), `shard ${id} of a stored file is missing`);
  assertEquals(held.size, ids.size + folders * perFolder, "shards held beyond the catalog's own");
}

/** Every version of every file, newest first, as bytes. */
async function readAll(catalog: Catalog, paths: string[]): Promise<Map<string, Uint8Array[]>> {
  const out = new Map<string, Uint8Array[]>();
  for (const p of paths) {
    const versions = await catalog.versions(p);
    const bytes = [];
    for (let i = 0; i < versions.length; i++) {
      bytes.push(await collect((await catalog.get(p, { version: i })).stream));
    }
    out.set(p, bytes);
  }
  return out;
}

function newCatalog(net: StorageNet, hired: string[]): Catalog {
  return new Catalog({
    node: net.owner,
    customer: net.customer,
    locator: net.locator,
    suppliers: () => hired,
    k: 1,
    m: 1,
    blockSize: BS,
  });
}

Deno.test({
  name: "migrate() moves every file version and folder from 1+1 to 2+2, reads included",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using net = await startStorageNet(4, { hire: 2 });
    const hired = [...net.hired];
    const catalog = newCatalog(net, hired);
    assertEquals(await catalog.open(), "created");
    const files = {
      "/a/multi.bin": randomBytes(7 * BS + 123),
      "/tiny.txt": randomBytes(200),
      "/a/b/c/nested.bin": randomBytes(2 * BS + 1),
      "/two.bin": randomBytes(3 * BS),
    };
    const two = randomBytes(BS + 5);
    for (const [path, bytes] of Object.entries(files)) {
      await catalog.put(path, chunks(bytes), bytes.length);
    }
    await catalog.put("/two.bin", chunks(two), two.length);
    const paths = Object.keys(files);
    const before = await readAll(catalog, paths);
    assertEquals(before.get("/two.bin"), [two, files["/two.bin"]]);
    const oldIds = (await referenced(catalog)).ids;
    await assertNoOrphans(net, catalog, 1);

    // `mote suppliers --count 4`: new files use 2+2 from now on.
    catalog.options.k = 2;
    catalog.options.m = 2;

    await t.step("with only two suppliers hired it waits and changes nothing", async () => {
      const r = await catalog.migrate();
      assertEquals(r.stopped, "waiting");
      assertEquals(r.found, {
        files: 4,
        folders: 4,
        bytes: 7 * BS + 123 + 2 * BS + 1 + 3 * BS + BS + 5,
      });
      assertEquals(r.files + r.folders, 0);
      assertEquals((await referenced(catalog)).ids, oldIds);
    });

    hired.push(
      ...(await net.customer.hire(4, 256 << 20, 3_600_000)).map((c) => c.terms.supplier)
        .filter((s) => !hired.includes(s)),
    );
    assertEquals(hired.length, 4);

    await t.step("a read that began on the old map finishes after its file moved", async () => {
      // Hold a read of multi.bin open across the swap: its old shards must outlive it.
      const reader = (await catalog.get("/a/multi.bin")).stream.getReader();
      const first = await reader.read();
      const migrated: string[] = [];
      const pass = catalog.migrate({
        readWait: 60_000,
        onMigrated: (m) => migrated.push(`${m.path}@${m.version}`),
      });
      // Once the folder names the new shards, the old ones are kept only for this read.
      await waitFor(
        async () => decodeManifest((await catalog.versions("/a/multi.bin"))[0]!.manifest!).k === 2,
        30_000,
        "multi.bin to move",
      );
      // A read started now uses the new shards, while the migration goes on.
      const during = await collect((await catalog.get("/a/multi.bin")).stream);
      const parts = [first.value!];
      for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
      const held = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((off, p) => (held.set(p, off), off + p.length), 0);
      assertEquals(held, files["/a/multi.bin"]);
      assertEquals(during, files["/a/multi.bin"]);
      const r: MigrationResult = await pass;
      assertEquals(
        { files: r.files, folders: r.folders, gone: r.gone, failed: r.failed },
        { files: 4, folders: 4, gone: 0, failed: 0 },
      );
      assertEquals(r.left, { files: 0, folders: 0, bytes: 0 });
      assertEquals(migrated.sort(), [
        "/a/b/c/nested.bin@0",
        "/a/multi.bin@0",
        "/two.bin@0",
        "/two.bin@1",
      ]);
    });

    await t.step("every version reads back byte for byte, all on 2+2", async () => {
      assertEquals(await readAll(catalog, paths), before);
      for (const p of paths) {
        for (const v of await catalog.versions(p)) {
          if (!v.manifest) continue;
          const m = decodeManifest(v.manifest);
          assertEquals([m.k, m.m], [2, 2], p);
        }
      }
      assertEquals(await catalog.unmigrated(), { files: 0, folders: 0, bytes: 0 });
      const again = await catalog.migrate();
      assertEquals([again.files, again.folders, again.stopped], [0, 0, null]);
    });

    await t.step(
      "the old shards are gone from every supplier, and nothing else is left",
      async () => {
        const held = await storedIds(net);
        for (const id of oldIds) assert(!held.has(id), `old shard ${id} is still stored`);
        assertEquals(catalog.pending, 0);
        await assertNoOrphans(net, catalog, 4);
      },
    );
  },
});

Deno.test({
  name: "a prune racing the migration of the same file leaves no orphan and no damage",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using net = await startStorageNet(4);
    const catalog = newCatalog(net, net.hired);
    await catalog.open();
    const putShard = net.customer.putShard.bind(net.customer);
    let onPut: (() => void) | undefined;
    net.customer.putShard = (...args) => (onPut?.(), putShard(...args));

    // Each case stores an old version (many blocks) under a new one on 1+1, switches to 2+2
    // and prunes the old version at a different moment of the pass; the pass moves the new
    // version first, then the old one.
    const cases: [string, (prune: () => void) => Parameters<Catalog["migrate"]>[0]][] = [
      ["as the pass reaches it", (prune) => ({
        onMigrated: (m) => m.version === 0 && prune(),
      })],
      ["while its new shards are being placed", (prune) => ({
        onMigrated: (m) => {
          if (m.version !== 0) return;
          let puts = 0;
          onPut = () => ++puts === 3 && prune();
        },
      })],
      ["right after it moved", (prune) => ({
        onMigrated: (m) => m.version === 1 && prune(),
      })],
    ];
    for (const [i, [when, hooks]] of cases.entries()) {
      await t.step(`pruned ${when}`, async () => {
        const path = `/race/${i}.bin`;
        const older = randomBytes(24 * BS + 7), newer = randomBytes(BS);
        catalog.options.k = 1;
        catalog.options.m = 1;
        await catalog.put(path, chunks(older), older.length);
        await catalog.put(path, chunks(newer), newer.length);
        catalog.options.k = 2;
        catalog.options.m = 2;
        let pruned: Promise<number> | undefined;
        const r = await catalog.migrate(hooks(() => (pruned ??= catalog.prune(path, 1))));
        onPut = undefined;
        assertEquals(await pruned, 1, "the prune dropped the old version");
        assertEquals(r.failed, 0);
        assertEquals(r.stopped, null);
        const versions = await catalog.versions(path);
        assertEquals(versions.length, 1);
        assertEquals(decodeManifest(versions[0]!.manifest!).k, 2);
        assertEquals(await collect((await catalog.get(path)).stream), newer);
        assertEquals(catalog.pending, 0);
        await assertNoOrphans(net, catalog, 4);
      });
    }
  },
});

Deno.test({
  name: "the storage service migrates in the background after setSupplierCount, with events",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await startStorageNet(4, { hire: 0 });
    const storage = new StorageService(net.owner, memoryState(), {
      supplierCount: 2,
      quota: 256 << 20,
      term: 3_600_000,
      blockSize: BS,
      checkEvery: 300,
    });
    const events = net.owner.events.subscribe({ maxQueue: 1000 });
    try {
      await storage.start();
      let catalog: Catalog | undefined;
      await waitFor(
        async () => !!(catalog = await storage.catalog().catch(() => undefined)),
        30_000,
        "the catalog",
      );
      const a = randomBytes(5 * BS), b = randomBytes(3 * BS + 9);
      await catalog!.put("/x/a.bin", chunks(a), a.length);
      await catalog!.put("/b.bin", chunks(b), b.length);
      const backend = storageFilesBackend(storage);
      assertEquals(storage.migration.code, "1+1");

      assertEquals(storage.setSupplierCount(4), { k: 2, m: 2 });
      await waitFor(
        () => {
          const s = storage.migration;
          return storage.suppliers().length === 4 && s.code === "2+2" && s.state === "idle" &&
            s.files === 0 && s.folders === 0;
        },
        60_000,
        "the migration to finish",
      );
      const answer = await backend.suppliers() as { code: string; migration: unknown };
      assertEquals(answer.code, "2+2");
      assertEquals(answer.migration, { code: "2+2", state: "idle", files: 0, folders: 0 });
      for (const [path, bytes] of [["/x/a.bin", a], ["/b.bin", b]] as const) {
        const v = (await catalog!.versions(path))[0]!;
        assertEquals(decodeManifest(v.manifest!).k, 2);
        assertEquals(await collect((await catalog!.get(path)).stream), bytes);
      }
      await storage.stop();
      events.close();
      const seen = [];
      for await (const e of events) seen.push(e);
      const moved = seen.filter((e) => e.type === "storage:migrated").map((e) => e.data.path);
      assertEquals(moved.sort(), ["/b.bin", "/x/a.bin"]);
      const finished = seen.find((e) =>
        e.type === "storage:migration" && e.data.state === "finished"
      );
      assertEquals(finished?.data.files, 2);
      assertEquals(finished?.data.code, "2+2");
    } finally {
      await storage.stop();
      events.close();
    }
  },
});

Deno.test("migrationLine() says what is left to move, and nothing when all is moved", async (t) => {
  const cases: [MigrationLine, string | undefined][] = [
    [{ code: "4+2", state: "migrating", files: 3, folders: 0 }, "Migrating to 4+2: 3 files left."],
    [
      { code: "2+2", state: "migrating", files: 1, folders: 2 },
      "Migrating to 2+2: 1 file and 2 folders left.",
    ],
    [
      { code: "7+3", state: "waiting", files: 5, folders: 1 },
      "Migrating to 7+3: 5 files and 1 folder left (waiting for enough suppliers).",
    ],
    [{ code: "4+2", state: "idle", files: 0, folders: 0 }, undefined],
    [{ code: "4+2", state: "counting", files: null, folders: null }, undefined],
  ];
  for (const [status, line] of cases) {
    await t.step(JSON.stringify(status), () => assertEquals(migrationLine(status), line));
  }
});

Deno.test({
  name: "a pack of small files moves to the new map whole; its members keep their keys",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await startStorageNet(4, { hire: 2 });
    const hired = [...net.hired];
    const catalog = newCatalog(net, hired);
    await catalog.open();
    const site = Array.from({ length: 20 }, (_, i) => ({
      name: `p${i}.html`,
      bytes: randomBytes(3_000 + i),
    }));
    await catalog.putBatch("/site", site);
    const packOf = async () => (await catalog.versions("/site/p5.html"))[0]!.pack!;
    const before = await packOf();
    const oldIds = decodeManifest(before.manifest).blocks.flatMap((b) => b.shards);
    catalog.options.k = 2;
    catalog.options.m = 2;
    hired.push(
      ...(await net.customer.hire(4, 256 << 20, 3_600_000)).map((c) => c.terms.supplier)
        .filter((s) => !hired.includes(s)),
    );
    const r = await catalog.migrate();
    assertEquals([r.files, r.failed], [1, 0], "one pack moved");
    const after = await packOf();
    const m = decodeManifest(after.manifest);
    assertEquals([m.k, m.m], [2, 2]);
    assertEquals(after.offset, before.offset, "members keep their place and their own keys");
    for (const f of site) {
      assertEquals(await collect((await catalog.get(`/site/${f.name}`)).stream), f.bytes);
    }
    const held = await storedIds(net);
    for (const id of oldIds) assert(!held.has(id), `old pack shard ${id} is still stored`);
    assertEquals(await catalog.unmigrated(), { files: 0, folders: 0, bytes: 0 });
  },
});
