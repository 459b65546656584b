import {
  compare,
  concat,
  decode,
  decodeCanonical,
  DecodeError,
  DEFAULT_MAX_BYTES,
  describe,
  encode,
  equals,
  fromBase32,
  fromBase64,
  fromHex,
  fromUtf8,
  readBytes,
  readMap,
  readString,
  readStrings,
  readUint,
  toBase32,
  toBase64,
  toHex,
  utf8,
} from "../src/encoding/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

// ---------------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32) so a failing property run can be replayed: the seed is printed in
// the failure message, and MOTE_TEST_SEED=<seed> replays it.

type Rand = { seed: number; int(n: number): number; bytes(n: number): Uint8Array };

function seeded(seed: number): Rand {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

function testSeed(): number {
  const fixed = Deno.env.get("MOTE_TEST_SEED");
  return fixed ? Number(fixed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

/** Runs `body` `runs` times with one seeded PRNG, naming the seed if any run fails. */
function property(runs: number, body: (rand: Rand, run: number) => void): void {
  const rand = seeded(testSeed());
  for (let i = 0; i < runs; i++) {
    try {
      body(rand, i);
    } catch (e) {
      throw new Error(
        `property failed on run ${i} with seed ${rand.seed} ` +
          `(replay with MOTE_TEST_SEED=${rand.seed}): ${(e as Error).message}`,
      );
    }
  }
}

const h = fromHex;

// ---------------------------------------------------------------------------------------------
// base32

// RFC 4648 §10, lower-cased with the padding stripped.
const BASE32_VECTORS: [string, string][] = [
  ["", ""],
  ["f", "my"],
  ["fo", "mzxq"],
  ["foo", "mzxw6"],
  ["foob", "mzxw6yq"],
  ["fooba", "mzxw6ytb"],
  ["foobar", "mzxw6ytboi"],
];

Deno.test("toBase32() and fromBase32() match the RFC 4648 section 10 vectors", async (t) => {
  for (const [plain, encoded] of BASE32_VECTORS) {
    await t.step(`"${plain}" ↔ "${encoded}"`, () => {
      assertEquals(toBase32(utf8(plain)), encoded);
      assertEquals(fromBase32(encoded), utf8(plain));
    });
  }
});

Deno.test("fromBase32() inverts toBase32() for random byte arrays of random lengths", () => {
  let checked = 0;
  property(500, (rand) => {
    const bytes = rand.bytes(rand.int(80));
    const text = toBase32(bytes);
    assert(/^[a-z2-7]*$/.test(text), `"${text}" has characters outside the alphabet`);
    assertEquals(text.length, Math.ceil((bytes.length * 8) / 5), "encoded length");
    assertEquals(fromBase32(text), bytes, `round trip of ${toHex(bytes)}`);
    checked++;
  });
  assertEquals(checked, 500);
});

Deno.test("fromBase32() rejects characters outside the lower-case alphabet", async (t) => {
  const cases: [string, string][] = [
    ["upper case", "MZXQ"],
    ["padding", "my======"],
    ["digit 0", "m0"],
    ["digit 1", "m1"],
    ["digit 8", "m8"],
    ["digit 9", "m9"],
    ["space", "mz xq"],
    ["dash", "mz-q"],
    ["non-ASCII", "mzxé"],
  ];
  for (const [what, text] of cases) {
    await t.step(what, () => {
      assertThrows(() => fromBase32(text), SyntaxError, "unexpected character");
    });
  }
});

Deno.test("fromBase32() rejects non-zero trailing bits", async (t) => {
  // "f" is 0x66 = 01100 110(00): "my". Any other last character sets a padding bit.
  for (const text of ["mz", "m7", "mzxr", "mzxw7", "mzxw6yr", "mzxw6ytboj"]) {
    await t.step(text, () => {
      assertThrows(() => fromBase32(text), SyntaxError, "trailing bits");
    });
  }
});

Deno.test("fromBase32() rejects lengths that no byte string encodes to", async (t) => {
  // Unpadded base32 of n bytes has ceil(8n/5) characters, so a length of 1, 3 or 6 (mod 8)
  // cannot come from toBase32(); accepting it would give one byte string several spellings.
  // Regression (fixed): fromBase32("a") returns empty bytes and fromBase32("mzxqaa") returns the
  // same bytes as "mzxqa" (src/encoding/base32.ts only checks that leftover bits are zero).
  for (const text of ["a", "mya", "mzxqaa", "mzxw6ytba"]) {
    await t.step(`"${text}"`, () => {
      assertThrows(() => fromBase32(text), SyntaxError);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// hex, base64, utf-8 and byte helpers

Deno.test("toHex() and fromHex() round-trip random bytes and accept either case", () => {
  property(100, (rand) => {
    const bytes = rand.bytes(rand.int(64));
    const hex = toHex(bytes);
    assert(/^[0-9a-f]*$/.test(hex), `"${hex}" is not lower-case hex`);
    assertEquals(fromHex(hex), bytes);
    assertEquals(fromHex(hex.toUpperCase()), bytes);
  });
  assertEquals(toHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
});

Deno.test("fromHex() rejects odd lengths and non-hex digits", async (t) => {
  for (const bad of ["a", "abc", "0g", "zz", "0x00", "00 "]) {
    await t.step(`"${bad}"`, () => {
      assertThrows(() => fromHex(bad), SyntaxError, "Cannot parse hex");
    });
  }
});

Deno.test("toBase64() and fromBase64() round-trip random bytes, including large inputs", () => {
  property(100, (rand) => {
    const bytes = rand.bytes(rand.int(200));
    const text = toBase64(bytes);
    assertEquals(text.length % 4, 0, "padded length");
    assertEquals(fromBase64(text), bytes);
  });
  // Larger than the 0x8000-byte chunk toBase64 works in.
  const big = seeded(7).bytes(100_000);
  assertEquals(fromBase64(toBase64(big)), big);
  // RFC 4648 §10.
  assertEquals(toBase64(utf8("foobar")), "Zm9vYmFy");
  assertEquals(toBase64(utf8("fo")), "Zm8=");
});

Deno.test("fromBase64() ignores line breaks and rejects invalid characters", () => {
  assertEquals(fromBase64("Zm9v\nYmFy\r\n"), utf8("foobar"));
  assertThrows(() => fromBase64("Zm9v!mFy"), SyntaxError, "Cannot parse base64");
  assertThrows(() => fromBase64("Z"), SyntaxError, "Cannot parse base64");
});

Deno.test("fromUtf8() throws a TypeError on invalid UTF-8 and inverts utf8()", () => {
  assertEquals(fromUtf8(utf8("héllo ✓ 🚀")), "héllo ✓ 🚀");
  assertThrows(() => fromUtf8(new Uint8Array([0xc3, 0x28])), TypeError);
});

Deno.test("concat(), equals() and compare() behave like their byte-wise definitions", () => {
  assertEquals(concat(), new Uint8Array(0));
  assertEquals(concat(h("01"), h(""), h("0203")), h("010203"));
  assert(equals(h("0102"), h("0102")));
  assert(!equals(h("0102"), h("0103")));
  assert(!equals(h("01"), h("0100")));
  assert(compare(h("01"), h("02")) < 0);
  assert(compare(h("02"), h("0101")) > 0);
  assert(compare(h("01"), h("0100")) < 0, "a prefix sorts first");
  assertEquals(compare(h("abcd"), h("abcd")), 0);
});

// ---------------------------------------------------------------------------------------------
// CBOR

Deno.test("encode() gives the same bytes whatever order map keys were inserted in", () => {
  const a = { zeta: 1, alpha: h("00ff"), m: [1, { y: 2, x: 3 }] };
  const b = { m: [1, { x: 3, y: 2 }], alpha: h("00ff"), zeta: 1 };
  assertEquals(encode(a), encode(b));
});

Deno.test("encode() sorts map keys by their encoded bytes (RFC 8949 section 4.2.1)", () => {
  // Shorter keys first, then bytewise: a, c, bb.
  assertEquals(toHex(encode({ bb: 1, a: 2, c: 3 })), "a3" + "616102" + "616303" + "62626201");
});

Deno.test("encode() uses the shortest form for integers and floats", async (t) => {
  const cases: [unknown, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [255, "18ff"],
    [256, "190100"],
    [-1, "20"],
    [1.5, "f93e00"],
    [Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
  ];
  for (const [value, hex] of cases) {
    await t.step(`${value} → ${hex}`, () => assertEquals(toHex(encode(value)), hex));
  }
});

Deno.test("encode() refuses undefined properties, as its doc comment promises", () => {
  // Regression (fixed): src/encoding/cbor.ts encodes `{ a: undefined }` as a1 61 61 f7 (CBOR
  // undefined), bytes that decode() itself then refuses.
  assertThrows(() => encode({ a: undefined }));
});

Deno.test("encode() returns a plain Uint8Array whose slice() is a copy", async (t) => {
  // Regression (fixed): cborg
  // sees Deno's Node globals and hands back a Node Buffer cut from Node's shared 8 KiB pool.
  // Buffer#slice() is a view, so callers that copy with slice() (src/node/state.ts
  // memoryState) keep aliases, and `.buffer` exposes unrelated pooled memory.
  for (const n of [10, 100, 150, 200, 250, 400, 5000]) {
    await t.step(`a ${n}-character string in a map`, () => {
      const bytes = encode({ s: "x".repeat(n) });
      assertEquals(Object.getPrototypeOf(bytes), Uint8Array.prototype, bytes.constructor.name);
      const copy = bytes.slice();
      copy[0]! ^= 1;
      assert(copy[0] !== bytes[0], "slice() shares memory with the encoding");
    });
  }
});

Deno.test("decodeCanonical() inverts encode() for random nested values", () => {
  property(200, (rand) => {
    const value = randomValue(rand, 3);
    assertEquals(decodeCanonical(encode(value)), value);
  });
});

function randomValue(rand: Rand, depth: number): unknown {
  switch (rand.int(depth > 0 ? 7 : 5)) {
    case 0: {
      const n = rand.int(2 ** 31) * (rand.int(2) ? 1 : 2 ** 20);
      return rand.int(2) ? n : 0 - n; // 0 - 0 is +0: CBOR has no negative zero integer
    }
    case 1:
      return String.fromCharCode(...rand.bytes(rand.int(20)).map((b) => b || 1));
    case 2:
      return rand.bytes(rand.int(40));
    case 3:
      return rand.int(2) === 1;
    case 4:
      return null;
    case 5:
      return Array.from({ length: rand.int(5) }, () => randomValue(rand, depth - 1));
    default: {
      const m: Record<string, unknown> = {};
      for (let i = rand.int(5); i > 0; i--) {
        m[toBase32(rand.bytes(1 + rand.int(4)))] = randomValue(rand, depth - 1);
      }
      return m;
    }
  }
}

Deno.test("decodeCanonical() rejects encodings that are valid CBOR but not canonical", async (t) => {
  const cases: [string, string, string][] = [
    ["an integer in a longer form than needed", "1805", ""],
    ["a two-byte length for a one-byte string", "5801aa", ""],
    ["map keys out of order", "a2" + "616201" + "616102", "not in canonical form"],
    ["a longer key before a shorter one", "a2" + "62626201" + "616102", "not in canonical form"],
    ["1.0 as a float64 instead of the integer 1", "fb3ff0000000000000", "not in canonical form"],
    ["1.5 as a float32 instead of a float16", "fa3fc00000", "not in canonical form"],
  ];
  for (const [what, hex, message] of cases) {
    await t.step(what, () => {
      assertThrows(() => decodeCanonical(h(hex)), DecodeError, message);
    });
  }
});

Deno.test("decode() accepts unsorted map keys that decodeCanonical() refuses", () => {
  const unsorted = h("a2" + "616201" + "616102");
  assertEquals(decode(unsorted), { a: 2, b: 1 });
  assertThrows(() => decodeCanonical(unsorted), DecodeError, "not in canonical form");
});

Deno.test("decodeCanonical() rejects items outside the strict subset", async (t) => {
  const cases: [string, string, string][] = [
    ["an indefinite-length array", "9f01ff", "indefinite"],
    ["an indefinite-length map", "bf616101ff", "indefinite"],
    ["an indefinite-length byte string", "5f4101ff", "indefinite"],
    ["undefined", "f7", "undefined"],
    ["a map holding undefined", "a16161f7", "undefined"],
    ["NaN", "f97e00", "NaN"],
    ["Infinity", "f97c00", "Infinity"],
    ["duplicate map keys", "a2" + "616101" + "616102", "repeat map key"],
    ["trailing garbage", "0100", ""],
    ["a truncated map", "a2616101", ""],
    ["an integer beyond 2^53", "1b0020000000000000", "safe integer"],
    ["a non-string map key", "a10102", "non-string keys"],
    ["a tag", "c100", "tag"],
    ["no bytes at all", "", ""],
  ];
  for (const [what, hex, message] of cases) {
    await t.step(what, () => {
      assertThrows(() => decodeCanonical(h(hex)), DecodeError, message);
    });
  }
});

Deno.test("decode() refuses input over maxBytes and says the size", () => {
  const e = assertThrows(
    () => decodeCanonical(new Uint8Array(20), { maxBytes: 10, what: "test blob" }),
    DecodeError,
    "20 bytes exceeds the 10 limit",
  );
  assert(e.message.includes("test blob"), `message names what was decoded: ${e.message}`);
  assertThrows(
    () => decode(new Uint8Array(DEFAULT_MAX_BYTES + 1)),
    DecodeError,
    `${DEFAULT_MAX_BYTES + 1} bytes`,
  );
  // Exactly at the limit is fine.
  assertEquals(decodeCanonical(encode(h("00112233445566")), { maxBytes: 8 }), h("00112233445566"));
});

Deno.test("decode() throws DecodeError (not a cborg error) for anything that is not bytes", () => {
  const e = assertThrows(
    () => decode("a1" as unknown as Uint8Array),
    DecodeError,
    "expected bytes",
  );
  assertEquals(e.name, "DecodeError");
  assert(e instanceof Error);
});

// ---------------------------------------------------------------------------------------------
// Field readers

Deno.test("readMap() requires a map with exactly the allowed keys", async (t) => {
  await t.step("accepts required and optional keys", () => {
    assertEquals(readMap({ a: 1, b: 2 }, "thing", ["a"], ["b"]), { a: 1, b: 2 });
    assertEquals(readMap({ a: 1 }, "thing", ["a"], ["b"]), { a: 1 });
  });
  const bad: [string, unknown, string][] = [
    ["null", null, "expected a map, got null"],
    ["an array", [1], "expected a map, got an array of 1"],
    ["bytes", h("00"), "expected a map, got 1 bytes"],
    ["a number", 5, "expected a map, got 5"],
    ["a missing field", { b: 1 }, 'missing field "a"'],
    ["an unexpected field", { a: 1, z: 2 }, 'unexpected field "z"'],
  ];
  for (const [what, value, message] of bad) {
    await t.step(`rejects ${what}`, () => {
      assertThrows(() => readMap(value, "thing", ["a"], ["b"]), DecodeError, message);
    });
  }
});

Deno.test("readUint(), readString(), readBytes() and readStrings() check type and bounds", async (t) => {
  const m = { n: 5, neg: -1, f: 1.5, s: "hello", b: h("0102"), l: ["x", "yy"], big: 2 ** 53 };
  await t.step("reads good values", () => {
    assertEquals(readUint(m, "n", "t"), 5);
    assertEquals(readString(m, "s", "t", 5), "hello");
    assertEquals(readBytes(m, "b", "t", { exact: 2 }), h("0102"));
    assertEquals(readBytes(m, "b", "t", { max: 2 }), h("0102"));
    assertEquals(readStrings(m, "l", "t", 2, 2), ["x", "yy"]);
  });
  const bad: [string, () => unknown, string][] = [
    ["a negative integer", () => readUint(m, "neg", "t"), '"neg" must be a non-negative integer'],
    ["a fraction", () => readUint(m, "f", "t"), "got 1.5"],
    ["an unsafe integer", () => readUint(m, "big", "t"), "non-negative integer"],
    ["a string as a number", () => readUint(m, "s", "t"), 'got "hello"'],
    ["a long string", () => readString(m, "s", "t", 4), "is 5 characters, limit 4"],
    ["a number as a string", () => readString(m, "n", "t", 4), "must be a string"],
    ["bytes of the wrong length", () => readBytes(m, "b", "t", { exact: 3 }), "must be 3 bytes"],
    ["too many bytes", () => readBytes(m, "b", "t", { max: 1 }), "is 2 bytes, limit 1"],
    ["a string as bytes", () => readBytes(m, "s", "t", {}), "must be bytes"],
    ["too many strings", () => readStrings(m, "l", "t", 1, 9), "has 2 items, limit 1"],
    ["a long item", () => readStrings(m, "l", "t", 9, 1), "limit 1"],
    ["a missing array", () => readStrings(m, "zz", "t", 9, 9), "must be an array"],
  ];
  for (const [what, fn, message] of bad) {
    await t.step(`rejects ${what}`, () => {
      assertThrows(fn, DecodeError, message);
    });
  }
});

Deno.test("describe() names a value's type briefly", () => {
  assertEquals(describe(null), "null");
  assertEquals(describe(h("0102")), "2 bytes");
  assertEquals(describe([1, 2, 3]), "an array of 3");
  assertEquals(describe("x".repeat(50)), `"${"x".repeat(40)}…"`);
  assertEquals(describe(7), "7");
  assertEquals(describe(undefined), "undefined");
});
