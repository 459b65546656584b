// This module is browser compatible.
/**
 * The owner's private sharing state: its groups and, per shared path, whom it was shared with.
 * It is a file of the owner's own catalog (`/.sharing/state`), so it is encrypted like any file,
 * kept by the suppliers and found again by a device restored from the key alone; the public
 * `share` record is rebuilt from it and the catalog.
 *
 * Value (canonical CBOR): `{ v: 1, groups: [name…], shares: [{ path, kind, readers: [{ id, agree
 * }], groups: [name…], id: 32 B, key?: 32 B }], known?: [{ id, agree }] }`. `known` keeps the X25519
 * keys of group members, so removing one re-wraps for the others without looking each up. `id` and `key` are a file share's object id and
 * key (a folder's are its record address and read key, read from the catalog each time).
 * Modes add recipients on top (`g+r` the path's group, `o+r` everyone): they are not stored here.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { assertNodeId } from "../identity/node_id.ts";
import { MAX_GRANT_GROUPS, MAX_GRANT_READERS } from "./grants.ts";
import { assertGroupName } from "./group_record.ts";
import { MAX_SHARE_ENTRIES, MAX_SHARE_GROUPS } from "./share_record.ts";

/** A reader: its id and X25519 key (from its identity document, which never changes). */
export interface Reader {
  readonly id: string;
  readonly agree: Uint8Array;
}

/** One shared path. */
export interface OwnerShare {
  readonly path: string;
  readonly kind: "d" | "f";
  readonly readers: readonly Reader[];
  /** Group names (the owner's groups). */
  readonly groups: readonly string[];
  readonly id: Uint8Array;
  /** A file share's key (absent for folders). */
  readonly key?: Uint8Array;
  /** A folder's write sharing: its writers, write groups and current write key (docs/sharing.md). */
  readonly write?: WriteShare;
}

/** A shared folder's write side: who may write, and the key they get. */
export interface WriteShare {
  readonly writers: readonly Reader[];
  readonly groups: readonly string[];
  /** The write secret of policy `seq` (its public key is in the `wpolicy` record). */
  readonly secret: Uint8Array;
  readonly seq: number;
  /** Bytes each supplier accepts under one write key. */
  readonly cap: number;
  /**
   * The first 16 bytes of the data keys of writers' versions merged under this key, newest last
   * (at most `MAX_MERGED`): a file the owner removed after merging it is not merged again from
   * a writers' version that still lists it. A new key starts with none (a version under an
   * older key no longer counts).
   */
  readonly merged?: readonly Uint8Array[];
}

/** Most merged version marks kept per write key. */
export const MAX_MERGED = 4096;

/** The owner's sharing state. */
export interface OwnerState {
  readonly v: 1;
  readonly groups: readonly string[];
  readonly shares: readonly OwnerShare[];
  /** X25519 keys of the owner's group members (identity keys never change). */
  readonly known?: readonly Reader[];
}

/** Most member keys remembered (every member of the owner's groups, bounded). */
export const MAX_KNOWN = 4096;

/** An empty state. */
export const EMPTY_STATE: OwnerState = { v: 1, groups: [], shares: [] };

/** Encodes a state. */
export function encodeOwnerState(s: OwnerState): Uint8Array {
  return encode({
    v: 1,
    groups: [...s.groups],
    shares: s.shares.map((x) => ({
      path: x.path,
      kind: x.kind,
      readers: x.readers.map((r) => ({ id: r.id, agree: r.agree })),
      groups: [...x.groups],
      id: x.id,
      ...(x.key ? { key: x.key } : {}),
      ...(x.write
        ? {
          write: {
            writers: x.write.writers.map((r) => ({ id: r.id, agree: r.agree })),
            groups: [...x.write.groups],
            secret: x.write.secret,
            seq: x.write.seq,
            cap: x.write.cap,
            ...(x.write.merged?.length ? { merged: [...x.write.merged] } : {}),
          },
        }
        : {}),
    })),
    ...(s.known?.length ? { known: s.known.map((r) => ({ id: r.id, agree: r.agree })) } : {}),
  });
}

/** Decodes a state; throws `DecodeError`. */
export function decodeOwnerState(bytes: Uint8Array): OwnerState {
  const what = "sharing state";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: 4 << 20 }), what, [
    "v",
    "groups",
    "shares",
  ], ["known"]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const list = (v: unknown, max: number, field: string): unknown[] => {
    if (!Array.isArray(v) || v.length > max) {
      throw new DecodeError(`Invalid ${what}: "${field}" must list at most ${max}`);
    }
    return v;
  };
  const names = (v: unknown, max: number, field: string) =>
    list(v, max, field).map((n) => {
      try {
        return assertGroupName(n as string);
      } catch (e) {
        throw new DecodeError(`Invalid ${what}: ${(e as Error).message}`);
      }
    });
  const reader = (r: unknown): Reader => {
    const rm = readMap(r, what, ["id", "agree"]);
    const id = readString(rm, "id", what, 52);
    try {
      assertNodeId(id);
    } catch {
      throw new DecodeError(`Invalid ${what}: bad reader id`);
    }
    return { id, agree: readBytes(rm, "agree", what, { exact: 32 }) };
  };
  const writeShare = (v: unknown): WriteShare => {
    const w = readMap(v, what, ["writers", "groups", "secret", "seq", "cap"], ["merged"]);
    return {
      writers: list(w.writers, MAX_GRANT_READERS, "writers").map(reader),
      groups: names(w.groups, MAX_GRANT_GROUPS, "groups"),
      secret: readBytes(w, "secret", what, { exact: 32 }),
      seq: readUint(w, "seq", what),
      cap: readUint(w, "cap", what),
      ...("merged" in w
        ? {
          merged: list(w.merged, MAX_MERGED, "merged").map((k, i) =>
            readBytes({ [i]: k }, String(i), what, { exact: 16 })
          ),
        }
        : {}),
    };
  };
  const shares = list(m.shares, MAX_SHARE_ENTRIES, "shares").map((x) => {
    const s = readMap(x, what, ["path", "kind", "readers", "groups", "id"], ["key", "write"]);
    if (s.kind !== "d" && s.kind !== "f") throw new DecodeError(`Invalid ${what}: bad kind`);
    const readers = list(s.readers, MAX_GRANT_READERS, "readers").map(reader);
    return {
      path: readString(s, "path", what, 4096),
      kind: s.kind,
      readers,
      groups: names(s.groups, MAX_GRANT_GROUPS, "groups"),
      id: readBytes(s, "id", what, { exact: 32 }),
      ...("key" in s ? { key: readBytes(s, "key", what, { exact: 32 }) } : {}),
      ...("write" in s ? { write: writeShare(s.write) } : {}),
    } as OwnerShare;
  });
  const known = "known" in m ? list(m.known, MAX_KNOWN, "known").map(reader) : undefined;
  return {
    v: 1,
    groups: names(m.groups, MAX_SHARE_GROUPS, "groups"),
    shares,
    ...(known ? { known } : {}),
  };
}
