/**
 * Canonical CBOR maps with a large last byte string kept apart: the two chunks are exactly
 * `encode()`'s bytes, and the string is found in a frame however it was cut into pieces.
 */
import { concat } from "../src/encoding/bytes.ts";
import { encode } from "../src/encoding/cbor.ts";
import { copyRange, encodeWithTail, findTail, tailHead } from "../src/encoding/cbor_tail.ts";
import { assertEquals, assertThrows } from "./_assert.ts";

const LENGTHS = [0, 1, 23, 24, 255, 256, 65535, 65536, (1 << 20) + 4];

/** Cuts `bytes` into pieces at `step`-byte intervals (the last piece shorter). */
function cut(bytes: Uint8Array, step: number): Uint8Array[] {
  const out = [];
  for (let i = 0; i < bytes.length; i += step) out.push(bytes.subarray(i, i + step));
  return out;
}

Deno.test("encodeWithTail() gives encode()'s bytes for every length of header", async (t) => {
  const fields = { v: 1, op: "put", auth: { id: "x", size: 3 }, sig: new Uint8Array(64).fill(7) };
  for (const n of LENGTHS) {
    await t.step(`${n} bytes`, () => {
      const data = new Uint8Array(n).map((_, i) => i & 255);
      const [head, tail] = encodeWithTail(fields, "data", data);
      assertEquals(tail === data, true);
      assertEquals(concat(head, tail), encode({ ...fields, data }));
    });
  }
});

Deno.test("tailHead() refuses a field that does not sort last", () => {
  // "data" and "auth" have one length; "auth" sorts first, so it cannot be the tail.
  assertThrows(() => tailHead({ v: 1, data: 1 }, "auth", 10), RangeError, "sorts after");
  assertThrows(() => tailHead({ longer: 1 }, "data", 10), RangeError, "sorts after");
});

Deno.test("findTail() finds the bytes however the frame was cut, and only in that map", async (t) => {
  for (const n of LENGTHS) {
    await t.step(`${n} bytes`, () => {
      const data = new Uint8Array(n).map((_, i) => (i * 7) & 255);
      const frame = encode({ v: 1, data });
      for (const step of [1, 5, 4096, frame.length]) {
        const chunks = cut(frame, step);
        const at = findTail(chunks, { v: 1 }, "data");
        assertEquals(at?.length, n);
        const out = new Uint8Array(n);
        copyRange(chunks, at!.offset, out);
        assertEquals(out, data);
      }
    });
  }
  await t.step("another map is not mistaken for it", () => {
    const data = new Uint8Array(100);
    assertEquals(findTail([encode({ v: 2, data })], { v: 1 }, "data"), null);
    assertEquals(findTail([encode({ v: 1, data, x: 1 })], { v: 1 }, "data"), null);
    assertEquals(findTail([encode({ v: 1, data: "text" })], { v: 1 }, "data"), null);
    assertEquals(findTail([new Uint8Array(0)], { v: 1 }, "data"), null);
  });
});

Deno.test("copyRange() refuses a range past the chunks' end", () => {
  assertThrows(
    () => copyRange([new Uint8Array(3), new Uint8Array(3)], 4, new Uint8Array(3)),
    RangeError,
    "end first",
  );
});
