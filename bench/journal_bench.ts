/**
 * What the upload journal adds per 4 MiB block of a put with an mtime: one synced append of the
 * block's plaintext hash before it is encrypted, one unsynced append once it is placed, and the
 * SHA-256 of the plaintext. Baselines, in the same run: a bare synced append of the same size
 * (the fsync alone), and encrypting the block (work every block does anyway). The alternative the
 * journal does not use, rewriting a whole journal file per block, is measured at the sizes a
 * 1 GiB and a 10 GiB put would reach. Run with `deno bench -A bench/journal_bench.ts`; figures
 * are in BENCHMARKS.md.
 */
import { encryptBlock, generateDataKey, importDataKey } from "../src/crypto/block.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { UploadJournal } from "../src/files/journal.ts";
import { dirState } from "../src/node/state.ts";

const root = await Deno.makeTempDir({ prefix: "mote-journal-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const state = dirState(root);
const journal = new UploadJournal(state);
const entry = (await journal.begin({
  path: "bench.bin",
  size: 2 ** 36, // small enough to be journalled (the byte bound)
  mtime: 1,
  key: generateDataKey(),
  blockSize: 4 << 20,
  k: 4,
  m: 2,
}))!;
const ref = {
  len: (4 << 20) + 16,
  shards: Array.from({ length: 6 }, () => "a".repeat(52)),
};
let block = 0;

Deno.bench({
  name: "baseline: a synced append of 70 bytes",
  group: "per block record",
  baseline: true,
  async fn() {
    await state.append("plain.log", randomBytes(70), { sync: true });
  },
});
Deno.bench("journal: started() (synced)", { group: "per block record" }, async () => {
  await journal.started(entry.id, block++, randomBytes(32));
});
Deno.bench("journal: placed() (not synced)", { group: "per block record" }, async () => {
  await journal.placed(entry.id, block++, ref);
});
for (const [what, bytes] of [["1 GiB", 256 * 450], ["10 GiB", 2560 * 450]] as const) {
  const whole = randomBytes(bytes);
  Deno.bench(
    `not used: rewriting a journal of a ${what} put (${bytes >> 10} KiB, synced)`,
    { group: "per block record" },
    async () => {
      await state.write("whole.log", whole, { secret: true, sync: true });
    },
  );
}

const plain = randomBytes(4 << 20);
const key = await importDataKey(generateDataKey());
Deno.bench({
  name: "baseline: encrypt a 4 MiB block",
  group: "per block hashing",
  baseline: true,
  async fn() {
    await encryptBlock(key, 0, 1, plain);
  },
});
Deno.bench("SHA-256 of the 4 MiB plaintext", { group: "per block hashing" }, async () => {
  await sha256(plain);
});
