/**
 * HPKE key wrapping. RFC 9180 A.1.1 and A.2.1 are reproduced twice: by `@hpke/core` (the code
 * Mote runs) and by a small independent key schedule written here over `@noble/hashes` and
 * `@noble/curves`, so a wrong value copied from the RFC, or a library bug, shows up as a mismatch.
 */
import {
  type AeadEncryptionContext,
  type AeadInterface,
  Aes128Gcm,
  Aes256Gcm,
  CipherSuite,
  HkdfSha256,
} from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { x25519 } from "@noble/curves/ed25519.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  AGREE_KEY_BYTES,
  KEY_WRAP_SUITE,
  KeyWrapError,
  MAX_WRAP_BLOB_BYTES,
  MAX_WRAP_INFO_BYTES,
  MAX_WRAPPED_KEY_BYTES,
  unwrapKey,
  wrapKey,
} from "../src/crypto/mod.ts";
import { keyWrapSuite, sealKey } from "../src/crypto/_hpke_suite.ts";
import { concat, fromHex, toHex, utf8 } from "../src/encoding/bytes.ts";
import { decode, encode } from "../src/encoding/cbor.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./_assert.ts";
import rfc from "./vectors/hpke_rfc9180.json" with { type: "json" };
import mote from "./vectors/hpke_mote_v1.json" with { type: "json" };

const buf = (b: Uint8Array) => b.slice().buffer as ArrayBuffer;
const bytes = (b: ArrayBuffer) => new Uint8Array(b);

// ---- An independent RFC 9180 base-mode sender for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 ----

const i2osp = (n: number, len: number) => {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--, n = Math.floor(n / 256)) out[i] = n % 256;
  return out;
};
const AEAD_NK: Record<number, number> = { 1: 16, 2: 32, 3: 32 };

/** LabeledExtract / LabeledExpand of RFC 9180 §4 over HKDF-SHA256. */
function labeled(suiteId: Uint8Array) {
  const v1 = utf8("HPKE-v1");
  return {
    extract: (salt: Uint8Array, label: string, ikm: Uint8Array) =>
      extract(sha256, concat(v1, suiteId, utf8(label), ikm), salt),
    expand: (prk: Uint8Array, label: string, info: Uint8Array, len: number) =>
      expand(sha256, prk, concat(i2osp(len, 2), v1, suiteId, utf8(label), info), len),
  };
}

const KEM = labeled(concat(utf8("KEM"), i2osp(0x20, 2)));
const NONE = new Uint8Array(0);

/** DeriveKeyPair for X25519 (RFC 9180 §7.1.3). */
function deriveKeyPair(ikm: Uint8Array) {
  const sk = KEM.expand(KEM.extract(NONE, "dkp_prk", ikm), "sk", NONE, 32);
  return { sk, pk: x25519.getPublicKey(sk) };
}

/** DHKEM's shared secret from the sender's side (§4.1 Encap with a given ephemeral key). */
function encapWith(skE: Uint8Array, pkR: Uint8Array) {
  const enc = x25519.getPublicKey(skE);
  const dh = x25519.getSharedSecret(skE, pkR);
  const eaePrk = KEM.extract(NONE, "eae_prk", dh);
  return { enc, sharedSecret: KEM.expand(eaePrk, "shared_secret", concat(enc, pkR), 32) };
}

/** The base-mode key schedule (§5.1), nonces (§5.2) and exporter (§5.3). */
function keySchedule(aeadId: number, sharedSecret: Uint8Array, info: Uint8Array) {
  const hpke = labeled(concat(utf8("HPKE"), i2osp(0x20, 2), i2osp(1, 2), i2osp(aeadId, 2)));
  const keyScheduleContext = concat(
    new Uint8Array([0]),
    hpke.extract(NONE, "psk_id_hash", NONE),
    hpke.extract(NONE, "info_hash", info),
  );
  const secret = hpke.extract(sharedSecret, "secret", NONE);
  const baseNonce = hpke.expand(secret, "base_nonce", keyScheduleContext, 12);
  const exporterSecret = hpke.expand(secret, "exp", keyScheduleContext, 32);
  return {
    keyScheduleContext,
    secret,
    key: hpke.expand(secret, "key", keyScheduleContext, AEAD_NK[aeadId]!),
    baseNonce,
    exporterSecret,
    nonce: (seq: number) => baseNonce.map((b, i) => b ^ i2osp(seq, 12)[i]!),
    export: (ctx: Uint8Array, len: number) => hpke.expand(exporterSecret, "sec", ctx, len),
  };
}

/** Every intermediate value of a base-mode vector, from its seeds. */
function referenceSender(v: { aead_id: number; info: string; ikmE: string; ikmR: string }) {
  const e = deriveKeyPair(fromHex(v.ikmE)), r = deriveKeyPair(fromHex(v.ikmR));
  const { enc, sharedSecret } = encapWith(e.sk, r.pk);
  return {
    skEm: e.sk,
    pkEm: e.pk,
    skRm: r.sk,
    pkRm: r.pk,
    enc,
    sharedSecret,
    ...keySchedule(v.aead_id, sharedSecret, fromHex(v.info)),
  };
}

async function aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array) {
  const k = await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt"]);
  return bytes(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(aad) },
      k,
      buf(pt),
    ),
  );
}

// ---- An AEAD wrapper that records the key and nonces @hpke/core hands it ----

class RecordingAead implements AeadInterface {
  readonly keySize: number;
  readonly nonceSize = 12;
  readonly tagSize = 16;
  key?: Uint8Array;
  readonly nonces: Uint8Array[] = [];
  constructor(
    readonly id: 0x0001 | 0x0002 | 0x0003,
    private readonly inner?: AeadInterface,
  ) {
    this.keySize = AEAD_NK[id]!;
  }
  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    this.key = ArrayBuffer.isView(key)
      ? new Uint8Array(key.buffer, key.byteOffset, key.byteLength).slice()
      : new Uint8Array(key).slice();
    const inner = this.inner?.createEncryptionContext(key);
    const record = (iv: ArrayBufferLike | ArrayBufferView) => {
      this.nonces.push(
        ArrayBuffer.isView(iv)
          ? new Uint8Array(iv.buffer, iv.byteOffset, iv.byteLength).slice()
          : new Uint8Array(iv).slice(),
      );
    };
    return {
      seal: (iv, data, aad) => {
        record(iv);
        // Without an implementation (ChaCha20Poly1305 is not a dependency) only the inputs count.
        return inner ? inner.seal(iv, data, aad) : Promise.resolve(new ArrayBuffer(16));
      },
      open: (iv, data, aad) => {
        record(iv);
        return inner ? inner.open(iv, data, aad) : Promise.reject(new Error("no AEAD"));
      },
    };
  }
}

function suiteWith(aead: AeadInterface) {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead });
}

type Vector = (typeof rfc.vectors)[number];

Deno.test("an independent RFC 9180 key schedule reproduces the committed A.1.1 and A.2.1 values", async (t) => {
  for (const v of rfc.vectors) {
    await t.step(v.section, async () => {
      const r = referenceSender(v);
      assertEquals(toHex(r.skEm), v.skEm, "skEm");
      assertEquals(toHex(r.pkEm), v.pkEm, "pkEm");
      assertEquals(toHex(r.skRm), v.skRm, "skRm");
      assertEquals(toHex(r.pkRm), v.pkRm, "pkRm");
      assertEquals(toHex(r.enc), v.enc, "enc");
      assertEquals(toHex(r.sharedSecret), v.shared_secret, "shared_secret");
      assertEquals(toHex(r.keyScheduleContext), v.key_schedule_context, "key_schedule_context");
      assertEquals(toHex(r.secret), v.secret, "secret");
      assertEquals(toHex(r.key), v.key, "key");
      assertEquals(toHex(r.baseNonce), v.base_nonce, "base_nonce");
      assertEquals(toHex(r.exporterSecret), v.exporter_secret, "exporter_secret");
      for (const e of v.encryptions) assertEquals(toHex(r.nonce(e.seq)), e.nonce, `nonce ${e.seq}`);
      for (const x of v.exports) {
        assertEquals(toHex(r.export(fromHex(x.exporter_context), x.L)), x.exported_value);
      }
      if (v.aead_id === 1) {
        for (const e of v.encryptions) {
          const ct = await aesGcmSeal(r.key, r.nonce(e.seq), fromHex(e.aad), fromHex(e.pt));
          assertEquals(toHex(ct), e.ct, `ciphertext ${e.seq}`);
        }
      }
    });
  }
});

/** Runs @hpke/core's sender (fixed ephemeral seed) and recipient over a vector. */
async function checkLibrary(v: Vector, aead: RecordingAead, checkCiphertexts: boolean) {
  const s = suiteWith(aead);
  const r = await s.kem.deriveKeyPair(buf(fromHex(v.ikmR)));
  assertEquals(toHex(bytes(await s.kem.serializePrivateKey(r.privateKey))), v.skRm, "skRm");
  assertEquals(toHex(bytes(await s.kem.serializePublicKey(r.publicKey))), v.pkRm, "pkRm");
  const ekm = buf(fromHex(v.ikmE));
  const { enc, sharedSecret } = await s.kem.encap({ recipientPublicKey: r.publicKey, ekm });
  assertEquals(toHex(bytes(enc)), v.enc, "enc");
  assertEquals(toHex(bytes(sharedSecret)), v.shared_secret, "shared_secret");

  // The recipient's raw public key imports and is what the sender encrypts to.
  const recipientPublicKey = await s.kem.importKey("raw", buf(fromHex(v.pkRm)), true);
  const sender = await s.createSenderContext({
    recipientPublicKey,
    info: buf(fromHex(v.info)),
    ekm,
  });
  assertEquals(toHex(bytes(sender.enc)), v.enc, "context enc");
  assertEquals(toHex(aead.key!), v.key, "key");
  const wanted = new Map(v.encryptions.map((e) => [e.seq, e]));
  const cts: ArrayBuffer[] = [];
  for (let seq = 0; seq <= 256; seq++) {
    const e = wanted.get(seq);
    const aad = e ? fromHex(e.aad) : utf8(`Count-${seq}`);
    const ct = await sender.seal(buf(fromHex(v.encryptions[0]!.pt)), buf(aad));
    cts.push(ct);
    if (e) {
      assertEquals(toHex(aead.nonces[seq]!), e.nonce, `nonce ${seq}`);
      if (checkCiphertexts) assertEquals(toHex(bytes(ct)), e.ct, `ciphertext ${seq}`);
    }
  }
  for (const x of v.exports) {
    const got = bytes(await sender.export(buf(fromHex(x.exporter_context)), x.L));
    assertEquals(toHex(got), x.exported_value, `export "${x.exporter_context}"`);
  }
  if (!checkCiphertexts) return;
  // The recipient side, with the secret key imported from its raw 32 bytes.
  const recipientKey = await s.kem.importKey("raw", buf(fromHex(v.skRm)), false);
  const recipient = await s.createRecipientContext({
    recipientKey,
    enc: buf(fromHex(v.enc)),
    info: buf(fromHex(v.info)),
  });
  for (let seq = 0; seq <= 256; seq++) {
    const aad = wanted.get(seq) ? fromHex(wanted.get(seq)!.aad) : utf8(`Count-${seq}`);
    assertEquals(toHex(bytes(await recipient.open(cts[seq]!, buf(aad)))), v.encryptions[0]!.pt);
  }
}

Deno.test("@hpke/core with @hpke/dhkem-x25519 reproduces RFC 9180 A.1.1 (AES-128-GCM, base)", async () => {
  await checkLibrary(rfc.vectors[0]!, new RecordingAead(0x0001, new Aes128Gcm()), true);
});

Deno.test("@hpke/core reproduces RFC 9180 A.2.1's KEM, key schedule and exports (ChaCha20Poly1305)", async () => {
  // ChaCha20Poly1305 itself is not a dependency: its key and nonces are checked instead.
  await checkLibrary(rfc.vectors[1]!, new RecordingAead(0x0003), false);
});

Deno.test("Mote's suite is X25519 / HKDF-SHA256 / AES-256-GCM and matches the derived vector two ways", async () => {
  const s = keyWrapSuite();
  assertEquals(
    { kem: s.kem.id, kdf: s.kdf.id, aead: s.aead.id },
    { kem: 0x0020, kdf: 0x0001, aead: 0x0002 },
  );
  assertEquals(KEY_WRAP_SUITE, { kem: 0x0020, kdf: 0x0001, aead: 0x0002 });
  const v = mote.suite;
  // Independently: the reference key schedule with WebCrypto AES-256-GCM.
  const r = referenceSender(v);
  assertEquals(toHex(r.enc), v.enc);
  assertEquals(toHex(r.sharedSecret), v.shared_secret);
  assertEquals(toHex(r.key), v.key);
  for (const e of v.encryptions) {
    const ct = await aesGcmSeal(r.key, r.nonce(e.seq), fromHex(e.aad), fromHex(e.pt));
    assertEquals(toHex(ct), e.ct, `reference ciphertext ${e.seq}`);
  }
  for (const x of v.exports) {
    assertEquals(toHex(r.export(fromHex(x.exporter_context), x.L)), x.exported_value);
  }
  // Through @hpke/core's recipient with the real AES-256-GCM, opening the committed ciphertexts.
  const recipient = await s.createRecipientContext({
    recipientKey: await s.kem.importKey("raw", buf(fromHex(v.skRm)), false),
    enc: buf(fromHex(v.enc)),
    info: buf(fromHex(v.info)),
  });
  const wanted = new Map(v.encryptions.map((e) => [e.seq, e]));
  const aead = new RecordingAead(0x0002, new Aes256Gcm());
  const sender = await suiteWith(aead).createSenderContext({
    recipientPublicKey: await s.kem.importKey("raw", buf(fromHex(v.pkRm)), true),
    info: buf(fromHex(v.info)),
    ekm: buf(fromHex(v.ikmE)),
  });
  assertEquals(toHex(aead.key!), v.key);
  for (let seq = 0; seq <= 256; seq++) {
    const e = wanted.get(seq);
    const aad = e ? fromHex(e.aad) : utf8(`Count-${seq}`);
    const ct = bytes(await sender.seal(buf(fromHex(v.encryptions[0]!.pt)), buf(aad)));
    if (e) assertEquals(toHex(ct), e.ct, `library ciphertext ${seq}`);
    assertEquals(toHex(bytes(await recipient.open(buf(ct), buf(aad)))), v.encryptions[0]!.pt);
  }
});

Deno.test("identity X25519 keys import raw into the suite and agree with each other", async () => {
  const s = keyWrapSuite();
  const id = generateIdentity();
  const pub = await s.kem.importKey("raw", buf(id.agreePublic), true);
  const sec = await s.kem.importKey("raw", buf(id.agreeSecret), false);
  assertEquals(bytes(await s.kem.serializePublicKey(pub)), id.agreePublic);
  assertEquals(bytes(await s.kem.serializePrivateKey(sec)), id.agreeSecret);
  const { ct, enc } = await s.seal({ recipientPublicKey: pub }, buf(utf8("hello")));
  assertEquals(bytes(await s.open({ recipientKey: sec, enc }, ct)), utf8("hello"));
});

Deno.test("wrapKey() and unwrapKey() round-trip keys to identity keys", async (t) => {
  const alice = generateIdentity();
  const cases: [string, Uint8Array, Uint8Array][] = [
    ["a 32-byte data key", crypto.getRandomValues(new Uint8Array(32)), utf8("mote/file-key")],
    ["a 1-byte key, empty info", new Uint8Array([7]), new Uint8Array(0)],
    [
      "the largest key and info",
      new Uint8Array(MAX_WRAPPED_KEY_BYTES).fill(9),
      new Uint8Array(MAX_WRAP_INFO_BYTES).fill(1),
    ],
  ];
  for (const [name, key, info] of cases) {
    await t.step(name, async () => {
      const blob = await wrapKey(alice.agreePublic, key, info);
      assert(blob.length <= MAX_WRAP_BLOB_BYTES, `${blob.length} bytes`);
      assertEquals(await unwrapKey(alice.agreeSecret, blob, info), key);
    });
  }
});

Deno.test("wrapKey() makes a versioned canonical CBOR blob with a fresh ephemeral key each time", async () => {
  const bob = generateIdentity();
  const key = new Uint8Array(32).fill(5);
  const a = await wrapKey(bob.agreePublic, key, utf8("x"));
  const b = await wrapKey(bob.agreePublic, key, utf8("x"));
  assertNotEquals(a, b);
  const m = decode(a) as { v: number; enc: Uint8Array; ct: Uint8Array };
  assertEquals(Object.keys(m).sort(), ["ct", "enc", "v"]);
  assertEquals(m.v, 1);
  assertEquals(m.enc.length, 32);
  assertEquals(m.ct.length, 32 + 16);
  assertEquals(encode(m), a);
});

Deno.test("wrapKey() matches the pinned v1 blob, and the reference opens it", async () => {
  const v = mote.blob;
  const blob = await sealKey(
    fromHex(v.agreePublic),
    fromHex(v.key),
    fromHex(v.info),
    fromHex(v.ekm),
  );
  assertEquals(toHex(blob), v.blob);
  assertEquals(
    toHex(await unwrapKey(fromHex(v.agreeSecret), fromHex(v.blob), fromHex(v.info))),
    v.key,
  );
  // Independently: the sender's side with the seed as ephemeral key, and HPKE info
  // "mote/key-wrap/v1\0" ‖ info, then WebCrypto AES-256-GCM.
  const m = decode(fromHex(v.blob)) as { enc: Uint8Array; ct: Uint8Array };
  assertEquals(toHex(x25519.getPublicKey(fromHex(v.agreeSecret))), v.agreePublic);
  const { enc, sharedSecret } = encapWith(deriveKeyPair(fromHex(v.ekm)).sk, fromHex(v.agreePublic));
  assertEquals(m.enc, enc);
  const ks = keySchedule(2, sharedSecret, concat(utf8("mote/key-wrap/v1\0"), fromHex(v.info)));
  const k = await crypto.subtle.importKey("raw", buf(ks.key), "AES-GCM", false, ["decrypt"]);
  const iv = buf(ks.nonce(0));
  const pt = bytes(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, k, buf(m.ct)));
  assertEquals(toHex(pt), v.key);
});

Deno.test("unwrapKey() refuses the wrong recipient, the wrong info and damaged blobs", async (t) => {
  const alice = generateIdentity(), eve = generateIdentity();
  const key = crypto.getRandomValues(new Uint8Array(32));
  const info = utf8("mote/file-key/abc");
  const blob = await wrapKey(alice.agreePublic, key, info);
  const refuses = async (secret: Uint8Array, b: Uint8Array, i: Uint8Array, includes?: string) => {
    const e = await assertRejects(() => unwrapKey(secret, b, i), KeyWrapError, includes);
    assertEquals(e.name, "KeyWrapError");
  };

  await t.step("another identity's secret key", async () => {
    await refuses(eve.agreeSecret, blob, info, "does not open");
  });
  await t.step("different info", async () => {
    await refuses(alice.agreeSecret, blob, utf8("mote/file-key/abd"), "does not open");
    await refuses(alice.agreeSecret, blob, new Uint8Array(0));
  });
  await t.step("any single bit flipped", async () => {
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const bad = blob.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      await refuses(alice.agreeSecret, bad, info);
    }
  });
  await t.step("truncated, extended, empty or garbage", async () => {
    await refuses(alice.agreeSecret, blob.subarray(0, blob.length - 1), info, "damaged");
    await refuses(alice.agreeSecret, concat(blob, new Uint8Array([0])), info, "damaged");
    await refuses(alice.agreeSecret, new Uint8Array(0), info, "damaged");
    await refuses(alice.agreeSecret, utf8("not a wrapped key"), info, "damaged");
    await refuses(alice.agreeSecret, new Uint8Array(MAX_WRAP_BLOB_BYTES + 1), info, "damaged");
  });
  await t.step("other versions, extra or mistyped fields", async () => {
    const m = decode(blob) as Record<string, unknown>;
    await refuses(alice.agreeSecret, encode({ ...m, v: 2 }), info, "unsupported version 2");
    await refuses(alice.agreeSecret, encode({ ...m, x: 1 }), info, "unexpected field");
    await refuses(alice.agreeSecret, encode({ ...m, enc: new Uint8Array(31) }), info, "enc");
    await refuses(alice.agreeSecret, encode({ ...m, ct: new Uint8Array(16) }), info, "too short");
    await refuses(alice.agreeSecret, encode({ ...m, ct: "text" }), info, "ct");
    await refuses(alice.agreeSecret, encode([m.v, m.enc, m.ct]), info, "damaged");
  });
  await t.step("an encapsulated key of zeros (a low-order point)", async () => {
    const m = decode(blob) as Record<string, unknown>;
    await refuses(alice.agreeSecret, encode({ ...m, enc: new Uint8Array(32) }), info);
  });
});

Deno.test("wrapKey() and unwrapKey() check input sizes", async (t) => {
  const id = generateIdentity();
  const key = new Uint8Array(32);
  await t.step("public key length", async () => {
    await assertRejects(
      () => wrapKey(id.agreePublic.subarray(1), key, new Uint8Array(0)),
      RangeError,
      "32 bytes",
    );
    await assertRejects(() => wrapKey(new Uint8Array(33), key, new Uint8Array(0)), RangeError);
  });
  await t.step("key length", async () => {
    await assertRejects(
      () => wrapKey(id.agreePublic, new Uint8Array(0), new Uint8Array(0)),
      RangeError,
    );
    await assertRejects(
      () => wrapKey(id.agreePublic, new Uint8Array(MAX_WRAPPED_KEY_BYTES + 1), new Uint8Array(0)),
      RangeError,
      `1 to ${MAX_WRAPPED_KEY_BYTES} bytes`,
    );
  });
  await t.step("info length", async () => {
    const long = new Uint8Array(MAX_WRAP_INFO_BYTES + 1);
    await assertRejects(() => wrapKey(id.agreePublic, key, long), RangeError, "info");
    await assertRejects(
      () => unwrapKey(id.agreeSecret, new Uint8Array(10), long),
      RangeError,
      "info",
    );
  });
  await t.step("secret key length", async () => {
    await assertRejects(
      () => unwrapKey(new Uint8Array(AGREE_KEY_BYTES - 1), new Uint8Array(10), new Uint8Array(0)),
      RangeError,
      "secret key",
    );
  });
  await t.step("not bytes", async () => {
    await assertRejects(
      () => wrapKey("pk" as unknown as Uint8Array, key, new Uint8Array(0)),
      TypeError,
    );
    await assertRejects(
      () => unwrapKey(id.agreeSecret, [1] as unknown as Uint8Array, new Uint8Array(0)),
      TypeError,
    );
  });
  await t.step("a public key whose shared secret would be zero", async () => {
    await assertRejects(
      () => wrapKey(new Uint8Array(32), key, new Uint8Array(0)),
      RangeError,
      "usable",
    );
  });
});
