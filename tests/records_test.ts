import { concat, toHex, utf8 } from "../src/encoding/bytes.ts";
import { encode } from "../src/encoding/cbor.ts";
import {
  encodeIdentityDocument,
  IDENTITY_NAMESPACE,
  type IdentityDocument,
  identityFromSecrets,
  type IdentityKeys,
} from "../src/identity/mod.ts";
import {
  compareRecords,
  createRecord,
  createRecordValidator,
  decodeRecord,
  encodeRecord,
  formatRecordKey,
  isConflict,
  isNamespaceName,
  MAX_CLOCK_SKEW_MS,
  MAX_RECORD_BYTES,
  type Namespace,
  namespaces,
  type Ordered,
  parseRecordKey,
  RecordError,
  type RecordInit,
  recordKeyOf,
  type RecordRejection,
  SeqMemory,
  type SignedRecord,
} from "../src/records/mod.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./_assert.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers

const fixedBytes = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 255);
const A = identityFromSecrets(fixedBytes(1), fixedBytes(101));
const B = identityFromSecrets(fixedBytes(201), fixedBytes(31));

const TEST_NS: Namespace = { name: "test", maxValue: 1024, maxName: 64 };
const NS = namespaces(
  TEST_NS,
  { name: "test2", maxValue: 1024, maxName: 64 },
  { name: "big", maxValue: 100_000, maxName: 64 },
  {
    name: "even",
    maxValue: 64,
    maxName: 0,
    validate(r) {
      if (r.value.length % 2 !== 0) throw new Error(`odd length ${r.value.length}`);
    },
  },
  IDENTITY_NAMESPACE,
);
const NOW = 1_750_000_000_000;

function rec(keys: IdentityKeys, init: Partial<RecordInit> = {}): SignedRecord {
  return createRecord(keys.signSecret, keys.signPublic, {
    ns: "test",
    seq: 1,
    ts: NOW,
    value: utf8("hello"),
    ...init,
  });
}

function keyString(ns: string, keys: IdentityKeys, name?: Uint8Array): string {
  return formatRecordKey(recordKeyOf(ns, keys.signPublic, name));
}

/** Decodes with the test namespaces at NOW and returns the refusal (or fails). */
function refusal(bytes: Uint8Array, extra: { key?: string; now?: number } = {}): RecordError {
  return assertThrows(
    () =>
      decodeRecord(bytes, {
        namespaces: NS,
        now: extra.now ?? NOW,
        key: extra.key ? parseRecordKey(extra.key) : undefined,
      }),
    RecordError,
  ) as RecordError;
}

function expectReason(bytes: Uint8Array, reason: RecordRejection, extra = {}): RecordError {
  const e = refusal(bytes, extra);
  assertEquals(e.reason, reason, `reason (message: ${e.message})`);
  assertEquals(e.name, "RecordError");
  return e;
}

/** A CBOR map built by hand from already-encoded entries, in the order given. */
function rawMap(entries: [string, Uint8Array][]): Uint8Array {
  assert(entries.length < 24);
  return concat(
    new Uint8Array([0xa0 + entries.length]),
    ...entries.map(([k, v]) => concat(encode(k), v)),
  );
}

/** A record's encoded entries in canonical order (shorter keys first, then bytewise). */
function fieldsOf(r: SignedRecord): [string, Uint8Array][] {
  return (["v", "ns", "ts", "seq", "sig", "name", "value", "signer"] as const).map((k) => [
    k,
    encode(r[k]),
  ]);
}

function flip(bytes: Uint8Array, at: number, bit = 1): Uint8Array {
  const out = bytes.slice();
  out[at < 0 ? out.length + at : at]! ^= bit;
  return out;
}

/** Seeded PRNG (mulberry32); the seed is printed on failure and MOTE_TEST_SEED replays it. */
function seeded(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

function testSeed(): number {
  const fixed = Deno.env.get("MOTE_TEST_SEED");
  return fixed ? Number(fixed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

// ---------------------------------------------------------------------------------------------
// Create, encode, decode

Deno.test("decodeRecord() returns exactly what createRecord() signed and encodeRecord() wrote", () => {
  const r = rec(A, { name: utf8("profile"), seq: 7, value: utf8("value bytes") });
  const bytes = encodeRecord(r);
  const back = decodeRecord(bytes, {
    namespaces: NS,
    now: NOW,
    key: recordKeyOf("test", A.id, utf8("profile")),
  });
  assertEquals(back, r);
  assertEquals(back.v, 1);
  assertEquals(back.signer, A.signPublic);
  assertEquals(toHex(encodeRecord(back)), toHex(bytes), "re-encoding is byte-identical");
});

Deno.test("createRecord() defaults to an empty name and the current time", () => {
  const before = Date.now();
  const r = createRecord(A.signSecret, A.signPublic, { ns: "test", seq: 0, value: utf8("x") });
  assertEquals(r.name, new Uint8Array(0));
  assert(r.ts >= before && r.ts <= Date.now(), `ts ${r.ts} is not now`);
  assertEquals(decodeRecord(encodeRecord(r), { namespaces: NS }).seq, 0);
});

Deno.test("createRecord() refuses a sequence that is not a non-negative safe integer", async (t) => {
  for (const seq of [-1, 1.5, NaN, 2 ** 53]) {
    await t.step(String(seq), () => {
      assertThrows(() => rec(A, { seq }), RangeError, "non-negative integer");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Refusals

Deno.test("decodeRecord() refuses malformed bytes with reason malformed", async (t) => {
  const r = rec(A);
  const f = fieldsOf(r);
  assertEquals(toHex(rawMap(f)), toHex(encodeRecord(r)), "rawMap() rebuilds the canonical form");
  const replace = (k: string, v: Uint8Array) => rawMap(f.map(([n, x]) => [n, n === k ? v : x]));
  const cases: [string, Uint8Array, string][] = [
    ["garbage bytes", new Uint8Array([0xff, 0x00, 0x13, 0x37]), "Cannot decode record"],
    ["no bytes", new Uint8Array(0), "Cannot decode record"],
    ["text", utf8("hello, record"), ""],
    ["a CBOR array", encode([1, 2, 3]), "expected a map"],
    ["truncated bytes", encodeRecord(r).slice(0, -5), "Cannot decode record"],
    ["trailing bytes", concat(encodeRecord(r), new Uint8Array([0])), "Cannot decode record"],
    ["a missing sig", rawMap(f.filter(([k]) => k !== "sig")), 'missing field "sig"'],
    ["a missing seq", rawMap(f.filter(([k]) => k !== "seq")), 'missing field "seq"'],
    ["an extra field", encode({ ...r, extra: 1 }), 'unexpected field "extra"'],
    ["version 2", encode({ ...r, v: 2 }), "unsupported version 2"],
    ["version 0", encode({ ...r, v: 0 }), "unsupported version 0"],
    ["a 31-byte signer", encode({ ...r, signer: r.signer.slice(1) }), '"signer" must be 32 bytes'],
    ["a 63-byte signature", encode({ ...r, sig: r.sig.slice(1) }), '"sig" must be 64 bytes'],
    ["a negative seq", encode({ ...r, seq: -1 }), '"seq" must be a non-negative integer'],
    ["a fractional ts", encode({ ...r, ts: 1.5 }), '"ts" must be a non-negative integer'],
    ["a string ts", encode({ ...r, ts: "now" }), '"ts" must be a non-negative integer'],
    ["a string value", encode({ ...r, value: "hello" }), '"value" must be bytes'],
    ["a namespace over 16 characters", encode({ ...r, ns: "a".repeat(17) }), '"ns" is 17'],
    ["a name over 1024 bytes", encode({ ...r, name: new Uint8Array(1025) }), '"name" is 1025'],
    ["fields out of canonical order", rawMap([...f].reverse()), "not in canonical form"],
    [
      "seq in a longer integer form",
      replace("seq", new Uint8Array([0x1a, 0, 0, 0, 1])),
      "more bytes",
    ],
  ];
  for (const [what, bytes, message] of cases) {
    await t.step(what, () => {
      const e = expectReason(bytes, "malformed");
      assert(
        e.message.includes(message),
        `message ${JSON.stringify(e.message)} lacks "${message}"`,
      );
    });
  }
});

Deno.test("decodeRecord() refuses values and names over the namespace limits with reason oversized", async (t) => {
  await t.step("a value one byte over the limit", () => {
    const e = expectReason(encodeRecord(rec(A, { value: new Uint8Array(1025) })), "oversized");
    assert(e.message.includes("1025-byte value"), e.message);
  });
  await t.step("a value exactly at the limit is accepted", () => {
    const r = rec(A, { value: new Uint8Array(1024) });
    assertEquals(decodeRecord(encodeRecord(r), { namespaces: NS, now: NOW }).value.length, 1024);
  });
  await t.step("a name over the limit", () => {
    expectReason(encodeRecord(rec(A, { name: new Uint8Array(65) })), "oversized");
  });
  await t.step("any name in a namespace that allows none", () => {
    expectReason(
      encodeRecord(rec(A, { ns: "even", name: utf8("x"), value: utf8("ab") })),
      "oversized",
    );
  });
});

Deno.test("decodeRecord() refuses anything over MAX_RECORD_BYTES before decoding it", () => {
  const r = rec(A, { ns: "big", value: new Uint8Array(MAX_RECORD_BYTES) });
  const bytes = encodeRecord(r);
  assert(bytes.length > MAX_RECORD_BYTES);
  const e = expectReason(bytes, "oversized");
  assert(e.message.includes(`${bytes.length} bytes`), e.message);
  // Garbage is refused for its size, not its content: no decoding work is spent on it.
  expectReason(new Uint8Array(MAX_RECORD_BYTES + 1).fill(0xff), "oversized");
});

Deno.test("decodeRecord() refuses a record in a namespace this node does not know", () => {
  const e = expectReason(encodeRecord(rec(A, { ns: "nope" })), "unknown-namespace");
  assert(e.message.includes('"nope"'), e.message);
});

Deno.test("decodeRecord() refuses a record presented under another key with reason wrong-key", async (t) => {
  const bytes = encodeRecord(rec(A, { name: utf8("n") }));
  const right = keyString("test", A, utf8("n"));
  assertEquals(
    decodeRecord(bytes, { namespaces: NS, now: NOW, key: parseRecordKey(right) }).seq,
    1,
  );
  const cases: [string, string][] = [
    ["another signer's key", keyString("test", B, utf8("n"))],
    ["another name's key", keyString("test", A, utf8("m"))],
    ["the empty name's key", keyString("test", A)],
    ["another namespace's key", keyString("test2", A, utf8("n"))],
  ];
  for (const [what, key] of cases) {
    await t.step(what, () => {
      const e = expectReason(bytes, "wrong-key", { key });
      assert(e.message.includes(right) && e.message.includes(key), e.message);
    });
  }
});

Deno.test("decodeRecord() refuses a record changed after signing with reason bad-signature", async (t) => {
  const r = rec(A, { name: utf8("n"), seq: 5 });
  const byB = rec(B, { name: utf8("n"), seq: 5 });
  const cases: [string, Uint8Array][] = [
    ["a byte of the value", encode({ ...r, value: flip(r.value, 0) })],
    ["the sequence number", encode({ ...r, seq: r.seq + 1 })],
    ["the sequence number lowered", encode({ ...r, seq: r.seq - 1 })],
    ["the timestamp", encode({ ...r, ts: r.ts - 1 })],
    ["the name", encode({ ...r, name: utf8("m") })],
    ["the namespace", encode({ ...r, ns: "test2" })],
    ["the first bit of the signature", encode({ ...r, sig: flip(r.sig, 0) })],
    ["the last bit of the signature", encode({ ...r, sig: flip(r.sig, -1, 0x80) })],
    ["a signature by another key claiming this signer", encode({ ...byB, signer: A.signPublic })],
    ["this signature claiming another signer", encode({ ...r, signer: B.signPublic })],
    ["an all-zero signature", encode({ ...r, sig: new Uint8Array(64) })],
  ];
  for (const [what, bytes] of cases) {
    await t.step(what, () => {
      expectReason(bytes, "bad-signature");
    });
  }
  await t.step("also when presented under the signer's own key", () => {
    expectReason(encode({ ...byB, signer: A.signPublic }), "bad-signature", {
      key: keyString("test", A, utf8("n")),
    });
  });
});

Deno.test("decodeRecord() refuses a record stamped too far in the future with reason future", () => {
  const edge = rec(A, { ts: NOW + MAX_CLOCK_SKEW_MS });
  assertEquals(decodeRecord(encodeRecord(edge), { namespaces: NS, now: NOW }).ts, edge.ts);
  const e = expectReason(encodeRecord(rec(A, { ts: NOW + MAX_CLOCK_SKEW_MS + 1 })), "future");
  assert(e.message.includes("600 s"), e.message);
  expectReason(encodeRecord(rec(A, { ts: NOW + 86_400_000 })), "future");
  // The same record is fine once the clock catches up.
  const later = rec(A, { ts: NOW + 86_400_000 });
  assertEquals(decodeRecord(encodeRecord(later), { namespaces: NS, now: NOW + 86_400_000 }).seq, 1);
});

Deno.test("decodeRecord() checks the clock against Date.now() when no time is given", () => {
  const r = rec(A, { ts: Date.now() + 2 * MAX_CLOCK_SKEW_MS });
  const e = assertThrows(() => decodeRecord(encodeRecord(r), { namespaces: NS }), RecordError);
  assertEquals((e as RecordError).reason, "future");
});

function identityDoc(keys: IdentityKeys): IdentityDocument {
  return {
    v: 1,
    id: keys.id,
    sign: keys.signPublic,
    agree: keys.agreePublic,
    nickname: "ada",
    devices: [{ peer: "12D3KooWLaptop", addrs: ["/ip4/192.0.2.1/tcp/4001"], seen: NOW }],
    gateways: [],
  };
}

Deno.test("decodeRecord() accepts an id record holding its signer's identity document", () => {
  const r = rec(A, { ns: "id", value: encodeIdentityDocument(identityDoc(A)) });
  const back = decodeRecord(encodeRecord(r), {
    namespaces: NS,
    now: NOW,
    key: recordKeyOf("id", A.id),
  });
  // Compared as hex: encode() may hand back a Buffer subclass (see encoding_test.ts).
  assertEquals(toHex(back.value), toHex(r.value));
});

Deno.test("decodeRecord() refuses a value its namespace rejects with reason invalid-value", async (t) => {
  const cases: [string, SignedRecord, string][] = [
    [
      "an id record whose value is not a document",
      rec(A, { ns: "id", value: utf8("nope") }),
      "identity document",
    ],
    [
      "an id record holding another identity's document",
      rec(A, { ns: "id", value: encodeIdentityDocument(identityDoc(B)) }),
      "differs from the record's signer",
    ],
    [
      "an id record whose document id does not match its key",
      rec(A, { ns: "id", value: encode({ ...identityDoc(A), id: B.id }) }),
      "does not match",
    ],
    ["a custom namespace's check", rec(A, { ns: "even", value: utf8("abc") }), "odd length 3"],
  ];
  for (const [what, r, message] of cases) {
    await t.step(what, () => {
      const e = expectReason(encodeRecord(r), "invalid-value");
      assert(e.message.includes(message), e.message);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Record keys

Deno.test("recordKeyOf() gives the same key for a node id and its public key", () => {
  for (const name of [undefined, new Uint8Array(0), utf8("profile")]) {
    assertEquals(recordKeyOf("test", A.id, name), recordKeyOf("test", A.signPublic, name));
  }
  const k = recordKeyOf("id", A.id);
  assertEquals(k.ns, "id");
  assert(/^[a-z2-7]{52}$/.test(k.hash), k.hash);
});

Deno.test("recordKeyOf() gives different keys for different namespaces, signers and names", () => {
  const keys = new Set([
    keyString("test", A),
    keyString("test2", A),
    keyString("test", B),
    keyString("test", A, utf8("a")),
    keyString("test", A, utf8("b")),
    formatRecordKey({ ...recordKeyOf("test2", A.id), ns: "test" }),
  ]);
  assertEquals(keys.size, 6);
});

Deno.test("recordKeyOf() refuses bad namespaces, node ids and keys", () => {
  assertThrows(() => recordKeyOf("Test", A.id), TypeError, "Invalid namespace");
  assertThrows(() => recordKeyOf("", A.id), TypeError);
  assertThrows(() => recordKeyOf("test", A.id.toUpperCase()), SyntaxError, "Invalid node id");
  assertThrows(() => recordKeyOf("test", new Uint8Array(31)), RangeError);
});

Deno.test("isNamespaceName() and namespaces() check names", () => {
  for (const ok of ["a", "id", "site-names", "a234567890123456"]) assert(isNamespaceName(ok), ok);
  for (const bad of ["", "1a", "-a", "A", "a_b", "a.b", "a2345678901234567"]) {
    assert(!isNamespaceName(bad), bad);
  }
  assertThrows(() => namespaces({ ...TEST_NS, name: "Bad" }), TypeError, "Invalid namespace name");
  assertThrows(() => namespaces(TEST_NS, TEST_NS), TypeError, "defined twice");
});

Deno.test("parseRecordKey() inverts formatRecordKey(), from a string or its bytes", () => {
  for (const key of [recordKeyOf("id", A.id), recordKeyOf("test", B.signPublic, utf8("x"))]) {
    const text = formatRecordKey(key);
    assertEquals(text, `/mote/${key.ns}/${key.hash}`);
    assertEquals(parseRecordKey(text), key);
    assertEquals(parseRecordKey(utf8(text)), key);
  }
});

Deno.test("parseRecordKey() refuses malformed key strings", async (t) => {
  const hash = recordKeyOf("test", A.id).hash;
  assert(hash.endsWith("a") || hash.endsWith("q"), "a 256-bit hash leaves 4 zero bits");
  const cases: [string, string][] = [
    ["empty", ""],
    ["no hash", "/mote/test"],
    ["an empty hash", "/mote/test/"],
    ["a short hash", `/mote/test/${hash.slice(1)}`],
    ["a long hash", `/mote/test/${hash}a`],
    ["an upper-case hash", `/mote/test/${hash.toUpperCase()}`],
    ["non-zero trailing bits", `/mote/test/${hash.slice(0, 51)}b`],
    ["an upper-case namespace", `/mote/Test/${hash}`],
    ["a namespace over 16 characters", `/mote/${"a".repeat(17)}/${hash}`],
    ["another prefix", `/ipns/test/${hash}`],
    ["no leading slash", `mote/test/${hash}`],
    ["a trailing slash", `/mote/test/${hash}/`],
    ["a trailing newline", `/mote/test/${hash}\n`],
    ["an extra segment", `/mote/test/x/${hash}`],
  ];
  for (const [what, text] of cases) {
    await t.step(what, () => {
      assertThrows(() => parseRecordKey(text), SyntaxError);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Order

const sig = (last: number, first = 0) => {
  const s = new Uint8Array(64);
  s[0] = first;
  s[63] = last;
  return s;
};

Deno.test("compareRecords() orders by sequence, then later timestamp, then smaller signature", async (t) => {
  const cases: [string, Ordered, Ordered][] = [
    ["a higher sequence wins whatever its time", { seq: 2, ts: 1, sig: sig(9) }, {
      seq: 1,
      ts: 9,
      sig: sig(0),
    }],
    ["on a tie, the later timestamp wins", { seq: 1, ts: 6, sig: sig(9) }, {
      seq: 1,
      ts: 5,
      sig: sig(0),
    }],
    ["then the smaller signature wins", { seq: 1, ts: 5, sig: sig(1) }, {
      seq: 1,
      ts: 5,
      sig: sig(2),
    }],
    ["signatures compare from their first byte", { seq: 1, ts: 5, sig: sig(9, 0) }, {
      seq: 1,
      ts: 5,
      sig: sig(0, 1),
    }],
  ];
  for (const [what, winner, loser] of cases) {
    await t.step(what, () => {
      assert(compareRecords(winner, loser) > 0, "winner > loser");
      assert(compareRecords(loser, winner) < 0, "loser < winner");
      assert(isConflict(winner, loser) === (winner.seq === loser.seq));
    });
  }
  await t.step("the same signature is the same record", () => {
    const r = { seq: 3, ts: 5, sig: sig(7) };
    assertEquals(compareRecords(r, { ...r, sig: sig(7) }), 0);
    assert(!isConflict(r, { ...r }));
  });
});

Deno.test("compareRecords() is antisymmetric and transitive over random records", () => {
  const seed = testSeed();
  const rand = seeded(seed);
  // Small ranges so ties on seq and ts are common. A signature covers seq and ts, so two
  // records with one signature have the same seq and ts: the signature is built from them.
  const random = (): Ordered => {
    const seq = rand(3), ts = rand(3), s = sig(seq * 3 + ts, rand(3));
    return { seq, ts, sig: s };
  };
  const sign = (a: Ordered, b: Ordered) => Math.sign(compareRecords(a, b));
  try {
    for (let i = 0; i < 1000; i++) {
      const a = random(), b = random(), c = random();
      assert(sign(a, a) === 0, "a record equals itself");
      assert(sign(a, b) === -sign(b, a), `antisymmetry for ${show(a)} and ${show(b)}`);
      if (sign(a, b) > 0 && sign(b, c) > 0) assert(sign(a, c) > 0, "transitivity");
      if (sign(a, b) === 0) assertEquals(toHex(a.sig), toHex(b.sig), "zero only for one record");
      assertEquals(isConflict(a, b), a.seq === b.seq && sign(a, b) !== 0, "isConflict");
    }
  } catch (e) {
    throw new Error(`seed ${seed} (replay with MOTE_TEST_SEED=${seed}): ${(e as Error).message}`);
  }
});

function show(r: Ordered): string {
  return `{seq ${r.seq}, ts ${r.ts}, sig ${toHex(r.sig.subarray(0, 1))}…${
    toHex(r.sig.subarray(63))
  }}`;
}

// ---------------------------------------------------------------------------------------------
// SeqMemory

Deno.test("SeqMemory.offer() gives each verdict and remembers only winners", async (t) => {
  const m = new SeqMemory();
  const base = { seq: 5, ts: 100, sig: sig(5) };
  const cases: [string, Ordered, string, Ordered][] = [
    ["new", base, "new", base],
    ["same", { ...base, sig: sig(5) }, "same", base],
    ["stale", { seq: 4, ts: 999, sig: sig(1) }, "stale", base],
    ["newer", { seq: 6, ts: 50, sig: sig(6) }, "newer", { seq: 6, ts: 50, sig: sig(6) }],
    ["conflict-won", { seq: 6, ts: 51, sig: sig(9) }, "conflict-won", {
      seq: 6,
      ts: 51,
      sig: sig(9),
    }],
    ["conflict-lost", { seq: 6, ts: 50, sig: sig(0) }, "conflict-lost", {
      seq: 6,
      ts: 51,
      sig: sig(9),
    }],
    ["conflict-won by a smaller signature", { seq: 6, ts: 51, sig: sig(8) }, "conflict-won", {
      seq: 6,
      ts: 51,
      sig: sig(8),
    }],
  ];
  for (const [what, offered, verdict, best] of cases) {
    await t.step(what, () => {
      assertEquals(m.judge("k", offered), verdict, "judge()");
      assertEquals(m.offer("k", offered), verdict, "offer()");
      assertEquals(m.get("k"), best, "the best afterwards");
    });
  }
  assertEquals(m.size, 1);
});

Deno.test("SeqMemory.judge() does not remember anything", () => {
  const m = new SeqMemory();
  assertEquals(m.judge("k", { seq: 1, ts: 1, sig: sig(1) }), "new");
  assertEquals(m.get("k"), undefined);
  assertEquals(m.size, 0);
});

Deno.test("SeqMemory keeps at most maxEntries keys, forgetting the least recently touched", () => {
  const m = new SeqMemory(3);
  const r = (seq: number) => ({ seq, ts: 0, sig: sig(seq) });
  for (const k of ["a", "b", "c"]) m.offer(k, r(1));
  m.offer("a", r(2)); // touch a: b is now the oldest
  m.offer("d", r(1));
  assertEquals(m.size, 3);
  assertEquals(m.get("b"), undefined, "b was forgotten");
  assertEquals(m.get("a")?.seq, 2);
  m.offer("c", r(0)); // a stale offer does not count as a touch
  m.offer("e", r(1));
  assertEquals(m.get("c"), undefined, "c was forgotten");
  for (let i = 0; i < 100; i++) m.offer(`k${i}`, r(1));
  assertEquals(m.size, 3);
});

Deno.test("SeqMemory.export() and import() round-trip, keeping the better version", () => {
  const m = new SeqMemory();
  m.offer("a", { seq: 3, ts: 10, sig: sig(3) });
  m.offer("b", { seq: 1, ts: 20, sig: sig(1) });
  const bytes = m.export();
  const copy = new SeqMemory();
  copy.offer("b", { seq: 9, ts: 0, sig: sig(9) });
  copy.import(bytes);
  assertEquals(copy.get("a"), { seq: 3, ts: 10, sig: sig(3) });
  assertEquals(copy.get("b"), { seq: 9, ts: 0, sig: sig(9) }, "the newer current entry stays");
  const fresh = new SeqMemory();
  fresh.import(bytes);
  assertEquals(toHex(fresh.export()), toHex(bytes));
});

Deno.test("SeqMemory.import() skips malformed rows and refuses an unknown format", () => {
  const m = new SeqMemory();
  const rows = [["ok", 1, 2, sig(1)], ["no-sig", 1, 2], [5, 1, 2, sig(1)], "row", [
    "s",
    "1",
    2,
    sig(1),
  ]];
  m.import(encode({ v: 1, rows }));
  assertEquals(m.size, 1);
  assertEquals(m.get("ok")?.seq, 1);
  assertThrows(() => m.import(encode(rows)), TypeError, "format version 1");
  assertThrows(() => m.import(encode({ v: 2, rows })), TypeError, "format version 1");
  assertThrows(() => m.import(new Uint8Array([0xff])));
});

// ---------------------------------------------------------------------------------------------
// The validator

function validator(now = NOW) {
  const conflicts: [string, SignedRecord][] = [];
  const rejects: RecordRejection[] = [];
  const memory = new SeqMemory();
  const v = createRecordValidator({
    namespaces: NS,
    memory,
    now: () => now,
    onConflict: (k, r) => conflicts.push([k, r]),
    onReject: (e) => rejects.push(e.reason),
  });
  return { v, memory, conflicts, rejects };
}

const KEY_A = keyString("test", A);

Deno.test("validate() refuses a lower sequence after accepting a higher one", () => {
  const { v, memory, rejects } = validator();
  assertEquals(v.validate(KEY_A, encodeRecord(rec(A, { seq: 5 }))).seq, 5);
  const e = assertThrows(() => v.validate(KEY_A, encodeRecord(rec(A, { seq: 4 }))), RecordError);
  assertEquals((e as RecordError).reason, "stale");
  assertEquals(memory.get(KEY_A)?.seq, 5);
  assertEquals(rejects, ["stale"]);
  assertEquals(v.validate(KEY_A, encodeRecord(rec(A, { seq: 6 }))).seq, 6);
});

Deno.test("validate() accepts the same record again", () => {
  const { v, rejects, conflicts } = validator();
  const bytes = encodeRecord(rec(A, { seq: 5 }));
  v.validate(KEY_A, bytes);
  assertEquals(v.validate(KEY_A, bytes).seq, 5);
  assertEquals(v.validate(utf8(KEY_A), bytes).seq, 5, "the key may be given as bytes");
  assertEquals(rejects, []);
  assertEquals(conflicts, []);
});

Deno.test("validate() reports a tie winner to onConflict and refuses the tie loser", () => {
  const { v, conflicts, rejects } = validator();
  const early = rec(A, { seq: 5, ts: NOW - 1000, value: utf8("laptop") });
  const late = rec(A, { seq: 5, ts: NOW - 500, value: utf8("phone") });
  v.validate(KEY_A, encodeRecord(early));
  assertEquals(v.validate(KEY_A, encodeRecord(late)).value, utf8("phone"));
  assertEquals(conflicts.length, 1);
  assertEquals(conflicts[0]![0], KEY_A);
  assertEquals(conflicts[0]![1].value, utf8("phone"));
  const e = assertThrows(() => v.validate(KEY_A, encodeRecord(early)), RecordError);
  assertEquals((e as RecordError).reason, "stale");
  assertEquals(rejects, ["stale"]);
  assertEquals(conflicts.length, 1, "a refused loser is not a new conflict");
});

Deno.test("validate() refuses a tie loser that arrives after the winner, and warns once", () => {
  const { v, conflicts } = validator();
  v.validate(KEY_A, encodeRecord(rec(A, { seq: 5, ts: NOW, value: utf8("b") })));
  const e = assertThrows(
    () => v.validate(KEY_A, encodeRecord(rec(A, { seq: 5, ts: NOW - 1, value: utf8("a") }))),
    RecordError,
  );
  assertEquals((e as RecordError).reason, "stale");
  assertEquals(conflicts.length, 1, "the clash is reported even when the winner came first");
  assertThrows(
    () => v.validate(KEY_A, encodeRecord(rec(A, { seq: 5, ts: NOW - 1, value: utf8("a") }))),
    RecordError,
  );
  assertEquals(conflicts.length, 1, "but only once");
});

Deno.test("validate() and check() refuse bad records and keys, telling onReject", () => {
  const { v, rejects, memory } = validator();
  const bytes = encodeRecord(rec(A));
  assertThrows(() => v.validate(keyString("test", B), bytes), RecordError);
  assertThrows(() => v.validate("/not/a/key", bytes), RecordError);
  assertThrows(() => v.check(KEY_A, new Uint8Array([1, 2])), RecordError);
  assertThrows(() => v.validate(KEY_A, encodeRecord(rec(A, { ts: NOW + 3_600_000 }))), RecordError);
  assertEquals(rejects, ["wrong-key", "wrong-key", "malformed", "future"]);
  assertEquals(memory.size, 0);
});

Deno.test("check() verifies without touching the memory", () => {
  const { v, memory } = validator();
  v.validate(KEY_A, encodeRecord(rec(A, { seq: 5 })));
  assertEquals(v.check(KEY_A, encodeRecord(rec(A, { seq: 1 }))).seq, 1, "a stale record checks");
  assertEquals(v.check(KEY_A, encodeRecord(rec(A, { seq: 9 }))).seq, 9);
  assertEquals(memory.get(KEY_A)?.seq, 5);
});

Deno.test("validate() uses the injected clock", () => {
  const later = rec(A, { ts: NOW + 3_600_000 });
  assertThrows(() => validator(NOW).v.validate(KEY_A, encodeRecord(later)), RecordError);
  assertEquals(validator(NOW + 3_600_000).v.validate(KEY_A, encodeRecord(later)).seq, 1);
});

Deno.test("select() picks the best valid candidate and ignores invalid ones", async (t) => {
  const { v, memory } = validator();
  const s1 = encodeRecord(rec(A, { seq: 1 }));
  const s2 = encodeRecord(rec(A, { seq: 2 }));
  const s3 = encodeRecord(rec(A, { seq: 3 }));
  const s3late = encodeRecord(rec(A, { seq: 3, ts: NOW + 1, value: utf8("late") }));
  const forged = encode({ ...rec(A, { seq: 99 }), value: utf8("forged") });
  const elsewhere = encodeRecord(rec(B, { seq: 50 }));
  const future = encodeRecord(rec(A, { seq: 60, ts: NOW + 86_400_000 }));
  const garbage = new Uint8Array([0xde, 0xad]);
  await t.step("the highest sequence", () => {
    assertEquals(v.select(KEY_A, [s1, s3, garbage, s2]), 1);
  });
  await t.step("invalid candidates lose even with a higher sequence", () => {
    assertEquals(v.select(KEY_A, [forged, s1, elsewhere, future, s2]), 4);
  });
  await t.step("a tie goes to the later timestamp, wherever it is", () => {
    assertEquals(v.select(KEY_A, [s3late, s3]), 0);
    assertEquals(v.select(KEY_A, [s3, s3late]), 1);
  });
  await t.step("nothing valid is a RecordError", () => {
    assertThrows(() => v.select(KEY_A, [garbage, forged]), RecordError, "No valid record");
    assertThrows(() => v.select(KEY_A, []), RecordError);
  });
  assertEquals(memory.size, 0, "select() does not remember");
});

Deno.test("RecordError carries a fixed name and reason", () => {
  const e = new RecordError("over-capacity", "full");
  assertEquals([e.name, e.reason, e.message], ["RecordError", "over-capacity", "full"]);
  assert(e instanceof Error);
  assertNotEquals(e.reason, "stale");
});
