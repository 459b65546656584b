// This module is browser compatible.
/**
 * Region checkpoints: what a world's owner signs when a grant ends, so that an editor whose grant
 * is over cannot publish (or backdate) anything more. A checkpoint is the value of an owner-signed
 * record in the namespace **`wcheck`**, named by the region like edit batches (so its key is
 * H(world, region, owner) in its own namespace); a newer one replaces the older.
 *
 * Value: `{ v: 1, world, region: [rx, rz], accepted: [[editor, seq, hash]], maxSeq }`: for each
 * editor (ascending, each once) the batch accepted, by its sequence number and the SHA-256 of its
 * encoded record; `maxSeq` is at least every listed `seq` (the highest counter in the region when
 * it was made). See `verifyEditBatch` for the rules it enforces.
 * @module
 */
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { describe, readMap, readString, readUint } from "../src/encoding/shape.ts";
import { nodeIdOf } from "../src/identity/node_id.ts";
import { RecordError } from "../src/records/errors.ts";
import { type Namespace, namespaces } from "../src/records/namespace.ts";
import {
  createRecord,
  decodeRecord,
  encodeRecord,
  type RecordKey,
  recordKeyOf,
  type SignedRecord,
} from "../src/records/record.ts";
import {
  assertRegionName,
  EditRefusedError,
  type EditWorld,
  regionRecordName,
  type SigningKeys,
} from "./edit_record.ts";

/** Most editors one checkpoint lists (about 95 bytes each). */
export const MAX_CHECKPOINT_ENTRIES = 512;
/** The largest checkpoint value, in bytes. */
export const MAX_CHECKPOINT_BYTES = 60 * 1024;

const NODE_ID_RE = /^[a-z2-7]{52}$/;

/** One accepted batch. */
export interface AcceptedBatch {
  readonly editor: string;
  readonly seq: number;
  /** SHA-256 of the encoded batch record (32 bytes). */
  readonly hash: Uint8Array;
}

/** A decoded checkpoint value. */
export interface RegionCheckpoint {
  readonly v: 1;
  readonly world: string;
  readonly region: readonly [number, number];
  /** In ascending editor order, each editor once. */
  readonly accepted: readonly AcceptedBatch[];
  readonly maxSeq: number;
}

/** A checkpoint that passed {@linkcode verifyCheckpoint}, with the time the owner signed it. */
export interface VerifiedCheckpoint extends RegionCheckpoint {
  readonly ts: number;
}

/** Checks a checkpoint's form; throws a RangeError naming the first bad field. */
export function assertCheckpoint(c: RegionCheckpoint): void {
  const fail = (msg: string): never => {
    throw new RangeError(`Invalid region checkpoint: ${msg}`);
  };
  if (c.v !== 1) fail(`unsupported version ${String(c.v)}`);
  if (typeof c.world !== "string" || !NODE_ID_RE.test(c.world)) {
    fail(`"world" must be a world address, got ${describe(c.world)}`);
  }
  if (!Array.isArray(c.region) || c.region.length !== 2 || !c.region.every(isI32)) {
    fail(`"region" must be two signed 32-bit integers, got ${describe(c.region)}`);
  }
  if (!Number.isSafeInteger(c.maxSeq) || c.maxSeq < 0) fail(`"maxSeq" must be a u53`);
  if (!Array.isArray(c.accepted) || c.accepted.length > MAX_CHECKPOINT_ENTRIES) {
    fail(`"accepted" must be a list of at most ${MAX_CHECKPOINT_ENTRIES}`);
  }
  c.accepted.forEach((a, i) => {
    if (typeof a.editor !== "string" || !NODE_ID_RE.test(a.editor)) {
      fail(`entry ${i}: "editor" must be a node id, got ${describe(a.editor)}`);
    }
    if (i > 0 && c.accepted[i - 1]!.editor >= a.editor) {
      fail(`entry ${i}: editors must be in ascending order, each once (${a.editor})`);
    }
    if (!Number.isSafeInteger(a.seq) || a.seq < 0 || a.seq > c.maxSeq) {
      fail(`entry ${i}: seq ${a.seq} must be 0..maxSeq (${c.maxSeq})`);
    }
    if (!(a.hash instanceof Uint8Array) || a.hash.length !== 32) {
      fail(`entry ${i}: "hash" must be 32 bytes, got ${describe(a.hash)}`);
    }
  });
}

/** Encodes a checkpoint value (checked first). */
export function encodeCheckpoint(c: RegionCheckpoint): Uint8Array {
  assertCheckpoint(c);
  const bytes = encode({
    v: 1,
    world: c.world,
    region: [c.region[0], c.region[1]],
    accepted: c.accepted.map((a) => [a.editor, a.seq, a.hash]),
    maxSeq: c.maxSeq,
  });
  if (bytes.length > MAX_CHECKPOINT_BYTES) {
    throw new RangeError(`A checkpoint is ${bytes.length} bytes, limit ${MAX_CHECKPOINT_BYTES}`);
  }
  return bytes;
}

/** Decodes and checks a checkpoint value; throws a DecodeError saying what was wrong. */
export function decodeCheckpoint(bytes: Uint8Array): RegionCheckpoint {
  const what = "region checkpoint";
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_CHECKPOINT_BYTES }),
    what,
    ["v", "world", "region", "accepted", "maxSeq"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${describe(m.v)}`);
  const region = m.region, accepted = m.accepted;
  if (!Array.isArray(region) || region.length !== 2 || !region.every(isI32)) {
    throw new DecodeError(`Invalid ${what}: "region" must be two i32, got ${describe(region)}`);
  }
  if (!Array.isArray(accepted) || accepted.length > MAX_CHECKPOINT_ENTRIES) {
    throw new DecodeError(
      `Invalid ${what}: "accepted" must be an array of at most ${MAX_CHECKPOINT_ENTRIES}`,
    );
  }
  const c: RegionCheckpoint = {
    v: 1,
    world: readString(m, "world", what, 52),
    region: [region[0]!, region[1]!],
    accepted: accepted.map((a: unknown, i: number) => {
      if (!Array.isArray(a) || a.length !== 3) {
        throw new DecodeError(`Invalid ${what}: entry ${i} must be [editor, seq, hash]`);
      }
      const f = { editor: a[0], seq: a[1], hash: a[2] };
      return {
        editor: readString(f, "editor", `${what} entry ${i}`, 52),
        seq: readUint(f, "seq", `${what} entry ${i}`),
        hash: a[2] as Uint8Array,
      };
    }),
    maxSeq: readUint(m, "maxSeq", what),
  };
  try {
    assertCheckpoint(c);
  } catch (e) {
    throw new DecodeError((e as Error).message);
  }
  return c;
}

/** The `wcheck` namespace: region checkpoints, named by their region. */
export const CHECKPOINT_NAMESPACE: Namespace = {
  name: "wcheck",
  maxValue: MAX_CHECKPOINT_BYTES,
  maxName: 60,
  validate: (r) => {
    const c = decodeCheckpoint(r.value);
    assertRegionName(r, c.world, c.region);
  },
};

const CHECKPOINT_NAMESPACES = namespaces(CHECKPOINT_NAMESPACE);

/** The record key of the checkpoint of region (`rx`, `rz`) of `world`, owned by `owner`. */
export function checkpointKey(world: string, rx: number, rz: number, owner: string): RecordKey {
  return recordKeyOf(CHECKPOINT_NAMESPACE.name, owner, regionRecordName(world, rx, rz));
}

/** Signs a checkpoint as a `wcheck` record; `seq` must grow with each new one. */
export function signCheckpoint(
  keys: SigningKeys,
  checkpoint: RegionCheckpoint,
  opts: { seq: number; ts?: number },
): SignedRecord {
  // Node ids are ASCII, so string order is byte order.
  const sorted = [...checkpoint.accepted].sort((a, b) => a.editor < b.editor ? -1 : 1);
  const c = { ...checkpoint, accepted: sorted };
  return createRecord(keys.signSecret, keys.signPublic, {
    ns: CHECKPOINT_NAMESPACE.name,
    name: regionRecordName(c.world, c.region[0], c.region[1]),
    seq: opts.seq,
    value: encodeCheckpoint(c),
    ...(opts.ts === undefined ? {} : { ts: opts.ts }),
  });
}

/**
 * Verifies a checkpoint record for `world` at `now`: its signature, and that the world's owner
 * signed it for that world. Throws {@linkcode EditRefusedError}.
 */
export function verifyCheckpoint(
  record: Uint8Array | SignedRecord,
  world: EditWorld,
  now: number,
): VerifiedCheckpoint {
  let r: SignedRecord, c: RegionCheckpoint;
  try {
    r = decodeRecord(record instanceof Uint8Array ? record : encodeRecord(record), {
      namespaces: CHECKPOINT_NAMESPACES,
      now,
    });
    c = decodeCheckpoint(r.value);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    throw new EditRefusedError("record", `Checkpoint refused: ${e.message}`, { cause: e });
  }
  if (c.world !== world.address || nodeIdOf(r.signer) !== world.owner) {
    throw new EditRefusedError(
      "wrong-world",
      `Checkpoint refused: signed by ${nodeIdOf(r.signer)} for world ${c.world}, ` +
        `not by the owner ${world.owner} of ${world.address}`,
    );
  }
  return { ...c, ts: r.ts };
}

function isI32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}
