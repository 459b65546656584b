/**
 * The node's configuration: every option described once in {@linkcode OPTIONS}, loaded by
 * {@linkcode loadConfig} from defaults, `<dataDir>/config.json`, `MOTE_*` environment variables
 * and flags (in rising precedence), plus the size and duration units people write them in.
 * See `docs/config.md`.
 * @module
 */
export * from "./load.ts";
export * from "./schema.ts";
export * from "./units.ts";
