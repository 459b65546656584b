/**
 * Mote: a peer-to-peer node for private, encrypted storage spread over other people's computers,
 * sharing, hosted sites and endless worlds.
 *
 * This module is both the public API and the command line:
 * `deno run -A mod.ts <command>` (or `deno task mote <command>`).
 *
 * ```ts
 * import { generateIdentity, nodeIdOf } from "./mod.ts";
 * const me = generateIdentity();
 * console.assert(nodeIdOf(me.signPublic) === me.id);
 * ```
 * @module
 */
export * from "./src/config/mod.ts";
export * from "./src/crypto/mod.ts";
export * from "./src/encoding/mod.ts";
export * from "./src/identity/mod.ts";
export * from "./src/log/mod.ts";
export * from "./src/net/mod.ts";
export * from "./src/records/mod.ts";
export * from "./src/node/mod.ts";
export * from "./gateway/mod.ts";
export { main } from "./src/cli/main.ts";

import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
