/**
 * Regenerates tests/vectors/rs_isal.json from Intel ISA-L's output: builds and runs the C driver
 * `bench/isal/rs vectors` (needs `apt-get install -y libisal-dev` and a C compiler), keeps the
 * parity of small shards as hex and reduces larger ones to SHA-256 digests, so the file stays
 * small.
 *
 *   deno run -A tests/vectors/rs_make.ts
 */
const ROOT = new URL("../../", import.meta.url).pathname;
/** Shards up to this size are kept whole; larger ones as digests. */
const FULL_BYTES = 257;

const make = await new Deno.Command("make", { args: ["-s", "-C", `${ROOT}bench/isal`] }).output();
if (!make.success) throw new Error(new TextDecoder().decode(make.stderr));
const run = await new Deno.Command(`${ROOT}bench/isal/rs`, { args: ["vectors"] }).output();
if (!run.success) throw new Error(new TextDecoder().decode(run.stderr));

const hexToBytes = (hex: string) =>
  Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
const toHex = (b: ArrayBuffer) =>
  [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");

const cases = [];
for (const line of new TextDecoder().decode(run.stdout).trim().split("\n")) {
  const { k, m, size, seed, parity } = JSON.parse(line) as {
    k: number;
    m: number;
    size: number;
    seed: number;
    parity: string[];
  };
  if (size <= FULL_BYTES) cases.push({ k, m, size, seed, parity });
  else {
    const sha256 = [];
    for (const p of parity) {
      sha256.push(toHex(await crypto.subtle.digest("SHA-256", hexToBytes(p))));
    }
    cases.push({ k, m, size, seed, sha256 });
  }
}
const out = {
  description: "Parity from Intel ISA-L 2.30 (gf_gen_cauchy1_matrix, ec_encode_data) by " +
    "bench/isal/rs.c. Input: data shard after data shard, one byte per step of the 32-bit LCG " +
    "state = state * 1664525 + 1013904223 starting from seed, each byte state >>> 24. parity: " +
    "hex of each parity shard; sha256: hex SHA-256 of each parity shard.",
  cases,
};
const file = `${ROOT}tests/vectors/rs_isal.json`;
await Deno.writeTextFile(file, JSON.stringify(out, null, 2) + "\n");
await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", file] }).output();
console.log(`wrote ${cases.length} cases to ${file}`);
