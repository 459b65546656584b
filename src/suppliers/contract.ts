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

const TERMS_TAG = "contract/v1";
const MAX_CONTRACT = 1024;

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

/** Terms with both signatures and the signers' public keys. */
export interface Contract {
  readonly terms: ContractTerms;
  readonly customerKey: Uint8Array;
  readonly customerSig: Uint8Array;
  readonly supplierKey: Uint8Array;
  readonly supplierSig: Uint8Array;
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

/** The supplier's countersignature over a verified proposal. */
export function countersignContract(
  proposal: Pick<Contract, "terms" | "customerKey" | "customerSig">,
  supplierSecret: Uint8Array,
  supplierKey: Uint8Array,
): Contract {
  verifyHalf(proposal.terms, proposal.customerKey, proposal.customerSig, "customer");
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
  verifyHalf(c.terms, c.customerKey, c.customerSig, "customer");
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
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid contract: unsupported version ${String(m.v)}`);
  return verifyContract({
    terms: decodeTerms(m.terms),
    customerKey: readBytes(m, "ck", what, { exact: 32 }),
    customerSig: readBytes(m, "cs", what, { exact: 64 }),
    supplierKey: readBytes(m, "sk", what, { exact: 32 }),
    supplierSig: readBytes(m, "ss", what, { exact: 64 }),
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
