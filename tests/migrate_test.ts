/**
 * Moving stored files to a new erasure map, on real nodes: files stored on 1+1 over two
 * suppliers move to 2+2 once four are hired; every version reads back, old shards leave the
 * suppliers, reads in progress are not cut off, and a prune racing the migration leaves neither
 * orphans nor damage.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { Catalog, type MigrationResult } from "../src/catalog/mod.ts";
import { decodeManifest } from "../src/files/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
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
