/**
 * Files: the streaming data path (blocks → AES-256-GCM → Reed-Solomon shards → suppliers, and
 * back), file manifests, the owner's hints of where shards live, and the journal that lets an
 * interrupted put resume under its saved key.
 * @module
 */
export * from "./get.ts";
export * from "./journal.ts";
export * from "./locator.ts";
export * from "./manifest.ts";
export * from "./put.ts";
export * from "./repair.ts";
export * from "./resume.ts";
