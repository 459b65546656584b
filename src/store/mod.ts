/**
 * The shard store: shards a supplier holds for its customers under contract, keyed by
 * (customer, shard id), checked against their id on every write and every read, within a
 * per-customer quota, with usage per customer.
 *
 * Which backend:
 * - `openFsShardStore(dir, opts)`: the default, for `<data>/shards` on a supplier's own disk.
 *   Real atomic writes (temporary file, fsync, rename), owner-only files. Deno only.
 * - `openUnstorageShardStore(storage, opts)`: any unstorage driver (memory in tests; Deno KV,
 *   S3, Redis… by configuration). Writes commit through a per-shard record, so a crash never
 *   exposes a partial shard, but there is no rename: fs-lite in particular rewrites files in
 *   place, so use the fs backend rather than fs-lite for a local disk.
 *
 * Both pass one behaviour suite (`tests/_store_suite.ts`).
 * @module
 */
export * from "./errors.ts";
export * from "./fs_store.ts";
export * from "./shard_store.ts";
export * from "./unstorage_store.ts";
