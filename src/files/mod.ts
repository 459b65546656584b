/**
 * Files: the streaming data path (blocks → AES-256-GCM → Reed-Solomon shards → suppliers, and
 * back), file manifests, and the owner's hints of where shards live.
 * @module
 */
export * from "./get.ts";
export * from "./locator.ts";
export * from "./manifest.ts";
export * from "./put.ts";
export * from "./repair.ts";
