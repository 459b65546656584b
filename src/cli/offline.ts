/** Reading the data directory directly, for commands that also work while no node runs. */
import { fromUtf8 } from "../encoding/bytes.ts";
import { type IdentityKeys, importKeyFile } from "../identity/mod.ts";
import { IDENTITY_FILE } from "../node/keys.ts";

/** The identity keys in the data directory, or null when there are none yet. */
export async function readIdentityOffline(dataDir: string): Promise<IdentityKeys | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dataDir}/${IDENTITY_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return await importKeyFile(fromUtf8(bytes));
}
