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
 * This file has no dependencies (pages can check and merge edits without a CBOR library): the
 * encoding is in `edit_codec.ts`, signing and verification in `edit_record.ts`.
 * @module
 */
import { describe } from "../src/encoding/shape.ts";
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
/** Op names by their wire number. */
export const EDIT_OPS = ["height", "raise", "material", "place", "remove"] as const;

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
    if (!EDIT_OPS.includes(e?.op)) fail(`edit ${i}: unknown op ${describe(e?.op)}`);
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
  const op = EDIT_OPS.indexOf(e.op);
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

/** The bytes of an edit's canonical CBOR form (an array of integers), without encoding it. */
export function editWireBytes(e: Edit): number {
  return editToWire(e).reduce((n, v) => n + cborIntBytes(v), 1);
}

function cborIntBytes(v: number): number {
  const n = v < 0 ? -1 - v : v;
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

function isI32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX;
}
