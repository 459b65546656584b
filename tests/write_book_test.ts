/**
 * A supplier's write book (`suppliers/write_book.ts`) on its own: a real shard store and node
 * state, the policy handed over as the owner pushes it, and no network (a lookup finds nothing).
 * The per-key byte counts survive a restart, a key cannot hold more live requests than its
 * quota, a pushed record must be a write policy, and writers' shards are kept only under the
 * folder's current key.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { fromBase32 } from "../src/encoding/base32.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import type { MoteNode } from "../src/node/node.ts";
import { memoryState } from "../src/node/state.ts";
import { createRecord, encodeRecord } from "../src/records/record.ts";
import { namespaces } from "../src/records/namespace.ts";
import { SharingError } from "../src/sharing/errors.ts";
import {
  createWritePolicy,
  encodeWritePolicy,
  generateWriteKey,
} from "../src/sharing/write_key.ts";
import { WPOLICY_NAMESPACE, WVER_NAMESPACE } from "../src/sharing/write_records.ts";
import { encodeWriteRequest, signWriteRequest } from "../src/sharing/write_request.ts";
import { openUnstorageShardStore } from "../src/store/mod.ts";
import type { Contract } from "../src/suppliers/contract.ts";
import { WriteBook } from "../src/suppliers/write_book.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

const owner = generateIdentity(), supplier = generateIdentity();
const folder = "a".repeat(52);
const ns = namespaces(WPOLICY_NAMESPACE, WVER_NAMESPACE);
/** The supplier's node as the write book uses it: its id, namespaces, and a DHT with nothing. */
const node = {
  id: supplier.id,
  namespaces: ns,
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

async function host() {
  const store = await openUnstorageShardStore(createStorage({ driver: memoryDriver() }), {
    shardId,
    maxShardBytes: 1 << 20,
  });
  return { node, store, contracts: { get: (c: string) => c === owner.id ? contract : undefined } };
}

async function request(secret: Uint8Array, seq: number, data: Uint8Array) {
  const id = await shardId(data);
  const req = signWriteRequest(secret, {
    owner: owner.id,
    folder,
    seq,
    supplier: supplier.id,
    shard: fromBase32(id),
    size: data.length,
    expires: Date.now() + 60_000,
  });
  return { id, fields: { v: 1, op: "wput", req: encodeWriteRequest(req), data } };
}

Deno.test("a write book keeps byte counts over a restart and writers' shards under the current key", async () => {
  const state = memoryState(), h = await host();
  const k = generateWriteKey();
  let book = new WriteBook(state);
  assert(book.learn(node, policyRecord(0, k.pub, 30_000)));
  assert(!book.learn(node, policyRecord(0, k.pub, 30_000)), "the same policy again is not news");
  const a = await request(k.secret, 0, randomBytes(20_000));
  assertEquals(await book.put(h, a.fields, 1 << 20), "stored");
  assert((await book.kept(node, owner.id)).has(a.id));

  // A new write book over the same state (a restarted supplier) still counts the 20 000 bytes.
  book = new WriteBook(state);
  book.learn(node, policyRecord(0, k.pub, 30_000));
  const b = await request(k.secret, 0, randomBytes(15_000));
  const e = await assertRejects(() => book.put(h, b.fields, 1 << 20), SharingError);
  assertEquals((e as SharingError).reason, "over-cap");
  assert(e.message.startsWith("over-cap: "), e.message);
  assertEquals(await h.store.has(owner.id, b.id), false);

  // A rotated key: the old shard is no longer kept, a request under the old key is stale.
  const k2 = generateWriteKey();
  assert(book.learn(node, policyRecord(1, k2.pub, 30_000)));
  assertEquals((await book.kept(node, owner.id)).has(a.id), false);
  const old = await request(k.secret, 0, randomBytes(100));
  const stale = await assertRejects(() => book.put(h, old.fields, 1 << 20), SharingError);
  assertEquals((stale as SharingError).reason, "stale-policy");
});

Deno.test("a write book refuses a key past its live request quota, and foreign records", async () => {
  const h = await host(), k = generateWriteKey();
  const book = new WriteBook(memoryState(), { maxLivePerKey: 2 });
  book.learn(node, policyRecord(0, k.pub, 1 << 20));
  for (let i = 0; i < 2; i++) {
    assertEquals(
      await book.put(h, (await request(k.secret, 0, randomBytes(10))).fields, 1024),
      "stored",
    );
  }
  const third = await request(k.secret, 0, randomBytes(10));
  const e = await assertRejects(() => book.put(h, third.fields, 1024), SharingError);
  assertEquals((e as SharingError).reason, "busy");
  assertEquals(await h.store.has(owner.id, third.id), false);

  // A record of another namespace, or a policy signed by someone else, is not taken.
  const other = generateIdentity();
  const forged = encodeRecord(createRecord(other.signSecret, other.signPublic, {
    ns: "wpolicy",
    name: utf8(folder),
    seq: 5,
    value: encodeWritePolicy(
      createWritePolicy(owner, { folder, seq: 5, writePub: k.pub, byteCap: 9 }),
    ),
  }));
  assertThrows(() => book.learn(node, forged));
  // An owner this supplier keeps nothing for.
  const stranger = await request(k.secret, 0, randomBytes(10));
  const noContract = { ...h, contracts: { get: () => undefined } };
  const w = await assertRejects(() => book.put(noContract, stranger.fields, 1024), SharingError);
  assertEquals((w as SharingError).reason, "wrong-target");
});
