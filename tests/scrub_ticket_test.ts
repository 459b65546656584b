/**
 * Scrub tickets, revocation sets and contracts signed under a ticket: round trips, tampering,
 * and every cap a supplier relies on.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { decode, encode } from "../src/encoding/cbor.ts";
import {
  checkTicketTime,
  decodeRevocations,
  encodeRevocations,
  issueTicket,
  MAX_REVOKED,
  openTicket,
  type TicketTerms,
} from "../src/scrub/mod.ts";
import {
  type ContractTerms,
  countersignContract,
  decodeContract,
  delegationTicket,
  encodeContract,
  proposeContract,
  proposeDelegatedContract,
} from "../src/suppliers/contract.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const owner = generateIdentity(), scrubber = generateIdentity(), supplier = generateIdentity();
const NOW = 1_800_000_000_000;

function terms(over: Partial<TicketTerms> = {}): TicketTerms {
  return {
    id: randomBytes(16),
    owner: owner.id,
    ownerKey: owner.signPublic,
    scrubber: scrubber.id,
    scrubberKey: scrubber.signPublic,
    issued: NOW,
    expiry: NOW + 30 * 86_400_000,
    maxContracts: 4,
    maxQuota: 1 << 30,
    ...over,
  };
}

function contractTerms(over: Partial<ContractTerms> = {}): ContractTerms {
  return {
    v: 1,
    customer: owner.id,
    supplier: supplier.id,
    quota: 1 << 20,
    start: NOW,
    expiry: NOW + 86_400_000,
    price: 0,
    seq: 3,
    ...over,
  };
}

Deno.test("a ticket round-trips, names the id in base32 and holds no secret", () => {
  const t = issueTicket(terms(), owner.signSecret);
  const back = openTicket(t.bytes);
  assertEquals(back.name, t.name);
  assertEquals(back.name.length, 26);
  assertEquals(back.scrubber, scrubber.id);
  for (const secret of [owner.signSecret, owner.agreeSecret, scrubber.signSecret]) {
    assert(!contains(t.bytes, secret), "no secret key inside a ticket");
  }
  checkTicketTime(back, NOW + 1);
  assertThrows(() => checkTicketTime(back, back.expiry), Error, "expired");
});

Deno.test("a ticket with any byte changed is refused", () => {
  const t = issueTicket(terms(), owner.signSecret);
  for (let i = 0; i < t.bytes.length; i += 3) {
    const bad = t.bytes.slice();
    bad[i] = bad[i]! ^ 0x01;
    assertThrows(() => openTicket(bad));
  }
});

Deno.test("a ticket signed by anyone but its owner, or naming keys of others, is refused", () => {
  const forged = issueTicket(terms(), owner.signSecret);
  // Re-sign the same body with the scrubber's own key: the owner key inside does not verify it.
  const body = encode({ v: 1, ...terms({ id: forged.id }) });
  const outer = encode({ body, sig: new Uint8Array(64) });
  assertThrows(() => openTicket(outer), Error, "signature");
  assertThrows(
    () => issueTicket(terms({ owner: scrubber.id }), owner.signSecret),
    Error,
    "owner key",
  );
  assertThrows(
    () =>
      issueTicket(terms({ scrubber: owner.id, scrubberKey: owner.signPublic }), owner.signSecret),
    Error,
    "its own scrubber",
  );
  assertThrows(() => issueTicket(terms({ maxContracts: 0 }), owner.signSecret), Error, "1 to 1024");
  assertThrows(() => issueTicket(terms({ expiry: NOW }), owner.signSecret), Error, "expire after");
});

Deno.test("a contract signed by a scrubber verifies only within its ticket's caps", () => {
  const t = issueTicket(terms(), owner.signSecret);
  const p = proposeDelegatedContract(contractTerms(), t, 2, scrubber.signSecret);
  const c = countersignContract(p, supplier.signSecret, supplier.signPublic);
  const back = decodeContract(encodeContract(c));
  assertEquals(back.delegation?.slot, 2);
  assertEquals(delegationTicket(back)?.name, t.name);
  assertEquals(back.customerKey, owner.signPublic, "the customer key stays the owner's");

  assertThrows(
    () => proposeDelegatedContract(contractTerms(), t, 5, scrubber.signSecret),
    Error,
    "Slot 5",
  );
  assertThrows(
    () => proposeDelegatedContract(contractTerms(), t, 0, scrubber.signSecret),
    Error,
    "Slot 0",
  );
  assertThrows(
    () => proposeDelegatedContract(contractTerms({ quota: 2 << 30 }), t, 1, scrubber.signSecret),
    Error,
    "quota",
  );
  assertThrows(
    () =>
      proposeDelegatedContract(
        contractTerms({ expiry: t.expiry + 1 }),
        t,
        1,
        scrubber.signSecret,
      ),
    Error,
    "ticket's expiry",
  );
  // Someone else holding the ticket cannot sign with it.
  assertThrows(
    () => proposeDelegatedContract(contractTerms(), t, 1, supplier.signSecret),
    Error,
    "scrubber's signature",
  );
  // A ticket of another owner cannot sign this owner's contract.
  const other = generateIdentity();
  const foreign = issueTicket(
    terms({ owner: other.id, ownerKey: other.signPublic }),
    other.signSecret,
  );
  assertThrows(
    () => proposeDelegatedContract(contractTerms(), foreign, 1, scrubber.signSecret),
    Error,
    "another customer",
  );
  // The slot is signed: changing it afterwards breaks the scrubber's signature.
  const moved = { ...c, delegation: { ...c.delegation!, slot: 3 } };
  assertThrows(() => decodeContract(encodeContract(moved)), Error, "scrubber's signature");
});

Deno.test("an owner's own contract keeps its version-1 byte form", () => {
  const p = proposeContract(contractTerms(), owner.signSecret, owner.signPublic);
  const c = countersignContract(p, supplier.signSecret, supplier.signPublic);
  const bytes = encodeContract(c);
  const fields = Object.keys(decode(bytes) as Record<string, unknown>).sort();
  assertEquals(fields, ["ck", "cs", "sk", "ss", "terms", "v"], "no delegation fields");
  assertEquals(decodeContract(bytes).delegation, undefined);
});

Deno.test("revocation sets round-trip sorted, and malformed or oversized ones are refused", () => {
  const a = { id: randomBytes(16), expiry: NOW }, b = { id: randomBytes(16), expiry: NOW + 5 };
  const one = encodeRevocations([a, b]), two = encodeRevocations([b, a]);
  assertEquals(one, two, "one set, one byte form");
  assertEquals(decodeRevocations(one).length, 2);
  assertEquals(decodeRevocations(encodeRevocations([])), []);
  assertThrows(
    () => encodeRevocations(Array.from({ length: MAX_REVOKED + 1 }, () => a)),
    RangeError,
  );
  assertThrows(() => decodeRevocations(encode({ v: 1, tickets: [[randomBytes(15), 1]] })));
  assertThrows(() => decodeRevocations(encode({ v: 2, tickets: [] })), Error, "version");
  assertThrows(() => decodeRevocations(encode({ v: 1, tickets: [[a.id, -1]] })));
});

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
