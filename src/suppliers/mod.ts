/**
 * Suppliers and customers: signed offers, contracts signed by both sides, DHT provider
 * announcements, and the shard protocol (put, get, has, delete, list) between them.
 * @module
 */
export * from "./advertise.ts";
export * from "./contract.ts";
export * from "./contract_book.ts";
export * from "./customer.ts";
export * from "./messages.ts";
export * from "./offer.ts";
export * from "./supplier.ts";
