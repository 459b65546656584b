import {
  challengeIndexes,
  LEAF_SIZE,
  leafCount,
  type MerkleProof,
  merkleProof,
  SHARD_ID_LENGTH,
  shardId,
  verifyMerkleProof,
} from "../src/crypto/mod.ts";
import {
  auditPath,
  buildLevels,
  hashLeavesSync,
  leafHashSync,
  rootFromPath,
} from "../src/crypto/_merkle_tree.ts";
import { sha256Sync } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { concat, fromHex, toHex } from "../src/encoding/bytes.ts";
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import ct from "./vectors/merkle_rfc6962.json" with { type: "json" };
import pinned from "./vectors/merkle_ids_v1.json" with { type: "json" };

// ---- A reference written straight from RFC 6962 §2.1, recursive and slow ----

const L = (leaf: Uint8Array) => sha256Sync(concat(new Uint8Array([0]), leaf));
const N = (a: Uint8Array, b: Uint8Array) => sha256Sync(concat(new Uint8Array([1]), a, b));
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of two < n

function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return L(d[0]!);
  const k = split(d.length);
  return N(mth(d.slice(0, k)), mth(d.slice(k)));
}

function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
};
const idOf = (length: number, root: Uint8Array) =>
  toBase32(sha256Sync(concat(new Uint8Array([2]), u64(length), root)));
const leavesOf = (bytes: Uint8Array) =>
  Array.from(
    { length: Math.max(1, Math.ceil(bytes.length / LEAF_SIZE)) },
    (_, i) => bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE),
  );
const referenceId = (bytes: Uint8Array) => idOf(bytes.length, mth(leavesOf(bytes)));

/** The inputs of tests/vectors/merkle_ids_v1.json (same formula as its generator). */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 7 + Math.floor(i / 4096)) & 255;
  return out;
}

/** A seeded generator (mulberry32) giving `random(bound)` as `challengeIndexes` wants. */
function seeded(seed: number): (bound: number) => number {
  let a = seed >>> 0;
  return (bound) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * bound);
  };
}

function randomShard(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const AWKWARD_SIZES = [0, 1, 4095, 4096, 4097, 3 * 4096 + 1, (1 << 20) + 7];

// ---- The tree itself ----

Deno.test("the tree matches the Certificate Transparency RFC 6962 vectors", async (t) => {
  const data = ct.leaves.map(fromHex);
  const leafHashes = data.map(leafHashSync);
  await t.step("leaf hashes", () => {
    assertEquals(leafHashes.map(toHex), ct.node_hashes[0]);
  });
  await t.step("roots of every size 1 to 8", () => {
    for (let n = 1; n <= 8; n++) {
      const levels = buildLevels(concat(...leafHashes.slice(0, n)));
      assertEquals(
        toHex(levels[levels.length - 1]!),
        ct.roots_by_size[String(n) as "1"],
        `size ${n}`,
      );
      assertEquals(
        toHex(mth(data.slice(0, n))),
        ct.roots_by_size[String(n) as "1"],
        `reference ${n}`,
      );
    }
  });
  await t.step("every complete subtree of the 8-leaf tree", () => {
    const levels = buildLevels(concat(...leafHashes));
    for (let l = 0; l < ct.node_hashes.length; l++) {
      const hashes = Array.from(
        { length: levels[l]!.length / 32 },
        (_, i) => toHex(levels[l]!.subarray(i * 32, i * 32 + 32)),
      );
      assertEquals(hashes, ct.node_hashes[l], `level ${l}`);
    }
  });
  await t.step("the published inclusion proofs", () => {
    for (const p of ct.inclusion_proofs) {
      const levels = buildLevels(concat(...leafHashes.slice(0, p.tree_size)));
      const got = auditPath(levels, p.leaf_index);
      assertEquals(toHex(got), p.path.join(""), `leaf ${p.leaf_index} of ${p.tree_size}`);
      const root = rootFromPath(leafHashes[p.leaf_index]!, p.leaf_index, p.tree_size, got);
      assertEquals(toHex(root!), ct.roots_by_size[String(p.tree_size) as "1"]);
    }
  });
  await t.step("every leaf of every size verifies, and corrupted proofs do not", () => {
    for (let n = 1; n <= 8; n++) {
      const levels = buildLevels(concat(...leafHashes.slice(0, n)));
      const root = toHex(levels[levels.length - 1]!);
      for (let i = 0; i < n; i++) {
        const p = auditPath(levels, i);
        assertEquals(toHex(p), path(i, data.slice(0, n)).map(toHex).join(""), `path ${i}/${n}`);
        const ok = (leaf: Uint8Array, index: number, size: number, q: Uint8Array) => {
          const r = rootFromPath(leaf, index, size, q);
          return r !== null && toHex(r) === root;
        };
        assert(ok(leafHashes[i]!, i, n, p), `leaf ${i} of ${n}`);
        if (i > 0) assert(!ok(leafHashes[i]!, i - 1, n, p), "index - 1");
        if (i + 1 < n) assert(!ok(leafHashes[i]!, i + 1, n, p), "index + 1");
        assert(!ok(leafHashes[i]!, i, n * 2, p), "size * 2");
        assert(!ok(leafHashes[(i + 1) % 8]!, i, n, p), "wrong leaf");
        assert(!ok(leafHashes[i]!, i, n, concat(p, leafHashes[0]!)), "trailing hash");
        assert(!ok(leafHashes[i]!, i, n, concat(leafHashes[0]!, p)), "preceding hash");
        if (p.length > 0) {
          assert(!ok(leafHashes[i]!, i, n, p.subarray(0, p.length - 32)), "removed hash");
          const bad = p.slice();
          bad[0]! ^= 8;
          assert(!ok(leafHashes[i]!, i, n, bad), "flipped bit");
        }
      }
    }
  });
});

Deno.test("shardId() builds RFC 6962 trees over 4 KiB leaves, checked by hand", async (t) => {
  // Leaf i is filled with byte i + 1; the last leaf is 100 bytes short to exercise partial leaves.
  const shard = (n: number) => {
    const out = new Uint8Array(n * LEAF_SIZE - 100);
    for (let i = 0; i < n; i++) out.fill(i + 1, i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
    return out;
  };
  const leaf = (bytes: Uint8Array, i: number) =>
    L(bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE));
  const cases: [number, (l: (i: number) => Uint8Array) => Uint8Array][] = [
    [1, (l) => l(0)],
    [2, (l) => N(l(0), l(1))],
    [3, (l) => N(N(l(0), l(1)), l(2))],
    [5, (l) => N(N(N(l(0), l(1)), N(l(2), l(3))), l(4))],
    [8, (l) => N(N(N(l(0), l(1)), N(l(2), l(3))), N(N(l(4), l(5)), N(l(6), l(7))))],
  ];
  for (const [n, rootByHand] of cases) {
    await t.step(`${n} leaves`, async () => {
      const bytes = shard(n);
      assertEquals(leafCount(bytes.length), n);
      const id = await shardId(bytes);
      assertEquals(id.length, SHARD_ID_LENGTH);
      assertEquals(id, idOf(bytes.length, rootByHand((i) => leaf(bytes, i))));
    });
  }
  await t.step("audit paths by hand", async () => {
    const five = shard(5), l = (i: number) => leaf(five, i);
    const p5 = await merkleProof(five, [4, 2]);
    assertEquals(p5.paths[0], N(N(l(0), l(1)), N(l(2), l(3))));
    assertEquals(p5.paths[1], concat(l(3), N(l(0), l(1)), l(4)));
    const eight = shard(8), e = (i: number) => leaf(eight, i);
    const p8 = await merkleProof(eight, [5]);
    assertEquals(p8.paths[0], concat(e(4), N(e(6), e(7)), N(N(e(0), e(1)), N(e(2), e(3)))));
  });
  await t.step("an empty shard is one empty leaf, bound to length 0", async () => {
    assertEquals(leafCount(0), 1);
    const root = sha256Sync(new Uint8Array([0]));
    assertEquals(await shardId(new Uint8Array(0)), idOf(0, root));
  });
  await t.step("the id hashes 0x02, the length as u64 big-endian, then the tree root", async () => {
    const want = sha256Sync(concat(fromHex("02" + "0000000000000001"), L(new Uint8Array([7]))));
    assertEquals(await shardId(new Uint8Array([7])), toBase32(want));
  });
});

Deno.test("shardId() agrees with the recursive reference and with @noble/hashes leaf hashing", async () => {
  for (const size of [...AWKWARD_SIZES, 7 * 4096 + 5, 33 * 4096]) {
    const bytes = randomShard(size);
    const id = await shardId(bytes);
    assertEquals(id, referenceId(bytes), `size ${size}`);
    const levels = buildLevels(hashLeavesSync(bytes, LEAF_SIZE));
    assertEquals(id, idOf(size, levels[levels.length - 1]!), `noble leaves, size ${size}`);
  }
});

Deno.test("shardId() matches the pinned v1 ids", async (t) => {
  for (const v of pinned.ids) {
    await t.step(v.name, async () => {
      const bytes = pattern(v.length, v.seed);
      assertEquals(await shardId(bytes), v.id);
      assertEquals(referenceId(bytes), v.id);
    });
  }
});

// ---- Proofs ----

Deno.test("merkleProof() proves every leaf of shards of awkward sizes", async (t) => {
  for (const size of AWKWARD_SIZES) {
    await t.step(`${size} bytes`, async () => {
      const bytes = randomShard(size);
      const id = await shardId(bytes);
      const n = leafCount(size);
      const all = Array.from({ length: n }, (_, i) => i);
      const proof = await merkleProof(bytes, all);
      assertEquals(proof.leaves.length, n);
      assert(await verifyMerkleProof(id, size, all, proof), "all leaves at once");
      const ref = leavesOf(bytes);
      for (const i of all) {
        const one = { leaves: [proof.leaves[i]!], paths: [proof.paths[i]!] };
        assert(await verifyMerkleProof(id, size, [i], one), `leaf ${i}`);
        assertEquals(proof.leaves[i], ref[i], `leaf ${i} bytes`);
        assertEquals(proof.paths[i], concat(...path(i, ref)), `leaf ${i} path`);
      }
      // The proof survives canonical CBOR.
      const wire = encode(proof);
      const back = decodeCanonical(wire, { maxBytes: wire.length }) as MerkleProof;
      assert(await verifyMerkleProof(id, size, all, back), "after CBOR");
    });
  }
});

Deno.test("verifyMerkleProof() returns false for tampered proofs and never throws", async (t) => {
  const size = 9 * 4096 + 123;
  const bytes = randomShard(size);
  const id = await shardId(bytes);
  const idx = [0, 3, 9];
  const proof = await merkleProof(bytes, idx);
  const copy = (): MerkleProof => ({
    leaves: proof.leaves.map((l) => l.slice()),
    paths: proof.paths.map((p) => p.slice()),
  });
  const rejects = async (
    what: string,
    p: unknown,
    i: unknown = idx,
    len: unknown = size,
    d: unknown = id,
  ) => {
    const ok = await verifyMerkleProof(d as string, len as number, i as number[], p as MerkleProof);
    assertEquals(ok, false, what);
  };
  assert(await verifyMerkleProof(id, size, idx, proof), "the untampered proof");

  await t.step("a changed leaf byte, in every leaf", async () => {
    for (let j = 0; j < idx.length; j++) {
      const p = copy();
      p.leaves[j]![p.leaves[j]!.length - 1]! ^= 1;
      await rejects(`leaf ${idx[j]}`, p);
    }
  });
  await t.step("a leaf cut short or extended", async () => {
    const p = copy();
    p.leaves[2] = p.leaves[2]!.subarray(1);
    await rejects("short last leaf", p);
    const q = copy();
    q.leaves[0] = concat(q.leaves[0]!, new Uint8Array(1));
    await rejects("long leaf", q);
  });
  await t.step("any bit of any path flipped", async () => {
    for (let j = 0; j < idx.length; j++) {
      for (let bit = 0; bit < proof.paths[j]!.length * 8; bit++) {
        const p = copy();
        p.paths[j]![bit >> 3]! ^= 1 << (bit & 7);
        await rejects(`path ${j} bit ${bit}`, p);
      }
    }
  });
  await t.step("paths cut, extended, swapped or from another shard", async () => {
    const p = copy();
    p.paths[1] = p.paths[1]!.subarray(32);
    await rejects("path missing its first hash", p);
    const q = copy();
    q.paths[1] = concat(q.paths[1]!, new Uint8Array(32));
    await rejects("path with an extra hash", q);
    const r = copy();
    [r.paths[0], r.paths[1]] = [r.paths[1]!, r.paths[0]!];
    await rejects("paths swapped", r);
    const other = randomShard(size);
    await rejects("another shard's proof", await merkleProof(other, idx));
  });
  await t.step("wrong lengths", async () => {
    for (const len of [size - 1, size + 1, size + 4096, size - 4096, 0, -1, 1.5, NaN]) {
      await rejects(`length ${len}`, proof, idx, len);
    }
  });
  await t.step("wrong indexes", async () => {
    await rejects("shifted", proof, [1, 4, 10]);
    await rejects("reordered", proof, [3, 0, 9]);
    await rejects("fewer", proof, [0, 3]);
    await rejects("out of range", proof, [0, 3, 10]);
    await rejects("negative", proof, [-1, 3, 9]);
    await rejects("not integers", proof, [0, 3.5, 9]);
    await rejects("empty challenge", { leaves: [], paths: [] }, []);
  });
  await t.step("wrong or malformed ids", async () => {
    await rejects("another shard's id", proof, idx, size, await shardId(randomShard(size)));
    await rejects("upper case", proof, idx, size, id.toUpperCase());
    await rejects("too short", proof, idx, size, id.slice(1));
    await rejects("not base32", proof, idx, size, id.slice(1) + "!");
    await rejects("not a string", proof, idx, size, 42);
  });
  await t.step("malformed proofs", async () => {
    await rejects("null", null);
    await rejects("a string", "proof");
    await rejects("missing paths", { leaves: proof.leaves });
    await rejects("leaves as strings", { leaves: ["a", "b", "c"], paths: proof.paths });
    await rejects("paths as arrays", { leaves: proof.leaves, paths: [[1], [2], [3]] });
    await rejects("indexes not an array", proof, "0,3,9");
  });
});

Deno.test("a shard with 10% of its leaves zeroed is caught by 30 random challenges", async () => {
  // 100 leaves, 10 of them zeroed; each of 200 seeded trials zeroes its own leaves and challenges
  // 30, checked against the original id. The holder is the strongest cheat against this scheme:
  // it lost the data but kept the whole hash tree (32 bytes per leaf), so its paths are right and
  // only a challenged zeroed leaf gives it away. (A holder that recomputes paths from its damaged
  // copy is caught at least as often: its paths are wrong too.)
  const n = 100, bad = 10, k = 30, trials = 200;
  // Exact: P(miss) = C(n − bad, k) / C(n, k) = Π_{i<bad} (n − k − i) / (n − i).
  let pMiss = 1;
  for (let i = 0; i < bad; i++) pMiss *= (n - k - i) / (n - i);
  const pCatch = 1 - pMiss;
  assert(Math.abs(pMiss - 0.022917240458) < 1e-11, `P(miss) = ${pMiss}`);
  assert(pCatch >= 0.95, `expected catch rate ${pCatch}`);

  const original = randomShard(n * LEAF_SIZE);
  const id = await shardId(original);
  let caught = 0;
  for (let seed = 1; seed <= trials; seed++) {
    const random = seeded(seed);
    const zeroed = new Set(challengeIndexes(n * LEAF_SIZE, bad, random));
    const damaged = original.slice();
    for (const i of zeroed) damaged.fill(0, i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
    const challenge = challengeIndexes(n * LEAF_SIZE, k, random);
    const hit = challenge.some((i) => zeroed.has(i));
    const keptTree = (await merkleProof(original, challenge)).paths;
    const answer = {
      leaves: challenge.map((i) => damaged.slice(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)),
      paths: keptTree,
    };
    const passed = await verifyMerkleProof(id, original.length, challenge, answer);
    assertEquals(passed, !hit, `seed ${seed}: fails exactly when a zeroed leaf is challenged`);
    if (hit) {
      const naive = await merkleProof(damaged, challenge);
      assertEquals(await verifyMerkleProof(id, original.length, challenge, naive), false);
    }
    if (!passed) caught++;
  }
  const expected = trials * pCatch, sd = Math.sqrt(trials * pCatch * pMiss);
  assert(caught >= 0.95 * trials, `caught ${caught} of ${trials}`);
  assert(
    Math.abs(caught - expected) <= 4 * sd,
    `caught ${caught}, expected ${expected.toFixed(1)}`,
  );
});

Deno.test("challengeIndexes() picks distinct sorted leaves uniformly", async (t) => {
  await t.step("distinct, sorted and in range", () => {
    for (const [len, count] of [[100 * 4096, 30], [5 * 4096, 30], [0, 3], [4097, 1]] as const) {
      const got = challengeIndexes(len, count);
      const n = leafCount(len);
      assertEquals(got.length, Math.min(n, count));
      assertEquals(new Set(got).size, got.length);
      assertEquals([...got].sort((a, b) => a - b), got);
      assert(got.every((i) => Number.isInteger(i) && i >= 0 && i < n));
    }
    assertEquals(challengeIndexes(5 * 4096, 30), [0, 1, 2, 3, 4]);
    assertEquals(challengeIndexes(5 * 4096, 0), []);
  });
  await t.step("reproducible with a seeded source", () => {
    assertEquals(
      challengeIndexes(1 << 20, 30, seeded(7)),
      challengeIndexes(1 << 20, 30, seeded(7)),
    );
  });
  await t.step("each leaf about equally often", () => {
    // 20 leaves, 5 picked, 4000 rounds: each leaf expected 1000 times (sd ≈ 27).
    const hits = new Array(20).fill(0);
    for (let r = 0; r < 4000; r++) for (const i of challengeIndexes(20 * 4096, 5)) hits[i]++;
    assert(hits.every((h) => Math.abs(h - 1000) < 150), `hits ${hits}`);
  });
  await t.step("bad counts and bad random sources", () => {
    assertThrows(() => challengeIndexes(4096, -1), RangeError);
    assertThrows(() => challengeIndexes(4096, 1.5), RangeError);
    assertThrows(() => challengeIndexes(-1, 1), RangeError);
    assertThrows(() => challengeIndexes(8 * 4096, 3, () => 99), RangeError, "random(");
    assertThrows(() => challengeIndexes(8 * 4096, 3, () => 0.5), RangeError);
  });
});

Deno.test("leafCount() and merkleProof() check their arguments", async () => {
  assertEquals(leafCount(1), 1);
  assertEquals(leafCount(4096), 1);
  assertEquals(leafCount(4097), 2);
  assertThrows(() => leafCount(-1), RangeError);
  assertThrows(() => leafCount(2 ** 53), RangeError);
  const bytes = new Uint8Array(2 * 4096);
  for (const bad of [[2], [-1], [0.5], [NaN]]) {
    await assertRejects(() => merkleProof(bytes, bad), RangeError, "leaf index");
  }
  await assertRejects(() => merkleProof("x" as unknown as Uint8Array, [0]), TypeError);
});
