// This module is browser compatible.
/**
 * The owner's revocation set: a signed record (`revoked` namespace, empty name) listing the scrub
 * tickets the owner has withdrawn, each with its expiry. Suppliers keep it alive with the owner's
 * other records, and check it before signing a contract or storing a shard under a ticket: a
 * ticket is valid only when the newest set does not list it, and a supplier that cannot find the
 * set at all refuses (the owner publishes an empty set before handing out its first ticket).
 *
 * The set only grows: the owner's node adds to what it published before, and readers keep the
 * union of every set they have seen, so a set held back or replayed cannot un-revoke a ticket. A
 * ticket may leave the set once it has expired (it is invalid either way), which keeps the record
 * bounded.
 *
 * Value: `{ v: 1, tickets: [[id, expiry], …] }`, ids 16 bytes, at most {@linkcode MAX_REVOKED}.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readMap } from "../encoding/shape.ts";
import type { Namespace } from "../records/namespace.ts";
import { TICKET_ID_BYTES } from "./ticket.ts";

/** Most tickets one set lists. */
export const MAX_REVOKED = 1024;
const MAX_VALUE = 40_000;

/** A revoked ticket: id and expiry. */
export interface Revoked {
  id: Uint8Array;
  expiry: number;
}

/** Encodes a revocation set (sorted by id, so one set has one byte form). */
export function encodeRevocations(list: readonly Revoked[]): Uint8Array {
  if (list.length > MAX_REVOKED) {
    throw new RangeError(`A revocation set lists at most ${MAX_REVOKED} tickets`);
  }
  const sorted = [...list].sort((a, b) => compare(a.id, b.id));
  return encode({ v: 1, tickets: sorted.map((r) => [r.id, r.expiry]) });
}

/** Decodes a revocation set value. */
export function decodeRevocations(bytes: Uint8Array): Revoked[] {
  const what = "revocation set";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_VALUE }), what, ["v", "tickets"]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  if (!Array.isArray(m.tickets) || m.tickets.length > MAX_REVOKED) {
    throw new DecodeError(`Invalid ${what}: "tickets" must list at most ${MAX_REVOKED}`);
  }
  return m.tickets.map((t) => {
    if (
      !Array.isArray(t) || t.length !== 2 || !(t[0] instanceof Uint8Array) ||
      t[0].length !== TICKET_ID_BYTES || !Number.isSafeInteger(t[1]) || t[1] < 0
    ) {
      throw new DecodeError(`Invalid ${what}: each entry is [16-byte id, expiry]`);
    }
    return { id: t[0], expiry: t[1] as number };
  });
}

/** The `revoked` namespace. */
export const REVOKED_NAMESPACE: Namespace = {
  name: "revoked",
  maxValue: MAX_VALUE,
  maxName: 0,
  validate: (r) => void decodeRevocations(r.value),
};

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
