// This module is browser compatible.
/**
 * Scrub tickets: the owner's signed permission for one scrubber to keep the owner's data alive.
 *
 * A ticket names the owner (with the public key that checks its signature, so anyone can verify
 * it without a lookup), the scrubber (and its key, which signs everything done under the
 * ticket), an expiry the owner chooses (how long the data may survive unattended: contracts
 * signed under the ticket end by then), and caps: how many supplier contracts the scrubber may
 * sign and the largest quota of each. It carries no key material of the owner's: a scrubber
 * works on ciphertext, shard ids and Merkle roots only.
 *
 * Encoded as `{ body, sig }`; `body` is the canonical CBOR of
 * `{ v: 1, id, owner, ownerKey, scrubber, scrubberKey, issued, expiry, maxContracts, maxQuota }`
 * and `sig` the owner's signature over it under the tag `scrub-ticket/v1`.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { toBase32 } from "../encoding/base32.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { sign, verify } from "../crypto/sign.ts";
import { nodeIdOf } from "../identity/node_id.ts";

const TAG = "scrub-ticket/v1";
/** Largest encoded ticket. */
export const MAX_TICKET_BYTES = 1024;
/** Bytes of a ticket id. */
export const TICKET_ID_BYTES = 16;

/** What a ticket grants. */
export interface TicketTerms {
  /** Random, 16 bytes; named in base32 (26 characters). */
  id: Uint8Array;
  owner: string;
  ownerKey: Uint8Array;
  scrubber: string;
  scrubberKey: Uint8Array;
  /** Issue time and expiry (ms since the epoch). */
  issued: number;
  expiry: number;
  /** Most supplier contracts the scrubber may sign for the owner under this ticket. */
  maxContracts: number;
  /** Largest quota (bytes) of each such contract. */
  maxQuota: number;
}

/** A verified ticket with its encoded form. */
export interface ScrubTicket extends TicketTerms {
  /** The encoded ticket, as it travels. */
  bytes: Uint8Array;
  /** The id in base32. */
  name: string;
}

/** Raised when a ticket does not verify or does not allow what is asked. */
export class TicketError extends Error {
  override name = "TicketError";
}

/** Signs a ticket with the owner's signing secret. */
export function issueTicket(terms: TicketTerms, ownerSecret: Uint8Array): ScrubTicket {
  checkTerms(terms);
  const { id, owner, ownerKey, scrubber, scrubberKey, issued, expiry, maxContracts, maxQuota } =
    terms;
  const body = encode({
    v: 1,
    id,
    owner,
    ownerKey,
    scrubber,
    scrubberKey,
    issued,
    expiry,
    maxContracts,
    maxQuota,
  });
  const bytes = encode({ body, sig: sign(ownerSecret, TAG, body) });
  return openTicket(bytes);
}

/** Decodes a ticket and checks the owner's signature and the keys' ids (not its expiry). */
export function openTicket(bytes: Uint8Array): ScrubTicket {
  const what = "scrub ticket";
  if (bytes.length > MAX_TICKET_BYTES) throw new DecodeError(`Invalid ${what}: too large`);
  const outer = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_TICKET_BYTES }), what, [
    "body",
    "sig",
  ]);
  const body = readBytes(outer, "body", what, { max: MAX_TICKET_BYTES });
  const sig = readBytes(outer, "sig", what, { exact: 64 });
  const m = readMap(decodeCanonical(body, { what, maxBytes: MAX_TICKET_BYTES }), what, [
    "v",
    "id",
    "owner",
    "ownerKey",
    "scrubber",
    "scrubberKey",
    "issued",
    "expiry",
    "maxContracts",
    "maxQuota",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const terms: TicketTerms = {
    id: readBytes(m, "id", what, { exact: TICKET_ID_BYTES }),
    owner: readString(m, "owner", what, 52),
    ownerKey: readBytes(m, "ownerKey", what, { exact: 32 }),
    scrubber: readString(m, "scrubber", what, 52),
    scrubberKey: readBytes(m, "scrubberKey", what, { exact: 32 }),
    issued: readUint(m, "issued", what),
    expiry: readUint(m, "expiry", what),
    maxContracts: readUint(m, "maxContracts", what),
    maxQuota: readUint(m, "maxQuota", what),
  };
  checkTerms(terms);
  if (!verify(terms.ownerKey, TAG, body, sig)) {
    throw new TicketError("The scrub ticket's signature does not verify");
  }
  return { ...terms, bytes, name: toBase32(terms.id) };
}

/** Throws unless the ticket is in force at `now` (issued, not expired). */
export function checkTicketTime(t: TicketTerms, now: number = Date.now()): void {
  if (now >= t.expiry) {
    throw new TicketError(`The scrub ticket ${toBase32(t.id)} expired`);
  }
  // A little slack for clocks: a ticket issued "in the future" by a few minutes is accepted.
  if (t.issued > now + 10 * 60_000) {
    throw new TicketError("The scrub ticket is dated in the future");
  }
}

function checkTerms(t: TicketTerms) {
  if (nodeIdOf(t.ownerKey) !== t.owner) {
    throw new TicketError("The ticket's owner key does not match its owner");
  }
  if (nodeIdOf(t.scrubberKey) !== t.scrubber) {
    throw new TicketError("The ticket's scrubber key does not match its scrubber");
  }
  if (t.owner === t.scrubber) throw new TicketError("An owner cannot be its own scrubber");
  if (t.id.length !== TICKET_ID_BYTES) throw new TicketError("A ticket id is 16 bytes");
  for (const k of ["issued", "expiry", "maxContracts", "maxQuota"] as const) {
    if (!Number.isSafeInteger(t[k]) || t[k] < 0) {
      throw new TicketError(`Ticket ${k} must be a non-negative integer`);
    }
  }
  if (t.expiry <= t.issued) throw new TicketError("A ticket must expire after it is issued");
  if (t.maxContracts < 1 || t.maxContracts > 1024) {
    throw new TicketError("A ticket allows from 1 to 1024 contracts");
  }
}
