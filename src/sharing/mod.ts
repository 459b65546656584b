// This module is browser compatible.
/**
 * Data sharing, the pure core (issue 8; the model is in docs/sharing.md): POSIX-like modes with
 * inheritance, owner-signed groups whose key is wrapped to every member and rotated on removal,
 * grants wrapping a read key or write secret per reader, per group and for everyone, per-folder
 * write keys with owner-signed policies and the supplier-side write check, and quick-link
 * capabilities carried in URL fragments.
 *
 * Read sharing is wired in on nodes (`node/sharing.ts`, `node/shared_reader.ts`) through the
 * `group` and `share` record namespaces; write sharing is not wired in yet.
 * @module
 */
export * from "./errors.ts";
export * from "./grants.ts";
export * from "./group.ts";
export * from "./group_record.ts";
export * from "./link.ts";
export * from "./mode.ts";
export * from "./owner_state.ts";
export * from "./remote_path.ts";
export * from "./share_record.ts";
export * from "./write_key.ts";
export * from "./write_request.ts";
