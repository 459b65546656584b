/**
 * Replacing the identity a data directory holds (`mote key import --force`, `mote restore
 * --force`, and a key imported from the web UI). The customer's state belongs to the identity
 * that hired the suppliers (contracts it signed, where its shards are, what it still has to
 * repair, its unfinished uploads), so it moves aside with the old key into
 * `<data>/replaced-identities/<old id>-<time>/` instead of being reused by, or lost to, the new
 * identity. Nothing is deleted: importing the old key file again later brings its files back from
 * the network. The state of this node as a supplier, and the records it keeps for others, stay.
 *
 * A running node cannot swap its identity under its own feet, so the web UI stages the key file
 * (`identity-import.key`) and restarts; the swap happens at start, before anything reads state.
 */
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { exportKeyFile, type IdentityKeys, importKeyFile } from "../identity/mod.ts";
import { IDENTITY_FILE, saveIdentity } from "./keys.ts";
import { dirState } from "./state.ts";
import { RESTORE_MARKER } from "./storage.ts";

/** Where a staged identity waits for the next start. */
export const STAGED_IDENTITY = "identity-import.key";
/** State files that belong to the identity as a customer. */
const CUSTOMER_FILES = [
  "hired-contracts.cbor",
  "placement.cbor",
  "repair-queue.cbor",
  "upload-journal.log",
  // Tickets the old identity issued: the new one must not list, renew or revoke them.
  "scrub-tickets.cbor",
  RESTORE_MARKER,
];

/**
 * Installs `keys` as the data directory's identity. When another identity was there, its key and
 * customer state move to a backup folder, whose path is returned. The new identity is marked as
 * restoring, so the node looks for its catalog in the network before it would create one.
 */
export async function replaceIdentity(
  dataDir: string,
  keys: IdentityKeys,
): Promise<{ backup?: string }> {
  const state = dirState(dataDir);
  const current = await state.read(IDENTITY_FILE);
  const old = current ? await importKeyFile(fromUtf8(current)) : null;
  if (old?.id === keys.id) return {};
  let backup: string | undefined;
  if (old) {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    backup = `${dataDir}/replaced-identities/${old.id}-${stamp}`;
    await Deno.mkdir(backup, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${backup}/${IDENTITY_FILE}`, await exportKeyFile(old), {
      mode: 0o600,
    });
    for (const name of CUSTOMER_FILES) {
      await Deno.rename(`${dataDir}/${name}`, `${backup}/${name}`).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await saveIdentity(state, keys);
  await state.write(RESTORE_MARKER, utf8("pending"));
  return { backup };
}

/** Stages a key file's identity for the next start (the node is running now). */
export async function stageIdentity(dataDir: string, keys: IdentityKeys): Promise<void> {
  await dirState(dataDir).write(STAGED_IDENTITY, utf8(await exportKeyFile(keys)), {
    secret: true,
  });
}

/** At start: installs a staged identity, if any (see {@linkcode replaceIdentity}). */
export async function applyStagedIdentity(
  dataDir: string,
): Promise<{ id: string; backup?: string } | null> {
  const bytes = await dirState(dataDir).read(STAGED_IDENTITY);
  if (!bytes) return null;
  const keys = await importKeyFile(fromUtf8(bytes));
  const r = await replaceIdentity(dataDir, keys);
  await Deno.remove(`${dataDir}/${STAGED_IDENTITY}`);
  return { id: keys.id, ...r };
}
