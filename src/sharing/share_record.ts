// This module is browser compatible.
/**
 * The `share` record: what an owner shares, one record per owner (empty name), signed by the
 * owner's identity, so `<owner-id>:/…` is found from the owner id alone and kept alive by the
 * owner's suppliers while the owner is away.
 *
 * Value (canonical CBOR):
 * `{ v: 1, groups: [group ref…], entries: [{ kind: "d" | "f", grant, label, box?, write? }] }`
 *
 * - `grant`: an encoded read grant (`grants.ts`). For a folder its object id is the folder's
 *   write public key (which names its `folder` record) and its key the folder's read key: it
 *   opens the folder's whole subtree. For a file its object id is random and its key a file
 *   share key that opens only `box`.
 * - `label`: the shared path, sealed under the shared key (purpose `mote/share-label/v1`).
 * - `box` (files only): the file's newest version (size, times, data key and manifest, inline
 *   bytes or pack place), sealed under the file share key (purpose `mote/file-share/v1`).
 * - `groups`: the refs of the owner's groups, so suppliers keep those records alive too.
 *
 * What it reveals to anyone: the owner id, how many things are shared, whether each is a folder
 * or a file, who may read each (reader ids and group refs are in the grants, as the core's grant
 * format has them), which are public, and for folders their record address. Paths, names, sizes
 * and keys are sealed.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import type { Namespace } from "../records/namespace.ts";
import type { SignedRecord } from "../records/record.ts";
import { readBytes, readMap } from "../encoding/shape.ts";
import { decodeGrant, encodeGrant, type Grant } from "./grants.ts";

/** Largest `share` record value (the records layer's 64 KiB, less the record's own fields). */
export const MAX_SHARE_VALUE = 60_000;
/** Most entries one owner's record lists. */
export const MAX_SHARE_ENTRIES = 512;
/** Most group refs it lists. */
export const MAX_SHARE_GROUPS = 256;
/** Label seal purpose. */
export const LABEL_PURPOSE = "mote/share-label/v1";
/** File box seal purpose. */
export const FILE_BOX_PURPOSE = "mote/file-share/v1";

/** One shared folder or file. */
export interface ShareEntry {
  readonly kind: "d" | "f";
  readonly grant: Grant;
  readonly label: Uint8Array;
  readonly box?: Uint8Array;
  /**
   * Folders only: a `"write"` grant of the folder's write secret (object id: the folder's record
   * address, as in the read grant), wrapped to its writers and write groups, and published
   * (`public`) when others may write, which needs the read grant public too.
   */
  readonly write?: Grant;
}

/** A `share` record value. */
export interface ShareList {
  readonly v: 1;
  readonly groups: readonly string[];
  readonly entries: readonly ShareEntry[];
}

const REF_RE = /^[a-z2-7]{52}$/;

/** Encodes a share list; throws `RangeError` when it would not fit one record. */
export function encodeShareList(s: ShareList): Uint8Array {
  if (s.entries.length > MAX_SHARE_ENTRIES || s.groups.length > MAX_SHARE_GROUPS) {
    throw new RangeError(
      `An owner shares at most ${MAX_SHARE_ENTRIES} paths with ${MAX_SHARE_GROUPS} groups, got ${s.entries.length} and ${s.groups.length}`,
    );
  }
  const bytes = encode({
    v: 1,
    groups: [...s.groups],
    entries: s.entries.map((e) => ({
      kind: e.kind,
      grant: encodeGrant(e.grant),
      label: e.label,
      ...(e.box ? { box: e.box } : {}),
      ...(e.write ? { write: encodeGrant(e.write) } : {}),
    })),
  });
  if (bytes.length > MAX_SHARE_VALUE) {
    throw new RangeError(
      `What you share no longer fits one record (${bytes.length} of ${MAX_SHARE_VALUE} bytes): share a folder rather than many files, or with a group rather than many readers`,
    );
  }
  return bytes;
}

/** Decodes and bounds-checks a share list (no keys are opened). Throws `DecodeError`. */
export function decodeShareList(bytes: Uint8Array): ShareList {
  const what = "share list";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_SHARE_VALUE }), what, [
    "v",
    "groups",
    "entries",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  if (!Array.isArray(m.groups) || m.groups.length > MAX_SHARE_GROUPS) {
    throw new DecodeError(`Invalid ${what}: "groups" must list at most ${MAX_SHARE_GROUPS}`);
  }
  if (!Array.isArray(m.entries) || m.entries.length > MAX_SHARE_ENTRIES) {
    throw new DecodeError(`Invalid ${what}: "entries" must list at most ${MAX_SHARE_ENTRIES}`);
  }
  const groups = m.groups.map((g) => {
    if (typeof g !== "string" || !REF_RE.test(g)) {
      throw new DecodeError(`Invalid ${what}: a group ref is 52 base32 characters`);
    }
    return g;
  });
  const entries = m.entries.map((x) => {
    const e = readMap(x, "share entry", ["kind", "grant", "label"], ["box", "write"]);
    if (e.kind !== "d" && e.kind !== "f") {
      throw new DecodeError(`Invalid share entry: kind must be "d" or "f"`);
    }
    const grant = decodeGrant(readBytes(e, "grant", what, { max: MAX_SHARE_VALUE }));
    if (grant.purpose !== "read") throw new DecodeError("Invalid share entry: not a read grant");
    if (e.kind === "d" && "box" in e) throw new DecodeError("Invalid share entry: a folder box");
    if (e.kind === "f" && !("box" in e)) throw new DecodeError("Invalid share entry: no file box");
    const write = "write" in e
      ? decodeGrant(readBytes(e, "write", what, { max: MAX_SHARE_VALUE }))
      : undefined;
    // A public write grant is "others: write", which needs "others: read" (no drop boxes).
    if (write && (e.kind !== "d" || write.purpose !== "write" || (write.public && !grant.public))) {
      throw new DecodeError(
        "Invalid share entry: a write grant is a folder's, and public only when its read grant is",
      );
    }
    return {
      kind: e.kind,
      grant,
      label: readBytes(e, "label", what, { max: 4200 }),
      ...("box" in e ? { box: readBytes(e, "box", what, { max: MAX_SHARE_VALUE }) } : {}),
      ...(write ? { write } : {}),
    } as ShareEntry;
  });
  return { v: 1, groups, entries };
}

/** The `share` namespace: one record per owner, empty name, value checked by the codec. */
export const SHARE_NAMESPACE: Namespace = {
  name: "share",
  maxValue: MAX_SHARE_VALUE,
  maxName: 0,
  validate: (r: SignedRecord) => void decodeShareList(r.value),
};
