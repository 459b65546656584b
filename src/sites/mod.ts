/**
 * Hosted sites: site records and addresses, the site index, publishing from the owner's catalog,
 * and the node's source of sites for its public gateway.
 * @module
 */
export * from "./record.ts";
export * from "./site_index.ts";
export * from "./publish.ts";
export * from "./reader.ts";
