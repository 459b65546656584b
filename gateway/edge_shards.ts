// This module is browser compatible.
/**
 * `GET /shards/<hash>?owner=…` at the edge, for the quick link page (`links.ts`), which fetches
 * shards from its own origin: the shard from the edge's cache, else from the seeds in a random
 * order through {@linkcode HttpShards} (each answer checked against its hash, then cached). The
 * edge holds no shards of its own; it passes on verified ciphertext, as a node gateway does.
 *
 * Bounded like a node's source: at most `maxInFlight` (8) requests at once, a further one is
 * answered 503 with Retry-After rather than queued.
 */
import { shuffle } from "./_edge_http.ts";
import type { HttpShards } from "./edge_reader.ts";
import { ShardsBusyError, type ShardSource } from "./shards.ts";

/** Shards for the edge's `/shards/` route, through the seeds. */
export class EdgeShardSource implements ShardSource {
  readonly #seeds: readonly string[];
  readonly #shards: HttpShards;
  readonly #max: number;
  #inFlight = 0;

  constructor(opts: { seeds: readonly string[]; shards: HttpShards; maxInFlight?: number }) {
    this.#seeds = opts.seeds;
    this.#shards = opts.shards;
    this.#max = opts.maxInFlight ?? 8;
  }

  async shard(owner: string, hash: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    if (this.#inFlight >= this.#max) throw new ShardsBusyError();
    this.#inFlight++;
    try {
      const fetcher = this.#shards.forRead(1);
      for (const seed of shuffle(this.#seeds)) {
        signal?.throwIfAborted();
        try {
          return await fetcher.getShard(seed, hash, owner, signal);
        } catch {
          // Missing, refused or wrong at this seed: the next one.
        }
      }
      return undefined;
    } finally {
      this.#inFlight--;
    }
  }
}
