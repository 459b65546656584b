// This module is browser compatible.
/**
 * The canonical CBOR form of edit batches (the layout is in `edit_batch.ts`): encoding checks the
 * batch and its size, decoding is strict (canonical bytes, exactly these fields, every edit
 * checked) and says what was wrong.
 * @module
 */
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { describe, readMap, readString, readUint } from "../src/encoding/shape.ts";
import {
  assertEditBatch,
  type Edit,
  EDIT_OPS,
  type EditBatch,
  editToWire,
  MAX_EDIT_BATCH_BYTES,
  MAX_EDITS,
} from "./edit_batch.ts";

const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;

/** Encodes a batch value (checked first); throws a RangeError past the limits. */
export function encodeEditBatch(b: EditBatch): Uint8Array {
  assertEditBatch(b);
  const bytes = encode({
    v: 1,
    world: b.world,
    region: [b.region[0], b.region[1]],
    editor: b.editor,
    seq: b.seq,
    edits: b.edits.map(editToWire),
  });
  if (bytes.length > MAX_EDIT_BATCH_BYTES) {
    throw new RangeError(
      `An edit batch is ${bytes.length} bytes, over the limit of ${MAX_EDIT_BATCH_BYTES}`,
    );
  }
  return bytes;
}

/** Decodes and checks a batch value; throws a DecodeError saying what was wrong. */
export function decodeEditBatch(bytes: Uint8Array): EditBatch {
  const what = "edit batch";
  if (bytes.length > MAX_EDIT_BATCH_BYTES) {
    throw new DecodeError(`Invalid ${what}: ${bytes.length} bytes, limit ${MAX_EDIT_BATCH_BYTES}`);
  }
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_EDIT_BATCH_BYTES }),
    what,
    ["v", "world", "region", "editor", "seq", "edits"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${describe(m.v)}`);
  const region = m.region;
  if (!Array.isArray(region) || region.length !== 2 || !region.every(isI32)) {
    throw new DecodeError(
      `Invalid ${what}: "region" must be two signed 32-bit integers, got ${describe(region)}`,
    );
  }
  if (!Array.isArray(m.edits) || m.edits.length > MAX_EDITS) {
    throw new DecodeError(
      `Invalid ${what}: "edits" must be an array of at most ${MAX_EDITS}, got ${describe(m.edits)}`,
    );
  }
  const edits = m.edits.map((w: unknown, i: number): Edit => {
    const op = Array.isArray(w) ? EDIT_OPS[w[0] as number] : undefined;
    const len = op === "place" || op === "remove" ? 7 : 5;
    if (!Array.isArray(w) || op === undefined || w.length !== len || !w.every(isSafeInt)) {
      throw new DecodeError(
        `Invalid ${what}: edit ${i} must be [op 0..4, seq, x, z, …] of integers, got ${
          describe(w)
        }`,
      );
    }
    const [, seq, x, z, a, b, c] = w as number[];
    if (op === "height") return { op, seq: seq!, x: x!, z: z!, h: a! };
    if (op === "raise") return { op, seq: seq!, x: x!, z: z!, d: a! };
    if (op === "material") return { op, seq: seq!, x: x!, z: z!, m: a! };
    return { op, seq: seq!, x: x!, z: z!, kind: a!, rotation: b!, scale: c! };
  });
  const batch: EditBatch = {
    v: 1,
    world: readString(m, "world", what, 52),
    region: [region[0]!, region[1]!],
    editor: readString(m, "editor", what, 52),
    seq: readUint(m, "seq", what),
    edits,
  };
  try {
    assertEditBatch(batch);
  } catch (e) {
    throw new DecodeError((e as Error).message);
  }
  return batch;
}

function isI32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX;
}

function isSafeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}
