/**
 * Records must outlive their author's absence. With the DHT's record lifetime shrunk to 1.5 s,
 * a record whose author went offline still resolves several lifetimes later because another
 * node keeps it (republishes it); a record nobody keeps is forgotten after one lifetime.
 */
import { utf8 } from "../src/encoding/bytes.ts";
import { encodeRecord } from "../src/records/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { sleep, startCluster, testNode } from "./_harness.ts";

const LIFETIME = 1500;

Deno.test({
  name: "a kept record still resolves after its author has been offline for several lifetimes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster(6, {
      recordLifetime: LIFETIME,
      republishInterval: 400,
    });
    const [author, keeper, ...others] = cluster.nodes;
    const kept = await author!.publish("test", utf8("kept"), utf8("still here"));
    const orphan = await author!.publish("test", utf8("orphan"), utf8("nobody keeps me"));
    assert(
      await keeper!.keeper.keep(kept.key, encodeRecord(kept.record), false),
      "the keeper accepted the record",
    );
    await author!.stop();

    await sleep(LIFETIME * 4);

    // A node that joins now has never seen either record.
    const late = testNode({
      recordLifetime: LIFETIME,
      republishInterval: 400,
      bootstrap: [others[0]!.addresses()[0]!],
    }, "late");
    try {
      await late.start();
      const r = await late.resolve(kept.key, { timeout: 5_000 });
      assert(r, "the kept record should still resolve");
      assertEquals(new TextDecoder().decode(r.record.value), "still here");
      assertEquals(r.record.seq, kept.record.seq);
      const gone = await late.resolve(orphan.key, { timeout: 5_000 });
      assertEquals(
        gone,
        undefined,
        "a record nobody republished must be forgotten after its lifetime",
      );
      for (const n of others) {
        assertEquals(
          await n.resolve(orphan.key, { timeout: 3_000 }),
          undefined,
          `${n.nickname} still had the orphan`,
        );
      }
    } finally {
      await late.stop();
    }
  },
});
