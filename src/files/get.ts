/**
 * Reading a file back as a stream. For each block: fetch the k data shards first (no decoding
 * needed when they all arrive); start on parity shards as soon as a fetch fails, or after a short
 * hedge delay while fetches are still slow; every shard is verified against its id by the
 * customer before use, so a wrong, truncated or missing shard is replaced, never used. Then
 * reconstruct if needed, decrypt (the GCM tag also checks the block's index and place), and
 * emit the part of the block inside the requested range. A few blocks are fetched ahead.
 */
import { decryptBlock, importDataKey } from "../crypto/block.ts";
import { createCodec } from "../erasure/mod.ts";
import { joinShards } from "../erasure/split.ts";
import type { Customer } from "../suppliers/customer.ts";
import type { ShardLocator } from "./locator.ts";
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

/** Options of {@linkcode getFile}. */
export interface GetFileOptions {
  customer: Customer;
  locator: ShardLocator;
  /** Whose shards these are (the owner); defaults to the customer's own id. */
  owner?: string;
  /** Suppliers to ask when the locator has no hint for a shard. */
  fallback: readonly string[];
  /** Byte range [start, end) of the plaintext; defaults to the whole file. */
  range?: { start: number; end: number };
  /** How long to wait on slow data shards before also fetching parity (ms, default 1500). */
  hedge?: number;
  /** Blocks fetched ahead (default 2). */
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
  const queue: Promise<Uint8Array>[] = [];
  let next = first;

  const fill = () => {
    while (next <= last && queue.length < (opts.ahead ?? 2) + 1) {
      const p = fetchBlock(next++);
      p.catch(() => {}); // surfaced when its turn comes
      queue.push(p);
    }
  };

  const fetchBlock = async (i: number): Promise<Uint8Array> => {
    const ct = await fetchCiphertext(i);
    return await decryptBlock(await keyP, i, count, ct);
  };

  const fetchCiphertext = (i: number): Promise<Uint8Array> => {
    const b = manifest.blocks[i]!;
    const { k } = manifest;
    const n = b.shards.length;
    const got: (Uint8Array | null)[] = new Array(n).fill(null);
    let have = 0, started = 0, finished = 0;
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        if (have >= k) {
          settled = true;
          clearTimeout(timer);
          try {
            const data = got.slice(0, k).every(Boolean)
              ? got.slice(0, k) as Uint8Array[]
              : codec.reconstruct(got);
            resolve(joinShards(data, b.len));
          } catch (e) {
            reject(e);
          }
        } else if (finished === started && started === n) {
          settled = true;
          clearTimeout(timer);
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
        fetchShard(b.shards[j]!).then((bytes) => {
          finished++;
          if (bytes) {
            got[j] = bytes;
            have++;
          } else startOne(); // a failure: bring in the next shard (parity) at once
          finish();
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
  const fetchShard = async (id: string): Promise<Uint8Array | null> => {
    const hinted = opts.locator.suppliersFor(id);
    const candidates = [...hinted, ...opts.fallback.filter((s) => !hinted.includes(s))];
    for (const supplier of candidates) {
      if (opts.signal?.aborted) return null;
      try {
        const bytes = await opts.customer.getShard(supplier, id, opts.owner, opts.signal);
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
      const plain = await p;
      const from = Math.max(0, start - i * bs), to = Math.min(plain.length, end - i * bs);
      const part = plain.subarray(from, to);
      stats.bytesOut += part.length;
      controller.enqueue(part);
      fill();
    },
    cancel() {
      queue.length = 0;
    },
  }, { highWaterMark: 0 });
}
