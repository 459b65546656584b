/**
 * Networking: the libp2p node (TCP, WebSockets, noise, yamux, identify, ping, kad-dht under
 * Mote's protocol id), the capped and expiring DHT record store, DHT record put/get, a
 * request/response layer for Mote protocols, and per-peer rate limits.
 * @module
 */
export * from "./dht_store.ts";
export * from "./p2p.ts";
export * from "./rate_limit.ts";
export * from "./records.ts";
export * from "./rpc.ts";
