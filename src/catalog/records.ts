// This module is browser compatible.
/**
 * The catalog's record namespaces.
 *
 * - `folder`: one record per folder, signed by that folder's own write key (so a writer of one
 *   folder never needs its parents). Value `{ v: 1, counter, box }` where `box` seals, under the
 *   folder's read key, the pointer `{ manifest, key }` to the current folder version object.
 * - `root`: the owner's root pointer, signed by the owner's identity. Value `{ v: 1, box }` where
 *   `box` seals `{ writePub, readKey, writeSecret }` of the root folder under a key derived from
 *   the owner's identity key, so the key file alone finds and opens the whole catalog.
 */
import { decodeCanonical } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readUint } from "../encoding/shape.ts";
import type { Namespace } from "../records/namespace.ts";

/** A decoded `folder` record value. */
export interface FolderPointer {
  readonly v: 1;
  readonly counter: number;
  readonly box: Uint8Array;
}

/** Decodes a `folder` record value. */
export function decodeFolderPointer(bytes: Uint8Array): FolderPointer {
  const m = readMap(
    decodeCanonical(bytes, { what: "folder pointer", maxBytes: 60_000 }),
    "folder pointer",
    [
      "v",
      "counter",
      "box",
    ],
  );
  if (m.v !== 1) {
    throw new DecodeError(`Invalid folder pointer: unsupported version ${String(m.v)}`);
  }
  return {
    v: 1,
    counter: readUint(m, "counter", "folder pointer"),
    box: readBytes(m, "box", "folder pointer", { max: 60_000 }),
  };
}

/** Decodes a `root` record value. */
export function decodeRootPointer(bytes: Uint8Array): { v: 1; box: Uint8Array } {
  const m = readMap(
    decodeCanonical(bytes, { what: "root pointer", maxBytes: 1024 }),
    "root pointer",
    ["v", "box"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid root pointer: unsupported version ${String(m.v)}`);
  return { v: 1, box: readBytes(m, "box", "root pointer", { max: 1024 }) };
}

/** The `folder` namespace. */
export const FOLDER_NAMESPACE: Namespace = {
  name: "folder",
  maxValue: 60_000,
  maxName: 0,
  validate: (r) => void decodeFolderPointer(r.value),
};

/** The `root` namespace. */
export const ROOT_NAMESPACE: Namespace = {
  name: "root",
  maxValue: 1024,
  maxName: 0,
  validate: (r) => void decodeRootPointer(r.value),
};

/** Most folder records one `keep` record lists (it must fit a 60 000-byte record). */
export const MAX_KEPT_FOLDERS = 900;

/**
 * A decoded `keep` record value: the record keys (`/mote/folder/<hash>`) of the owner's folders,
 * so the suppliers serving the owner can keep those records alive while the owner is away.
 * It names no files, keys or contents.
 */
export function decodeKeepList(bytes: Uint8Array): { v: 1; records: string[] } {
  const m = readMap(decodeCanonical(bytes, { what: "keep list", maxBytes: 60_000 }), "keep list", [
    "v",
    "records",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid keep list: unsupported version ${String(m.v)}`);
  if (!Array.isArray(m.records) || m.records.length > MAX_KEPT_FOLDERS) {
    throw new DecodeError(
      `Invalid keep list: "records" must list at most ${MAX_KEPT_FOLDERS} keys`,
    );
  }
  const records = m.records.map((r) => {
    if (
      typeof r !== "string" || !/^\/mote\/(folder|site|world|wedit|wcheck)\/[a-z2-7]{52}$/.test(r)
    ) {
      throw new DecodeError(
        "Invalid keep list: entries must be folder, site, world, wedit or wcheck record keys",
      );
    }
    return r;
  });
  return { v: 1, records };
}

/** The `keep` namespace. */
export const KEEP_NAMESPACE: Namespace = {
  name: "keep",
  maxValue: 60_000,
  maxName: 0,
  validate: (r) => void decodeKeepList(r.value),
};
