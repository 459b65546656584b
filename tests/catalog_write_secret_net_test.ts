/**
 * On real nodes over loopback: a reader shared a folder for reading opens it and its subfolders
 * (SharedReader, the owner's suppliers) but finds no subfolder's write secret in anything it can
 * open, neither in the decoded folders nor in their raw objects. A folder written by an earlier
 * release (a subfolder's secret in the clear) still reads for the reader and the owner, and the
 * owner's keep-list walk writes it again masked; the owner still writes below it afterwards.
 */
import {
  Catalog,
  decodeFolderPointer,
  type Entry,
  type FolderVersion,
  unseal,
} from "../src/catalog/mod.ts";
import { seal } from "../src/catalog/seal.ts";
import { generateDataKey } from "../src/crypto/block.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { signPublicKey } from "../src/crypto/sign.ts";
import { equals, utf8 } from "../src/encoding/bytes.ts";
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { readBytes, readMap } from "../src/encoding/shape.ts";
import { decodeManifest, encodeManifest, getFile, putFile } from "../src/files/mod.ts";
import { nodeIdOf } from "../src/identity/node_id.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { SharingService } from "../src/node/sharing.ts";
import type { StorageService } from "../src/node/storage.ts";
import { createRecord, recordKeyOf } from "../src/records/record.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster } from "./_harness.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

type FolderEntry = Extract<Entry, { t: "d" }>;

/** Whether `needle` occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * A folder's object exactly as a reader holding its read key gets it: the record from the DHT
 * (through the reader's node), its pointer opened with the read key, the object from the owner's
 * suppliers.
 */
async function rawFolder(
  reader: MoteNode,
  storage: StorageService,
  writePub: Uint8Array,
  readKey: Uint8Array,
): Promise<Uint8Array> {
  const r = await reader.resolve(recordKeyOf("folder", nodeIdOf(writePub)), { timeout: 10_000 });
  assert(r, "the folder's record is in the DHT");
  const inner = readMap(
    decodeCanonical(
      await unseal(readKey, "folder-pointer", decodeFolderPointer(r.record.value).box),
    ),
    "folder pointer",
    ["manifest", "key"],
  );
  const manifest = decodeManifest(readBytes(inner, "manifest", "pointer", { max: 60_000 }));
  const key = readBytes(inner, "key", "pointer", { exact: 32 });
  return await collect(getFile(manifest, key, {
    customer: storage.customer,
    locator: storage.locator,
    fallback: storage.suppliers(),
  }));
}

/** Asserts a subfolder entry as a reader decoded it gives no usable write secret. */
function noSecret(e: Entry | undefined, writePub: Uint8Array, secret: Uint8Array): FolderEntry {
  assert(e?.t === "d", "a subfolder entry");
  assert(equals(e.writePub, writePub));
  assertEquals(e.writeSecret, undefined);
  if (e.sealedWrite) {
    assert(!equals(e.sealedWrite, secret));
    // Taken as a secret, the masked value signs as another key: not the subfolder's record.
    assert(!equals(signPublicKey(e.sealedWrite), writePub));
  }
  return e;
}

Deno.test({
  name: "a folder's reader finds no subfolder's write secret in what it can open",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8);
    const [ownerNode, readerNode, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
    const { storage, catalog } = await startOwner(ownerNode!, { quota: 64 << 20 });
    try {
      await steps(t, ownerNode!, readerNode!, storage, catalog);
    } finally {
      await storage.stop();
    }
  },
});

async function steps(
  t: Deno.TestContext,
  ownerNode: MoteNode,
  readerNode: MoteNode,
  storage: StorageService,
  catalog: Catalog,
): Promise<void> {
  const sharing = new SharingService(storage);
  const owner = ownerNode.id;
  const R = new SharedReader(readerNode);

  const files: Record<string, Uint8Array> = {
    "/photos/a.txt": utf8("top"),
    "/photos/sub/b.bin": randomBytes(40_000),
    "/photos/sub/deeper/c.txt": utf8("deep"),
  };
  for (const [path, bytes] of Object.entries(files)) {
    await catalog.put(path, chunks(bytes), bytes.length);
  }
  await sharing.share("/photos", { reader: readerNode.id });

  // The owner's keys, as its catalog holds them.
  const host = catalog.permissionHost();
  const photos = (await host.walk(["photos"])).keys;
  const sub = (await host.walk(["photos", "sub"])).keys;
  const deeper = (await host.walk(["photos", "sub", "deeper"])).keys;
  const held = (await R.shares(owner)).find((s) => s.path === "/photos")!;
  assert(held, "the reader holds /photos");

  await t.step("the reader opens the subtree but gets no subfolder's secret", async () => {
    assertEquals(
      await collect((await R.get(owner, ["photos", "sub", "b.bin"])).stream),
      files["/photos/sub/b.bin"],
    );
    const top = await R.openFolder(owner, held.object, held.key);
    const e = noSecret(top.entries.sub, sub.writePub, sub.writeSecret);
    assert(e.sealedWrite, "written masked");
    const mid = await R.openFolder(owner, e.writePub, e.readKey);
    const d = noSecret(mid.entries.deeper, deeper.writePub, deeper.writeSecret);
    assert(d.sealedWrite, "written masked");
    // Nor is either secret anywhere in the objects the reader's keys open.
    const rawTop = await rawFolder(readerNode, storage, held.object, held.key);
    const rawMid = await rawFolder(readerNode, storage, e.writePub, e.readKey);
    const rawDeep = await rawFolder(readerNode, storage, d.writePub, d.readKey);
    for (const raw of [rawTop, rawMid, rawDeep]) {
      assert(!contains(raw, sub.writeSecret), "sub's secret in the clear");
      assert(!contains(raw, deeper.writeSecret), "deeper's secret in the clear");
    }
    assert(contains(rawTop, sub.writePub), "the object is the one expected");
  });

  await t.step("a folder an earlier release wrote is read, then written again masked", async () => {
    // What a node of the first release published for /photos: sub's secret in the clear.
    const current = (await host.walk(["photos"])).version;
    const r = await ownerNode.resolve(recordKeyOf("folder", nodeIdOf(photos.writePub)), {
      timeout: 10_000,
    });
    const entries: Record<string, Entry> = { ...current.entries };
    entries.sub = { t: "d", ...sub };
    const old: FolderVersion = {
      ...current,
      parent: await sha256(r!.record.value),
      counter: current.counter + 1,
      entries,
    };
    const bytes = encode(old);
    const key = generateDataKey();
    const o = catalog.options;
    const { manifest } = await putFile(chunks(bytes), bytes.length, {
      customer: o.customer,
      locator: o.locator,
      suppliers: o.suppliers(),
      k: o.k,
      m: o.m,
      key,
    });
    const box = await seal(
      photos.readKey,
      "folder-pointer",
      encode({ manifest: encodeManifest(manifest), key }),
    );
    await ownerNode.publishRecord(createRecord(photos.writeSecret, photos.writePub, {
      ns: "folder",
      seq: old.counter,
      value: encode({ v: 1, counter: old.counter, box }),
    }));
    const exposed = await rawFolder(readerNode, storage, held.object, held.key);
    assert(contains(exposed, sub.writeSecret), "the old format held the secret in the clear");
    // The reader still opens it (and its decoder leaves the plain secret out).
    const top = await R.openFolder(owner, held.object, held.key);
    assertEquals(top.counter, old.counter);
    noSecret(top.entries.sub, sub.writePub, sub.writeSecret);
    assertEquals(
      await collect((await R.get(owner, ["photos", "sub", "b.bin"])).stream),
      files["/photos/sub/b.bin"],
    );

    // The owner's node after a restart: a catalog with nothing cached, walking for its keep list.
    const again = new Catalog({ ...catalog.options });
    assertEquals(await again.open(), "found");
    assertEquals((await again.list("/photos/sub")).map((e) => e.name), ["b.bin", "deeper"]);
    const report = await again.publishKeepList();
    assert(report.folders >= 4, `keep list: ${JSON.stringify(report)}`);
    const upgraded = await rawFolder(readerNode, storage, held.object, held.key);
    assert(!contains(upgraded, sub.writeSecret), "written again masked");
    const reread = await R.openFolder(owner, held.object, held.key);
    assertEquals(reread.counter, old.counter + 1);
    assert(noSecret(reread.entries.sub, sub.writePub, sub.writeSecret).sealedWrite);

    // The owner still walks down and writes below it (it unmasks sub's secret to sign).
    const added = utf8("added after the upgrade");
    await again.put("/photos/sub/new.txt", chunks(added), added.length);
    assertEquals(await collect((await R.get(owner, ["photos", "sub", "new.txt"])).stream), added);
    assertEquals(
      await collect((await again.get("/photos/sub/deeper/c.txt")).stream),
      files["/photos/sub/deeper/c.txt"],
    );
  });
}
