// This module is browser compatible.
/**
 * Groups: a named set of node ids, signed by the group's owner (group_record.ts), with the group
 * key wrapped (HPKE, X25519) to every member. The owner is always a member, so the record alone
 * lets the owner recover the key.
 *
 * The group key is 32 random bytes per epoch. Adding a member keeps the epoch and wraps the same
 * key to the newcomer; removing one starts a new epoch with a fresh key wrapped to the remaining
 * members only, so the removed member cannot open what is sealed after (what it already read
 * cannot be unread).
 */
import { randomBytes } from "../crypto/hash.ts";
import { unwrapKey, wrapKey } from "../crypto/hpke.ts";
import { encode } from "../encoding/cbor.ts";
import type { IdentityKeys } from "../identity/keys.ts";
import { assertNodeId } from "../identity/node_id.ts";
import { SharingError } from "./errors.ts";
import {
  assertGroupName,
  type Group,
  type GroupMember,
  MAX_GROUP_MEMBERS,
} from "./group_record.ts";

function wrapInfo(owner: string, name: string, epoch: number): Uint8Array {
  return encode({ t: "mote/group-key/v1", owner, name, epoch });
}

async function build(
  owner: string,
  name: string,
  epoch: number,
  key: Uint8Array,
  members: readonly GroupMember[],
): Promise<Group> {
  const byId = new Map<string, GroupMember>();
  for (const m of members) byId.set(assertNodeId(m.id), m);
  if (!byId.has(owner)) throw new RangeError(`The owner ${owner} must stay a member of its group`);
  if (byId.size > MAX_GROUP_MEMBERS) {
    throw new RangeError(`A group has at most ${MAX_GROUP_MEMBERS} members, got ${byId.size}`);
  }
  const ids = [...byId.keys()].sort();
  const info = wrapInfo(owner, name, epoch);
  const keys = await Promise.all(ids.map(async (member) => ({
    member,
    wrapped: await wrapKey(byId.get(member)!.agreePublic, key, info),
  })));
  return { v: 1, name, owner, epoch, members: ids, keys };
}

function assertOwner(owner: IdentityKeys, g: Group): void {
  if (owner.id !== g.owner) {
    throw new SharingError("not-owner", `Only ${g.owner} may change group "${g.name}"`);
  }
}

/** Creates a group at epoch 0 with a fresh key; the owner is added as a member. */
export async function createGroup(
  owner: IdentityKeys,
  name: string,
  members: readonly GroupMember[] = [],
): Promise<Group> {
  const all = [{ id: owner.id, agreePublic: owner.agreePublic }, ...members];
  return await build(owner.id, assertGroupName(name), 0, randomBytes(32), all);
}

/** Adds a member in the same epoch, wrapping the current key to it. */
export async function addMember(owner: IdentityKeys, g: Group, m: GroupMember): Promise<Group> {
  assertOwner(owner, g);
  if (g.members.includes(m.id)) throw new RangeError(`${m.id} is already in group "${g.name}"`);
  if (g.members.length >= MAX_GROUP_MEMBERS) {
    throw new RangeError(`Group "${g.name}" is full (${MAX_GROUP_MEMBERS} members)`);
  }
  const key = await unwrapGroupKey(g, owner.id, owner.agreeSecret);
  const wrapped = await wrapKey(m.agreePublic, key, wrapInfo(g.owner, g.name, g.epoch));
  const keys = [...g.keys, { member: assertNodeId(m.id), wrapped }]
    .sort((a, b) => a.member < b.member ? -1 : 1);
  return { ...g, members: keys.map((k) => k.member), keys };
}

/**
 * Removes a member: a new epoch with a fresh key, wrapped to the remaining members, whose agree
 * keys `agreeKeys` must hold (the owner's comes from `owner`).
 */
export async function removeMember(
  owner: IdentityKeys,
  g: Group,
  memberId: string,
  agreeKeys: ReadonlyMap<string, Uint8Array>,
): Promise<Group> {
  assertOwner(owner, g);
  if (memberId === g.owner) throw new RangeError(`The owner cannot leave group "${g.name}"`);
  if (!g.members.includes(memberId)) {
    throw new SharingError("not-member", `${memberId} is not in group "${g.name}"`);
  }
  const rest = g.members.filter((id) => id !== memberId).map((id) => {
    const agreePublic = id === owner.id ? owner.agreePublic : agreeKeys.get(id);
    if (!agreePublic) throw new TypeError(`No agree key given for remaining member ${id}`);
    return { id, agreePublic };
  });
  return await build(g.owner, g.name, g.epoch + 1, randomBytes(32), rest);
}

/** A member opens the group key of `g`'s epoch. Throws `SharingError` for non-members. */
export async function unwrapGroupKey(
  g: Group,
  memberId: string,
  agreeSecret: Uint8Array,
): Promise<Uint8Array> {
  const entry = g.keys.find((k) => k.member === memberId);
  if (!entry) {
    throw new SharingError(
      "not-member",
      `${memberId} is not in group "${g.name}" (epoch ${g.epoch})`,
    );
  }
  try {
    return await unwrapKey(agreeSecret, entry.wrapped, wrapInfo(g.owner, g.name, g.epoch));
  } catch (e) {
    throw new SharingError(
      "bad-wrap",
      `Cannot open the key of group "${g.name}": ${(e as Error).message}`,
    );
  }
}
