/**
 * Nothing a scrubber holds can decrypt the owner's files: after it rebuilt a lost supplier's
 * shards with the owner offline, its whole state directory and its ticket hold no data key, no
 * secret of the owner's and no plaintext. It runs alone in the suite (`tests/run.ts`, SOLO): the
 * rebuild waits on loss detection with a 2-second grace, which took minutes under the suite's
 * load.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { dirState } from "../src/node/state.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { BS, scrubNet, storeAndHire } from "./_scrub_net.ts";
import { chunks } from "./_storage_net.ts";

Deno.test({
  name: "nothing a scrubber holds can decrypt the owner's files",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mote-scrub-" });
    let n = 0;
    try {
      await using net = await scrubNet(7, () => dirState(`${dir}/s${n++}`));
      const big = randomBytes(5 * BS), small = randomBytes(3000);
      const job = await storeAndHire(net, big, "/docs/big.bin");
      await net.catalog.put("/docs/small.txt", chunks(small), small.length);
      await net.catalog.publishKeepList();
      await net.manager.tick(1, net.catalog.lastKeepList);
      // Make it work: a supplier dies, so the scrubber rebuilds from ciphertext.
      const gone = net.storage.suppliers()[2]!;
      await net.storage.stop();
      await net.owner.stop();
      await net.suppliers.find((s) => s.node.id === gone)!.node.stop();
      // Loss is counted after the grace, then the shards are rebuilt: in a loaded suite this took
      // over a minute once (13–36 s alone).
      await waitFor(() => job.report.rebuilt > 0 && job.report.missing === 0, 150_000, "rebuilt")
        .catch((e) => {
          throw new Error(`${e.message}; the scrubber's report: ${JSON.stringify(job.report)}`);
        });
      // The old folder object the owner deleted after the second put was on the scrubber's older
      // keep list: the suppliers' lists said it was deleted, so nobody was blamed for it.
      assertEquals(job.health.all().filter((h) => h.state === "caught"), []);

      const secrets: [string, Uint8Array][] = [
        ["sign secret", net.owner.keys.signSecret],
        ["agreement secret", net.owner.keys.agreeSecret],
      ];
      for (const p of ["/docs/big.bin", "/docs/small.txt"]) {
        for (const v of await net.catalog.versions(p)) secrets.push([`data key of ${p}`, v.key]);
      }
      const held: [string, Uint8Array][] = [["ticket", job.ticket.bytes]];
      for await (const f of walk(dir)) held.push([f, await Deno.readFile(f)]);
      assert(held.length > 3, "the scrubber wrote its state");
      for (const [where, bytes] of held) {
        for (const [what, secret] of secrets) {
          assert(!contains(bytes, secret), `${what} found in ${where}`);
        }
        assert(!contains(bytes, small.subarray(0, 64)), `plaintext found in ${where}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0]!;
  outer: for (let i = hay.indexOf(first); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return false;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
