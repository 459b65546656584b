/**
 * The gateway: Hono apps built as values. `createApiApp` is the node's private API and UI
 * (loopback, token-guarded); `createPublicApp` is the public gateway (records, hosted sites and
 * shards, worlds). `edge.ts` runs the public gateway on edge runtimes (imported
 * on its own, not from here). Only the program's `main` listens.
 * @module
 */
export * from "./api.ts";
export * from "./errors.ts";
export * from "./files.ts";
export * from "./guard.ts";
export * from "./public.ts";
export * from "./remote.ts";
export * from "./scrub.ts";
export * from "./settings.ts";
export * from "./shards.ts";
export * from "./site_source.ts";
export * from "./sites.ts";
export * from "./world_source.ts";
export * from "./worlds.ts";
