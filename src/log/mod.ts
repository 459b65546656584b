/**
 * Levelled logging for the node: {@linkcode createLogger} writes one readable line per record
 * (`2026-11-25T08:00:00.123Z INFO  net: dialled peer peer=12D3… ms=12`) to sinks — stderr, a
 * rotated file in the data dir whose disk use stays bounded, or memory in tests. Logging never
 * throws because a sink failed.
 * @module
 */
export * from "./file_sink.ts";
export * from "./logger.ts";
