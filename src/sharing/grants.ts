// This module is browser compatible.
/**
 * Grants: one object's key (a file's or folder's read key, or a folder's write secret) wrapped
 * for each reader (HPKE to their X25519 key) and each group (AES-256-GCM under the group key of
 * one epoch), or published as is (`public`, "others may read": open data, hosted sites).
 *
 * Grants are not signed: they travel inside the owner-signed folder record, which is what makes
 * them authentic. Every wrap is bound to the purpose, the object id and its recipient, so a wrap
 * moved to another object, purpose, reader or epoch fails to open. Value (canonical CBOR):
 * `{ v: 1, purpose, object: 32 B, readers: [{ id, wrapped }], groups: [{ group, epoch, wrapped }],
 * public?: 32 B }`.
 */
import { KeyWrapError, unwrapKey, wrapKey } from "../crypto/hpke.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { assertNodeId } from "../identity/node_id.ts";
import { openUnder, SEALED_KEY_BYTES, sealUnder } from "./_seal.ts";
import { SharingError } from "./errors.ts";
import type { GroupMember } from "./group_record.ts";

/** What a grant's key unlocks. */
export type GrantPurpose = "read" | "write";
/** Most readers named in one grant. */
export const MAX_GRANT_READERS = 256;
/** Most groups named in one grant. */
export const MAX_GRANT_GROUPS = 64;
/** A group ref ({@linkcode groupRef}): a record key hash, 52 base32 characters. */
const REF_RE = /^[a-z2-7]{52}$/;
/** Largest encoded grant. */
export const MAX_GRANT_BYTES = 64 * 1024;

/** A key wrapped for several recipients. */
export interface Grant {
  readonly v: 1;
  readonly purpose: GrantPurpose;
  readonly object: Uint8Array;
  readonly readers: readonly { readonly id: string; readonly wrapped: Uint8Array }[];
  readonly groups: readonly {
    readonly group: string;
    readonly epoch: number;
    readonly wrapped: Uint8Array;
  }[];
  readonly public?: Uint8Array;
}

/** A group's key for one epoch, as a member holds it. */
export interface GroupKey {
  /** The group's ref ({@linkcode groupRef}). */
  readonly group: string;
  readonly epoch: number;
  readonly key: Uint8Array;
}

/** What to wrap and for whom. */
export interface GrantInit {
  readonly purpose: GrantPurpose;
  /** 32-byte path-independent object id. */
  readonly object: Uint8Array;
  /** The 32-byte key being shared. */
  readonly key: Uint8Array;
  readonly readers?: readonly GroupMember[];
  readonly groups?: readonly GroupKey[];
  /** Publish the key itself ("others" hold the permission). */
  readonly public?: boolean;
}

function readerInfo(purpose: GrantPurpose, object: Uint8Array, id: string): Uint8Array {
  return encode({ t: "mote/grant/v1", purpose, object, id });
}

function groupAad(
  purpose: GrantPurpose,
  object: Uint8Array,
  group: string,
  epoch: number,
): Uint8Array {
  return encode({ t: "mote/grant/v1", purpose, object, group, epoch });
}

function check32(what: string, b: Uint8Array): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== 32) {
    throw new RangeError(`A grant's ${what} must be 32 bytes, got ${(b as Uint8Array)?.length}`);
  }
  return b;
}

/** Wraps `init.key` for every reader and group named. */
export async function createGrant(init: GrantInit): Promise<Grant> {
  const { purpose } = init;
  if (purpose !== "read" && purpose !== "write") {
    throw new TypeError(`Invalid grant purpose "${String(purpose)}"`);
  }
  const object = check32("object id", init.object), key = check32("key", init.key);
  const readers = [...new Map((init.readers ?? []).map((r) => [assertNodeId(r.id), r])).values()]
    .sort((a, b) => a.id < b.id ? -1 : 1);
  const groups = [...(init.groups ?? [])].sort((a, b) => a.group < b.group ? -1 : 1);
  for (const g of groups) {
    if (!REF_RE.test(g.group)) throw new SyntaxError(`Invalid group ref "${g.group.slice(0, 60)}"`);
    if (!Number.isSafeInteger(g.epoch) || g.epoch < 0) {
      throw new RangeError(`A group epoch is a non-negative integer, got ${g.epoch}`);
    }
  }
  if (groups.some((g, i) => i > 0 && groups[i - 1]!.group === g.group)) {
    throw new RangeError("A grant names each group once");
  }
  if (readers.length > MAX_GRANT_READERS || groups.length > MAX_GRANT_GROUPS) {
    throw new RangeError(
      `A grant names at most ${MAX_GRANT_READERS} readers and ${MAX_GRANT_GROUPS} groups, got ${readers.length} and ${groups.length}`,
    );
  }
  return {
    v: 1,
    purpose,
    object,
    readers: await Promise.all(readers.map(async (r) => ({
      id: r.id,
      wrapped: await wrapKey(r.agreePublic, key, readerInfo(purpose, object, r.id)),
    }))),
    groups: await Promise.all(groups.map(async (g) => ({
      group: g.group,
      epoch: g.epoch,
      wrapped: await sealUnder(g.key, key, groupAad(purpose, object, g.group, g.epoch)),
    }))),
    ...(init.public ? { public: key } : {}),
  };
}

/** A reader opens the key wrapped to it. */
export async function openAsReader(
  g: Grant,
  id: string,
  agreeSecret: Uint8Array,
): Promise<Uint8Array> {
  const entry = g.readers.find((r) => r.id === id);
  if (!entry) throw new SharingError("no-grant", `No ${g.purpose} key is wrapped for ${id}`);
  try {
    return await unwrapKey(agreeSecret, entry.wrapped, readerInfo(g.purpose, g.object, id));
  } catch (e) {
    if (!(e instanceof KeyWrapError)) throw e;
    throw new SharingError("bad-wrap", `Cannot open the ${g.purpose} key for ${id}: ${e.message}`);
  }
}

/** A group member opens the key with the group key it holds. */
export async function openAsGroupMember(g: Grant, gk: GroupKey): Promise<Uint8Array> {
  const entry = g.groups.find((x) => x.group === gk.group);
  if (!entry) {
    throw new SharingError("no-grant", `No ${g.purpose} key is wrapped for group ${gk.group}`);
  }
  if (entry.epoch !== gk.epoch) {
    throw new SharingError(
      "stale-epoch",
      `The ${g.purpose} key is wrapped for epoch ${entry.epoch} of group ${gk.group}, not ${gk.epoch}`,
    );
  }
  return await openUnder(gk.key, entry.wrapped, groupAad(g.purpose, g.object, gk.group, gk.epoch));
}

/** The published key ("others" may use it); throws when there is none. */
export function openPublic(g: Grant): Uint8Array {
  if (!g.public) throw new SharingError("no-grant", `The ${g.purpose} key is not public`);
  return g.public;
}

/** Encodes a grant. */
export function encodeGrant(g: Grant): Uint8Array {
  const { v, purpose, object, readers, groups } = g;
  return encode({ v, purpose, object, readers, groups, ...(g.public ? { public: g.public } : {}) });
}

/** Decodes and bounds-checks a grant (no keys are opened). Throws `DecodeError`. */
export function decodeGrant(bytes: Uint8Array): Grant {
  const what = "grant";
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_GRANT_BYTES }),
    what,
    ["v", "purpose", "object", "readers", "groups"],
    ["public"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid grant: unsupported version ${String(m.v)}`);
  const purpose = readString(m, "purpose", what, 5);
  if (purpose !== "read" && purpose !== "write") {
    throw new DecodeError(`Invalid grant: unknown purpose "${purpose}"`);
  }
  const list = (key: string, max: number): unknown[] => {
    const v = m[key];
    if (!Array.isArray(v) || v.length > max) {
      throw new DecodeError(`Invalid grant: "${key}" must be an array of at most ${max}`);
    }
    return v;
  };
  const readers = list("readers", MAX_GRANT_READERS).map((x) => {
    const r = readMap(x, "grant reader", ["id", "wrapped"]);
    const id = readString(r, "id", what, 52);
    if (!/^[a-z2-7]{52}$/.test(id)) throw new DecodeError(`Invalid grant: bad reader id "${id}"`);
    return { id, wrapped: readBytes(r, "wrapped", what, { max: 512 }) };
  });
  const groups = list("groups", MAX_GRANT_GROUPS).map((x) => {
    const r = readMap(x, "grant group", ["group", "epoch", "wrapped"]);
    return {
      group: readRef(r),
      epoch: readUint(r, "epoch", what),
      wrapped: readBytes(r, "wrapped", what, { exact: SEALED_KEY_BYTES }),
    };
  });
  sortedUnique(readers.map((r) => r.id), "readers");
  sortedUnique(groups.map((r) => r.group), "groups");
  return {
    v: 1,
    purpose,
    object: readBytes(m, "object", what, { exact: 32 }),
    readers,
    groups,
    ...("public" in m ? { public: readBytes(m, "public", what, { exact: 32 }) } : {}),
  };
}

function readRef(r: Record<string, unknown>): string {
  const ref = readString(r, "group", "grant", 52);
  if (!REF_RE.test(ref)) throw new DecodeError(`Invalid grant: bad group ref "${ref}"`);
  return ref;
}

function sortedUnique(keys: string[], what: string): void {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) {
      throw new DecodeError(`Invalid grant: ${what} must be sorted and unique`);
    }
  }
}
