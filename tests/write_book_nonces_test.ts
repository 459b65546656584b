/**
 * A supplier's seen write nonces survive a restart (`suppliers/write_book.ts`): a real shard
 * store and a node state on disk, the write book made again over them as a restarted supplier
 * does. A captured request replayed after the restart is refused as `replayed`, stores nothing
 * twice and counts no byte twice; the nonce list drops expired nonces, is forgotten with the
 * owner's contract, and a write key's live quota still holds after the restart.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { fromBase32 } from "../src/encoding/base32.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { decode } from "../src/encoding/cbor.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import type { MoteNode } from "../src/node/node.ts";
import { dirState } from "../src/node/state.ts";
import { createRecord, encodeRecord } from "../src/records/record.ts";
import { namespaces } from "../src/records/namespace.ts";
import { SharingError } from "../src/sharing/errors.ts";
import {
  createWritePolicy,
  encodeWritePolicy,
  generateWriteKey,
} from "../src/sharing/write_key.ts";
import { WPOLICY_NAMESPACE } from "../src/sharing/write_records.ts";
import { encodeWriteRequest, signWriteRequest } from "../src/sharing/write_request.ts";
import { openUnstorageShardStore } from "../src/store/mod.ts";
import type { Contract } from "../src/suppliers/contract.ts";
import { WriteBook } from "../src/suppliers/write_book.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sleep } from "./_harness.ts";

const owner = generateIdentity(), supplier = generateIdentity();
const folder = "b".repeat(52);
/** The supplier's node as the write book uses it: its id, namespaces, and a DHT with nothing. */
const node = {
  id: supplier.id,
  namespaces: namespaces(WPOLICY_NAMESPACE),
  resolve: () => Promise.resolve(undefined),
} as unknown as MoteNode;
const contract = {
  terms: { customer: owner.id, start: Date.now() - 1000, expiry: Date.now() + 3_600_000 },
} as unknown as Contract;

function policyRecord(seq: number, writePub: Uint8Array, byteCap: number): Uint8Array {
  const p = createWritePolicy(owner, { folder, seq, writePub, byteCap });
  return encodeRecord(createRecord(owner.signSecret, owner.signPublic, {
    ns: "wpolicy",
    name: utf8(folder),
    seq,
    value: encodeWritePolicy(p),
  }));
}

async function request(secret: Uint8Array, data: Uint8Array, ttl = 60_000) {
  const id = await shardId(data);
  const req = signWriteRequest(secret, {
    owner: owner.id,
    folder,
    seq: 0,
    supplier: supplier.id,
    shard: fromBase32(id),
    size: data.length,
    expires: Date.now() + ttl,
  });
  return { id, fields: { v: 1, op: "wput", req: encodeWriteRequest(req), data } };
}

Deno.test("a replayed write request is refused after the supplier restarts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mote-write-nonces-" });
  try {
    const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
      shardId,
      maxShardBytes: 1 << 20,
    });
    const h = {
      node,
      store,
      contracts: { get: (c: string) => c === owner.id ? contract : undefined },
    };
    const k = generateWriteKey();
    let book = new WriteBook(dirState(dir));
    book.learn(node, policyRecord(0, k.pub, 30_000));
    const a = await request(k.secret, randomBytes(20_000));
    assertEquals(await book.put(h, a.fields, 1 << 20), "stored");
    // One that expires in a moment: written down, then dropped once expired.
    const brief = await request(k.secret, randomBytes(10), 300);
    assertEquals(await book.put(h, brief.fields, 1 << 20), "stored");

    // Restarted: a new write book over the same state directory, which has never seen a nonce.
    book = new WriteBook(dirState(dir));
    book.learn(node, policyRecord(0, k.pub, 30_000));
    const e = await assertRejects(() => book.put(h, a.fields, 1 << 20), SharingError);
    assertEquals((e as SharingError).reason, "replayed");
    assert(e.message.startsWith("replayed: "), e.message);
    // Listed once, and its bytes counted once: 9 990 bytes are left under the cap of 30 000.
    const rows = decode((await dirState(dir).read(`writes.${owner.id}`))!) as unknown[];
    assertEquals(rows.length, 2);
    await sleep(400); // `brief` expires
    const b = await request(k.secret, randomBytes(9_990));
    assertEquals(await book.put(h, b.fields, 1 << 20), "stored");
    const c = await request(k.secret, randomBytes(1));
    const over = await assertRejects(() => book.put(h, c.fields, 1 << 20), SharingError);
    assertEquals((over as SharingError).reason, "over-cap");
    assertEquals(await store.has(owner.id, c.id), false);

    // The nonce list kept the live ones only (a and b; `brief` expired and was dropped).
    const seen = decode((await dirState(dir).read(`wnonces.${owner.id}`))!) as unknown[][];
    assertEquals(seen.length, 2);
    assert(seen.every((x) => (x[2] as number) >= Date.now()));

    // A contract that ends forgets the owner's nonces with its shards list.
    await book.forget(owner.id);
    assertEquals(await dirState(dir).read(`wnonces.${owner.id}`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a write key's live quota still holds after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mote-write-nonces-" });
  try {
    const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
      shardId,
      maxShardBytes: 1 << 20,
    });
    const h = {
      node,
      store,
      contracts: { get: (c: string) => c === owner.id ? contract : undefined },
    };
    const k = generateWriteKey();
    let book = new WriteBook(dirState(dir), { maxLivePerKey: 2 });
    book.learn(node, policyRecord(0, k.pub, 1 << 20));
    for (let i = 0; i < 2; i++) {
      assertEquals(
        await book.put(h, (await request(k.secret, randomBytes(10))).fields, 1024),
        "stored",
      );
    }
    book = new WriteBook(dirState(dir), { maxLivePerKey: 2 });
    book.learn(node, policyRecord(0, k.pub, 1 << 20));
    const third = await request(k.secret, randomBytes(10));
    const e = await assertRejects(() => book.put(h, third.fields, 1024), SharingError);
    assertEquals((e as SharingError).reason, "busy");
    assertEquals(await store.has(owner.id, third.id), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
