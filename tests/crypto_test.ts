import { ed25519 } from "@noble/curves/ed25519.js";
import {
  agreePublicKey,
  agreeSharedSecret,
  randomBytes,
  sha256,
  sha256Sync,
  sign,
  SIGNATURE_BYTES,
  signedMessage,
  signPublicKey,
  taggedHash,
  verify,
} from "../src/crypto/mod.ts";
import { concat, fromHex, toHex, utf8 } from "../src/encoding/bytes.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./_assert.ts";

// RFC 8032 §7.1, TEST 1 and TEST 2.
const RFC8032 = [
  {
    name: "TEST 1",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" +
      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

Deno.test("@noble/curves Ed25519 matches the RFC 8032 section 7.1 vectors", async (t) => {
  for (const v of RFC8032) {
    await t.step(v.name, () => {
      const secret = fromHex(v.secret), message = fromHex(v.message);
      assertEquals(toHex(ed25519.getPublicKey(secret)), v.public);
      assertEquals(toHex(signPublicKey(secret)), v.public, "signPublicKey()");
      assertEquals(toHex(ed25519.sign(message, secret)), v.signature);
      assert(ed25519.verify(fromHex(v.signature), message, fromHex(v.public)));
    });
  }
});

const SECRET = fromHex(RFC8032[0]!.secret);
const PUBLIC = signPublicKey(SECRET);
const PAYLOAD = utf8("the payload");

Deno.test("signedMessage() is the version prefix, the tag, a NUL and the payload", () => {
  assertEquals(
    signedMessage("record/v1", utf8("xyz")),
    concat(utf8("mote/sig/v1\0record/v1\0"), utf8("xyz")),
  );
});

Deno.test("sign() signs the tagged message, not the bare payload", () => {
  const sig = sign(SECRET, "t", PAYLOAD);
  assertEquals(sig.length, SIGNATURE_BYTES);
  assert(ed25519.verify(sig, signedMessage("t", PAYLOAD), PUBLIC));
  assert(!ed25519.verify(sig, PAYLOAD, PUBLIC), "a bare-payload signature would allow replay");
  assertEquals(sign(SECRET, "t", PAYLOAD), sig, "Ed25519 signatures are deterministic");
});

Deno.test("verify() accepts a signature made with the same tag and payload", () => {
  assert(verify(PUBLIC, "doc/v1", PAYLOAD, sign(SECRET, "doc/v1", PAYLOAD)));
  assert(verify(PUBLIC, "doc/v1", new Uint8Array(0), sign(SECRET, "doc/v1", new Uint8Array(0))));
});

Deno.test("verify() refuses a signature under another tag, payload or key", async (t) => {
  const sig = sign(SECRET, "doc/v1", PAYLOAD);
  const other = signPublicKey(fromHex(RFC8032[1]!.secret));
  await t.step("another tag", () => assert(!verify(PUBLIC, "doc/v2", PAYLOAD, sig)));
  await t.step(
    "another payload",
    () => assert(!verify(PUBLIC, "doc/v1", utf8("the payloaD"), sig)),
  );
  await t.step("a longer payload", () => {
    assert(!verify(PUBLIC, "doc/v1", concat(PAYLOAD, new Uint8Array(1)), sig));
  });
  await t.step("another key", () => assert(!verify(other, "doc/v1", PAYLOAD, sig)));
  await t.step("a tag shifted into the payload", () => {
    // "ab" ‖ NUL ‖ "c" differs from "a" ‖ NUL ‖ "bc": tags cannot hold NUL, so no ambiguity.
    const s = sign(SECRET, "ab", utf8("c"));
    assert(verify(PUBLIC, "ab", utf8("c"), s));
    assert(!verify(PUBLIC, "a", utf8("bc"), s));
  });
});

Deno.test("verify() refuses a signature with any single bit flipped", () => {
  const sig = sign(SECRET, "doc/v1", PAYLOAD);
  for (let i = 0; i < sig.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = sig.slice();
      bad[i]! ^= bit;
      assert(!verify(PUBLIC, "doc/v1", PAYLOAD, bad), `flipping bit ${bit} of byte ${i}`);
    }
  }
});

Deno.test("verify() returns false, never throws, for malformed keys, signatures and tags", async (t) => {
  const sig = sign(SECRET, "doc/v1", PAYLOAD);
  const cases: [string, Uint8Array, string, Uint8Array][] = [
    ["a 31-byte key", PUBLIC.slice(0, 31), "doc/v1", sig],
    ["a 33-byte key", concat(PUBLIC, new Uint8Array(1)), "doc/v1", sig],
    ["an empty key", new Uint8Array(0), "doc/v1", sig],
    ["a key that is not a curve point", new Uint8Array(32).fill(0xff), "doc/v1", sig],
    ["a 63-byte signature", PUBLIC, "doc/v1", sig.slice(0, 63)],
    ["a 65-byte signature", PUBLIC, "doc/v1", concat(sig, new Uint8Array(1))],
    ["an empty signature", PUBLIC, "doc/v1", new Uint8Array(0)],
    ["an all-0xff signature", PUBLIC, "doc/v1", new Uint8Array(64).fill(0xff)],
    ["an empty tag", PUBLIC, "", sig],
    ["a tag with NUL", PUBLIC, "doc\0v1", sig],
  ];
  for (const [what, key, tag, s] of cases) {
    await t.step(what, () => {
      let result: boolean | undefined;
      try {
        result = verify(key, tag, PAYLOAD, s);
      } catch (e) {
        throw new Error(`verify() threw ${(e as Error).name}: ${(e as Error).message}`);
      }
      assertEquals(result, false);
    });
  }
});

Deno.test("signedMessage() and sign() reject empty tags and tags containing NUL", async (t) => {
  for (const tag of ["", "\0", "a\0", "\0b", "a\0b"]) {
    await t.step(JSON.stringify(tag), () => {
      assertThrows(() => signedMessage(tag, PAYLOAD), TypeError, "no NUL");
      assertThrows(() => sign(SECRET, tag, PAYLOAD), TypeError);
    });
  }
});

// RFC 7748 §6.1.
const X25519 = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPrivate: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

Deno.test("agreePublicKey() and agreeSharedSecret() match the RFC 7748 section 6.1 vector", () => {
  const a = fromHex(X25519.alicePrivate), b = fromHex(X25519.bobPrivate);
  assertEquals(toHex(agreePublicKey(a)), X25519.alicePublic);
  assertEquals(toHex(agreePublicKey(b)), X25519.bobPublic);
  assertEquals(toHex(agreeSharedSecret(a, fromHex(X25519.bobPublic))), X25519.shared);
  assertEquals(toHex(agreeSharedSecret(b, fromHex(X25519.alicePublic))), X25519.shared);
});

Deno.test("agreeSharedSecret() gives both sides the same secret for random keys", () => {
  for (let i = 0; i < 5; i++) {
    const a = randomBytes(32), b = randomBytes(32);
    const ab = agreeSharedSecret(a, agreePublicKey(b));
    assertEquals(ab, agreeSharedSecret(b, agreePublicKey(a)));
    assertEquals(ab.length, 32);
  }
});

// FIPS 180-2 appendix B.1 and B.2, and the empty string.
const SHA256_VECTORS: [string, string][] = [
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
];

Deno.test("sha256() and sha256Sync() match the FIPS 180-2 vectors", async (t) => {
  for (const [input, digest] of SHA256_VECTORS) {
    await t.step(JSON.stringify(input), async () => {
      assertEquals(toHex(await sha256(utf8(input))), digest);
      assertEquals(toHex(sha256Sync(utf8(input))), digest);
    });
  }
});

Deno.test("sha256() and sha256Sync() agree on random inputs of several sizes", async () => {
  // Sizes around the 64-byte block and the 55/56-byte padding boundary, and a larger one.
  for (const n of [1, 31, 55, 56, 63, 64, 65, 127, 128, 1000, 100_000]) {
    const data = randomBytes(n);
    assertEquals(await sha256(data), sha256Sync(data), `size ${n}`);
  }
});

Deno.test("sha256() hashes only the view it is given, not the whole buffer", async () => {
  const whole = utf8("xxabcxx");
  const view = whole.subarray(2, 5);
  assertEquals(toHex(await sha256(view)), SHA256_VECTORS[0]![1]);
  assertEquals(toHex(sha256Sync(view)), SHA256_VECTORS[0]![1]);
});

Deno.test("taggedHash() is SHA-256 of the tag, a NUL and the parts, and differs per tag", () => {
  const a = utf8("part a"), b = utf8("part b");
  assertEquals(taggedHash("kind/v1", a, b), sha256Sync(concat(utf8("kind/v1\0"), a, b)));
  assertNotEquals(taggedHash("kind/v1", a), taggedHash("kind/v2", a));
  assertNotEquals(taggedHash("kind", a), sha256Sync(a));
  assertNotEquals(taggedHash("a", utf8("b")), taggedHash("ab", new Uint8Array(0)));
  assertEquals(taggedHash("kind/v1", a), taggedHash("kind/v1", a), "deterministic");
});

Deno.test("randomBytes() returns the requested length, beyond the 65536-byte getRandomValues limit", () => {
  assertEquals(randomBytes(0).length, 0);
  const big = randomBytes(200_000);
  assertEquals(big.length, 200_000);
  // Each 64 KiB chunk was filled: none of them is left all zero.
  for (let i = 0; i < big.length; i += 65536) {
    assert(big.subarray(i, i + 65536).some((x) => x !== 0), `chunk at ${i} is all zero`);
  }
  assertNotEquals(randomBytes(32), randomBytes(32));
});
