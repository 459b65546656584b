/**
 * Sharing's write side and quick links: owner-signed write policies, writers' signed requests and
 * every refusal of the supplier-side check, key rotation, and link capabilities in URL fragments.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import {
  type Capability,
  checkWrite,
  createGrant,
  createWritePolicy,
  decodeCapability,
  decodeWritePolicy,
  decodeWriteRequest,
  encodeCapability,
  encodeWritePolicy,
  encodeWriteRequest,
  formatLink,
  generateWriteKey,
  MAX_WRITE_TTL_MS,
  openAsReader,
  parseLink,
  rotateWriteKey,
  SeenNonces,
  SharingError,
  type SharingRefusal,
  signWriteRequest,
  type WritePolicy,
  type WriteRequest,
  WriteUsage,
} from "../src/sharing/mod.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./_assert.ts";

const NOW = 1_800_000_000_000;
const owner = generateIdentity(), supplier = generateIdentity().id;
const folder = "f".repeat(4) + "a".repeat(48);

function setup(byteCap = 1000) {
  const wk = generateWriteKey();
  const policy = decodeWritePolicy(
    encodeWritePolicy(createWritePolicy(owner, { folder, seq: 3, writePub: wk.pub, byteCap })),
  );
  const request = (over: Partial<WriteRequest> = {}, secret = wk.secret) =>
    signWriteRequest(secret, {
      owner: owner.id,
      folder,
      seq: policy.seq,
      supplier,
      shard: randomBytes(32),
      size: 100,
      expires: NOW + 60_000,
      ...over,
    });
  return { wk, policy, request, seen: new SeenNonces(), usage: new WriteUsage() };
}

function refused(fn: () => unknown, reason: SharingRefusal): void {
  const e = assertThrows(fn, SharingError);
  assertEquals((e as SharingError).reason, reason, e.message);
}

Deno.test("checkWrite() accepts a request signed with the latest policy's write key", () => {
  const { policy, request, seen, usage } = setup();
  const r = decodeWriteRequest(encodeWriteRequest(request()));
  checkWrite(r, policy, seen, usage, { supplier, now: NOW });
  assertEquals(usage.used(policy.writePub), 100);
  assertEquals(seen.size, 1);
});

Deno.test("checkWrite() refuses every bad request and changes nothing when it does", async (t) => {
  const { wk, policy, request, seen, usage } = setup(250);
  const used = () => [seen.size, usage.used(policy.writePub)];
  checkWrite(request({ size: 150 }), policy, seen, usage, { supplier, now: NOW });
  const before = used();
  const replay = request();
  checkWrite(replay, policy, seen, usage, { supplier, now: NOW });
  const after = used();
  const cases: [string, () => WriteRequest, SharingRefusal, number?][] = [
    ["a replayed nonce", () => replay, "replayed"],
    ["over the byte cap", () => request({ size: 1 }), "over-cap"],
    ["expired", () => request({ expires: NOW - 1 }), "expired"],
    [
      "expiring too far ahead",
      () => request({ expires: NOW + MAX_WRITE_TTL_MS + 1 }),
      "bad-expiry",
    ],
    ["a stale policy sequence", () => request({ seq: 2 }), "stale-policy"],
    ["an unknown newer policy", () => request({ seq: 4 }), "unknown-policy"],
    ["another supplier", () => request({ supplier: generateIdentity().id }), "wrong-target"],
    ["another owner", () => request({ owner: generateIdentity().id }), "wrong-target"],
    ["another folder", () => request({ folder: "b".repeat(52) }), "wrong-target"],
    ["signed by another key", () => request({}, generateWriteKey().secret), "bad-signature"],
    ["signed with the owner's key", () => request({}, owner.signSecret), "bad-signature"],
    ["a size changed after signing", () => ({ ...request(), size: 0 }), "bad-signature"],
    [
      "a shard changed after signing",
      () => ({ ...request(), shard: randomBytes(32) }),
      "bad-signature",
    ],
  ];
  for (const [name, make, reason] of cases) {
    await t.step(name, () => {
      refused(() => checkWrite(make(), policy, seen, usage, { supplier, now: NOW }), reason);
      assertEquals(used(), after);
    });
  }
  assertNotEquals(before, after);
  assert(wk.pub.length === 32);
});

Deno.test("rotating the write key revokes writers: old-key requests are refused", () => {
  const { wk, policy, request, seen, usage } = setup();
  const next = rotateWriteKey(owner, policy);
  assertEquals(next.policy.seq, policy.seq + 1);
  assertNotEquals(next.policy.writePub, wk.pub);
  // The revoked writer's request under the old sequence, and under the new one with its old key.
  refused(
    () => checkWrite(request(), next.policy, seen, usage, { supplier, now: NOW }),
    "stale-policy",
  );
  refused(
    () => checkWrite(request({ seq: 4 }), next.policy, seen, usage, { supplier, now: NOW }),
    "bad-signature",
  );
  checkWrite(request({ seq: 4 }, next.secret), next.policy, seen, usage, { supplier, now: NOW });
  // The byte cap counts per write key: the new key starts from zero.
  assertEquals(usage.used(next.policy.writePub), 100);
  assertEquals(usage.used(policy.writePub), 0);
});

Deno.test("the write secret reaches a writer through a write grant", async () => {
  const { wk } = setup();
  const writer = generateIdentity();
  const grant = await createGrant({
    purpose: "write",
    object: randomBytes(32),
    key: wk.secret,
    readers: [{ id: writer.id, agreePublic: writer.agreePublic }],
  });
  assertEquals(await openAsReader(grant, writer.id, writer.agreeSecret), wk.secret);
});

Deno.test("decodeWritePolicy() refuses forged and malformed policies", () => {
  const { policy } = setup();
  const eve = generateIdentity();
  const bytes = (p: Partial<WritePolicy>) => encode({ ...policy, ...p });
  refused(() => decodeWritePolicy(bytes({ byteCap: policy.byteCap * 10 })), "bad-signature");
  refused(() => decodeWritePolicy(bytes({ writePub: generateWriteKey().pub })), "bad-signature");
  refused(() => decodeWritePolicy(bytes({ ownerKey: eve.signPublic })), "bad-signature");
  const forged = createWritePolicy(eve, { folder, seq: 9, writePub: policy.writePub, byteCap: 1 });
  refused(
    () => decodeWritePolicy(encodeWritePolicy({ ...forged, owner: owner.id })),
    "bad-signature",
  );
  assertThrows(() => decodeWritePolicy(bytes({ v: 2 } as unknown as WritePolicy)), DecodeError);
  assertThrows(() => decodeWritePolicy(encode({ ...policy, extra: 1 })), DecodeError);
  assertThrows(() => decodeWritePolicy(new Uint8Array(600)), DecodeError);
  assertThrows(
    () => createWritePolicy(owner, { folder, seq: 0, writePub: policy.writePub, byteCap: 0 }),
    RangeError,
  );
  assertThrows(
    () => createWritePolicy(owner, { folder: "x", seq: 0, writePub: policy.writePub, byteCap: 1 }),
    SyntaxError,
  );
});

Deno.test("SeenNonces stays bounded: expired nonces are pruned, and when full it refuses", () => {
  const seen = new SeenNonces(2);
  seen.add(randomBytes(16), NOW + 10, NOW);
  seen.add(randomBytes(16), NOW + 20, NOW);
  refused(() => seen.add(randomBytes(16), NOW + 30, NOW), "busy");
  seen.add(randomBytes(16), NOW + 30, NOW + 15);
  assertEquals(seen.size, 2);
  // A request whose nonce was pruned is refused as expired, not accepted again.
  const { policy, request, usage } = setup();
  const small = new SeenNonces(1);
  const r = request({ expires: NOW + 5 });
  checkWrite(r, policy, small, usage, { supplier, now: NOW });
  small.prune(NOW + 6);
  assertEquals(small.size, 0);
  refused(() => checkWrite(r, policy, small, usage, { supplier, now: NOW + 6 }), "expired");
});

// ---- links ----

const cap: Capability = {
  v: 1,
  ref: randomBytes(40),
  key: randomBytes(32),
  expires: NOW + 7 * 864e5,
};

Deno.test("links round-trip and carry the key only in the fragment", () => {
  const link = formatLink(cap, "https://gw.example/");
  assert(link.startsWith("https://gw.example/l/#"));
  assertEquals(parseLink(link, { now: NOW }), cap);
  const url = new URL(link);
  assertEquals(url.pathname + url.search, "/l/");
  assertEquals(parseLink(url.hash), cap);
  assertEquals(decodeCapability(encodeCapability({ v: 1, ref: cap.ref, key: cap.key })), {
    v: 1,
    ref: cap.ref,
    key: cap.key,
  });
  assertEquals(formatLink(cap).slice(0, 4), "/l/#");
  assert(/^[A-Za-z0-9_-]+$/.test(encodeCapability(cap)));
});

Deno.test("parseLink() refuses expired links and malformed capabilities", async (t) => {
  refused(() => parseLink(formatLink(cap), { now: cap.expires! }), "expired");
  const frag = encodeCapability(cap);
  const raw = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const b64 = (v: unknown) => raw(encode(v));
  const cases: [string, string, ErrorConstructor | typeof DecodeError][] = [
    ["no fragment", "/l/", SyntaxError],
    ["another path", "/x/#" + frag, SyntaxError],
    ["an empty fragment", "/l/#", SyntaxError],
    ["padding", "#" + frag + "=", SyntaxError],
    ["a standard base64 character", "#+" + frag.slice(1), SyntaxError],
    ["a cut capability", "#" + raw(encode(cap).subarray(0, -3)), DecodeError],
    ["non-zero trailing bits", "#AB", SyntaxError],
    ["too long", "#" + "A".repeat(600), SyntaxError],
    ["version 2", "#" + b64({ ...cap, v: 2 }), DecodeError],
    ["a short key", "#" + b64({ ...cap, key: randomBytes(31) }), DecodeError],
    ["an empty ref", "#" + b64({ ...cap, ref: new Uint8Array(0) }), DecodeError],
    ["an oversized ref", "#" + b64({ ...cap, ref: randomBytes(257) }), DecodeError],
    ["an extra field", "#" + b64({ ...cap, path: "/secret" }), DecodeError],
    ["a non-canonical map", "#" + b64(new Map([["v", 1]])), DecodeError],
  ];
  for (const [name, link, cls] of cases) {
    await t.step(name, () => void assertThrows(() => parseLink(link), cls));
  }
  assertThrows(() => encodeCapability({ ...cap, key: randomBytes(16) }), RangeError);
  assertThrows(() => encodeCapability({ ...cap, ref: randomBytes(257) }), RangeError);
  assertThrows(() => encodeCapability({ ...cap, expires: -1 }), RangeError);
});
