// This module is browser compatible.
/**
 * Storage contracts. A customer proposes terms and signs them; the supplier checks them against
 * its offer and countersigns. Both keep the doubly signed contract: the supplier accepts shards
 * only under a live contract, within its quota, and the customer renews before the expiry.
 * A higher `seq` (a renewal or a change of quota) replaces a lower one for the same pair.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { sign, verify } from "../crypto/sign.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import { equals } from "../encoding/bytes.ts";
import { MAX_TICKET_BYTES, openTicket, type ScrubTicket } from "../scrub/ticket.ts";

const TERMS_TAG = "contract/v1";
const DELEGATED_TAG = "contract-delegated/v1";
const MAX_CONTRACT = 1024 + MAX_TICKET_BYTES;

/** What both sides agree to. */
export interface ContractTerms {
  readonly v: 1;
  /** Customer node id. */
  readonly customer: string;
  /** Supplier node id. */
  readonly supplier: string;
  /** Bytes the customer may store. */
  readonly quota: number;
  /** Start and expiry, ms since the epoch. */
  readonly start: number;
  readonly expiry: number;
  /** Price in micro-units per GiB per 30 days. */
  readonly price: number;
  /** Increases with every renewal or change. */
  readonly seq: number;
}

/**
 * A contract signed for the customer by one of its scrubbers: the owner's scrub ticket and the
 * contract's slot under it (1 to the ticket's `maxContracts`). The customer half is then the
 * scrubber's signature (its key is in the ticket) over the terms, the ticket id and the slot.
 */
export interface Delegation {
  readonly ticket: Uint8Array;
  readonly slot: number;
}

/**
 * Terms with both signatures and the signers' public keys. `customerKey` is always the customer's
 * own key; with a `delegation`, `customerSig` is its scrubber's.
 */
export interface Contract {
  readonly terms: ContractTerms;
  readonly customerKey: Uint8Array;
  readonly customerSig: Uint8Array;
  readonly supplierKey: Uint8Array;
  readonly supplierSig: Uint8Array;
  readonly delegation?: Delegation;
}

/** Raised when a contract does not verify or its terms are unacceptable. */
export class ContractError extends Error {
  override name = "ContractError";
}

function termsBytes(t: ContractTerms): Uint8Array {
  return encode({ ...t });
}

/** The customer's half: terms signed by the customer. */
export function proposeContract(
  terms: ContractTerms,
  customerSecret: Uint8Array,
  customerKey: Uint8Array,
): Pick<Contract, "terms" | "customerKey" | "customerSig"> {
  checkTerms(terms);
  if (nodeIdOf(customerKey) !== terms.customer) {
    throw new ContractError("The proposer is not the contract's customer");
  }
  return { terms, customerKey, customerSig: sign(customerSecret, TERMS_TAG, termsBytes(terms)) };
}

/** A proposal: the terms and the customer half (made by the customer or its scrubber). */
export type Proposal = Pick<Contract, "terms" | "customerKey" | "customerSig" | "delegation">;

/**
 * The customer's half signed by a scrubber under the owner's ticket, within the ticket's caps
 * (slot, quota, and an expiry no later than the ticket's).
 */
export function proposeDelegatedContract(
  terms: ContractTerms,
  ticket: ScrubTicket,
  slot: number,
  scrubberSecret: Uint8Array,
): Proposal {
  checkTerms(terms);
  const delegation = { ticket: ticket.bytes, slot };
  const customerSig = sign(scrubberSecret, DELEGATED_TAG, delegatedBytes(terms, ticket, slot));
  const p = { terms, customerKey: ticket.ownerKey, customerSig, delegation };
  verifyCustomerHalf(p);
  return p;
}

/** The ticket a delegated contract was signed under (checked), or undefined for the owner's own. */
export function delegationTicket(c: Pick<Contract, "delegation">): ScrubTicket | undefined {
  return c.delegation ? openTicket(c.delegation.ticket) : undefined;
}

function delegatedBytes(t: ContractTerms, ticket: ScrubTicket, slot: number): Uint8Array {
  return encode({ terms: { ...t }, ticket: ticket.id, slot });
}

function verifyCustomerHalf(p: Proposal) {
  if (!p.delegation) return verifyHalf(p.terms, p.customerKey, p.customerSig, "customer");
  const t = openTicket(p.delegation.ticket);
  const { slot } = p.delegation;
  if (t.owner !== p.terms.customer || !equals(t.ownerKey, p.customerKey)) {
    throw new ContractError("The scrub ticket belongs to another customer");
  }
  if (!Number.isSafeInteger(slot) || slot < 1 || slot > t.maxContracts) {
    throw new ContractError(`Slot ${slot} is outside the ticket's ${t.maxContracts} contracts`);
  }
  if (p.terms.quota > t.maxQuota) {
    throw new ContractError(`The quota is over the ticket's ${t.maxQuota} bytes`);
  }
  if (p.terms.expiry > t.expiry) {
    throw new ContractError("A contract under a scrub ticket must end by the ticket's expiry");
  }
  if (!verify(t.scrubberKey, DELEGATED_TAG, delegatedBytes(p.terms, t, slot), p.customerSig)) {
    throw new ContractError("The scrubber's signature does not verify");
  }
}

/** The supplier's countersignature over a verified proposal. */
export function countersignContract(
  proposal: Proposal,
  supplierSecret: Uint8Array,
  supplierKey: Uint8Array,
): Contract {
  verifyCustomerHalf(proposal);
  if (nodeIdOf(supplierKey) !== proposal.terms.supplier) {
    throw new ContractError("The countersigner is not the contract's supplier");
  }
  return {
    ...proposal,
    supplierKey,
    supplierSig: sign(supplierSecret, TERMS_TAG, termsBytes(proposal.terms)),
  };
}

/** Verifies both signatures (and that the keys belong to the named parties). */
export function verifyContract(c: Contract): Contract {
  checkTerms(c.terms);
  verifyCustomerHalf(c);
  verifyHalf(c.terms, c.supplierKey, c.supplierSig, "supplier");
  return c;
}

/** Whether a contract is in force at `now`. */
export function isLive(c: Contract, now: number = Date.now()): boolean {
  return c.terms.start <= now && now < c.terms.expiry;
}

function verifyHalf(
  t: ContractTerms,
  key: Uint8Array,
  sig: Uint8Array,
  who: "customer" | "supplier",
) {
  if (nodeIdOf(key) !== t[who]) {
    throw new ContractError(`The ${who} key does not match the contract's ${who}`);
  }
  if (!verify(key, TERMS_TAG, termsBytes(t), sig)) {
    throw new ContractError(`The ${who} signature does not verify`);
  }
}

function checkTerms(t: ContractTerms) {
  if (t.customer === t.supplier) throw new ContractError("A node cannot contract with itself");
  if (!(t.expiry > t.start)) throw new ContractError("A contract must expire after it starts");
  for (const k of ["quota", "start", "expiry", "price", "seq"] as const) {
    if (!Number.isSafeInteger(t[k]) || t[k] < 0) {
      throw new ContractError(`Contract ${k} must be a non-negative integer`);
    }
  }
}

/** Encodes a contract canonically (format version 1). */
export function encodeContract(c: Contract): Uint8Array {
  return encode({
    v: 1,
    terms: { ...c.terms },
    ck: c.customerKey,
    cs: c.customerSig,
    sk: c.supplierKey,
    ss: c.supplierSig,
    // Only delegated contracts carry these, so an owner's contract keeps its version-1 form.
    ...(c.delegation ? { dt: c.delegation.ticket, ds: c.delegation.slot } : {}),
  });
}

/** Decodes and verifies a contract. */
export function decodeContract(bytes: Uint8Array): Contract {
  const what = "contract";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_CONTRACT }), what, [
    "v",
    "terms",
    "ck",
    "cs",
    "sk",
    "ss",
  ], ["dt", "ds"]);
  if (m.v !== 1) throw new DecodeError(`Invalid contract: unsupported version ${String(m.v)}`);
  if (("dt" in m) !== ("ds" in m)) throw new DecodeError("Invalid contract: half a delegation");
  return verifyContract({
    terms: decodeTerms(m.terms),
    customerKey: readBytes(m, "ck", what, { exact: 32 }),
    customerSig: readBytes(m, "cs", what, { exact: 64 }),
    supplierKey: readBytes(m, "sk", what, { exact: 32 }),
    supplierSig: readBytes(m, "ss", what, { exact: 64 }),
    ...("dt" in m
      ? {
        delegation: {
          ticket: readBytes(m, "dt", what, { max: MAX_TICKET_BYTES }),
          slot: readUint(m, "ds", what),
        },
      }
      : {}),
  });
}

/** Decodes contract terms (from a proposal or a contract). */
export function decodeTerms(v: unknown): ContractTerms {
  const what = "contract terms";
  const t = readMap(v, what, [
    "v",
    "customer",
    "supplier",
    "quota",
    "start",
    "expiry",
    "price",
    "seq",
  ]);
  if (t.v !== 1) {
    throw new DecodeError(`Invalid contract terms: unsupported version ${String(t.v)}`);
  }
  return {
    v: 1,
    customer: readString(t, "customer", what, 52),
    supplier: readString(t, "supplier", what, 52),
    quota: readUint(t, "quota", what),
    start: readUint(t, "start", what),
    expiry: readUint(t, "expiry", what),
    price: readUint(t, "price", what),
    seq: readUint(t, "seq", what),
  };
}
