// This module is browser compatible.
/**
 * Reading a file back as a stream. For each block: fetch the k data shards first (no decoding
 * needed when they all arrive); start on parity shards as soon as a fetch fails, or after a short
 * hedge delay while fetches are still slow; every shard is verified against its id by the
 * customer before use, so a wrong, truncated or missing shard is replaced, never used. Then
 * reconstruct if needed, decrypt (the GCM tag also checks the block's index and place), and
 * emit the part of the block inside the requested range. A few blocks are fetched ahead.
 *
 * Memory: each data shard is copied from the frames it arrived in straight to its place in a
 * ciphertext buffer that later blocks reuse (no joined answer, no joined block), and a block is
 * decrypted only when it is read, so its plaintext, which WebCrypto allocates and V8 collects
 * late, lives only while the reader has it.
 */
import { BLOCK_TAG_BYTES, decryptBlock, importDataKey } from "../crypto/block.ts";
import { noteMoved } from "./_collect.ts";
import { createCodec } from "../erasure/mod.ts";
import { joinShards } from "../erasure/split.ts";
import { Pool } from "./_pool.ts";
import type { FileManifest } from "./manifest.ts";

/** Raised when fewer than k shards of a block can be fetched. */
export class NotEnoughShardsError extends Error {
  override name = "NotEnoughShardsError";
  readonly block: number;
  readonly missing: number[];
  constructor(block: number, missing: number[], message: string) {
    super(message);
    this.block = block;
    this.missing = missing;
  }
}

/** Traffic of a read, to report bytes fetched per byte read. */
export interface ReadStats {
  shardsFetched: number;
  bytesFetched: number;
  bytesOut: number;
  failedFetches: number;
}

/**
 * What a read needs to fetch shards: a node's `Customer` (suppliers over libp2p), or anything
 * else that fetches one shard from one source by name and checks it against its id before
 * returning it (the edge gateway: node gateways over HTTP). With `into`, the shard must be
 * written into it (its exact length) and a view of it returned.
 */
export interface ShardFetcher {
  getShard(
    supplier: string,
    id: string,
    owner?: string,
    signal?: AbortSignal,
    into?: Uint8Array,
  ): Promise<Uint8Array>;
}

/** Hints of where shards live (a node's `ShardLocator`). */
export interface ShardHints {
  suppliersFor(id: string): string[];
  record(id: string, supplier: string): void;
  forget(id: string, supplier: string): void;
  save(): Promise<void>;
}

/** Options of {@linkcode getFile}. */
export interface GetFileOptions {
  customer: ShardFetcher;
  locator: ShardHints;
  /** Whose shards these are (the owner); defaults to the customer's own id. */
  owner?: string;
  /** Suppliers to ask when the locator has no hint for a shard. */
  fallback: readonly string[];
  /** Byte range [start, end) of the plaintext; defaults to the whole file. */
  range?: { start: number; end: number };
  /** How long to wait on slow data shards before also fetching parity (ms, default 1500). */
  hedge?: number;
  /**
   * Blocks fetched ahead (default 1). One kept the read as fast as two on loopback and the owner's
   * peak RSS about 30 MiB lower (`bench/owner_memory.ts --mib 256`, three runs of each).
   */
  ahead?: number;
  signal?: AbortSignal;
  stats?: ReadStats;
}

/** Streams a file's plaintext (or a range of it). */
export function getFile(
  manifest: FileManifest,
  rawKey: Uint8Array,
  opts: GetFileOptions,
): ReadableStream<Uint8Array> {
  const start = opts.range?.start ?? 0;
  const end = Math.min(opts.range?.end ?? manifest.size, manifest.size);
  if (start < 0 || end < start) {
    throw new RangeError(`Invalid range ${start}-${end} for ${manifest.size} bytes`);
  }
  const bs = manifest.blockSize;
  const first = Math.floor(start / bs);
  const last = end === start ? first - 1 : Math.floor((end - 1) / bs);
  const count = manifest.blocks.length;
  const codec = createCodec({ k: manifest.k, m: manifest.m });
  const stats = opts.stats ?? { shardsFetched: 0, bytesFetched: 0, bytesOut: 0, failedFetches: 0 };
  const keyP = importDataKey(rawKey);
  const ahead = opts.ahead ?? 1;
  const queue: Promise<Fetched>[] = [];
  let next = first;
  // Ciphertext buffers of k whole shards: one per block fetched ahead and one being decrypted.
  const { k } = manifest;
  const fullBytes = k * Math.ceil((Math.min(bs, manifest.size) + BLOCK_TAG_BYTES) / k);
  const buffers = new Pool<Uint8Array>(() => new Uint8Array(fullBytes), ahead + 2);

  const fill = () => {
    while (next <= last && queue.length < ahead + 1) {
      const p = fetchCiphertext(next++);
      p.catch(() => {}); // surfaced when its turn comes
      queue.push(p);
    }
  };

  const decrypt = async (i: number, { ct, done }: Fetched): Promise<Uint8Array> => {
    try {
      return await decryptBlock(await keyP, i, count, ct);
    } finally {
      done();
    }
  };

  const fetchCiphertext = (i: number): Promise<Fetched> => {
    const b = manifest.blocks[i]!;
    const n = b.shards.length;
    const size = Math.ceil(b.len / k);
    // Data shard j is fetched into its place in the block; parity shards (fetched only when a
    // data shard fails or is slow) into arrays of their own.
    const buf = k * size <= fullBytes ? buffers.take() : new Uint8Array(k * size);
    const slot = (j: number) => (j < k ? buf.subarray(j * size, (j + 1) * size) : undefined);
    const got: (Uint8Array | null)[] = new Array(n).fill(null);
    let have = 0, started = 0, finished = 0, decrypted = false;
    // The buffer goes back once the block is decrypted (or failed) and no fetch can still write.
    const giveBack = () => {
      if (decrypted && finished === started && buf.length === fullBytes) buffers.give(buf);
    };
    const done = () => {
      decrypted = true;
      giveBack();
    };
    return new Promise<Fetched>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        if (have >= k) {
          settled = true;
          clearTimeout(timer);
          try {
            // With a data shard missing, the block is rebuilt into an array of its own: a fetch
            // of that shard may still be running and would write into its slot.
            const ct = got.slice(0, k).every(Boolean)
              ? buf.subarray(0, b.len)
              : joinShards(codec.reconstruct(got), b.len);
            resolve({ ct, done });
          } catch (e) {
            done();
            reject(e);
          }
        } else if (finished === started && started === n) {
          settled = true;
          clearTimeout(timer);
          done();
          const missing = got.flatMap((g, j) => (g ? [] : [j]));
          reject(
            new NotEnoughShardsError(
              i,
              missing,
              `Not enough shards for block ${i}: ${have} of the ${k} needed could be fetched; ` +
                `missing shards ${missing.join(", ")}` +
                (lastError ? ` (last error: ${lastError.slice(0, 200)})` : "") +
                ` (ids ${missing.map((j) => b.shards[j]!.slice(0, 10)).join(", ")}…)`,
            ),
          );
        }
      };
      const startOne = () => {
        if (started >= n || settled) return;
        const j = started++;
        fetchShard(b.shards[j]!, slot(j)).then((bytes) => {
          finished++;
          if (bytes && !settled) {
            got[j] = bytes;
            have++;
          } else if (!bytes) startOne(); // a failure: bring in the next shard (parity) at once
          finish();
          giveBack();
        });
      };
      for (let j = 0; j < k; j++) startOne();
      // Slow data shards: after the hedge delay, start as many more as are still missing.
      const timer = setTimeout(() => {
        for (let x = have + (started - finished); x < k + 1 && started < n; x++) startOne();
      }, opts.hedge ?? 1500);
      finish();
    });
  };

  let lastError = "";
  const fetchShard = async (id: string, into?: Uint8Array): Promise<Uint8Array | null> => {
    const hinted = opts.locator.suppliersFor(id);
    const candidates = [...hinted, ...opts.fallback.filter((s) => !hinted.includes(s))];
    for (const supplier of candidates) {
      if (opts.signal?.aborted) return null;
      try {
        const bytes = await opts.customer.getShard(supplier, id, opts.owner, opts.signal, into);
        stats.shardsFetched++;
        stats.bytesFetched += bytes.length;
        if (!hinted.includes(supplier)) opts.locator.record(id, supplier);
        return bytes;
      } catch (e) {
        lastError = (e as Error).message;
        stats.failedFetches++;
        if (hinted.includes(supplier)) opts.locator.forget(id, supplier);
      }
    }
    return null;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      fill();
      const p = queue.shift();
      if (!p) {
        await opts.locator.save().catch(() => {});
        controller.close();
        return;
      }
      const i = next - queue.length - 1;
      const plain = await decrypt(i, await p);
      const from = Math.max(0, start - i * bs), to = Math.min(plain.length, end - i * bs);
      const part = plain.subarray(from, to);
      stats.bytesOut += part.length;
      noteMoved(plain.length);
      controller.enqueue(part);
      fill();
    },
    cancel() {
      for (const p of queue) p.then((f) => f.done(), () => {});
      queue.length = 0;
    },
  }, { highWaterMark: 0 });
}

/** A block's ciphertext, fetched; `done` gives its buffer back once it is no longer read. */
interface Fetched {
  ct: Uint8Array;
  done: () => void;
}
