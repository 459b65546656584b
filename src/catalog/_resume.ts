/**
 * How the catalog uses the upload journal (`files/journal.ts`) for a put with an mtime: find
 * the entry of an interrupted put of the same path, size and mtime, or start one; hand its
 * state and the recording hooks to `putFile`; drop it when the put finishes or the source
 * turned out to have changed.
 */
import type { JournalEntry, UploadJournal } from "../files/journal.ts";
import type { PutFileOptions } from "../files/put.ts";
import { generateDataKey } from "../crypto/block.ts";
import type { Logger } from "../log/mod.ts";

/** A put that may resume. */
export interface ResumablePut {
  /** The remote path's parts joined by "/". */
  path: string;
  size: number;
  mtime: number;
  k: number;
  m: number;
  blockSize: number;
}

/**
 * The entry to use: the saved one when it can resume, else a new one with a fresh key
 * (undefined when the journal cannot take it: the put then runs as before, unresumable).
 * `keyInUse` tells whether a stored version of the file already has a key.
 */
export async function openEntry(
  journal: UploadJournal,
  put: ResumablePut,
  keyInUse: (key: Uint8Array) => Promise<boolean>,
  log: Logger,
): Promise<JournalEntry | undefined> {
  let entry = journal.find(put.path, put.size, put.mtime);
  // Another code or block size cannot reuse the blocks. A key already in a stored version means
  // that put finished and only its entry survived (a crash before it was dropped): reusing it
  // would share shards between two versions, and pruning one would break the other.
  if (
    entry &&
    (entry.k !== put.k || entry.m !== put.m || entry.blockSize !== put.blockSize ||
      await keyInUse(entry.key))
  ) {
    await forget(journal, entry, log);
    entry = undefined;
  }
  try {
    return entry ?? await journal.begin({ ...put, key: generateDataKey() });
  } catch (e) {
    log.warn("cannot write the upload journal: this put cannot resume", { error: e });
    return undefined;
  }
}

/** The `putFile` options that resume `entry` and record the put's progress in the journal. */
export function resumeOptions(
  journal: UploadJournal,
  entry: JournalEntry,
): Pick<PutFileOptions, "resume" | "onBlockStarted" | "onBlockPlaced"> {
  return {
    resume: entry,
    onBlockStarted: (i, hash) => journal.started(entry.id, i, hash),
    // Losing a placed record costs only a re-upload of that block after a crash.
    onBlockPlaced: (i, ref) => journal.placed(entry.id, i, ref).catch(() => {}),
  };
}

/** Drops an entry; a failure only leaves it to be found stale (and dropped) later. */
export async function forget(
  journal: UploadJournal,
  entry: JournalEntry,
  log: Logger,
): Promise<void> {
  await journal.remove(entry.id).catch((e) =>
    log.warn("could not update the upload journal", { error: e })
  );
}
