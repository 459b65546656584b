/**
 * Resuming a put under its saved data key (see `journal.ts` for why this is safe). `putFile`
 * takes a {@linkcode ResumeState}; before reading the source it asks the suppliers which placed
 * blocks still have every shard ({@linkcode confirmPlaced}), then for each block compares the
 * plaintext's SHA-256 with the one recorded: equal and confirmed → reused as it is; equal but not
 * confirmed → encrypted and placed again (same key, nonce and plaintext give the same ciphertext,
 * so the same shard ids); different → {@linkcode ResumeMismatchError}, before anything is
 * encrypted.
 */
import { MAX_IDS } from "../suppliers/messages.ts";
import type { Customer } from "../suppliers/customer.ts";
import type { ShardLocator } from "./locator.ts";
import type { BlockRef } from "./manifest.ts";

/** What an interrupted put under the same key left behind. */
export interface ResumeState {
  /** Block index → SHA-256 of the plaintext it was (or was about to be) encrypted from. */
  readonly started: ReadonlyMap<number, Uint8Array>;
  /** Block index → its shards, for blocks that were placed. */
  readonly placed: ReadonlyMap<number, BlockRef>;
}

/**
 * Raised when a block of the source differs from the one a resumed put began with: the source
 * changed, so the put must start again as a new version with a fresh key.
 */
export class ResumeMismatchError extends Error {
  override name = "ResumeMismatchError";
  /** The first block found to differ. */
  readonly index: number;
  constructor(index: number) {
    super(
      `Block ${index} differs from the upload being resumed: the source changed since it was ` +
        "interrupted, so it must be sent again as a new version",
    );
    this.index = index;
  }
}

/**
 * The placed blocks whose k + m shards are all still held, by asking each holder (the locator's
 * hint, else every placement supplier) about up to 1024 ids per request. A supplier that does not
 * answer counts as holding nothing: its blocks are placed again. Holders found are noted in the
 * locator.
 */
export async function confirmPlaced(
  placed: ReadonlyMap<number, BlockRef>,
  opts: {
    customer: Pick<Customer, "has">;
    locator: ShardLocator;
    suppliers: readonly string[];
    n: number;
    signal?: AbortSignal;
  },
): Promise<Map<number, BlockRef>> {
  const ask = new Map<string, string[]>();
  for (const ref of placed.values()) {
    if (ref.shards.length !== opts.n) continue;
    for (const id of ref.shards) {
      const hinted = opts.locator.suppliersFor(id);
      for (const s of hinted.length ? hinted : opts.suppliers) {
        const list = ask.get(s);
        if (list) list.push(id);
        else ask.set(s, [id]);
      }
    }
  }
  const held = new Set<string>();
  await Promise.all([...ask].map(async ([supplier, ids]) => {
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      opts.signal?.throwIfAborted();
      const batch = ids.slice(i, i + MAX_IDS);
      let has: boolean[];
      try {
        has = await opts.customer.has(supplier, batch);
      } catch {
        return;
      }
      batch.forEach((id, j) => {
        if (has[j] !== true) return;
        held.add(id);
        opts.locator.record(id, supplier);
      });
    }
  }));
  const out = new Map<number, BlockRef>();
  for (const [i, ref] of placed) {
    if (ref.shards.length === opts.n && ref.shards.every((id) => held.has(id))) out.set(i, ref);
  }
  return out;
}
