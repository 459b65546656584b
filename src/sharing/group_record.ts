// This module is browser compatible.
/**
 * The group record: a group version as the value of its owner's record in the `group` namespace
 * (record name = the group name). Value (canonical CBOR):
 * `{ v: 1, name, owner, epoch, members: [id…] sorted, keys: [{ member, wrapped }…] same order }`.
 * Decoding is strict: no unknown fields, sorted unique members, one wrap each, the owner a member.
 */
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import type { IdentityKeys } from "../identity/keys.ts";
import { assertNodeId, nodeIdOf } from "../identity/node_id.ts";
import { type Namespace, namespaces as nsTable } from "../records/namespace.ts";
import { createRecord, decodeRecord, recordKeyOf, type SignedRecord } from "../records/record.ts";
import { SharingError } from "./errors.ts";

/** Most members in one group (the owner included). */
export const MAX_GROUP_MEMBERS = 256;
/** Group names: 1–64 of `a-z0-9._-`, starting with a letter or digit. */
export const GROUP_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The largest group record value: 256 members at about 221 bytes each, with headroom. */
export const MAX_GROUP_VALUE = 60 * 1024;

/** A member to wrap the key to. */
export interface GroupMember {
  readonly id: string;
  readonly agreePublic: Uint8Array;
}

/** A group version (the record value). */
export interface Group {
  readonly v: 1;
  readonly name: string;
  readonly owner: string;
  readonly epoch: number;
  readonly members: readonly string[];
  readonly keys: readonly { readonly member: string; readonly wrapped: Uint8Array }[];
}

/** The `group` record namespace (every node registers it). */
export const GROUP_NAMESPACE: Namespace = {
  name: "group",
  maxValue: MAX_GROUP_VALUE,
  maxName: 64,
  validate(r: SignedRecord) {
    const g = decodeGroup(r.value);
    if (g.owner !== nodeIdOf(r.signer)) throw new Error(`owner ${g.owner} did not sign it`);
    if (fromUtf8(r.name) !== g.name) throw new Error(`record name is not "${g.name}"`);
  },
};

/** A group's address string: the base32 hash of its record key. */
export function groupRef(owner: string, name: string): string {
  return recordKeyOf("group", owner, utf8(assertGroupName(name))).hash;
}

/** Asserts `name` is a valid group name (`SyntaxError` otherwise). */
export function assertGroupName(name: string): string {
  if (typeof name !== "string" || !GROUP_NAME_RE.test(name)) {
    throw new SyntaxError(
      `Invalid group name "${String(name).slice(0, 80)}": want ${GROUP_NAME_RE}`,
    );
  }
  return name;
}

/** Encodes a group value. */
export function encodeGroup(g: Group): Uint8Array {
  return encode({
    v: g.v,
    name: g.name,
    owner: g.owner,
    epoch: g.epoch,
    members: g.members,
    keys: g.keys.map((k) => ({ member: k.member, wrapped: k.wrapped })),
  });
}

/** Decodes and checks a group value (shape, bounds, sorted unique members, one wrap each). */
export function decodeGroup(bytes: Uint8Array): Group {
  try {
    return readGroup(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`Invalid group: ${(e as Error).message}`);
  }
}

function readGroup(bytes: Uint8Array): Group {
  const what = "group";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_GROUP_VALUE }), what, [
    "v",
    "name",
    "owner",
    "epoch",
    "members",
    "keys",
  ]);
  if (m.v !== 1) throw new SyntaxError(`Invalid group: unsupported version ${String(m.v)}`);
  const name = assertGroupName(readString(m, "name", what, 64));
  const owner = assertNodeId(readString(m, "owner", what, 52));
  const epoch = readUint(m, "epoch", what);
  if (!Array.isArray(m.members) || !Array.isArray(m.keys)) {
    throw new SyntaxError("Invalid group: members and keys must be arrays");
  }
  if (m.members.length > MAX_GROUP_MEMBERS || m.keys.length !== m.members.length) {
    throw new RangeError(
      `Invalid group: ${m.members.length} members and ${m.keys.length} keys (at most ${MAX_GROUP_MEMBERS}, one key each)`,
    );
  }
  const members = m.members.map((x, i) =>
    assertNodeId(readString({ x }, "x", `${what}.members[${i}]`, 52))
  );
  const keys = m.keys.map((x, i) => {
    const k = readMap(x, `${what}.keys[${i}]`, ["member", "wrapped"]);
    const member = readString(k, "member", what, 52);
    if (member !== members[i]) {
      throw new SyntaxError(`Invalid group: keys[${i}] is not for members[${i}]`);
    }
    return { member, wrapped: readBytes(k, "wrapped", what, { max: 512 }) };
  });
  for (let i = 1; i < members.length; i++) {
    if (!(members[i - 1]! < members[i]!)) {
      throw new SyntaxError("Invalid group: members not sorted and unique");
    }
  }
  if (!members.includes(owner)) throw new SyntaxError("Invalid group: the owner is not a member");
  return { v: 1, name, owner, epoch, members, keys };
}

/** Signs a group version as the owner's `group` record with sequence `seq`. */
export function signGroup(owner: IdentityKeys, g: Group, seq: number, ts?: number): SignedRecord {
  if (owner.id !== g.owner) {
    throw new SharingError("not-owner", `Only ${g.owner} may sign group "${g.name}"`);
  }
  return createRecord(owner.signSecret, owner.signPublic, {
    ns: "group",
    name: utf8(g.name),
    seq,
    value: encodeGroup(g),
    ts,
  });
}

/**
 * Decodes and verifies group record bytes: the record's signature, that its signer is the group's
 * owner, and (when given) that it is `owner`'s group `name`. Throws `RecordError`.
 */
export function verifyGroupRecord(
  bytes: Uint8Array,
  opts: { owner?: string; name?: string; now?: number } = {},
): { group: Group; record: SignedRecord } {
  const key = opts.owner !== undefined && opts.name !== undefined
    ? recordKeyOf("group", opts.owner, utf8(opts.name))
    : undefined;
  const record = decodeRecord(bytes, { namespaces: nsTable(GROUP_NAMESPACE), key, now: opts.now });
  return { group: decodeGroup(record.value), record };
}
