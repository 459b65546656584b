/**
 * Permissions in the catalog (issue 8, docs/sharing.md): where modes and groups live, what new
 * children inherit, `chmod`/`chgrp`, the long listing, and re-keying a subtree when read access
 * is taken away.
 *
 * A folder's mode and group are fields of its version; a file's are fields of its entry in its
 * folder (absent in data written before they existed: the file then follows its folder). New
 * children get them set when they are created: a subfolder takes its parent's mode and group, a
 * file `childMode(parent, "file")` and the parent's group.
 *
 * Re-keying gives a folder and every folder under it a fresh read key and publishes each again
 * (its record sealed under the new key, its object listing its children's new keys), leaves
 * first, so a reader holding any old read key can open none of the new records. Data keys of
 * file versions already stored are not changed: whoever read them before can still decrypt
 * those versions' shards if they kept them.
 */
import { randomBytes } from "../crypto/hash.ts";
import { childMode, DEFAULT_FOLDER_MODE } from "../sharing/mode.ts";
import type { LongListing } from "../sharing/rows.ts";
import type { Entry, FileVersion, FolderVersion } from "./folder.ts";

/**
 * A subfolder entry: the child's keys (in the catalog's memory its write secret in the clear,
 * `catalog/folder.ts`; as stored, masked under the parent's write secret).
 */
export type FolderEntry = Extract<Entry, { t: "d" }>;
/** A file entry. */
export type FileEntry = Extract<Entry, { t: "f" }>;

/** A loaded folder, as the catalog hands it to these operations (and takes it back). */
export interface PermFolder {
  readonly keys: { writePub: Uint8Array; writeSecret: Uint8Array; readKey: Uint8Array };
  readonly version: FolderVersion;
}

/** What these operations need from the catalog (its private walk, load and update). */
export interface PermissionHost<F extends PermFolder = PermFolder> {
  /** Runs `f` under the catalog's lock. */
  serial<T>(f: () => Promise<T>): Promise<T>;
  /** The folder at `parts` (NotFoundError when there is none). */
  walk(parts: string[]): Promise<F>;
  /** The folder an entry names. */
  load(e: FolderEntry): Promise<F>;
  /** Publishes the folder's next version with these entries (and its keys and fields as given). */
  update(folder: F, entries: Record<string, Entry>): Promise<void>;
}

/** A new file's entry in `folder`, or the next state of an existing one (mode and group kept). */
export function fileEntry(
  folder: FolderVersion,
  prev: Entry | undefined,
  versions: readonly FileVersion[],
): FileEntry {
  if (prev?.t === "f") return { ...prev, versions };
  return {
    t: "f",
    versions,
    mode: childMode(folder.mode, "file"),
    ...(folder.group !== undefined ? { group: folder.group } : {}),
  };
}

/** A new subfolder's version fields from its parent's: the same mode and group. */
export function inherited(parent: FolderVersion | undefined): { mode: number; group?: string } {
  if (!parent) return { mode: DEFAULT_FOLDER_MODE };
  return { mode: parent.mode, ...(parent.group !== undefined ? { group: parent.group } : {}) };
}

/** The mode and group a file entry has in effect (its own, else its folder's). */
export function fileMode(folder: FolderVersion, e: FileEntry): { mode: number; group?: string } {
  const group = e.group ?? folder.group;
  return { mode: e.mode ?? childMode(folder.mode, "file"), ...(group ? { group } : {}) };
}

export type { LongListing };

/** A subfolder's row of a long listing (its mode is in its own object; 0 when not opened). */
export function folderRow(
  name: string,
  child: { mode: number; group?: string } | undefined,
  owner: string,
): LongListing {
  return {
    name,
    type: "folder",
    size: 0,
    mtime: 0,
    versions: 0,
    mode: child?.mode ?? 0,
    owner,
    group: child?.group ?? null,
  };
}

/** A file's row of a long listing: its newest version, and the mode and group in effect. */
export function fileRow(
  name: string,
  folder: FolderVersion,
  e: FileEntry,
  owner: string,
): LongListing {
  const m = fileMode(folder, e);
  return {
    name,
    type: "file",
    size: e.versions[0]!.size,
    mtime: e.versions[0]!.mtime,
    versions: e.versions.length,
    mode: m.mode,
    owner,
    group: m.group ?? null,
  };
}

/** Lists a folder with modes, owner and group (each subfolder is loaded for its own). */
export async function listLong<F extends PermFolder>(
  host: PermissionHost<F>,
  parts: string[],
): Promise<LongListing[]> {
  const f = await host.walk(parts);
  const owner = f.version.owner;
  const entries = Object.entries(f.version.entries);
  // Each subfolder's mode is in its own object: load them a few at a time (bounded work at once).
  const children = new Map<string, FolderVersion>();
  const dirs = entries.filter((x): x is [string, FolderEntry] => x[1].t === "d");
  for (let i = 0; i < dirs.length; i += 16) {
    await Promise.all(
      dirs.slice(i, i + 16).map(async ([name, e]) => {
        children.set(name, (await host.load(e)).version);
      }),
    );
  }
  const rows = entries.map(([name, e]) =>
    e.t === "d" ? folderRow(name, children.get(name), owner) : fileRow(name, f.version, e, owner)
  );
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** What a path is, with its mode and group in effect. */
export interface PathInfo {
  type: "file" | "folder";
  mode: number;
  group: string | null;
  /** For a folder: its keys (record address and read key). */
  folder?: FolderEntry;
}

/** The type, mode, group (and, for a folder, keys) of `parts`. */
export async function stat<F extends PermFolder>(
  host: PermissionHost<F>,
  parts: string[],
  root: () => FolderEntry,
): Promise<PathInfo> {
  if (parts.length === 0) {
    const r = await host.walk([]);
    return { type: "folder", mode: r.version.mode, group: r.version.group ?? null, folder: root() };
  }
  const name = parts.at(-1)!;
  const parent = await host.walk(parts.slice(0, -1));
  const e = parent.version.entries[name];
  if (!e) throw new NotFoundPathError(`Nothing at /${parts.join("/")}`);
  if (e.t === "d") {
    const v = (await host.load(e)).version;
    return { type: "folder", mode: v.mode, group: v.group ?? null, folder: e };
  }
  const m = fileMode(parent.version, e);
  return { type: "file", mode: m.mode, group: m.group ?? null };
}

/** Raised for a path that does not exist. */
export class NotFoundPathError extends Error {
  override name = "NotFoundError";
}

/**
 * Sets the mode and/or group of a path (a folder's version, or a file's entry). `mode` may be a
 * function of the current mode (symbolic modes apply to it). Returns the new values.
 */
export function setPermissions<F extends PermFolder>(
  host: PermissionHost<F>,
  parts: string[],
  change: { mode?: (current: number) => number; group?: string | null },
): Promise<{ mode: number; group: string | null }> {
  return host.serial(async () => {
    const apply = (mode: number, group: string | undefined) => {
      const next = change.mode ? change.mode(mode) : mode;
      const g = change.group === undefined ? group : change.group ?? undefined;
      return { mode: next, group: g };
    };
    if (parts.length === 0) {
      const root = await host.walk([]);
      const n = apply(root.version.mode, root.version.group);
      await host.update(withFields(root, n), { ...root.version.entries });
      return { mode: n.mode, group: n.group ?? null };
    }
    const name = parts.at(-1)!;
    const parent = await host.walk(parts.slice(0, -1));
    const e = parent.version.entries[name];
    if (!e) throw new NotFoundPathError(`Nothing at /${parts.join("/")}`);
    if (e.t === "d") {
      const child = await host.load(e);
      const n = apply(child.version.mode, child.version.group);
      await host.update(withFields(child, n), { ...child.version.entries });
      return { mode: n.mode, group: n.group ?? null };
    }
    const cur = fileMode(parent.version, e);
    const n = apply(cur.mode, cur.group);
    const { group: _, ...rest } = e;
    const next: FileEntry = { ...rest, mode: n.mode, ...(n.group ? { group: n.group } : {}) };
    await host.update(parent, { ...parent.version.entries, [name]: next });
    return { mode: n.mode, group: n.group ?? null };
  });
}

function withFields<F extends PermFolder>(f: F, n: { mode: number; group?: string }): F {
  const { group: _, ...rest } = f.version;
  const version: FolderVersion = { ...rest, mode: n.mode, ...(n.group ? { group: n.group } : {}) };
  return { ...f, version };
}

/**
 * Gives the folder at `parts` and every folder under it a fresh read key, publishing each again
 * (children first), then the parent's entry. Returns the new entry of the folder. Under the
 * catalog's lock.
 */
export function rekeyFolder<F extends PermFolder>(
  host: PermissionHost<F>,
  parts: string[],
): Promise<FolderEntry> {
  if (parts.length === 0) {
    throw new RangeError("The root folder cannot be re-keyed: share folders under it");
  }
  return host.serial(async () => {
    const name = parts.at(-1)!;
    const parent = await host.walk(parts.slice(0, -1));
    const e = parent.version.entries[name];
    if (e?.t !== "d") throw new NotFoundPathError(`No folder at /${parts.join("/")}`);
    const fresh = await rekey(host, e, 0);
    await host.update(parent, { ...parent.version.entries, [name]: fresh });
    return fresh;
  });
}

/** Deepest folder nesting re-keyed (a bound on the recursion). */
const MAX_DEPTH = 256;

async function rekey<F extends PermFolder>(
  host: PermissionHost<F>,
  e: FolderEntry,
  depth: number,
): Promise<FolderEntry> {
  if (depth > MAX_DEPTH) throw new RangeError(`Folders nest deeper than ${MAX_DEPTH}`);
  const f = await host.load(e);
  const entries: Record<string, Entry> = {};
  for (const [name, child] of Object.entries(f.version.entries)) {
    entries[name] = child.t === "d" ? await rekey(host, child, depth + 1) : child;
  }
  const readKey = randomBytes(32);
  await host.update({ ...f, keys: { ...f.keys, readKey } }, entries);
  // The write key stays (it names the record); its secret is the one the catalog unmasked to
  // load the folder, and is masked again under the parent's when the parent is written.
  return { t: "d", writePub: e.writePub, readKey, writeSecret: f.keys.writeSecret };
}
