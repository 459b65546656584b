// This module is browser compatible.
/**
 * A site's index: every file of one published version, by path, with what a gateway needs to
 * serve it (size, content type, modification time, a validator) and to read it (its data key and
 * its manifest, its bytes when tiny, or where it sits in a pack). The index is public content:
 * its own key is in the site record, and the data keys inside it open only this site's files.
 *
 * `{ v: 1, files: [[path, { size, type, mtime, hash, key, manifest? | inline? | pack? }]],
 *    redirects? }`, paths starting with "/", at most {@linkcode MAX_FILES}.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";

/** Most files in one site. */
export const MAX_FILES = 100_000;
/** Largest index. */
export const MAX_INDEX_BYTES = 64 << 20;

/** Where a packed file sits. */
export interface IndexPack {
  manifest: Uint8Array;
  key: Uint8Array;
  offset: number;
  length: number;
}

/** A stored compressed copy of a file: its size and where its bytes are. */
export interface IndexCopy {
  size: number;
  key: Uint8Array;
  manifest?: Uint8Array;
  inline?: Uint8Array;
  pack?: IndexPack;
}

/** One file as the index records it. */
export interface IndexEntry {
  size: number;
  type: string;
  mtime: number;
  /** A validator of the content (the owner's keyed hash of it). */
  hash: Uint8Array;
  /** This file's data key (for a packed file, its own key inside the pack). */
  key: Uint8Array;
  manifest?: Uint8Array;
  inline?: Uint8Array;
  pack?: IndexPack;
  /** Compressed copies stored at publish time, by content coding. */
  br?: IndexCopy;
  gzip?: IndexCopy;
}

/** A decoded index. */
export interface SiteIndex {
  files: Map<string, IndexEntry>;
  redirects?: string;
}

/** Encodes an index (paths sorted, so one index has one byte form). */
export function encodeSiteIndex(index: SiteIndex): Uint8Array {
  if (index.files.size > MAX_FILES) {
    throw new RangeError(`A site holds at most ${MAX_FILES} files, not ${index.files.size}`);
  }
  const files = [...index.files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, e]) => {
    const entry: Record<string, unknown> = {
      size: e.size,
      type: e.type,
      mtime: e.mtime,
      hash: e.hash,
      key: e.key,
    };
    Object.assign(entry, forms(e));
    if (e.br) entry.br = { size: e.br.size, key: e.br.key, ...forms(e.br) };
    if (e.gzip) entry.gzip = { size: e.gzip.size, key: e.gzip.key, ...forms(e.gzip) };
    return [path, entry];
  });
  return encode({ v: 1, files, ...(index.redirects ? { redirects: index.redirects } : {}) });
}

function forms(e: Omit<IndexCopy, "size" | "key">): Record<string, unknown> {
  if (e.manifest) return { manifest: e.manifest };
  if (e.inline) return { inline: e.inline };
  if (e.pack) return { pack: { ...e.pack } };
  return {};
}

/** Reads the one storage form (manifest, inline or pack) of an entry or copy. */
function readForm(e: Record<string, unknown>, what: string, path: string) {
  const n = ["manifest", "inline", "pack"].filter((k) => k in e).length;
  if (n !== 1) throw new DecodeError(`Invalid ${what}: ${path} needs exactly one form`);
  if ("manifest" in e) return { manifest: readBytes(e, "manifest", what, { max: 16 << 20 }) };
  if ("inline" in e) return { inline: readBytes(e, "inline", what, { max: 64 * 1024 }) };
  const p = readMap(e.pack, what, ["manifest", "key", "offset", "length"]);
  return {
    pack: {
      manifest: readBytes(p, "manifest", what, { max: 1 << 20 }),
      key: readBytes(p, "key", what, { exact: 32 }),
      offset: readUint(p, "offset", what),
      length: readUint(p, "length", what),
    },
  };
}

/** Decodes an index, checking every entry. */
export function decodeSiteIndex(bytes: Uint8Array): SiteIndex {
  const what = "site index";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_INDEX_BYTES }), what, [
    "v",
    "files",
  ], ["redirects"]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  if (!Array.isArray(m.files) || m.files.length > MAX_FILES) {
    throw new DecodeError(`Invalid ${what}: "files" must list at most ${MAX_FILES}`);
  }
  const files = new Map<string, IndexEntry>();
  for (const pair of m.files) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string") {
      throw new DecodeError(`Invalid ${what}: each file is [path, entry]`);
    }
    const path = pair[0];
    if (!path.startsWith("/") || path.length > 4096 || path.includes("\0")) {
      throw new DecodeError(`Invalid ${what}: bad path ${JSON.stringify(path.slice(0, 80))}`);
    }
    const e = readMap(pair[1], what, ["size", "type", "mtime", "hash", "key"], [
      "manifest",
      "inline",
      "pack",
      "br",
      "gzip",
    ]);
    const entry: IndexEntry = {
      size: readUint(e, "size", what),
      type: readString(e, "type", what, 200),
      mtime: readUint(e, "mtime", what),
      hash: readBytes(e, "hash", what, { max: 64 }),
      key: readBytes(e, "key", what, { exact: 32 }),
      ...readForm(e, what, path),
    };
    for (const coding of ["br", "gzip"] as const) {
      if (!(coding in e)) continue;
      const c = readMap(e[coding], what, ["size", "key"], ["manifest", "inline", "pack"]);
      entry[coding] = {
        size: readUint(c, "size", what),
        key: readBytes(c, "key", what, { exact: 32 }),
        ...readForm(c, what, `${path} (${coding})`),
      };
    }
    files.set(path, entry);
  }
  const redirects = "redirects" in m ? readString(m, "redirects", what, 64 * 1024) : undefined;
  return { files, ...(redirects !== undefined ? { redirects } : {}) };
}
