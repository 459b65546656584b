// This module is browser compatible.
/**
 * A folder version: the encrypted object a folder's record points to. It lists the folder's
 * entries. A file entry keeps the file's versions (each with its own data key and manifest, or
 * the bytes inline when tiny). A subfolder entry keeps the child's write public key (which names
 * the child's record), and the child's read and write secrets: the whole object is sealed under
 * this folder's read key, so holding a folder's read key opens its subtree, as in Cryptree.
 *
 * Every version carries its owner, mode, write key, parent version hash and a logical counter
 * from the first release, so sharing needs no format migration. Permissions (docs/sharing.md):
 * a folder's mode is its version's `mode`, its group the optional `group` (a group name of the
 * owner's); a file's mode and group live in its entry (optional `mode`, `group`). Both optional
 * fields were added after the first release: data written before has none, and then a file
 * follows its folder (`childMode(folder.mode, "file")`, the folder's group) and a folder has no
 * group.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { type Fields, readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { PACK_MAX, type PackRef } from "./pack.ts";

/** Group names as the sharing core allows them (`sharing/group_record.ts`). */
const GROUP_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Largest file kept inline in its folder object rather than as shards. */
export const INLINE_MAX = 1024;

/** One stored version of a file. */
export interface FileVersion {
  readonly size: number;
  /** Source modification time (ms), for skipping unchanged files. */
  readonly mtime: number;
  /** When this version was added (ms). */
  readonly added: number;
  /** Keyed hash of the content (HMAC-SHA-256 under the owner's content key), for skipping. */
  readonly hash: Uint8Array;
  /** This version's data key (fresh for every version). */
  readonly key: Uint8Array;
  /** Exactly one of: the encoded manifest, the bytes themselves, or where in a pack it sits. */
  readonly manifest?: Uint8Array;
  readonly inline?: Uint8Array;
  readonly pack?: PackRef;
}

/** A directory entry. */
export type Entry =
  | {
    readonly t: "f";
    readonly versions: readonly FileVersion[];
    /** The file's own mode (0..0o777); absent: its folder's file mode. */
    readonly mode?: number;
    /** The file's group (a group name of the owner's); absent: its folder's group. */
    readonly group?: string;
  }
  | {
    readonly t: "d";
    readonly writePub: Uint8Array;
    readonly readKey: Uint8Array;
    readonly writeSecret: Uint8Array;
  };

/** A folder version. */
export interface FolderVersion {
  readonly v: 1;
  readonly owner: string;
  readonly mode: number;
  readonly writePub: Uint8Array;
  /** SHA-256 of the previous version's record value (empty for the first). */
  readonly parent: Uint8Array;
  readonly counter: number;
  readonly entries: Readonly<Record<string, Entry>>;
  /** The folder's group (a group name of the owner's), when one was set. */
  readonly group?: string;
}

/** Encodes a folder version. */
export function encodeFolder(f: FolderVersion): Uint8Array {
  // An unset group is left out, so folders without one encode exactly as before it existed.
  const { group, ...rest } = f;
  return encode(group === undefined ? rest : f);
}

/** Decodes and checks a folder version. */
export function decodeFolder(bytes: Uint8Array): FolderVersion {
  const what = "folder";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: 256 << 20 }), what, [
    "v",
    "owner",
    "mode",
    "writePub",
    "parent",
    "counter",
    "entries",
  ], ["group"]);
  if (m.v !== 1) throw new DecodeError(`Invalid folder: unsupported version ${String(m.v)}`);
  if (typeof m.entries !== "object" || m.entries === null || Array.isArray(m.entries)) {
    throw new DecodeError("Invalid folder: entries must be a map");
  }
  const entries: Record<string, Entry> = {};
  for (const [name, e] of Object.entries(m.entries as Fields)) {
    checkName(name);
    entries[name] = readEntry(e, name);
  }
  return {
    v: 1,
    owner: readString(m, "owner", what, 52),
    mode: readMode(m, what),
    writePub: readBytes(m, "writePub", what, { exact: 32 }),
    parent: readBytes(m, "parent", what, { max: 32 }),
    counter: readUint(m, "counter", what),
    entries,
    ...("group" in m ? { group: readGroupName(m, what) } : {}),
  };
}

function readGroupName(m: Fields, what: string): string {
  const g = readString(m, "group", what, 64);
  if (!GROUP_RE.test(g)) throw new DecodeError(`Invalid ${what}: bad group name "${g}"`);
  return g;
}

function readMode(m: Fields, what: string): number {
  const mode = readUint(m, "mode", what);
  if (mode > 0o777) throw new DecodeError(`Invalid ${what}: mode ${mode} is over 0o777`);
  return mode;
}

/** Decodes and checks one entry (a file's or a subfolder's) named `name`. */
export function decodeEntry(v: unknown, name: string): Entry {
  return readEntry(v, name);
}

function readEntry(v: unknown, name: string): Entry {
  const what = `entry "${name}"`;
  const t = (v as Fields)?.t;
  if (t === "d") {
    const e = readMap(v, what, ["t", "writePub", "readKey", "writeSecret"]);
    return {
      t: "d",
      writePub: readBytes(e, "writePub", what, { exact: 32 }),
      readKey: readBytes(e, "readKey", what, { exact: 32 }),
      writeSecret: readBytes(e, "writeSecret", what, { exact: 32 }),
    };
  }
  const e = readMap(v, what, ["t", "versions"], ["mode", "group"]);
  if (t !== "f" || !Array.isArray(e.versions) || e.versions.length === 0) {
    throw new DecodeError(`Invalid ${what}: expected a file with versions or a folder`);
  }
  return {
    t: "f",
    ...("mode" in e ? { mode: readMode(e, what) } : {}),
    ...("group" in e ? { group: readGroupName(e, what) } : {}),
    versions: e.versions.map((x) => {
      const r = readMap(x, what, ["size", "mtime", "added", "hash", "key"], [
        "manifest",
        "inline",
        "pack",
      ]);
      if ([r.manifest, r.inline, r.pack].filter((f) => f !== undefined).length !== 1) {
        throw new DecodeError(
          `Invalid ${what}: a version has exactly one of a manifest, inline bytes or a pack`,
        );
      }
      return {
        size: readUint(r, "size", what),
        mtime: readUint(r, "mtime", what),
        added: readUint(r, "added", what),
        hash: readBytes(r, "hash", what, { exact: 32 }),
        key: readBytes(r, "key", what, { exact: 32 }),
        ...(r.manifest !== undefined
          ? { manifest: readBytes(r, "manifest", what, { max: 64 << 20 }) }
          : {}),
        ...(r.inline !== undefined
          ? { inline: readBytes(r, "inline", what, { max: INLINE_MAX }) }
          : {}),
        ...(r.pack !== undefined ? { pack: readPackRef(r.pack, what) } : {}),
      };
    }),
  };
}

function readPackRef(v: unknown, what: string): PackRef {
  const p = readMap(v, what, ["manifest", "key", "offset", "length"]);
  const offset = readUint(p, "offset", what), length = readUint(p, "length", what);
  if (offset + length > PACK_MAX) throw new DecodeError(`Invalid ${what}: outside its pack`);
  return {
    manifest: readBytes(p, "manifest", what, { max: 64 * 1024 }),
    key: readBytes(p, "key", what, { exact: 32 }),
    offset,
    length,
  };
}

/** Checks one path component: no separators, no `.`/`..`, no NUL or control characters. */
export function checkName(name: string): string {
  if (
    name === "" || name === "." || name === ".." || /[/\\]/.test(name) || hasControl(name) ||
    name.length > 255
  ) {
    throw new SyntaxError(`Invalid name "${name.slice(0, 60)}": not a single path component`);
  }
  return name;
}

/** Splits a remote path like `/photos/2024/a.jpg` into checked components (rejects traversal). */
export function splitPath(path: string): string[] {
  if (path.length > 4096) throw new SyntaxError("Path longer than 4096 characters");
  return path.split("/").filter((p) => p !== "").map(checkName);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}
