import { agreePublicKey } from "../src/crypto/agree.ts";
import { taggedHash } from "../src/crypto/hash.ts";
import { verify } from "../src/crypto/sign.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import { equals, fromBase64, toBase64, toHex } from "../src/encoding/bytes.ts";
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import {
  assertNodeId,
  decodeIdentityDocument,
  encodeIdentityDocument,
  exportKeyFile,
  generateIdentity,
  type IdentityDocument,
  identityFromSecrets,
  type IdentityKeys,
  importKeyFile,
  isNodeId,
  isSealed,
  MAX_IDENTITY_DOC,
  NODE_ID_LENGTH,
  nodeIdOf,
  PassphraseError,
  signAs,
} from "../src/identity/mod.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./_assert.ts";

const BEGIN = "-----BEGIN MOTE IDENTITY KEY-----";
const END = "-----END MOTE IDENTITY KEY-----";

const fixedBytes = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 255);
const KEYS = identityFromSecrets(fixedBytes(1), fixedBytes(101));
const OTHER = identityFromSecrets(fixedBytes(201), fixedBytes(31));

function armour(body: Uint8Array): string {
  return `${BEGIN}\n${toBase64(body)}\n${END}\n`;
}

function unarmour(text: string): Uint8Array {
  return fromBase64(text.slice(text.indexOf(BEGIN) + BEGIN.length, text.indexOf(END)));
}

function without(m: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...m };
  delete copy[key];
  return copy;
}

function sameKeys(actual: IdentityKeys, expected: IdentityKeys): void {
  assertEquals(actual.id, expected.id);
  assertEquals(actual.signSecret, expected.signSecret);
  assertEquals(actual.signPublic, expected.signPublic);
  assertEquals(actual.agreeSecret, expected.agreeSecret);
  assertEquals(actual.agreePublic, expected.agreePublic);
}

// ---------------------------------------------------------------------------------------------
// Node ids

Deno.test("nodeIdOf() gives 52 lower-case base32 characters", () => {
  assertEquals(NODE_ID_LENGTH, 52);
  for (const keys of [KEYS, OTHER, generateIdentity()]) {
    assert(/^[a-z2-7]{52}$/.test(keys.id), `"${keys.id}" is not a node id`);
    assertEquals(nodeIdOf(keys.signPublic), keys.id);
  }
});

Deno.test("nodeIdOf() is the base32 of a tagged SHA-256 of the signing key", () => {
  assertEquals(nodeIdOf(KEYS.signPublic), toBase32(taggedHash("mote/node-id/v1", KEYS.signPublic)));
});

Deno.test("nodeIdOf() is deterministic for a key and differs between keys", () => {
  assertEquals(nodeIdOf(KEYS.signPublic.slice()), nodeIdOf(KEYS.signPublic));
  assertNotEquals(nodeIdOf(KEYS.signPublic), nodeIdOf(OTHER.signPublic));
  const flipped = KEYS.signPublic.slice();
  flipped[31]! ^= 1;
  assertNotEquals(nodeIdOf(flipped), KEYS.id);
});

Deno.test("nodeIdOf() throws a RangeError for a key that is not 32 bytes", () => {
  assertThrows(() => nodeIdOf(new Uint8Array(31)), RangeError, "got 31");
  assertThrows(() => nodeIdOf(new Uint8Array(33)), RangeError, "got 33");
});

Deno.test("isNodeId() accepts the form of a node id and nothing else", async (t) => {
  await t.step("accepts real ids", () => {
    assert(isNodeId(KEYS.id));
    assertEquals(assertNodeId(KEYS.id), KEYS.id);
  });
  const bad: [string, string][] = [
    ["empty", ""],
    ["51 characters", KEYS.id.slice(1)],
    ["53 characters", KEYS.id + "a"],
    ["upper case", KEYS.id.toUpperCase()],
    ["a digit 1", "1" + KEYS.id.slice(1)],
    ["a digit 8", KEYS.id.slice(0, 51) + "8"],
    ["padding", KEYS.id.slice(0, 51) + "="],
    ["surrounding space", ` ${KEYS.id.slice(1)}`],
    ["a trailing newline", KEYS.id + "\n"],
  ];
  for (const [what, text] of bad) {
    await t.step(`rejects ${what}`, () => {
      assert(!isNodeId(text));
      assertThrows(() => assertNodeId(text), SyntaxError, "Invalid node id");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Keys

Deno.test("identityFromSecrets() derives both public keys and refuses secrets that are not 32 bytes", () => {
  assertEquals(KEYS.agreePublic, agreePublicKey(KEYS.agreeSecret));
  assertEquals(KEYS.id, nodeIdOf(KEYS.signPublic));
  assertThrows(
    () => identityFromSecrets(new Uint8Array(31), new Uint8Array(32)),
    RangeError,
    "got 31 and 32",
  );
  assertThrows(() => identityFromSecrets(new Uint8Array(32), new Uint8Array(0)), RangeError);
});

Deno.test("generateIdentity() makes a fresh identity each time", () => {
  const a = generateIdentity(), b = generateIdentity();
  assertNotEquals(a.id, b.id);
  assertNotEquals(a.agreeSecret, b.agreeSecret);
});

Deno.test("signAs() signs with the identity's key under the given tag", () => {
  const sig = signAs(KEYS, "test/v1", new Uint8Array([1, 2, 3]));
  assert(verify(KEYS.signPublic, "test/v1", new Uint8Array([1, 2, 3]), sig));
  assert(!verify(OTHER.signPublic, "test/v1", new Uint8Array([1, 2, 3]), sig));
});

// ---------------------------------------------------------------------------------------------
// Key files

Deno.test("exportKeyFile() without a passphrase round-trips through importKeyFile()", async () => {
  const text = await exportKeyFile(KEYS);
  assert(text.startsWith(BEGIN + "\n"), "starts with the armour line");
  assert(text.endsWith(END + "\n"), "ends with the armour line");
  for (const line of text.split("\n")) assert(line.length <= 64 || line.startsWith("-----"));
  assert(!isSealed(text));
  sameKeys(await importKeyFile(text), KEYS);
});

Deno.test("importKeyFile() tolerates text around the armour and CRLF line endings", async () => {
  const text = await exportKeyFile(KEYS);
  const pasted = "Here is my key:\r\n\r\n" + text.replaceAll("\n", "\r\n") + "\r\nThanks!";
  sameKeys(await importKeyFile(pasted), KEYS);
});

Deno.test("a sealed key file opens with its passphrase and only with it", async (t) => {
  // Each step that runs scrypt (N = 2^16) costs about 0.3 s: four in all.
  const passphrase = "correct horse battery staple";
  const text = await exportKeyFile(KEYS, passphrase);

  await t.step("it is sealed and holds no secret in the clear", () => {
    assert(isSealed(text));
    const body = toHex(unarmour(text));
    assert(!body.includes(toHex(KEYS.signSecret)), "the sign secret is visible");
    assert(!body.includes(toHex(KEYS.agreeSecret)), "the agree secret is visible");
  });
  await t.step("the right passphrase opens it", async () => {
    sameKeys(await importKeyFile(text, passphrase), KEYS);
  });
  await t.step("a wrong passphrase is a PassphraseError", async () => {
    await assertRejects(() => importKeyFile(text, passphrase + "!"), PassphraseError);
  });
  await t.step("no passphrase is a PassphraseError", async () => {
    const e = await assertRejects(() => importKeyFile(text), PassphraseError, "passphrase");
    assertEquals(e.name, "PassphraseError");
  });
  await t.step("a changed ciphertext is a PassphraseError, not other keys", async () => {
    const fields = decodeCanonical(unarmour(text)) as Record<string, unknown>;
    const ct = (fields.ct as Uint8Array).slice();
    ct[0]! ^= 1;
    await assertRejects(
      () => importKeyFile(armour(encode({ ...fields, ct })), passphrase),
      PassphraseError,
    );
  });
});

Deno.test("exportKeyFile() refuses a passphrase shorter than 8 characters", async () => {
  await assertRejects(() => exportKeyFile(KEYS, "1234567"), RangeError, "at least 8");
  await assertRejects(() => exportKeyFile(KEYS, ""), RangeError);
});

function sealedBody(over: Record<string, unknown>): Uint8Array {
  return encode({
    v: 1,
    kind: "mote-identity-key-sealed",
    id: KEYS.id,
    N: 1 << 16,
    r: 8,
    p: 1,
    salt: new Uint8Array(16),
    nonce: new Uint8Array(12),
    ct: new Uint8Array(80),
    ...over,
  });
}

Deno.test("importKeyFile() refuses out-of-range scrypt parameters before running scrypt", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["N above 2^20", { N: 1 << 21 }],
    ["r above 32", { r: 33 }],
    ["p above 16", { p: 17 }],
  ];
  for (const [what, over] of cases) {
    await t.step(what, async () => {
      await assertRejects(
        () => importKeyFile(armour(sealedBody(over)), "a passphrase"),
        DecodeError,
        "out of range",
      );
    });
  }
});

Deno.test("importKeyFile() reports unusable scrypt parameters as a DecodeError", async (t) => {
  // Regression (fixed): src/identity/key_file.ts only bounds N, r and p from above, so N = 3, r = 0
  // or p = 0 reach @noble/hashes, whose plain Error ('"N" expected a power of 2 …') escapes
  // instead of a DecodeError naming the key file.
  const cases: [string, Record<string, unknown>][] = [
    ["N not a power of two", { N: 3 }],
    ["N = 0", { N: 0 }],
    ["r = 0", { r: 0 }],
    ["p = 0", { p: 0 }],
  ];
  for (const [what, over] of cases) {
    await t.step(what, async () => {
      await assertRejects(
        () => importKeyFile(armour(sealedBody(over)), "a passphrase"),
        DecodeError,
      );
    });
  }
});

Deno.test("importKeyFile() refuses damaged or forged key files with a DecodeError", async (t) => {
  const text = await exportKeyFile(KEYS);
  const fields = decodeCanonical(unarmour(text)) as Record<string, unknown>;
  const cases: [string, string, string][] = [
    ["a character that is not base64", text.replace(/[A-Za-z0-9+/](?=[^-]*-----END)/, "!"), ""],
    ["the end cut off", text.slice(0, text.length / 2), "no MOTE IDENTITY KEY block"],
    ["the body cut short", text.replace(/\n[^\n]*\n-----END/, "\n-----END"), ""],
    ["no armour", toBase64(unarmour(text)), "no MOTE IDENTITY KEY block"],
    ["the armour lines swapped", `${END}\n${toBase64(unarmour(text))}\n${BEGIN}\n`, "no MOTE"],
    ["an empty body", `${BEGIN}\n${END}\n`, ""],
    ["an id that is not these keys'", armour(encode({ ...fields, id: OTHER.id })), "claims id"],
    ["keys that are not this id's", armour(encode({ ...fields, sign: OTHER.signSecret })), ""],
    ["version 2", armour(encode({ ...fields, v: 2 })), "unsupported version 2"],
    ["an unknown kind", armour(encode({ ...fields, kind: "pgp" })), "unknown kind"],
    ["a missing id", armour(encode(without(fields, "id"))), "must be a string"],
    ["a 31-byte secret", armour(encode({ ...fields, sign: new Uint8Array(31) })), "32 bytes"],
    ["an extra field", armour(encode({ ...fields, note: "hi" })), 'unexpected field "note"'],
    [
      "plain fields mixed with sealed ones",
      armour(encode({ ...fields, salt: new Uint8Array(16) })),
      "",
    ],
    ["more than 4096 characters", text + " ".repeat(4096), "limit 4096"],
  ];
  for (const [what, bad, message] of cases) {
    await t.step(what, async () => {
      await assertRejects(() => importKeyFile(bad), DecodeError, message);
    });
  }
});

Deno.test("importKeyFile() notices a change to any one base64 character of a plain key file", async () => {
  // Regression (fixed): the plain file's only integrity check is that the stored id matches the
  // signing key (src/identity/key_file.ts, importKeyFile), so a change inside the `agree`
  // secret is accepted and silently yields a different X25519 key.
  const text = await exportKeyFile(KEYS);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const bodyStart = text.indexOf(BEGIN) + BEGIN.length, bodyEnd = text.indexOf(END);
  const original = unarmour(text);
  const missed: number[] = [];
  let tried = 0;
  for (let i = bodyStart; i < bodyEnd; i++) {
    const c = text[i]!;
    const v = alphabet.indexOf(c);
    if (v < 0) continue; // newline or padding
    const bad = text.slice(0, i) + alphabet[v ^ 0x20] + text.slice(i + 1);
    if (equals(unarmour(bad), original)) continue; // only changed unused padding bits
    tried++;
    try {
      await importKeyFile(bad);
      missed.push(i - bodyStart);
    } catch (e) {
      assert(e instanceof DecodeError, `offset ${i - bodyStart}: ${(e as Error).name}`);
    }
  }
  assert(tried > 100, `only ${tried} positions tried`);
  assertEquals(missed, [], `${missed.length} of ${tried} single-character changes went unnoticed`);
});

// ---------------------------------------------------------------------------------------------
// Identity documents

function doc(over: Partial<Record<keyof IdentityDocument, unknown>> = {}): IdentityDocument {
  return {
    v: 1,
    id: KEYS.id,
    sign: KEYS.signPublic,
    agree: KEYS.agreePublic,
    nickname: "ada",
    devices: [
      { peer: "12D3KooWLaptop", addrs: ["/ip4/192.0.2.1/tcp/4001"], seen: 1_700_000_000_000 },
      { peer: "12D3KooWPhone", addrs: [], seen: 1_700_000_500_000 },
    ],
    gateways: ["https://gw.example.org"],
    ...over,
  } as IdentityDocument;
}

Deno.test("encodeIdentityDocument() round-trips through decodeIdentityDocument()", () => {
  const d = doc();
  const bytes = encodeIdentityDocument(d);
  assertEquals(decodeIdentityDocument(bytes), d);
  assertEquals(encodeIdentityDocument(decodeIdentityDocument(bytes)), bytes);
  const empty = doc({ devices: [], gateways: [], nickname: "" });
  assertEquals(decodeIdentityDocument(encodeIdentityDocument(empty)), empty);
});

Deno.test("decodeIdentityDocument() refuses an id that does not match the signing key", () => {
  assertThrows(
    () => decodeIdentityDocument(encode(doc({ id: OTHER.id }))),
    DecodeError,
    "does not match its signing key",
  );
  assertThrows(
    () => decodeIdentityDocument(encode(doc({ sign: OTHER.signPublic }))),
    DecodeError,
    "does not match",
  );
});

Deno.test("decodeIdentityDocument() refuses more than 8 devices", () => {
  const device = { peer: "12D3KooWx", addrs: [], seen: 1 };
  assertEquals(
    decodeIdentityDocument(encode(doc({ devices: Array(8).fill(device) }))).devices.length,
    8,
  );
  assertThrows(
    () => decodeIdentityDocument(encode(doc({ devices: Array(9).fill(device) }))),
    DecodeError,
    "at most 8",
  );
});

Deno.test("identity documents are limited to 8 KiB both ways", () => {
  assertEquals(MAX_IDENTITY_DOC, 8192);
  const addrs = Array(16).fill("/dns4/" + "x".repeat(240));
  const big = doc({
    devices: Array.from({ length: 8 }, (_, i) => ({ peer: `p${i}`, addrs, seen: 0 })),
  });
  assertThrows(() => encodeIdentityDocument(big), RangeError, "limit 8192");
  const bytes = encode(big);
  assertThrows(
    () => decodeIdentityDocument(bytes),
    DecodeError,
    `${bytes.length} bytes exceeds the 8192 limit`,
  );
});

Deno.test("decodeIdentityDocument() refuses malformed documents", async (t) => {
  const cases: [string, Uint8Array, string][] = [
    ["version 2", encode(doc({ v: 2 })), "unsupported version 2"],
    ["a missing field", encode(without({ ...doc() }, "gateways")), 'missing field "gateways"'],
    ["an extra field", encode({ ...doc(), extra: 1 }), 'unexpected field "extra"'],
    ["a 65-character nickname", encode(doc({ nickname: "n".repeat(65) })), "limit 64"],
    ["a 31-byte agree key", encode(doc({ agree: new Uint8Array(31) })), "must be 32 bytes"],
    [
      "17 addresses on a device",
      encode(doc({ devices: [{ peer: "p", addrs: Array(17).fill("/a"), seen: 0 }] })),
      "limit 16",
    ],
    [
      "a device with a negative time",
      encode(doc({ devices: [{ peer: "p", addrs: [], seen: -1 }] })),
      "non-negative",
    ],
    [
      "a device with an extra field",
      encode(doc({ devices: [{ peer: "p", addrs: [], seen: 0, x: 1 }] })),
      "unexpected",
    ],
    ["9 gateways", encode(doc({ gateways: Array(9).fill("https://g") })), "limit 8"],
    ["a list instead of a map", encode([1, 2]), "expected a map"],
    ["truncated bytes", encode(doc()).slice(0, -1), ""],
  ];
  for (const [what, bytes, message] of cases) {
    await t.step(what, () => {
      assertThrows(() => decodeIdentityDocument(bytes), DecodeError, message);
    });
  }
});
