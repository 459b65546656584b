// This module is browser compatible.
/**
 * The edit batch: what one editor publishes for one region of a world, and its canonical CBOR
 * form. A batch holds the editor's whole contribution to the region (it replaces the editor's
 * earlier batch there, as a newer record replaces an older one), so one record per (world, region,
 * editor) is all a visitor needs, with every editor offline.
 *
 * Value: `{ v: 1, world, region: [rx, rz], editor, seq, edits }`. `seq` is the editor's logical
 * counter (the record's sequence number too); every edit carries its own counter, at most `seq`,
 * in non-decreasing order. Coordinates are **region-local**: columns 0..side × 32 − 1 and object
 * positions in 1/8 column 0..side × 256 − 1, where side is the world record's `region` (in chunks).
 * Edits on the wire are arrays, `[op, seq, x, z, …]`:
 *
 * | op | edit       | fields after `x, z`                                           |
 * | -- | ---------- | ------------------------------------------------------------- |
 * | 0  | `height`   | `h`: set the column's height, 0..4095 (1/16 m)                |
 * | 1  | `raise`    | `d`: raise (or lower, d < 0) it by 1..{@linkcode MAX_RAISE}   |
 * | 2  | `material` | `m`: set its surface material                                 |
 * | 3  | `place`    | `kind, rotation, scale`: add an object (x, z in 1/8 column)   |
 * | 4  | `remove`   | `kind, rotation, scale`: remove exactly that object, if there |
 *
 * This file has no cryptography: signing and verification are in `edit_record.ts`.
 * @module
 */
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { describe, readMap, readString, readUint } from "../src/encoding/shape.ts";
import { MATERIAL_COUNT } from "./biomes.ts";
import { CHUNK_SIZE, MAX_HEIGHT, OBJECT_STEPS_PER_COLUMN } from "./chunk.ts";
import { OBJECT_KIND_COUNT } from "./objects.ts";

/** Most edits one batch holds. */
export const MAX_EDITS = 4096;
/**
 * The largest batch value, in bytes: with the record's other fields (about 260 bytes) it stays
 * under the 64 KiB every record is limited to.
 */
export const MAX_EDIT_BATCH_BYTES = 60 * 1024;
/** The largest step of one `raise` edit, in 1/16 m (16 m). */
export const MAX_RAISE = 256;

/** The largest region side (`MAX_REGION` of `record.ts`, which this file does not import, to stay
 * free of cryptography). */
const MAX_REGION = 1024;
const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;
const NODE_ID_RE = /^[a-z2-7]{52}$/;
const OPS = ["height", "raise", "material", "place", "remove"] as const;

/** Column edits: `x`, `z` are region-local columns. */
export type ColumnEdit =
  | {
    readonly op: "height";
    readonly seq: number;
    readonly x: number;
    readonly z: number;
    readonly h: number;
  }
  | {
    readonly op: "raise";
    readonly seq: number;
    readonly x: number;
    readonly z: number;
    readonly d: number;
  }
  | {
    readonly op: "material";
    readonly seq: number;
    readonly x: number;
    readonly z: number;
    readonly m: number;
  };

/** Object edits: `x`, `z` are region-local positions in 1/8 column; the rest as in chunk objects. */
export interface ObjectEdit {
  readonly op: "place" | "remove";
  readonly seq: number;
  readonly x: number;
  readonly z: number;
  readonly kind: number;
  readonly rotation: number;
  readonly scale: number;
}

/** One edit, with its own logical counter `seq`. */
export type Edit = ColumnEdit | ObjectEdit;

/** A decoded edit batch. */
export interface EditBatch {
  readonly v: 1;
  /** The world's address. */
  readonly world: string;
  /** Region indices `[rx, rz]` (i32): chunk x is in region `floor(x / side)`. */
  readonly region: readonly [number, number];
  /** The editor's node id (the record's signer). */
  readonly editor: string;
  /** The editor's logical counter: at least every edit's `seq`. */
  readonly seq: number;
  readonly edits: readonly Edit[];
}

/**
 * Checks a batch's form and ranges; with `side` (the world's region side in chunks) also that
 * every edit lies inside the region. Throws a RangeError naming the first bad field or edit.
 */
export function assertEditBatch(b: EditBatch, side = MAX_REGION): void {
  const fail = (msg: string): never => {
    throw new RangeError(`Invalid edit batch: ${msg}`);
  };
  if (b.v !== 1) fail(`unsupported version ${String(b.v)}`);
  if (typeof b.world !== "string" || !NODE_ID_RE.test(b.world)) {
    fail(`"world" must be a world address (52 base32 characters), got ${describe(b.world)}`);
  }
  if (!Array.isArray(b.region) || b.region.length !== 2 || !b.region.every(isI32)) {
    fail(`"region" must be two signed 32-bit integers, got ${describe(b.region)}`);
  }
  if (typeof b.editor !== "string" || !NODE_ID_RE.test(b.editor)) {
    fail(`"editor" must be a node id, got ${describe(b.editor)}`);
  }
  if (!Number.isSafeInteger(b.seq) || b.seq < 0) fail(`"seq" must be a u53, got ${b.seq}`);
  if (!Array.isArray(b.edits) || b.edits.length > MAX_EDITS) {
    fail(`"edits" must be a list of at most ${MAX_EDITS}, got ${describe(b.edits)}`);
  }
  const columns = side * CHUNK_SIZE, steps = columns * OBJECT_STEPS_PER_COLUMN;
  let last = 0;
  b.edits.forEach((e, i) => {
    const at = `edit ${i} (${e?.op})`;
    if (!OPS.includes(e?.op)) fail(`edit ${i}: unknown op ${describe(e?.op)}`);
    if (!Number.isSafeInteger(e.seq) || e.seq < last || e.seq > b.seq) {
      fail(`${at}: seq ${e.seq} must be from ${last} (the edit before) to ${b.seq} (the batch's)`);
    }
    last = e.seq;
    const limit = e.op === "place" || e.op === "remove" ? steps : columns;
    for (const k of ["x", "z"] as const) {
      if (!Number.isInteger(e[k]) || e[k] < 0 || e[k] >= limit) {
        fail(
          `${at}: ${k} ${e[k]} is outside the region (0..${limit - 1}` +
            (limit === steps ? " in 1/8 column" : " columns") + `, a region of ${side} chunks)`,
        );
      }
    }
    switch (e.op) {
      case "height":
        if (!Number.isInteger(e.h) || e.h < 0 || e.h > MAX_HEIGHT) {
          fail(`${at}: height ${e.h} is not 0..${MAX_HEIGHT}`);
        }
        break;
      case "raise":
        if (!Number.isInteger(e.d) || e.d === 0 || Math.abs(e.d) > MAX_RAISE) {
          fail(`${at}: delta ${e.d} is not a non-zero integer within ±${MAX_RAISE}`);
        }
        break;
      case "material":
        if (!Number.isInteger(e.m) || e.m < 0 || e.m >= MATERIAL_COUNT) {
          fail(`${at}: material ${e.m} is not below ${MATERIAL_COUNT}`);
        }
        break;
      default:
        if (!Number.isInteger(e.kind) || e.kind < 0 || e.kind >= OBJECT_KIND_COUNT) {
          fail(`${at}: kind ${e.kind} is not below ${OBJECT_KIND_COUNT}`);
        }
        for (const k of ["rotation", "scale"] as const) {
          if (!Number.isInteger(e[k]) || e[k] < 0 || e[k] > 255) {
            fail(`${at}: ${k} must be a byte, got ${e[k]}`);
          }
        }
    }
  });
}

/** The wire form of one edit (an array). */
export function editToWire(e: Edit): number[] {
  const op = OPS.indexOf(e.op);
  switch (e.op) {
    case "height":
      return [op, e.seq, e.x, e.z, e.h];
    case "raise":
      return [op, e.seq, e.x, e.z, e.d];
    case "material":
      return [op, e.seq, e.x, e.z, e.m];
    default:
      return [op, e.seq, e.x, e.z, e.kind, e.rotation, e.scale];
  }
}

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
    const op = Array.isArray(w) ? OPS[w[0] as number] : undefined;
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
