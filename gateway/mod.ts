/**
 * The gateway: Hono apps built as values. `createApiApp` is the node's private API and UI
 * (loopback, token-guarded); `createPublicApp` is the public gateway (records and hosted sites;
 * worlds and shards with their layers). Only the program's `main` listens.
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
export * from "./site_source.ts";
export * from "./sites.ts";
