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
