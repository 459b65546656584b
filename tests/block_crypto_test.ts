import {
  BLOCK_TAG_BYTES,
  BlockAuthError,
  blockCount,
  DATA_KEY_BYTES,
  decryptBlock,
  DEFAULT_BLOCK_SIZE,
  encryptBlock,
  generateDataKey,
  importDataKey,
} from "../src/crypto/mod.ts";
import { concat, fromHex, toHex, utf8 } from "../src/encoding/bytes.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./_assert.ts";

const FIXED_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

// Computed once with this module and checked against @noble/ciphers' AES-256-GCM with the nonce
// and AAD built by hand; committed so the block format cannot drift.
const VECTORS = [
  {
    index: 1,
    count: 3,
    plaintext: "Mote block vector: fixed key, block 1 of 3.",
    ciphertext: "58b9cb9964965c716d45714f89c54e9867a53c320dca31e0536b66a00a10113255f50cd1190ceb5a" +
      "79eced53183db407f362bf8c0adbc096714c18",
  },
  { index: 2, count: 3, plaintext: "last", ciphertext: "a5105d09bb9aab09a46be2f3f709c2a5044b58b4" },
  { index: 0, count: 1, plaintext: "", ciphertext: "3a38a9e342757c2b3a9efd24679f90a5" },
];

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/** The nonce and AAD exactly as documented, built independently of the module. */
function documentedParams(index: number, count: number, last = index === count - 1) {
  return {
    name: "AES-GCM",
    iv: concat(new Uint8Array(4), u64(index)) as Uint8Array<ArrayBuffer>,
    additionalData: concat(
      utf8("mote/block/v1"),
      u64(index),
      u64(count),
      new Uint8Array([last ? 1 : 0]),
    ) as Uint8Array<
      ArrayBuffer
    >,
  };
}

async function rawKey(raw: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

async function encryptAll(key: CryptoKey, blocks: Uint8Array[]): Promise<Uint8Array[]> {
  return await Promise.all(blocks.map((b, i) => encryptBlock(key, i, blocks.length, b)));
}

Deno.test("generateDataKey() returns 32 fresh random bytes", () => {
  const a = generateDataKey(), b = generateDataKey();
  assertEquals(a.length, DATA_KEY_BYTES);
  assertNotEquals(a, b);
});

Deno.test("encryptBlock() matches the pinned vectors", async (t) => {
  const key = await importDataKey(FIXED_KEY);
  for (const v of VECTORS) {
    await t.step(`block ${v.index} of ${v.count}`, async () => {
      const ct = await encryptBlock(key, v.index, v.count, utf8(v.plaintext));
      assertEquals(toHex(ct), v.ciphertext);
      assertEquals(ct.length, utf8(v.plaintext).length + BLOCK_TAG_BYTES);
      assertEquals(
        await decryptBlock(key, v.index, v.count, fromHex(v.ciphertext)),
        utf8(v.plaintext),
      );
    });
  }
});

Deno.test("encryptBlock() uses the documented nonce and associated data", async () => {
  const key = await importDataKey(FIXED_KEY);
  const raw = await rawKey(FIXED_KEY);
  const pt = utf8("checking the format against its description");
  for (const [index, count] of [[0, 1], [0, 2], [1, 2], [7, 1000], [2 ** 53 - 2, 2 ** 53 - 1]]) {
    const ct = await encryptBlock(key, index!, count!, pt);
    const expected = new Uint8Array(
      await crypto.subtle.encrypt(
        documentedParams(index!, count!),
        raw,
        pt as Uint8Array<ArrayBuffer>,
      ),
    );
    assertEquals(ct, expected, `block ${index} of ${count}`);
  }
});

Deno.test("decryptBlock() round-trips every block of a file, including an empty file", async () => {
  const key = await importDataKey(generateDataKey());
  const blocks = [
    new Uint8Array(1000).fill(1),
    new Uint8Array(1000).fill(2),
    new Uint8Array(17).fill(3),
  ];
  const cts = await encryptAll(key, blocks);
  for (let i = 0; i < blocks.length; i++) {
    assertEquals(await decryptBlock(key, i, blocks.length, cts[i]!), blocks[i]);
  }
  const empty = await encryptBlock(key, 0, 1, new Uint8Array(0));
  assertEquals(empty.length, BLOCK_TAG_BYTES);
  assertEquals(await decryptBlock(key, 0, 1, empty), new Uint8Array(0));
});

Deno.test("decryptBlock() refuses reordered, dropped, truncated, re-counted and altered blocks", async (t) => {
  const key = await importDataKey(generateDataKey());
  const blocks = [utf8("block zero......"), utf8("block one......."), utf8("block two.......")];
  const cts = await encryptAll(key, blocks);
  const fails = async (index: number, count: number, ct: Uint8Array) => {
    const e = await assertRejects(() => decryptBlock(key, index, count, ct), BlockAuthError);
    assertEquals(e.name, "BlockAuthError");
    assertEquals((e as BlockAuthError).index, index);
    assert(e.message.includes(`Block ${index} of ${count}`), e.message);
  };

  await t.step("two blocks swapped", async () => {
    await fails(0, 3, cts[1]!);
    await fails(1, 3, cts[0]!);
  });
  await t.step("the count changed (a block appended or dropped)", async () => {
    await fails(0, 4, cts[0]!);
    await fails(1, 2, cts[1]!);
  });
  await t.step("the file cut short: the new last block was not the last", async () => {
    await fails(1, 2, cts[1]!);
  });
  await t.step("the last-block flag flipped with index and count unchanged", async () => {
    const raw = await rawKey(FIXED_KEY);
    const fixed = await importDataKey(FIXED_KEY);
    for (const [index, count, last] of [[2, 3, false], [1, 3, true]] as const) {
      const forged = new Uint8Array(
        await crypto.subtle.encrypt(
          documentedParams(index, count, last),
          raw,
          utf8("x") as Uint8Array<ArrayBuffer>,
        ),
      );
      await assertRejects(() => decryptBlock(fixed, index, count, forged), BlockAuthError);
    }
  });
  await t.step("ciphertext truncated", async () => {
    const ct = cts[2]!;
    for (const n of [ct.length - 1, BLOCK_TAG_BYTES, BLOCK_TAG_BYTES - 1, 0]) {
      await fails(2, 3, ct.subarray(0, n));
    }
  });
  await t.step("any single bit flipped", async () => {
    const ct = cts[2]!;
    for (let bit = 0; bit < ct.length * 8; bit++) {
      const bad = ct.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      await fails(2, 3, bad);
    }
  });
  await t.step("another data key", async () => {
    const other = await importDataKey(generateDataKey());
    await assertRejects(() => decryptBlock(other, 0, 3, cts[0]!), BlockAuthError);
  });
});

Deno.test("encryptBlock() and decryptBlock() check their arguments", async (t) => {
  const key = await importDataKey(generateDataKey());
  const pt = new Uint8Array(4);
  const bad: [string, number, number][] = [
    ["index equal to count", 3, 3],
    ["index above count", 5, 3],
    ["negative index", -1, 3],
    ["fractional index", 0.5, 3],
    ["NaN index", NaN, 3],
    ["zero count", 0, 0],
    ["fractional count", 0, 1.5],
    ["count beyond safe integers", 0, 2 ** 53],
  ];
  for (const [name, index, count] of bad) {
    await t.step(name, async () => {
      await assertRejects(() => encryptBlock(key, index, count, pt), RangeError);
      await assertRejects(() => decryptBlock(key, index, count, new Uint8Array(32)), RangeError);
    });
  }
  await t.step("an AES-128 key", async () => {
    const short = await rawKey(new Uint8Array(16));
    await assertRejects(() => encryptBlock(short, 0, 1, pt), TypeError, "256 bits");
  });
  await t.step("plaintext that is not bytes", async () => {
    await assertRejects(
      () => encryptBlock(key, 0, 1, "text" as unknown as Uint8Array),
      TypeError,
    );
  });
});

Deno.test("importDataKey() accepts exactly 32 bytes", async () => {
  await assertRejects(() => importDataKey(new Uint8Array(16)), RangeError, "32 bytes");
  await assertRejects(() => importDataKey(new Uint8Array(33)), RangeError, "got 33");
  await assertRejects(() => importDataKey([1, 2] as unknown as Uint8Array), TypeError);
  const key = await importDataKey(FIXED_KEY);
  assertEquals(key.extractable, false);
});

Deno.test("blockCount() counts an empty file as one block", async (t) => {
  const cases: [number, number, number][] = [
    [0, DEFAULT_BLOCK_SIZE, 1],
    [1, DEFAULT_BLOCK_SIZE, 1],
    [DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_SIZE, 1],
    [DEFAULT_BLOCK_SIZE + 1, DEFAULT_BLOCK_SIZE, 2],
    [10, 3, 4],
    [9, 3, 3],
  ];
  for (const [size, blockSize, want] of cases) {
    await t.step(`${size} bytes in blocks of ${blockSize}`, () => {
      assertEquals(blockCount(size, blockSize), want);
    });
  }
  assertEquals(blockCount(5 * DEFAULT_BLOCK_SIZE), 5);
  assertThrows(() => blockCount(-1), RangeError);
  assertThrows(() => blockCount(1.5), RangeError);
  assertThrows(() => blockCount(10, 0), RangeError);
});
