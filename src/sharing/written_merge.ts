/**
 * The one merge rule of write sharing (docs/sharing.md, "Write sharing"): how the files in a
 * writers' version (`write_records.ts`) go into a folder's entries. Readers apply it to show
 * written files while the owner's node is away, writers to see what they write against, and the
 * owner's node to merge them into its catalog, so all three see the same names.
 *
 * Files are taken in the order of their logical counter, then writer id. A file whose writer saw
 * the version that is newest now under its name (or found the name free) becomes the newest
 * version of that name. A concurrent one (its writer saw an older version):
 * - against another writer's file taken earlier in the same merge: the later write wins the
 *   name, and the earlier one is kept as `name.conflict-<its writer's id prefix>`;
 * - against the owner's own version: the owner's stays, and the written one is kept as
 *   `name.conflict-<writer id prefix>`.
 * A version already present (under its name or its conflict name) is skipped, so merging again
 * changes nothing. A folder is never replaced by a file (the file is kept aside). Versions that
 * name a pack are refused: a pack is the owner's, and a writer has no business pointing into one.
 */
import {
  checkName,
  decodeEntry,
  type Entry,
  type FileVersion,
  type FolderVersion,
} from "../catalog/folder.ts";
import { fileEntry } from "../catalog/permissions.ts";
import { equals } from "../encoding/bytes.ts";
import type { WrittenFile } from "./write_records.ts";

/** A written file that was taken, and the version it decoded to. */
export interface TakenFile {
  readonly file: WrittenFile;
  readonly version: FileVersion;
  /** The name it went under (its own, or a conflict name). */
  readonly as: string;
}

/** What may be left out of a merge. */
export interface MergeFilter {
  /** Only files written against this folder counter or a later one (readers: the owner's). */
  readonly since?: number;
  /** Leaves out a version (the owner's node: merged before, or naming the owner's shards). */
  readonly skip?: (version: FileVersion, file: WrittenFile) => boolean;
}

/** The name a losing copy is kept under. */
export function conflictName(name: string, writer: string): string {
  return `${name}.conflict-${writer.slice(0, 8)}`.slice(0, 255);
}

/** The written version of a file, decoded and checked, or `undefined` when it is unusable. */
export function writtenVersion(file: WrittenFile): FileVersion | undefined {
  try {
    checkName(file.name);
    const e = decodeEntry({ t: "f", versions: [file.version] }, file.name);
    if (e.t !== "f" || e.versions[0]!.pack) return undefined;
    return e.versions[0]!;
  } catch {
    return undefined;
  }
}

/** The files meant for the folder at `dir` (components below the shared folder). */
export function writtenIn(files: readonly WrittenFile[], dir: readonly string[]): WrittenFile[] {
  return files.filter((x) => {
    const d = x.dir ?? [];
    return d.length === dir.length && d.every((c, i) => c === dir[i]);
  });
}

/** Whether `folder` holds a file version with data key `key` (under any name). */
export function holdsVersion(folder: FolderVersion, key: Uint8Array): boolean {
  return Object.values(folder.entries).some((e) =>
    e.t === "f" && e.versions.some((v) => equals(v.key, key))
  );
}

/** Whether `files` lists the version with data key `key` written by `by`. */
export function listsVersion(
  files: readonly WrittenFile[],
  by: string,
  key: Uint8Array,
): boolean {
  return files.some((x) => {
    const v = x.by === by ? writtenVersion(x) : undefined;
    return !!v && equals(v.key, key);
  });
}

/** Merges `files` (those meant for `folder`) into its entries. */
export function mergeWritten(
  folder: FolderVersion,
  files: readonly WrittenFile[],
  filter: MergeFilter = {},
): { entries: Record<string, Entry>; taken: TakenFile[] } {
  const entries: Record<string, Entry> = { ...folder.entries };
  const taken: TakenFile[] = [];
  // Names whose newest version a writer's file gave in this merge, and which file.
  const byWriter = new Map<string, { file: WrittenFile; version: FileVersion }>();
  const order = [...files].sort((a, b) => a.at - b.at || (a.by < b.by ? -1 : a.by > b.by ? 1 : 0));
  const has = (n: string, key: Uint8Array) => {
    const x = entries[n];
    return x?.t === "f" && x.versions.some((v) => equals(v.key, key));
  };
  const add = (n: string, version: FileVersion) => {
    const prev = entries[n];
    const older = prev?.t === "f" ? prev.versions : [];
    entries[n] = fileEntry(folder, prev, [version, ...older]);
  };
  for (const file of order) {
    if (filter.since !== undefined && file.base < filter.since) continue;
    const version = writtenVersion(file);
    if (!version || filter.skip?.(version, file)) continue;
    const conflict = conflictName(file.name, file.by);
    if (has(file.name, version.key) || has(conflict, version.key)) continue;
    const cur = entries[file.name];
    const newest = cur?.t === "f" ? cur.versions[0] : undefined;
    const plain = !cur || (!!newest && !!file.replaces && equals(newest.key, file.replaces));
    const earlier = byWriter.get(file.name);
    if (plain) {
      add(file.name, version);
      byWriter.set(file.name, { file, version });
      taken.push({ file, version, as: file.name });
    } else if (
      earlier && newest && equals(newest.key, earlier.version.key) &&
      entries[conflictName(file.name, earlier.file.by)]?.t !== "d"
    ) {
      // Two writers' concurrent files: the later one takes the name, the earlier is kept aside.
      const rest = (cur as Extract<Entry, { t: "f" }>).versions.slice(1);
      entries[file.name] = fileEntry(folder, cur, [version, ...rest]);
      const aside = conflictName(file.name, earlier.file.by);
      add(aside, earlier.version);
      byWriter.set(file.name, { file, version });
      const i = taken.findIndex((t) => t.version === earlier.version);
      if (i >= 0) taken[i] = { ...taken[i]!, as: aside };
      taken.push({ file, version, as: file.name });
    } else {
      if (entries[conflict]?.t === "d") continue;
      add(conflict, version);
      taken.push({ file, version, as: conflict });
    }
  }
  return { entries, taken };
}
