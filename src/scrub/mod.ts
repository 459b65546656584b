/**
 * Scrubbers: nodes that keep an owner's data whole while the owner is offline, on ciphertext
 * only. Owner-signed tickets (no key material) with caps and an expiry, the owner's revocation
 * set, the scrubber's per-owner upkeep, and the owner's side (hire, renew, revoke).
 * @module
 */
export * from "./ticket.ts";
export * from "./revocation.ts";
export * from "./revocation_book.ts";
export * from "./job.ts";
export * from "./scrubber.ts";
export * from "./owner.ts";
