/**
 * Costs of the data path's crypto on one core: AES-256-GCM block encryption as the pipeline uses
 * it (4 MiB blocks, one at a time and 4 in flight), shard ids (Merkle roots over 4 KiB leaves) with
 * the leaf-hashing strategies that were compared to choose one, storage proofs, and key wrapping.
 * Each group has a baseline (the raw primitive underneath) measured in the same run.
 * Run with `deno bench -A bench/crypto_bench.ts`; figures are in BENCHMARKS.md.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  challengeIndexes,
  decryptBlock,
  encryptBlock,
  generateDataKey,
  importDataKey,
  LEAF_SIZE,
  merkleProof,
  shardId,
  unwrapKey,
  verifyMerkleProof,
  wrapKey,
} from "../src/crypto/mod.ts";
import { buildLevels, hashLeavesSync } from "../src/crypto/_merkle_tree.ts";
import { generateIdentity } from "../src/identity/keys.ts";

const MiB = 1 << 20;
const BLOCK = 4 * MiB;

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

// ---- AES-256-GCM, 4 blocks of 4 MiB per iteration (16 MiB) ----

const rawKey = generateDataKey();
const key = await importDataKey(rawKey);
const blocks = Array.from({ length: 4 }, () => randomBytes(BLOCK));
const sealed = await Promise.all(blocks.map((b, i) => encryptBlock(key, i, 4, b)));
const iv = new Uint8Array(12);

Deno.bench({
  name: "baseline: WebCrypto AES-256-GCM encrypt, 4 × 4 MiB one at a time, no AAD",
  group: "aes-gcm 16 MiB",
  baseline: true,
  async fn() {
    for (const b of blocks) await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, b);
  },
});

Deno.bench({
  name: "encryptBlock, 4 × 4 MiB one at a time",
  group: "aes-gcm 16 MiB",
  async fn() {
    for (let i = 0; i < 4; i++) await encryptBlock(key, i, 4, blocks[i]!);
  },
});

Deno.bench({
  name: "encryptBlock, 4 × 4 MiB in flight",
  group: "aes-gcm 16 MiB",
  async fn() {
    await Promise.all(blocks.map((b, i) => encryptBlock(key, i, 4, b)));
  },
});

const small = Array.from(
  { length: 16 },
  (_, i) => blocks[i >> 2]!.subarray((i & 3) * MiB, ((i & 3) + 1) * MiB),
);

Deno.bench({
  name: "encryptBlock, 16 × 1 MiB one at a time (smaller blocks, for comparison)",
  group: "aes-gcm 16 MiB",
  async fn() {
    for (let i = 0; i < 16; i++) await encryptBlock(key, i, 16, small[i]!);
  },
});

Deno.bench({
  name: "encryptBlock, 16 × 1 MiB, 4 in flight",
  group: "aes-gcm 16 MiB",
  async fn() {
    for (let i = 0; i < 16; i += 4) {
      await Promise.all([0, 1, 2, 3].map((j) => encryptBlock(key, i + j, 16, small[i + j]!)));
    }
  },
});

Deno.bench({
  name: "decryptBlock, 4 × 4 MiB one at a time",
  group: "aes-gcm 16 MiB",
  async fn() {
    for (let i = 0; i < 4; i++) await decryptBlock(key, i, 4, sealed[i]!);
  },
});

Deno.bench({
  name: "decryptBlock, 4 × 4 MiB in flight",
  group: "aes-gcm 16 MiB",
  async fn() {
    await Promise.all(sealed.map((c, i) => decryptBlock(key, i, 4, c)));
  },
});

// ---- Shard ids: 1 MiB and 16 MiB shards, and the leaf-hashing alternatives ----

/** Leaf hashes through WebCrypto with `window` digests in flight (`Infinity`: all at once). */
async function webCryptoLeaves(bytes: Uint8Array, window: number): Promise<Uint8Array> {
  const n = Math.max(1, Math.ceil(bytes.length / LEAF_SIZE));
  const out = new Uint8Array(n * 32);
  let next = 0;
  const worker = async () => {
    const buf = new Uint8Array(1 + LEAF_SIZE);
    while (next < n) {
      const i = next++;
      const leaf = bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      buf.set(leaf, 1);
      const d = await crypto.subtle.digest("SHA-256", buf.subarray(0, 1 + leaf.length));
      out.set(new Uint8Array(d), i * 32);
    }
  };
  if (window === Infinity) {
    await Promise.all(Array.from({ length: n }, (_, i) => {
      const leaf = bytes.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      const buf = new Uint8Array(1 + leaf.length);
      buf.set(leaf, 1);
      return crypto.subtle.digest("SHA-256", buf).then((d) => out.set(new Uint8Array(d), i * 32));
    }));
  } else {
    await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
  }
  return out;
}

/** Inner nodes through WebCrypto, all of a level in flight (the alternative to noble). */
async function webCryptoLevels(leafHashes: Uint8Array): Promise<Uint8Array> {
  let level = leafHashes;
  while (level.length > 32) {
    const count = level.length / 32;
    const next = new Uint8Array(Math.ceil(count / 2) * 32);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i + 1 < count; i += 2) {
      const buf = new Uint8Array(65);
      buf[0] = 1;
      buf.set(level.subarray(i * 32, (i + 2) * 32), 1);
      jobs.push(
        crypto.subtle.digest("SHA-256", buf).then((d) => next.set(new Uint8Array(d), i * 16)),
      );
    }
    await Promise.all(jobs);
    if (count % 2 === 1) next.set(level.subarray((count - 1) * 32), next.length - 32);
    level = next;
  }
  return level;
}

for (const size of [1 * MiB, 16 * MiB]) {
  const shard = randomBytes(size);
  const leafHashes = hashLeavesSync(shard, LEAF_SIZE);
  const group = `shard id ${size / MiB} MiB`;
  Deno.bench({
    name: "baseline: WebCrypto SHA-256 of the whole shard (one call)",
    group,
    baseline: true,
    async fn() {
      await crypto.subtle.digest("SHA-256", shard);
    },
  });
  Deno.bench({
    name: "shardId (WebCrypto leaves, 16 in flight; noble inner nodes)",
    group,
    async fn() {
      await shardId(shard);
    },
  });
  Deno.bench({
    name: "alternative: all @noble/hashes (leaves + inner nodes)",
    group,
    fn() {
      buildLevels(hashLeavesSync(shard, LEAF_SIZE));
    },
  });
  for (const window of [1, 4, 64, Infinity]) {
    Deno.bench({
      name: `part: WebCrypto leaf hashes only, ${window} in flight`,
      group,
      async fn() {
        await webCryptoLeaves(shard, window);
      },
    });
  }
  Deno.bench({
    name: "part: WebCrypto leaf hashes only, 16 in flight (as shardId)",
    group,
    async fn() {
      await webCryptoLeaves(shard, 16);
    },
  });
  Deno.bench({
    name: "part: @noble/hashes leaf hashes only",
    group,
    fn() {
      hashLeavesSync(shard, LEAF_SIZE);
    },
  });
  Deno.bench({
    name: "part: inner nodes with @noble/hashes (as shardId)",
    group,
    fn() {
      buildLevels(leafHashes);
    },
  });
  Deno.bench({
    name: "part: inner nodes with WebCrypto, a level in flight",
    group,
    async fn() {
      await webCryptoLevels(leafHashes);
    },
  });
}

// ---- Storage proofs on a 1 MiB shard (256 leaves), 30 challenged leaves ----

const proofShard = randomBytes(MiB);
const proofId = await shardId(proofShard);
const challenge = challengeIndexes(proofShard.length, 30);
const proof = await merkleProof(proofShard, challenge);

Deno.bench({
  name: "baseline: shardId of the same 1 MiB shard",
  group: "proof 1 MiB, 30 leaves",
  baseline: true,
  async fn() {
    await shardId(proofShard);
  },
});

Deno.bench({
  name: "merkleProof, 30 leaves (hashes the whole shard)",
  group: "proof 1 MiB, 30 leaves",
  async fn() {
    await merkleProof(proofShard, challenge);
  },
});

Deno.bench({
  name: "verifyMerkleProof, 30 leaves",
  group: "proof 1 MiB, 30 leaves",
  async fn() {
    if (!await verifyMerkleProof(proofId, proofShard.length, challenge, proof)) throw new Error();
  },
});

Deno.bench({
  name: "challengeIndexes, 30 of 256",
  group: "proof 1 MiB, 30 leaves",
  fn() {
    challengeIndexes(proofShard.length, 30);
  },
});

Deno.bench({
  name: "part: @noble/hashes sha256 of 30 × 4 KiB (the verifier's leaf hashing, sync)",
  group: "proof 1 MiB, 30 leaves",
  fn() {
    for (const leaf of proof.leaves) sha256(leaf);
  },
});

// ---- Key wrapping (HPKE) of a 32-byte data key ----

const alice = generateIdentity();
const info = new TextEncoder().encode("mote/file-key");
const blob = await wrapKey(alice.agreePublic, rawKey, info);

Deno.bench({
  name: "wrapKey (HPKE seal to an X25519 key)",
  group: "key wrap",
  baseline: true,
  async fn() {
    await wrapKey(alice.agreePublic, rawKey, info);
  },
});

Deno.bench({
  name: "unwrapKey",
  group: "key wrap",
  async fn() {
    await unwrapKey(alice.agreeSecret, blob, info);
  },
});
