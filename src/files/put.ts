/**
 * Storing a file: a stream of plaintext is cut into blocks (4 MiB by default), each encrypted
 * with AES-256-GCM under the version's fresh data key (block index, count and last flag bound
 * in), split into k data shards plus m parity shards, every shard named by its Merkle root, and
 * shard i sent to supplier i. Several blocks are in flight at once, with backpressure: the
 * source is not read further while `concurrency` blocks are still being placed, so memory stays
 * bounded whatever the file size.
 *
 * A block counts as stored once at least k + 1 of its shards are placed. A shard whose supplier
 * refuses or vanishes goes to a spare supplier if there is one, otherwise into the returned
 * pending list (the caller saves it as a repair queue and reports the file under-replicated).
 *
 * With `resume`, the put continues one that was interrupted under the same key (`resume.ts`);
 * `onBlockStarted` is awaited before a block is first encrypted, so a journal can record its
 * plaintext hash first (`journal.ts`).
 *
 * Memory: the plaintext blocks and the shard arenas (k + m shards inside the erasure kernel's
 * memory, where the parity is computed in place) are reused from block to block; each block's
 * ciphertext is copied into an arena as soon as WebCrypto returns it, so that buffer dies young,
 * and the shards go out as they are, never copied into a request (`encodeWithTail`).
 */
import {
  BLOCK_TAG_BYTES,
  blockCount,
  DEFAULT_BLOCK_SIZE,
  encryptBlock,
  importDataKey,
} from "../crypto/block.ts";
import { sha256 } from "../crypto/hash.ts";
import { shardId } from "../crypto/merkle.ts";
import { equals } from "../encoding/bytes.ts";
import { createCodec, type ShardArena } from "../erasure/mod.ts";
import { splitBlock } from "../erasure/split.ts";
import type { Customer, SupplierError } from "../suppliers/customer.ts";
import type { ShardLocator } from "./locator.ts";
import type { BlockRef, FileManifest } from "./manifest.ts";
import { noteMoved } from "./_collect.ts";
import { Pool } from "./_pool.ts";
import { confirmPlaced, ResumeMismatchError, type ResumeState } from "./resume.ts";

/** A shard that could not be placed yet. */
export interface PendingShard {
  block: number;
  index: number;
  id: string;
  /** The bytes, so a repair can place them without re-reading the source. */
  bytes: Uint8Array;
}

/** Progress of a put. */
export interface PutProgress {
  bytes: number;
  total: number;
  blocks: number;
  blockCount: number;
}

/**
 * Where shards go: the owner's own customer, or a writer placing shards in an owner's space under
 * a folder's write key (`node/shared_writer.ts`).
 */
export type ShardPlacer = Pick<Customer, "putShard" | "contactOf" | "has">;

/** Options of {@linkcode putFile}. */
export interface PutFileOptions {
  customer: ShardPlacer;
  locator: ShardLocator;
  /** Hired suppliers: the first k + m take shard 0 … k+m−1; the rest are spares. */
  suppliers: readonly string[];
  k: number;
  m: number;
  /**
   * The version's data key: fresh for every version, never reused except to resume the same
   * version's interrupted put (with `resume`).
   */
  key: Uint8Array;
  blockSize?: number;
  /** Blocks in flight (default 2, and at most `IN_FLIGHT_BYTES` of plaintext). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: PutProgress) => void;
  /** What an interrupted put under this same key left (its blocks are checked, then reused). */
  resume?: ResumeState;
  /**
   * Awaited before block `index` is first encrypted under this key, with its plaintext's
   * SHA-256: it must make the hash durable before resolving (write-ahead).
   */
  onBlockStarted?: (index: number, plainHash: Uint8Array) => Promise<void>;
  /** Called once block `index` is placed (awaited). */
  onBlockPlaced?: (index: number, ref: BlockRef) => void | Promise<void>;
  /** Called for every shard placed, so a caller that drops the result can delete them. */
  onPlaced?: (id: string, supplier: string) => void;
}

/** What a put did, beyond its manifest. */
export interface PutStats {
  /** Plaintext bytes whose blocks an interrupted put had already placed, reused as they were. */
  resumed: number;
}

/** Pause before trying a shard again after a timeout or broken stream (ms). */
const RETRY_PAUSE_MS = 1_000;

/**
 * Blocks in flight by default. Two 4 MiB blocks (12 shard streams for 4+2) kept the put as fast
 * as three and the owner's peak RSS about 35 MiB lower (`bench/owner_memory.ts --mib 256`, three
 * runs of each: 37–42 against 26–38 MB/s, 298–311 against 334–361 MiB).
 */
const DEFAULT_CONCURRENCY = 2;

/**
 * Plaintext bytes in flight at most, whatever `concurrency` asks: 2 blocks of the default 4 MiB,
 * a single block of 8 MiB or more. Each block in flight holds its ciphertext's k + m shards and
 * their network frames (about 2.5 × its size for 4+2), so the owner's memory follows this, not
 * the block count.
 */
const IN_FLIGHT_BYTES = 8 * 2 ** 20;

/** Raised when a block cannot reach k + 1 suppliers. */
export class PlacementError extends Error {
  override name = "PlacementError";
}

/** Raised when the source yields a different number of bytes than announced. */
export class SourceChangedError extends Error {
  override name = "SourceChangedError";
}

/** Stores `size` bytes from `source`; returns the manifest and the shards still to place. */
export async function putFile(
  source: AsyncIterable<Uint8Array>,
  size: number,
  opts: PutFileOptions,
): Promise<{ manifest: FileManifest; pending: PendingShard[] } & PutStats> {
  const { k, m } = opts;
  const n = k + m;
  if (opts.suppliers.length < n) {
    throw new PlacementError(
      `A ${k}+${m} code needs ${n} suppliers; ${opts.suppliers.length} are hired`,
    );
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const count = blockCount(size, blockSize);
  const codec = createCodec({ k, m });
  const key = await importDataKey(opts.key);
  const blocks: BlockRef[] = new Array(count);
  const pending: PendingShard[] = [];
  const inFlight = new Set<Promise<void>>();
  const limit = Math.max(
    1,
    Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, Math.floor(IN_FLIGHT_BYTES / blockSize)),
  );
  // Every full block has the same shard size; those blocks reuse arenas (the last, shorter block
  // and small files go through plain arrays, which need no kernel memory of their own).
  const fullShard = Math.ceil((blockSize + BLOCK_TAG_BYTES) / k);
  const arenas = new Pool<ShardArena>(() => codec.allocShards(fullShard), limit);
  let done = 0, sent = 0, resumed = 0, failure: unknown;
  const reusable = opts.resume?.placed.size
    ? await confirmPlaced(opts.resume.placed, { ...opts, n, signal: opts.signal })
    : new Map<number, BlockRef>();

  const finish = (index: number, ref: BlockRef, bytes: number) => {
    blocks[index] = ref;
    done++;
    sent += bytes;
    opts.onProgress?.({ bytes: sent, total: size, blocks: done, blockCount: count });
  };

  /** Stores block `index`; calls `release` once done with `plain` (before its shards are sent). */
  const storeBlock = async (index: number, plain: Uint8Array, release: () => void) => {
    if (opts.resume || opts.onBlockStarted) {
      const hash = await sha256(plain);
      const was = opts.resume?.started.get(index);
      if (was && !equals(was, hash)) throw new ResumeMismatchError(index);
      const ref = was && reusable.get(index);
      if (ref && ref.len === plain.length + BLOCK_TAG_BYTES) {
        resumed += plain.length;
        release();
        return finish(index, ref, plain.length);
      }
      // Never encrypt under this key before the hash is durable: a resume compares against it.
      if (!was) await opts.onBlockStarted?.(index, hash);
    }
    opts.signal?.throwIfAborted();
    // The ciphertext is never held in a variable here: in an arena, nothing refers to it once
    // copied in, so it is collected young instead of living on through the sends.
    const { len, arena, all } = encode(await encryptBlock(key, index, count, plain));
    release();
    try {
      const ids = await Promise.all(all.map(shardId));
      const placed = await Promise.all(all.map((bytes, j) => place(index, j, ids[j]!, bytes)));
      const ok = placed.filter(Boolean).length;
      if (ok < k + 1) {
        throw new PlacementError(
          `Block ${index} reached only ${ok} of ${n} suppliers; at least ${k + 1} are needed` +
            (lastError ? ` (last refusal: ${lastError.slice(0, 300)})` : ""),
        );
      }
      const ref = { len, shards: ids };
      await opts.onBlockPlaced?.(index, ref);
      finish(index, ref, plain.length);
    } finally {
      // Every call that read the arena's shards has returned (sent, or given up and copied).
      if (arena) arenas.give(arena);
    }
  };

  /** The k + m shards of a ciphertext: in an arena from the pool when it is a full block. */
  const encode = (ct: Uint8Array) => {
    const len = ct.length;
    if (Math.ceil(len / k) === fullShard) {
      const arena = arenas.take();
      arena.setBlock(ct);
      arena.encode();
      return { len, arena, all: arena.shards };
    }
    const { shards } = splitBlock(ct, k);
    return { len, arena: null, all: [...shards, ...codec.encode(shards)] };
  };

  const place = async (
    block: number,
    index: number,
    id: string,
    bytes: Uint8Array,
  ): Promise<boolean> => {
    const candidates = [opts.suppliers[index]!, ...opts.suppliers.slice(n)];
    for (const supplier of candidates) {
      // A timeout or broken stream may pass (a busy supplier, a disk slow to sync): one more
      // try after a pause, unless the supplier has been failing for a while (then it is down,
      // and waiting on it for every block would stall the put). A refusal (quota, contract)
      // goes straight to the next candidate.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await opts.customer.putShard(supplier, id, bytes, opts.signal);
          opts.locator.record(id, supplier);
          opts.onPlaced?.(id, supplier);
          return true;
        } catch (e) {
          if (opts.signal?.aborted) throw e;
          lastError = (e as Error).message;
          if ((e as SupplierError).refused !== false) break;
          if (opts.customer.contactOf(supplier).failures > 2) break;
          await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
        }
      }
    }
    // A copy: the shard may be in an arena that the next block reuses.
    pending.push({ block, index, id, bytes: bytes.slice() });
    return false;
  };
  let lastError = "";

  let index = 0, read = 0;
  // Plaintext blocks: one filling, and one per block in flight until it is encrypted.
  const blockBytes = Math.min(blockSize, Math.max(size, 0));
  const plains = new Pool<Uint8Array>(() => new Uint8Array(blockBytes), limit + 1);
  const launch = async (buf: Uint8Array, fill: number) => {
    while (inFlight.size >= limit) await Promise.race(inFlight);
    if (failure) {
      plains.give(buf);
      throw failure;
    }
    let given = false;
    const release = () => {
      if (!given) plains.give(buf);
      given = true;
    };
    const p = storeBlock(index++, buf.subarray(0, fill), release).catch((e) => {
      failure ??= e;
    }).finally(() => {
      release();
      inFlight.delete(p);
    });
    inFlight.add(p);
  };

  let buf = plains.take();
  let fill = 0;
  try {
    for await (const chunk of source) {
      opts.signal?.throwIfAborted();
      if (failure) break;
      read += chunk.length;
      if (read > size) {
        throw new SourceChangedError(`The source grew past ${size} bytes while it was read`);
      }
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(buf.length - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill === buf.length && index < count - 1) {
          noteMoved(fill);
          await launch(buf, fill);
          buf = plains.take();
          fill = 0;
        }
      }
    }
    if (!failure) {
      if (read !== size) {
        throw new SourceChangedError(`The source gave ${read} bytes, not the ${size} announced`);
      }
      await launch(buf, fill);
    }
  } finally {
    // No block may outlive the put, even a failed one: a resume that starts next must not meet
    // it still recording or encrypting under the same key, and a caller that cleans up what was
    // placed (onPlaced) must see all of it.
    await Promise.all(inFlight);
  }
  if (failure) throw failure;
  await opts.locator.save();
  return { manifest: { v: 1, size, blockSize, k, m, blocks }, pending, resumed };
}
