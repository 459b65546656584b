/**
 * Abuse limits and races on real nodes: caps on records stored per signer and in total, and two
 * devices of one identity publishing the same sequence number (every node converges on the
 * tie-break winner and warns).
 */
import { utf8 } from "../src/encoding/bytes.ts";
import { generateIdentity } from "../src/identity/mod.ts";
import { createRecord, encodeRecord, formatRecordKey, recordKeyOf } from "../src/records/mod.ts";
import { compareRecords } from "../src/records/order.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster, testNode } from "./_harness.ts";

Deno.test({
  name: "a node stores at most its caps of records for others, per signer and in total",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(3, { maxRecordsPerSigner: 3, maxRecords: 5 });
    const [storer, alice, bob] = cluster.nodes;
    const publish = async (node: typeof alice, n: number) => {
      const stored = [];
      for (let i = 0; i < n; i++) {
        stored.push((await node!.publish("test", utf8(`r${i}`), utf8("x"))).stored);
      }
      return stored;
    };
    // Each record goes to the two other nodes; each takes 3 per signer.
    assertEquals(
      await publish(alice, 5),
      [2, 2, 2, 0, 0],
      "3 of alice's records per node, then refusals",
    );
    // The storer now holds 3 for others, so its total cap of 5 leaves room for 2 of bob's;
    // alice's node holds only its own records, which never count, so it takes 3 of bob's.
    assertEquals(await publish(bob, 4), [2, 2, 1, 0]);
    assertEquals(storer!.status().records.stored, 5);
    assert(
      /mote_records_rejected_total\{reason="over-capacity"\} [1-9]/.test(
        storer!.metrics.render(),
      ),
    );
    // Its own records always fit, caps or not.
    await storer!.publish("test", utf8("mine"), utf8("always room"));
    assertEquals(storer!.status().records.stored, 6);
  },
});

Deno.test({
  name: "two devices publishing the same sequence number converge on one winner everywhere",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(6);
    const keys = generateIdentity();
    const laptop = testNode({ keys, bootstrap: [cluster.nodes[0]!.addresses()[0]!] }, "laptop");
    const phone = testNode({ keys, bootstrap: [cluster.nodes[3]!.addresses()[0]!] }, "phone");
    try {
      await laptop.start();
      await phone.start();
      assertEquals(laptop.id, phone.id, "one identity on two devices");
      assert(
        laptop.p2p.peerId.toString() !== phone.p2p.peerId.toString(),
        "each device has its own peer id",
      );
      const name = utf8("profile");
      const a = createRecord(keys.signSecret, keys.signPublic, {
        ns: "test",
        name,
        seq: 7,
        value: utf8("from laptop"),
      });
      const b = createRecord(keys.signSecret, keys.signPublic, {
        ns: "test",
        name,
        seq: 7,
        value: utf8("from phone"),
      });
      const key = recordKeyOf("test", keys.id, name);
      await Promise.all([
        laptop.routing.put(key, encodeRecord(a)),
        phone.routing.put(key, encodeRecord(b)),
      ]);
      const winner = compareRecords(a, b) > 0 ? a : b;
      for (const n of [...cluster.nodes, laptop, phone]) {
        const r = await n.resolve(key, { timeout: 10_000 });
        assertEquals(
          new TextDecoder().decode(r!.record.value),
          new TextDecoder().decode(winner.value),
          n.nickname,
        );
      }
      const conflicts = cluster.nodes.map((n) =>
        /mote_record_conflicts_total (\d+)/.exec(n.metrics.render())?.[1]
      );
      assert(
        conflicts.some((c) => c !== undefined),
        `some node must have warned about the tie: ${conflicts}`,
      );
      assertEquals(formatRecordKey(key).startsWith("/mote/test/"), true);
    } finally {
      await laptop.stop();
      await phone.stop();
    }
  },
});
