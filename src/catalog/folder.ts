// This module is browser compatible.
/**
 * A folder version: the encrypted object a folder's record points to. It lists the folder's
 * entries. A file entry keeps the file's versions (each with its own data key and manifest, or
 * the bytes inline when tiny). A subfolder entry keeps the child's write public key (which names
 * the child's record), its read key, and its write secret masked under this folder's write
 * secret (`sealedWrite`, {@linkcode maskChildSecret}). The whole object is sealed under this
 * folder's read key, so holding a folder's read key opens its subtree for reading, as in
 * Cryptree; only a holder of this folder's write secret (the owner, walking down from the root
 * pointer) recovers a child's write secret, so read access never gives the key that signs a
 * subfolder's record. Entries written before masking hold the secret in the clear
 * (`writeSecret`): they still decode, and are written masked the next time their folder changes.
 *
 * Every version carries its owner, mode, write key, parent version hash and a logical counter
 * from the first release, so sharing needs no format migration. Permissions (docs/sharing.md):
 * a folder's mode is its version's `mode`, its group the optional `group` (a group name of the
 * owner's); a file's mode and group live in its entry (optional `mode`, `group`). Both optional
 * fields were added after the first release: data written before has none, and then a file
 * follows its folder (`childMode(folder.mode, "file")`, the folder's group) and a folder has no
 * group.
 */
import { taggedHash } from "../crypto/hash.ts";
import { signPublicKey } from "../crypto/sign.ts";
import { equals } from "../encoding/bytes.ts";
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
    /** The child's write public key: names its `folder` record. */
    readonly writePub: Uint8Array;
    /** The child's read key. */
    readonly readKey: Uint8Array;
    /**
     * The child's write secret in the clear: present only in the owner's memory, after
     * {@linkcode decodeOwnFolder} unmasked and checked it (or for a folder the owner just made).
     * Never written: {@linkcode encodeFolder} masks it.
     */
    readonly writeSecret?: Uint8Array;
    /**
     * The child's write secret masked under this folder's write secret, as stored. What a
     * reader's {@linkcode decodeFolder} gives; it opens nothing without the parent's secret.
     */
    readonly sealedWrite?: Uint8Array;
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

/** The domain tag of the pad masking a child's write secret. */
const CHILD_WRITE_TAG = "mote/child-write-secret/v1";

/** Raised when a child's write secret does not match its public key once unmasked. */
export class WriteSecretError extends Error {
  override name = "WriteSecretError";
}

/**
 * Masks (or, applied again, unmasks) a child folder's write secret under its parent's:
 * `secret XOR taggedHash("mote/child-write-secret/v1", parentWriteSecret ‖ childWritePub)`. The
 * pad is unique per child (its public key is), and only a holder of the parent's write secret
 * can compute it.
 */
export function maskChildSecret(
  parentWriteSecret: Uint8Array,
  childWritePub: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  if (parentWriteSecret.length !== 32 || childWritePub.length !== 32 || secret.length !== 32) {
    throw new RangeError("Masking a write secret takes 32-byte keys");
  }
  const pad = taggedHash(CHILD_WRITE_TAG, parentWriteSecret, childWritePub);
  return pad.map((b, i) => b ^ secret[i]!);
}

/**
 * A subfolder entry's write secret, given its parent folder's write secret: unmasked from
 * `sealedWrite` (or, for an entry written before masking, its plain `writeSecret`), and checked
 * against the entry's public key; a mismatch (another parent's secret, or damage) is a
 * {@linkcode WriteSecretError}.
 */
export function childWriteSecret(
  parentWriteSecret: Uint8Array,
  e: Extract<Entry, { t: "d" }>,
  name = "a subfolder",
): Uint8Array {
  const secret = e.sealedWrite
    ? maskChildSecret(parentWriteSecret, e.writePub, e.sealedWrite)
    : e.writeSecret;
  if (!secret) {
    throw new WriteSecretError(`The entry of ${name} holds no write secret (decoded as a reader)`);
  }
  if (!equals(signPublicKey(secret), e.writePub)) {
    throw new WriteSecretError(
      `The write secret of ${name} does not match its public key: its folder was opened with ` +
        "another folder's write secret, or the entry is damaged",
    );
  }
  return secret;
}

/**
 * Encodes a folder version. Every subfolder entry is written with its write secret masked
 * (`sealedWrite`), never in the clear: an entry holding a plain `writeSecret` is masked under
 * `writeSecret`, this folder's own write secret, which must then be given. An entry that is
 * already masked is written as it is.
 */
export function encodeFolder(f: FolderVersion, writeSecret?: Uint8Array): Uint8Array {
  const entries: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(f.entries)) {
    entries[name] = e.t === "d" ? storedFolderEntry(e, name, writeSecret) : e;
  }
  // An unset group is left out, so folders without one encode exactly as before it existed.
  const { group, ...rest } = f;
  return encode(group === undefined ? { ...rest, entries } : { ...f, entries });
}

function storedFolderEntry(
  e: Extract<Entry, { t: "d" }>,
  name: string,
  parentSecret: Uint8Array | undefined,
) {
  const { writePub, readKey } = e;
  if (e.writeSecret) {
    if (!parentSecret) {
      throw new WriteSecretError(
        `Cannot encode the subfolder "${name}": its write secret is only ever written masked, ` +
          "and the folder's own write secret was not given",
      );
    }
    return {
      t: "d",
      writePub,
      readKey,
      sealedWrite: maskChildSecret(parentSecret, writePub, e.writeSecret),
    };
  }
  if (!e.sealedWrite) {
    throw new WriteSecretError(
      `Cannot encode the subfolder "${name}": its entry has no write secret (decoded as a reader)`,
    );
  }
  return { t: "d", writePub, readKey, sealedWrite: e.sealedWrite };
}

/**
 * Decodes and checks a folder version as a reader: subfolder entries give their public and read
 * keys, and their masked write secret (`sealedWrite`) when written masked; a plain write secret
 * of an entry written before masking is left out, so no reader code ever carries one.
 */
export function decodeFolder(bytes: Uint8Array): FolderVersion {
  return readFolder(bytes).version;
}

/**
 * Decodes a folder version as its owner, holding the folder's own write secret: every subfolder
 * entry's write secret is unmasked and checked ({@linkcode childWriteSecret}) and given in the
 * clear as `writeSecret` (in memory only; {@linkcode encodeFolder} masks it again). `plain`
 * counts entries written before masking (their secret was stored in the clear): the folder is
 * upgraded by writing it again.
 */
export function decodeOwnFolder(
  bytes: Uint8Array,
  writeSecret: Uint8Array,
): { version: FolderVersion; plain: number } {
  const { version, raw } = readFolder(bytes);
  let plain = 0;
  const entries: Record<string, Entry> = {};
  for (const [name, e] of Object.entries(version.entries)) {
    if (e.t !== "d") {
      entries[name] = e;
      continue;
    }
    const stored = raw.get(name)!;
    if (!stored.sealedWrite) plain++;
    const secret = childWriteSecret(writeSecret, stored, `"${name}"`);
    entries[name] = { t: "d", writePub: e.writePub, readKey: e.readKey, writeSecret: secret };
  }
  return { version: { ...version, entries }, plain };
}

/** The folder as a reader gets it, and its subfolder entries as stored. */
function readFolder(
  bytes: Uint8Array,
): { version: FolderVersion; raw: Map<string, Extract<Entry, { t: "d" }>> } {
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
  const raw = new Map<string, Extract<Entry, { t: "d" }>>();
  for (const [name, e] of Object.entries(m.entries as Fields)) {
    checkName(name);
    const entry = readEntry(e, name);
    if (entry.t === "d") {
      raw.set(name, entry);
      entries[name] = readerView(entry);
    } else entries[name] = entry;
  }
  const version: FolderVersion = {
    v: 1,
    owner: readString(m, "owner", what, 52),
    mode: readMode(m, what),
    writePub: readBytes(m, "writePub", what, { exact: 32 }),
    parent: readBytes(m, "parent", what, { max: 32 }),
    counter: readUint(m, "counter", what),
    entries,
    ...("group" in m ? { group: readGroupName(m, what) } : {}),
  };
  return { version, raw };
}

/** A subfolder entry without a plain write secret (the masked one stays: it opens nothing). */
function readerView(e: Extract<Entry, { t: "d" }>): Extract<Entry, { t: "d" }> {
  const { writePub, readKey, sealedWrite } = e;
  return { t: "d", writePub, readKey, ...(sealedWrite ? { sealedWrite } : {}) };
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

/**
 * Decodes and checks one entry (a file's or a subfolder's) named `name`, as a reader: a
 * subfolder's plain write secret (written before masking) is left out.
 */
export function decodeEntry(v: unknown, name: string): Entry {
  const e = readEntry(v, name);
  return e.t === "d" ? readerView(e) : e;
}

/** One entry as stored: a subfolder's write secret masked (`sealedWrite`) or, if old, plain. */
function readEntry(v: unknown, name: string): Entry {
  const what = `entry "${name}"`;
  const t = (v as Fields)?.t;
  if (t === "d") {
    const e = readMap(v, what, ["t", "writePub", "readKey"], ["sealedWrite", "writeSecret"]);
    if (("sealedWrite" in e) === ("writeSecret" in e)) {
      throw new DecodeError(
        `Invalid ${what}: a subfolder has exactly one of a masked or a plain write secret`,
      );
    }
    const writePub = readBytes(e, "writePub", what, { exact: 32 });
    const readKey = readBytes(e, "readKey", what, { exact: 32 });
    return "sealedWrite" in e
      ? { t: "d", writePub, readKey, sealedWrite: readBytes(e, "sealedWrite", what, { exact: 32 }) }
      : {
        t: "d",
        writePub,
        readKey,
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
