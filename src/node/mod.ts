/**
 * The node: wiring of identity, network, records, events and metrics; the embedded local
 * network; the data directory; and running it all as a program.
 * @module
 */
export * from "./data_dir.ts";
export * from "./devnet.ts";
export * from "./events.ts";
export * from "./keeper.ts";
export * from "./keys.ts";
export * from "./metrics.ts";
export * from "./node.ts";
export * from "./run.ts";
export * from "./state.ts";
export * from "./storage.ts";
export * from "./supply.ts";
export * from "./files_backend.ts";
