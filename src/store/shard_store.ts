// This module is browser compatible.
/** The interface every shard store backend implements, and the options they share. */

/** What a store knows about one stored shard. */
export interface ShardInfo {
  /** The shard id (52 characters of lower-case base32). */
  id: string;
  /** Size in bytes. */
  size: number;
  /** When the shard was stored, in ms since the epoch. */
  storedAt: number;
}

/** Options for {@linkcode ShardStore.put}. */
export interface PutOptions {
  /** Aborts the write; nothing is left stored and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Shards a supplier holds for its customers, keyed by (customer, shard id) so that one customer
 * deleting its copy never touches another customer's copy of the same bytes.
 *
 * `customer` is a node id and `id` a shard id: both exactly 52 characters of `a-z2-7`; anything
 * else is a `SyntaxError` before any storage is touched (this is also the path-traversal guard).
 * Usage counts shard bytes only (not metadata or file-system overhead).
 */
export interface ShardStore {
  /**
   * Stores a shard after checking its id against its bytes (`ShardIdMismatchError`), its size
   * against `maxShardBytes` (`RangeError`) and the customer's quota (`QuotaExceededError`).
   * Returns `"exists"` without writing when the customer already has it (without re-reading the
   * stored copy: to replace a copy `get` found corrupt, `delete` it first); concurrent puts of
   * one shard store it once and count it once.
   */
  put(
    customer: string,
    id: string,
    bytes: Uint8Array,
    opts?: PutOptions,
  ): Promise<"stored" | "exists">;
  /**
   * Returns a fresh copy of a shard, or null when the customer has no such shard. The bytes are
   * checked against the id on every read: on a mismatch this throws `ShardCorruptError`.
   */
  get(customer: string, id: string): Promise<Uint8Array | null>;
  /** Whether the customer has this shard (without reading or checking its bytes). */
  has(customer: string, id: string): Promise<boolean>;
  /** Deletes the customer's copy of a shard; false when there was none. */
  delete(customer: string, id: string): Promise<boolean>;
  /** The customer's shards, in no particular order. */
  list(customer: string): AsyncIterable<ShardInfo>;
  /** Customers that have at least one shard stored, in no particular order. */
  customers(): AsyncIterable<string>;
  /** Bytes stored for one customer. */
  usage(customer: string): Promise<number>;
  /** Bytes stored for all customers. */
  totalUsage(): Promise<number>;
  /**
   * Removes what interrupted writes left behind (a crash between writing and committing a shard)
   * and returns how many entries it removed. Opening a store does this too; writes in flight in
   * this store are left alone.
   */
  sweepTemporary(): Promise<number>;
  /** Waits for operations in flight, then refuses new ones. Leaves the underlying storage open. */
  close(): Promise<void>;
}

/** What every backend is constructed with. */
export interface ShardStoreOptions {
  /** Computes a shard's id from its bytes (the Merkle root in production). */
  shardId: (bytes: Uint8Array) => Promise<string>;
  /** The largest shard accepted, in bytes. */
  maxShardBytes: number;
  /** A customer's quota in bytes, or undefined for no limit. Asked on every `put`. */
  quota?: (customer: string) => number | undefined;
}
