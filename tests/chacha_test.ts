/**
 * The ChaCha20-Poly1305 kernel (src/net/chacha): RFC 8439's vectors, agreement with node:crypto
 * on random inputs, rejection of altered messages, the committed build, and noise running over
 * it between two real libp2p nodes, one on the kernel and one on node:crypto.
 */
import crypto from "node:crypto";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { defaultCrypto } from "@chainsafe/libp2p-noise/crypto";
import { IDENTITY_NAMESPACE } from "../src/identity/mod.ts";
import { buildKernel, renderKernelModule } from "../src/net/chacha/build_wasm.ts";
import { KERNEL } from "../src/net/chacha/_kernel_wasm.ts";
import { chachaKernel, open, seal, tryKernel } from "../src/net/chacha/detect.ts";
import {
  DEFAULT_NOISE_CIPHER,
  effectiveNoiseCipher,
  NOISE_CIPHER_ENV,
  noiseCipherFromEnv,
  noiseCrypto,
} from "../src/net/chacha/noise.ts";
import { createP2P, DhtRecordStore, type P2P, RateLimiter, Rpc } from "../src/net/mod.ts";
import { createRecordValidator, namespaces, SeqMemory } from "../src/records/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import rfc from "./vectors/chacha20poly1305_rfc8439.json" with { type: "json" };
import hpke from "./vectors/hpke_rfc9180.json" with { type: "json" };

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** node:crypto's ChaCha20-Poly1305, the reference for the property tests. */
function nodeSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, text: Uint8Array) {
  const c = crypto.createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: text.length });
  const body = Buffer.concat([c.update(text), c.final()]);
  return new Uint8Array(Buffer.concat([body, c.getAuthTag()]));
}

/** A stand-in for noise's Uint8ArrayList: the same bytes in random pieces. */
function inPieces(bytes: Uint8Array, rand: () => number) {
  const bufs: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = Math.min(bytes.length - i, 1 + Math.floor(rand() * (rand() < 0.5 ? 300 : 70_000)));
    bufs.push(bytes.subarray(i, i + n));
    i += n;
  }
  return { byteLength: bytes.length, [Symbol.iterator]: () => bufs[Symbol.iterator]() };
}

/** A seeded generator (mulberry32), so a failing case can be run again. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A raw kernel instance, for the ChaCha20 and Poly1305 vectors on their own. */
function rawKernel() {
  const bytes = Uint8Array.from(atob(KERNEL), (c) => c.charCodeAt(0));
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    xor(p: number, len: number): void;
    begin(): void;
  };
  return { e, mem: new Uint8Array(e.memory.buffer) };
}
const WINDOW = 65536;

Deno.test("the kernel runs here (Deno has WebAssembly SIMD)", () => {
  const k = chachaKernel();
  assert(typeof k !== "string", `the kernel is unavailable: ${k}`);
  assertEquals(effectiveNoiseCipher("wasm"), "wasm");
});

Deno.test("the kernel reproduces RFC 8439's test vectors", async (t) => {
  for (const v of rfc.chacha20) {
    await t.step(`ChaCha20, section ${v.section}`, () => {
      const { e, mem } = rawKernel();
      mem.set(hex(v.key), 16);
      new DataView(e.memory.buffer).setUint32(48, v.counter, true);
      mem.set(hex(v.nonce), 52);
      const text = hex(v.plaintext);
      mem.set(text, WINDOW);
      e.xor(WINDOW, text.length);
      assertEquals(toHex(mem.subarray(WINDOW, WINDOW + text.length)), v.ciphertext);
    });
  }
  for (const v of rfc.poly1305_key_gen) {
    await t.step(`Poly1305 key generation, section ${v.section}`, () => {
      const { e, mem } = rawKernel();
      mem.set(hex(v.key), 16);
      mem.set(hex(v.nonce), 52);
      e.begin();
      // begin() keeps r clamped in 26-bit limbs and s as is (and wipes the key it came from).
      const key = hex(v.one_time_key);
      const le32 = (at: number) => new DataView(key.buffer).getUint32(at, true);
      const r = [
        le32(0) & 0x3ffffff,
        (le32(3) >>> 2) & 0x3ffff03,
        (le32(6) >>> 4) & 0x3ffc0ff,
        (le32(9) >>> 6) & 0x3f03fff,
        (le32(12) >>> 8) & 0x00fffff,
      ];
      const view = new DataView(e.memory.buffer);
      assertEquals(r.map((_, i) => Number(view.getBigUint64(64 + 8 * i, true))), r);
      assertEquals(toHex(mem.subarray(144, 160)), v.one_time_key.slice(32));
      assertEquals(view.getUint32(48, true), 1, "the text starts at counter 1");
    });
  }
  for (const v of rfc.aead) {
    await t.step(`the AEAD, section ${v.section}`, () => {
      const [key, nonce, ad] = [hex(v.key), hex(v.nonce), hex(v.aad)];
      const sealed = seal(key, nonce, ad, hex(v.plaintext));
      assertEquals(toHex(sealed), v.ciphertext + v.tag);
      assertEquals(toHex(open(key, nonce, ad, sealed)), v.plaintext);
    });
  }
  // RFC 9180's ChaCha20Poly1305 suite gives more AEAD vectors: a key, and one nonce per message.
  const suite = hpke.vectors.find((v) => v.section === "A.2.1")!;
  await t.step(`RFC 9180 ${suite.section}: ${suite.encryptions.length} encryptions`, () => {
    for (const m of suite.encryptions) {
      const sealed = seal(hex(suite.key), hex(m.nonce), hex(m.aad), hex(m.pt));
      assertEquals(toHex(sealed), m.ct, `message ${m.seq}`);
    }
  });
});

Deno.test("seal() and open() agree with node:crypto for random sizes up to 200 KiB", () => {
  const rand = rng(8439);
  // The edges of a block, a 256-byte step and the 64 KiB window, then random sizes.
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 65_519, 65_535, 65_536, 65_537];
  for (let i = 0; i < 40; i++) sizes.push(Math.floor(rand() * 200 * 1024));
  for (const [i, n] of sizes.entries()) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const ad = crypto.getRandomValues(new Uint8Array(i % 3 === 0 ? 0 : Math.floor(rand() * 100)));
    const text = new Uint8Array(n);
    for (let j = 0; j < n; j += 65_536) crypto.getRandomValues(text.subarray(j, j + 65_536));
    const want = nodeSeal(key, nonce, ad, text);
    const got = seal(key, nonce, ad, i % 2 ? inPieces(text, rand) : text);
    assert(toHex(got) === toHex(want), `seal of ${n} bytes (ad ${ad.length}) differs`);
    // Opened whole, in pieces, and in place over the ciphertext's own bytes as noise does it.
    assertEquals(open(key, nonce, ad, want), text);
    assertEquals(open(key, nonce, ad, inPieces(want, rand)), text);
    const copy = want.slice();
    const back = open(key, nonce, ad, copy, copy.subarray(0, n));
    assertEquals(back, text);
    assertEquals(back.buffer, copy.buffer);
  }
});

Deno.test("open() rejects an altered tag, ciphertext, AD, nonce or key and writes nothing", async (t) => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ad = crypto.getRandomValues(new Uint8Array(12));
  for (const n of [0, 100, 65_519, 100_000]) {
    const text = crypto.getRandomValues(new Uint8Array(Math.min(n, 65_536)));
    const full = n > 65_536 ? concat(text, new Uint8Array(n - 65_536)) : text;
    const sealed = seal(key, nonce, ad, full);
    const flip = (at: number) => {
      const s = sealed.slice();
      s[at]! ^= 1;
      return s;
    };
    const cases: [string, () => Uint8Array][] = [
      ["a bit of the tag", () => open(key, nonce, ad, flip(n + 15))],
      ["the last AD byte", () => open(key, nonce, ad.map((b, i) => i === 11 ? b ^ 1 : b), sealed)],
      ["the nonce", () => open(key, nonce.map((b, i) => i === 0 ? b ^ 1 : b), ad, sealed)],
      ["the key", () => open(key.map((b, i) => i === 31 ? b ^ 0x80 : b), nonce, ad, sealed)],
      ["one more AD byte", () => open(key, nonce, concat(ad, new Uint8Array(1)), sealed)],
    ];
    if (n > 0) {
      cases.push(["the first ciphertext byte", () => open(key, nonce, ad, flip(0))]);
      cases.push(["the last ciphertext byte", () => open(key, nonce, ad, flip(n - 1))]);
    }
    for (const [what, attempt] of cases) {
      await t.step(`${n} bytes: ${what}`, () => {
        assertThrows(attempt, Error, "tag does not match");
      });
    }
    await t.step(`${n} bytes: a failed open leaves its destination untouched`, () => {
      const bad = flip(n + 3);
      const dst = new Uint8Array(n).fill(7);
      assertThrows(() => open(key, nonce, ad, bad, dst), Error, "tag does not match");
      assert(dst.every((b) => b === 7), "the destination was written");
    });
  }
});

Deno.test("seal() and open() check their inputs", () => {
  const k = new Uint8Array(32), n = new Uint8Array(12), none = new Uint8Array(0);
  assertThrows(
    () => seal(new Uint8Array(31), n, none, none),
    TypeError,
    "key must be 32 bytes, got 31",
  );
  assertThrows(
    () => seal(k, new Uint8Array(8), none, none),
    TypeError,
    "nonce must be 12 bytes, got 8",
  );
  assertThrows(() => open(k, n, none, new Uint8Array(15)), RangeError, "15 bytes is shorter");
  const sealed = seal(k, n, none, new Uint8Array(10));
  assertThrows(() => open(k, n, none, sealed, new Uint8Array(9)), RangeError, "destination of 9");
});

Deno.test("the committed kernel is byte for byte what build_wasm.ts builds from kernel.wat", async () => {
  const committed = await Deno.readTextFile(
    new URL("../src/net/chacha/_kernel_wasm.ts", import.meta.url),
  );
  assertEquals(renderKernelModule(await buildKernel()), committed);
});

Deno.test("a kernel that does not compile is reported, not thrown", () => {
  const reason = tryKernel(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]));
  assert(typeof reason === "string" && reason.includes("does not compile"), String(reason));
});

Deno.test("a runtime without WebAssembly (deno --v8-flags=--jitless) is told why", async () => {
  const code = 'import { chachaKernel } from "./src/net/chacha/detect.ts";' +
    "console.log(chachaKernel());";
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--jitless", code],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  assertEquals(new TextDecoder().decode(r.stdout).trim(), "WebAssembly is not available");
});

Deno.test("noise keeps node:crypto where the kernel cannot run, or when asked to", () => {
  assertEquals(noiseCrypto("wasm", () => "WebAssembly SIMD is not supported"), defaultCrypto);
  assertEquals(noiseCrypto("node"), defaultCrypto);
  assertEquals(effectiveNoiseCipher("node"), "node");
});

Deno.test("noise's crypto: the kernel's frames open with node:crypto and back", () => {
  const wasm = noiseCrypto("wasm");
  assert(wasm.chaCha20Poly1305Encrypt !== defaultCrypto.chaCha20Poly1305Encrypt);
  const bytes = (b: { subarray(): Uint8Array }) => new Uint8Array(b.subarray());
  const rand = rng(17);
  const k = crypto.getRandomValues(new Uint8Array(32));
  const nonce = new Uint8Array(12);
  for (const n of [0, 32, 1199, 1200, 65_519]) {
    const text = crypto.getRandomValues(new Uint8Array(n));
    const ad = n % 2 ? crypto.getRandomValues(new Uint8Array(32)) : new Uint8Array(0);
    // noise hands over a frame in pieces (a Uint8ArrayList) when it was written in pieces.
    const a = bytes(wasm.chaCha20Poly1305Encrypt(inPieces(text, rand) as never, nonce, ad, k));
    assertEquals(bytes(defaultCrypto.chaCha20Poly1305Decrypt(a, nonce, ad, k)), text);
    const b = bytes(defaultCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
    assertEquals(bytes(wasm.chaCha20Poly1305Decrypt(b, nonce, ad, k)), text);
  }
});

Deno.test("MOTE_NOISE_CIPHER chooses noise's cipher and rejects other values", () => {
  const before = Deno.env.get(NOISE_CIPHER_ENV);
  try {
    Deno.env.delete(NOISE_CIPHER_ENV);
    assertEquals(noiseCipherFromEnv(), DEFAULT_NOISE_CIPHER);
    Deno.env.set(NOISE_CIPHER_ENV, "wasm");
    assertEquals(noiseCipherFromEnv(), "wasm");
    Deno.env.set(NOISE_CIPHER_ENV, "node");
    assertEquals(noiseCipherFromEnv(), "node");
    Deno.env.set(NOISE_CIPHER_ENV, "aes");
    assertThrows(() => noiseCipherFromEnv(), TypeError, 'must be wasm or node, got "aes"');
  } finally {
    if (before === undefined) Deno.env.delete(NOISE_CIPHER_ENV);
    else Deno.env.set(NOISE_CIPHER_ENV, before);
  }
});

Deno.test({
  name: "a node on the kernel and a node on node:crypto exchange 300 KiB both ways over noise",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const start = async (noiseCipher: "wasm" | "node") => {
      const p2p = await createP2P({
        privateKey: await generateKeyPair("Ed25519"),
        host: "127.0.0.1",
        tcpPort: 0,
        wsPort: -1,
        validator: createRecordValidator({
          namespaces: namespaces(IDENTITY_NAMESPACE),
          memory: new SeqMemory(),
        }),
        datastore: new DhtRecordStore({ lifetime: 3600_000, maxRecords: 100, maxPerSigner: 10 }),
        loopback: true,
        noiseCipher,
      });
      await p2p.start();
      return { p2p, rpc: new Rpc(p2p, new RateLimiter(100)) };
    };
    const nodes: P2P[] = [];
    try {
      const a = await start("wasm");
      nodes.push(a.p2p);
      const b = await start("node");
      nodes.push(b.p2p);
      const limits = { maxRequest: 1 << 20, maxResponse: 1 << 20, timeout: 10_000 };
      const echo = (req: Uint8Array) => Promise.resolve(req.map((x) => x ^ 0xff));
      await a.rpc.handle("/mote/test-chacha/1.0.0", echo, limits);
      await b.rpc.handle("/mote/test-chacha/1.0.0", echo, limits);
      await b.p2p.dial(a.p2p.getMultiaddrs()[0]!);
      const body = crypto.getRandomValues(new Uint8Array(300 * 1024).subarray(0, 65_536));
      const big = new Uint8Array(300 * 1024);
      for (let i = 0; i < big.length; i += body.length) {
        big.set(body.subarray(0, big.length - i), i);
      }
      const want = big.map((x) => x ^ 0xff);
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const res = await from.rpc.request(to.p2p.peerId, "/mote/test-chacha/1.0.0", big, limits);
        assertEquals(res, want);
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  },
});
