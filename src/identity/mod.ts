/**
 * Identity: the long-lived keys, self-certifying node ids, the key file a user backs up, and the
 * signed identity document published in the DHT.
 * @module
 */
export * from "./document.ts";
export * from "./key_file.ts";
export * from "./keys.ts";
export * from "./node_id.ts";
