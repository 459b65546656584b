/**
 * Scrubbers under faults, on real nodes: revoked, expired and unverifiable tickets sign nothing;
 * a scrubber that lies cannot add, change or delete the owner's data; bit rot found while the
 * owner is offline is rebuilt (that nothing a scrubber holds can decrypt the owner's files is
 * `scrub_secrets_test.ts`).
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { randomBytes } from "../src/crypto/hash.ts";
import { shardId } from "../src/crypto/merkle.ts";
import { decode } from "../src/encoding/cbor.ts";
import { decodeManifest } from "../src/files/manifest.ts";
import { memoryState } from "../src/node/state.ts";
import { issueTicket } from "../src/scrub/mod.ts";
import { ShardCorruptError } from "../src/store/errors.ts";
import {
  Customer,
  encodeRequest,
  MAX_SHARD,
  SHARD_PROTOCOL,
  signDelete,
  signPut,
} from "../src/suppliers/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { collect } from "./_storage_net.ts";
import { BS, scrubNet, storeAndHire } from "./_scrub_net.ts";

Deno.test({
  name: "revoked, expired and unverifiable tickets sign nothing, and a revoked scrubber stops",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await scrubNet(7);
    const job = await storeAndHire(net, randomBytes(2 * BS));
    const spare = net.suppliers.find((s) => !net.storage.suppliers().includes(s.node.id))!;
    const spareFound = { id: spare.node.id, peer: spare.node.p2p.peerId.toString() };
    const offer = spare.offer();
    // While the ticket is good, the scrubber may hire for the owner.
    const c = await job.customer.contractWith({ ...spareFound, offer }, 1 << 20, 60_000);
    assert(c.delegation, "a contract signed under the ticket");

    await net.manager.revoke(job.ticket.name.slice(0, 8));
    assert(!net.scrubber.jobs.has(net.owner.id), "the scrubber dropped the owner at once");
    const refused = async (f: () => Promise<unknown>, text: RegExp) => {
      try {
        await f();
      } catch (e) {
        assert(text.test((e as Error).message), (e as Error).message);
        return;
      }
      throw new Error("expected a refusal");
    };
    await refused(
      () => job.customer.contractWith({ ...spareFound, offer: spare.offer() }, 1 << 20, 60_000),
      /revoked/,
    );
    const kept = [...(await net.catalog.keptObjects())[0]!.blocks[0]!];
    const bytes = await net.storage.customer.getShard(
      net.storage.locator.suppliersFor(kept[0]!)[0]!,
      kept[0]!,
    );
    await refused(() => job.customer.putShard(spare.node.id, kept[0]!, bytes), /revoked/);

    // A ticket whose owner has no revocation set anywhere: its status cannot be established.
    const stranger = net.cluster.nodes.at(-1)!; // any node with keys; here the scrubber itself
    const other = await startCluster(1);
    try {
      const lone = other.nodes[0]!;
      const t = issueTicket({
        id: randomBytes(16),
        owner: lone.id,
        ownerKey: lone.keys.signPublic,
        scrubber: stranger.id,
        scrubberKey: stranger.keys.signPublic,
        issued: Date.now(),
        expiry: Date.now() + 60_000,
        maxContracts: 2,
        maxQuota: 1 << 20,
      }, lone.keys.signSecret);
      await refused(() => net.scrubber.accept(t), /cannot be found/);
      const blind = new Customer(stranger, memoryState(), {
        shardId,
        maxShard: MAX_SHARD,
        timeout: 5_000,
        delegation: () => t,
      });
      await refused(
        () => blind.contractWith({ ...spareFound, offer: spare.offer() }, 1 << 20, 60_000),
        /status is unknown/,
      );
      // An expired ticket of the real owner.
      const old = issueTicket({
        ...t,
        id: randomBytes(16),
        owner: net.owner.id,
        ownerKey: net.owner.keys.signPublic,
        issued: Date.now() - 7_200_000,
        expiry: Date.now() - 3_600_000,
      }, net.owner.keys.signSecret);
      const late = new Customer(stranger, memoryState(), {
        shardId,
        maxShard: MAX_SHARD,
        timeout: 5_000,
        delegation: () => old,
      });
      await refused(
        () => late.contractWith({ ...spareFound, offer: spare.offer() }, 1 << 20, 60_000),
        /expired/,
      );
      // Sent by hand, a put under the expired ticket is refused by the supplier itself.
      const holder = net.storage.locator.suppliersFor(kept[0]!)[0]!;
      const auth = {
        customer: net.owner.id,
        supplier: holder,
        seq: 0,
        id: kept[0]!,
        size: bytes.length,
        ts: Date.now(),
      };
      await refused(
        () =>
          stranger.rpc.request(
            peerIdFromString(net.storage.customer.peerOf(holder)!),
            SHARD_PROTOCOL,
            encodeRequest("put", {
              auth,
              sig: signPut(auth, stranger.keys.signSecret),
              tk: old.bytes,
              data: bytes,
            }),
            { maxResponse: 1024, timeout: 5_000 },
          ),
        /expired/,
      );
    } finally {
      await other.stop();
    }
  },
});

Deno.test({
  name: "a lying scrubber cannot add, change or delete the owner's shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await scrubNet(6);
    const data = randomBytes(3 * BS);
    const job = await storeAndHire(net, data);
    const target = net.storage.suppliers()[0]!;
    const refused = async (f: () => Promise<unknown>, text: RegExp) => {
      try {
        await f();
      } catch (e) {
        assert(text.test((e as Error).message), (e as Error).message);
        return;
      }
      throw new Error("expected a refusal");
    };
    // Data of its own, not on the owner's keep list.
    const junk = randomBytes(5000);
    await refused(
      () => job.customer.putShard(target, "a".repeat(52), junk),
      /keep list/,
    );
    const junkId = await shardId(junk);
    await refused(() => job.customer.putShard(target, junkId, junk), /keep list/);
    // A kept id with other bytes: the supplier checks the id against the bytes.
    const kept = (await net.catalog.keptObjects())[0]!.blocks[0]!;
    const victim = kept.find((id) => !net.storage.locator.suppliersFor(id).includes(target))!;
    await refused(() => job.customer.putShard(target, victim, junk), /does not match|id/i);
    // Deletes: refused by the scrubber's own client, and by the supplier when forged by hand.
    await refused(() => job.customer.deleteShards(target, [kept[0]!]), /never deletes/);
    const req = {
      customer: net.owner.id,
      supplier: target,
      seq: 0,
      counter: Date.now() + 10_000,
      expiry: Date.now() + 60_000,
      ids: [...kept],
    };
    const peer = net.storage.customer.peerOf(target)!;
    const sig = signDelete(req, net.scrubber.node.keys.signSecret);
    await refused(
      () =>
        net.scrubber.node.rpc.request(
          peerIdFromString(peer),
          SHARD_PROTOCOL,
          encodeRequest("delete", { req, sig }),
          { maxResponse: 1024, timeout: 5_000 },
        ),
      /signature/,
    );
    // Everything is still there and reads back.
    assertEquals(await collect((await net.catalog.get("/f.bin")).stream), data);
    const res = decode(
      await net.scrubber.node.rpc.request(
        peerIdFromString(peer),
        SHARD_PROTOCOL,
        encodeRequest("has", { customer: net.owner.id, ids: [...kept] }),
        { maxResponse: 4096, timeout: 5_000 },
      ),
    ) as { has: boolean[] };
    assertEquals(
      res.has.filter(Boolean).length,
      kept.filter((id) => net.storage.locator.suppliersFor(id).includes(target)).length,
    );
  },
});

Deno.test({
  name: "a scrubber renews the offline owner's contracts under its ticket",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Contracts of 12 s: renewed in their last third, so within a few seconds of the owner going.
    await using net = await scrubNet(6, memoryState, 12_000);
    const data = randomBytes(2 * BS);
    await storeAndHire(net, data);
    const owner = net.owner.id;
    const hired = net.storage.suppliers();
    await net.storage.stop();
    await net.owner.stop();
    const firstEnd = Math.max(
      ...hired.map((id) => net.suppliers.find((s) => s.node.id === id)!.contracts.get(owner)!)
        .map((c) => c.terms.expiry),
    );
    await waitFor(
      () =>
        hired.every((id) => {
          const c = net.suppliers.find((s) => s.node.id === id)!.contracts.get(owner);
          return !!c?.delegation && c.terms.expiry > firstEnd;
        }),
      30_000,
      "every contract renewed by the scrubber",
    );
    // Past the first contracts' end, every shard is still there.
    while (Date.now() < firstEnd + 1_000) await new Promise((r) => setTimeout(r, 200));
    const ids = (await net.catalog.keptObjects()).flatMap((o) => o.blocks.flat());
    let held = 0;
    for (const s of net.suppliers) for (const id of ids) if (await s.store.has(owner, id)) held++;
    assert(held >= ids.length, `${held} of ${ids.length} shards held`);
  },
});

Deno.test({
  name: "bit rot found while the owner is offline is rebuilt by the scrubber",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await scrubNet(7);
    const data = randomBytes(2 * BS);
    const job = await storeAndHire(net, data);
    const owner = net.owner.id;
    const v = (await net.catalog.versions("/f.bin"))[0]!;
    const victim = decodeManifest(v.manifest!).blocks[0]!.shards[1]!;
    const holder = net.storage.locator.suppliersFor(victim)[0]!;
    await net.storage.stop();
    await net.owner.stop();

    const sup = net.suppliers.find((s) => s.node.id === holder)!;
    const realGet = sup.store.get.bind(sup.store);
    let rotten = true;
    sup.store.get = async (customer, id) => {
      const bytes = await realGet(customer, id);
      if (!rotten || id !== victim || !bytes) return bytes;
      const bad = bytes.slice();
      bad[7] = bad[7]! ^ 0x80;
      // The store checks every read: what a failing disk looks like to the supplier.
      if (await shardId(bad) !== id) throw new ShardCorruptError(customer, id, "a flipped bit");
      return bad;
    };
    await waitFor(() => job.health.of(holder).badShards > 0, 30_000, "the audit to find it");
    rotten = false; // the copy written again lands on good disk
    await waitFor(
      async () => {
        for (const s of net.suppliers) {
          if (s.node.id === holder && rotten) continue;
          const b = await s.store.get(owner, victim).catch(() => null);
          if (b && await shardId(b) === victim) return job.repairs.pendingShards === 0;
        }
        return false;
      },
      30_000,
      "the shard rebuilt",
    );
    assert(job.report.rebuilt >= 1, "the scrubber rebuilt it");
  },
});
