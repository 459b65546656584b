/**
 * DHT tests on 20 real nodes: a record put by one node is found from every other, and bad
 * records (tampered signature, lower sequence, wrong signer, oversized, garbage) pushed straight
 * into the DHT by a misbehaving node are refused by every honest node, which stay healthy.
 */
import { MessageType } from "@libp2p/kad-dht";
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/mod.ts";
import {
  createRecord,
  decodeRecord,
  encodeRecord,
  formatRecordKey,
  recordKeyOf,
  type SignedRecord,
} from "../src/records/mod.ts";
import type { MoteNode } from "../src/node/node.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster } from "./_harness.ts";

/** Pushes raw bytes into the DHT from `node`, bypassing its own validation (a lying node). */
async function rawPut(node: MoteNode, key: string, bytes: Uint8Array) {
  let accepted = 0;
  try {
    for await (
      const ev of node.p2p.services.dht.put(utf8(key), bytes, {
        signal: AbortSignal.timeout(10_000),
      })
    ) {
      if (ev.name === "PEER_RESPONSE" && ev.messageType === MessageType.PUT_VALUE) accepted++;
    }
  } catch { /* refusals surface as query errors */ }
  return accepted;
}

function rejected(node: MoteNode, reason: string): number {
  const m = new RegExp(`mote_records_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(
    node.metrics.render(),
  );
  return m ? Number(m[1]) : 0;
}

Deno.test({
  name: "20 nodes: a record put by one node is found from every other, and bad records are refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(20);
    const [author, liar, ...honest] = cluster.nodes as [MoteNode, MoteNode, ...MoteNode[]];
    const name = utf8("greeting");

    await t.step("a published record resolves from all 19 other nodes", async () => {
      const { key, stored } = await author.publish("test", name, utf8("hello, world"));
      assert(stored >= 3, `expected the record on at least 3 peers, got ${stored}`);
      for (const n of cluster.nodes.slice(1)) {
        const r = await n.resolve(key, { timeout: 10_000 });
        assert(r, `node ${n.nickname} could not resolve the record`);
        assertEquals(new TextDecoder().decode(r.record.value), "hello, world");
      }
    });

    // A second version, so there is an older one to replay.
    const v0 = (await author.resolve(recordKeyOf("test", author.id, name)))!.bytes;
    await author.publish("test", name, utf8("hello again"));
    const key = recordKeyOf("test", author.id, name);
    const ks = formatRecordKey(key);
    const good = (await author.resolve(key))!;
    assertEquals(good.record.seq, 1);
    // Every honest node learns of version 1 (a node that never saw it would rightly still take 0).
    for (const n of honest) {
      assertEquals((await n.resolve(key, { timeout: 10_000 }))?.record.seq, 1);
    }

    const cases: { what: string; reason: string; bytes: Uint8Array; key?: string }[] = [];
    {
      const tampered = structuredClone(good.record) as SignedRecord;
      (tampered.value as Uint8Array)[0]! ^= 1;
      cases.push({
        what: "tampered signature",
        reason: "bad-signature",
        bytes: encodeRecord(tampered),
      });
    }
    cases.push({ what: "lower sequence (replayed old version)", reason: "stale", bytes: v0 });
    {
      const mallory = generateIdentity();
      const forged = createRecord(mallory.signSecret, mallory.signPublic, {
        ns: "test",
        name,
        seq: 99,
        value: utf8("mine now"),
      });
      cases.push({ what: "wrong signer", reason: "wrong-key", bytes: encodeRecord(forged) });
    }
    {
      const big = createRecord(author.keys.signSecret, author.keys.signPublic, {
        ns: "test",
        name: utf8("big"),
        seq: 0,
        value: new Uint8Array(5000),
      });
      cases.push({
        what: "oversized",
        reason: "oversized",
        bytes: encodeRecord(big),
        key: formatRecordKey(recordKeyOf("test", author.id, utf8("big"))),
      });
    }
    cases.push({
      what: "garbage",
      reason: "malformed",
      bytes: crypto.getRandomValues(new Uint8Array(300)),
    });

    for (const c of cases) {
      await t.step(`a ${c.what} record is refused by every honest node`, async () => {
        const before = honest.reduce((s, n) => s + rejected(n, c.reason), 0);
        const accepted = await rawPut(liar, c.key ?? ks, c.bytes);
        assertEquals(accepted, 0, "no honest peer may accept it");
        const after = honest.reduce((s, n) => s + rejected(n, c.reason), 0);
        assert(after > before, `expected "${c.reason}" refusals to be counted`);
        // Every honest node still resolves the good version (the liar's copy is refused on read too).
        for (const n of honest.slice(0, 6)) {
          const r = await n.resolve(key, { timeout: 10_000 });
          assertEquals(r?.record.seq, 1, `${n.nickname} resolved the wrong version`);
          assertEquals(new TextDecoder().decode(r!.record.value), "hello again");
        }
      });
    }

    await t.step(
      "the nodes stay healthy: connected, and a fresh record still travels",
      async () => {
        for (const n of honest) assert(n.status().peers > 0, `${n.nickname} lost its peers`);
        const { key: k2 } = await honest[3]!.publish("test", utf8("after"), utf8("still fine"));
        const r = await honest[15]!.resolve(k2, { timeout: 10_000 });
        assertEquals(decodeRecord(r!.bytes, { namespaces: honest[15]!.namespaces }).seq, 0);
      },
    );
  },
});
