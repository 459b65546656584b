// This module is browser compatible.
/**
 * Signed edit batches and their verification. A batch is the value of a record in the namespace
 * **`wedit`**, signed by the editor and named by the region (`world address (52 ASCII) ‖ rx (i32
 * BE) ‖ rz (i32 BE)`), so its key is H(world, region, editor) and a newer batch from the same
 * editor replaces the older one like any record. The namespace's validator (run by every node
 * that stores the record) checks the value, that it names the record's region, that `editor` is
 * the signer and that `seq` is the record's sequence number; {@linkcode verifyEditBatch} adds
 * what needs the world: the grant, the region's bounds and the owner's checkpoint.
 * @module
 */
import { sha256Sync } from "../src/crypto/hash.ts";
import { equals, utf8 } from "../src/encoding/bytes.ts";
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
import type { VerifiedCheckpoint } from "./checkpoint.ts";
import { CHUNK_SIZE } from "./chunk.ts";
import { assertEditBatch, type EditBatch, MAX_EDIT_BATCH_BYTES } from "./edit_batch.ts";
import { decodeEditBatch, encodeEditBatch } from "./edit_codec.ts";
import type { WorldRecordValue } from "./record.ts";

/**
 * How far a counter may run ahead of the region checkpoint's `maxSeq` (2^20): room for a million
 * edits between two checkpoints, while a counter near 2^53 (which would win every tie forever) is
 * refused as soon as the owner checkpoints.
 */
export const MAX_SEQ_LEAD = 2 ** 20;

/** Why an edit batch was refused. */
export type EditRefusal =
  | "record"
  | "wrong-world"
  | "no-grant"
  | "expired"
  | "out-of-region"
  | "not-accepted"
  | "far-ahead";

/** Raised when an edit batch (or checkpoint) is refused; `reason` is a fixed code. */
export class EditRefusedError extends Error {
  override name = "EditRefusedError";
  readonly reason: EditRefusal;
  constructor(reason: EditRefusal, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The world a batch is checked against (what a gateway's world source resolves). */
export interface EditWorld {
  /** The world's address. */
  readonly address: string;
  /** The owner's node id (the world record's signer). */
  readonly owner: string;
  readonly value: WorldRecordValue;
}

/** What signs: an identity's Ed25519 keys (the node's own; a key never leaves its node). */
export interface SigningKeys {
  readonly signPublic: Uint8Array;
  readonly signSecret: Uint8Array;
}

/** A batch that passed {@linkcode verifyEditBatch}: what merging and checkpoints need. */
export interface VerifiedEditBatch {
  readonly editor: string;
  readonly seq: number;
  /** The record's timestamp (ms), the batch's time. */
  readonly ts: number;
  /** SHA-256 of the encoded record: what a checkpoint lists. */
  readonly hash: Uint8Array;
  /** The world's region side in chunks. */
  readonly side: number;
  readonly batch: EditBatch;
}

/** The record name of region (`rx`, `rz`) of `world`: 60 bytes. */
export function regionRecordName(world: string, rx: number, rz: number): Uint8Array {
  const name = new Uint8Array(60);
  name.set(utf8(world));
  const view = new DataView(name.buffer);
  view.setInt32(52, rx);
  view.setInt32(56, rz);
  return name;
}

/** The record key of `editor`'s batch for region (`rx`, `rz`) of `world`: H(world, region, editor). */
export function editBatchKey(world: string, rx: number, rz: number, editor: string): RecordKey {
  return recordKeyOf(EDIT_NAMESPACE.name, editor, regionRecordName(world, rx, rz));
}

/** Throws unless a record's name is the region the value names. */
export function assertRegionName(r: SignedRecord, world: string, region: readonly number[]): void {
  if (!equals(r.name, regionRecordName(world, region[0]!, region[1]!))) {
    throw new RangeError(`the record's name is not region (${region}) of world ${world}`);
  }
}

/** The `wedit` namespace: edit batches, named by their region, signed by their editor. */
export const EDIT_NAMESPACE: Namespace = {
  name: "wedit",
  maxValue: MAX_EDIT_BATCH_BYTES,
  maxName: 60,
  validate: (r) => {
    const b = decodeEditBatch(r.value);
    assertRegionName(r, b.world, b.region);
    if (b.editor !== nodeIdOf(r.signer)) {
      throw new RangeError(`"editor" ${b.editor} is not the signer ${nodeIdOf(r.signer)}`);
    }
    if (b.seq !== r.seq) throw new RangeError(`"seq" ${b.seq} is not the record's ${r.seq}`);
  },
};

const EDIT_NAMESPACES = namespaces(EDIT_NAMESPACE);

/** Signs `batch` as a `wedit` record (its `editor` must be the keys' node id). */
export function signEditBatch(keys: SigningKeys, batch: EditBatch, ts?: number): SignedRecord {
  assertEditBatch(batch);
  if (batch.editor !== nodeIdOf(keys.signPublic)) {
    throw new RangeError(`A batch by ${batch.editor} cannot be signed with another node's key`);
  }
  return createRecord(keys.signSecret, keys.signPublic, {
    ns: EDIT_NAMESPACE.name,
    name: regionRecordName(batch.world, batch.region[0], batch.region[1]),
    seq: batch.seq,
    value: encodeEditBatch(batch),
    ...(ts === undefined ? {} : { ts }),
  });
}

/**
 * Verifies an edit batch record for `world` at time `now` (ms): the record and its signature, the
 * world, a grant for exactly the batch's region to its editor that had not expired at the batch's
 * time, every edit inside the region, and, given the region's verified checkpoint, that the
 * counter is not far ahead of it and that an editor whose grant had ended by the checkpoint is
 * held to the batch it accepted. Throws {@linkcode EditRefusedError}.
 */
export function verifyEditBatch(
  record: Uint8Array | SignedRecord,
  world: EditWorld,
  now: number,
  checkpoint?: VerifiedCheckpoint,
): VerifiedEditBatch {
  const bytes = record instanceof Uint8Array ? record : encodeRecord(record);
  let r: SignedRecord, b: EditBatch;
  try {
    r = decodeRecord(bytes, { namespaces: EDIT_NAMESPACES, now });
    b = decodeEditBatch(r.value);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    throw new EditRefusedError("record", `Edit batch refused: ${e.message}`, { cause: e });
  }
  const [rx, rz] = b.region;
  const where = `region (${rx}, ${rz})`;
  if (b.world !== world.address) {
    throw new EditRefusedError(
      "wrong-world",
      `Edit batch refused: it is for world ${b.world}, not ${world.address}`,
    );
  }
  const grants = world.value.grants.filter((g) =>
    g.rx === rx && g.rz === rz && g.grantee === b.editor
  );
  if (grants.length === 0) {
    throw new EditRefusedError(
      "no-grant",
      `Edit batch refused: editor ${b.editor} has no grant for ${where} of world ${world.address}`,
    );
  }
  const end = Math.max(...grants.map((g) => g.expiry));
  if (r.ts > end) {
    throw new EditRefusedError(
      "expired",
      `Edit batch refused: editor ${b.editor}'s grant for ${where} ended at ${iso(end)}, ` +
        `before the batch's time ${iso(r.ts)}`,
    );
  }
  const side = world.value.region;
  try {
    assertEditBatch(b, side);
    // The region's last chunk must be a chunk: regions at the i32 limit can be partial.
    for (const e of b.edits) {
      const col = e.op === "place" || e.op === "remove" ? [e.x >> 3, e.z >> 3] : [e.x, e.z];
      const cx = rx * side + Math.floor(col[0]! / CHUNK_SIZE);
      const cz = rz * side + Math.floor(col[1]! / CHUNK_SIZE);
      if (cx > 0x7fffffff || cz > 0x7fffffff) {
        throw new RangeError(`${e.op} at (${e.x}, ${e.z}) is in chunk (${cx}, ${cz}), past i32`);
      }
    }
  } catch (e) {
    throw new EditRefusedError(
      "out-of-region",
      `Edit batch refused for ${where}: ${(e as Error).message}`,
    );
  }
  const hash = sha256Sync(bytes);
  if (checkpoint) checkAgainst(checkpoint, world, b, end, hash);
  return { editor: b.editor, seq: b.seq, ts: r.ts, hash, side, batch: b };
}

function checkAgainst(
  cp: VerifiedCheckpoint,
  world: EditWorld,
  b: EditBatch,
  end: number,
  hash: Uint8Array,
): void {
  if (cp.world !== world.address || cp.region[0] !== b.region[0] || cp.region[1] !== b.region[1]) {
    throw new RangeError(
      `The checkpoint is for region (${cp.region}) of ${cp.world}, not the batch's (${b.region}) ` +
        `of ${world.address}`,
    );
  }
  const refusal = heldRefusal(cp, b.editor, b.seq, hash, end);
  if (refusal) throw refusal;
}

/** Why `cp` refuses `editor`'s batch `seq` (SHA-256 `hash`) whose grant ends at `end`, if it does. */
function heldRefusal(
  cp: VerifiedCheckpoint,
  editor: string,
  seq: number,
  hash: Uint8Array,
  end: number,
): EditRefusedError | undefined {
  if (seq > cp.maxSeq + MAX_SEQ_LEAD) {
    return new EditRefusedError(
      "far-ahead",
      `Edit batch refused: counter ${seq} is more than ${MAX_SEQ_LEAD} above the checkpoint's ` +
        `maximum ${cp.maxSeq}`,
    );
  }
  if (cp.ts < end) return undefined; // the editor's grant outlived the checkpoint: not held to it
  const listed = cp.accepted.find((a) => a.editor === editor);
  if (listed && listed.seq === seq && equals(listed.hash, hash)) return undefined;
  return new EditRefusedError(
    "not-accepted",
    `Edit batch refused: editor ${editor}'s grant ended at ${iso(end)} and the region's ` +
      `checkpoint ` +
      (listed
        ? `accepted its batch ${listed.seq}, not this one (seq ${seq})`
        : `accepted no batch of it`),
  );
}

/**
 * Whether a batch verified before `cp` was found still stands with it (the same rules as
 * {@linkcode verifyEditBatch} given the checkpoint): a gateway that holds a batch re-checks it
 * when the region's checkpoint appears, rather than keep serving what the owner did not accept.
 */
export function checkpointAllows(
  cp: VerifiedCheckpoint,
  world: EditWorld,
  b: Pick<VerifiedEditBatch, "editor" | "seq" | "hash" | "batch">,
): boolean {
  const [rx, rz] = b.batch.region;
  if (cp.world !== world.address || cp.region[0] !== rx || cp.region[1] !== rz) return true;
  const grants = world.value.grants.filter((g) =>
    g.rx === rx && g.rz === rz && g.grantee === b.editor
  );
  if (grants.length === 0) return false;
  const end = Math.max(...grants.map((g) => g.expiry));
  return heldRefusal(cp, b.editor, b.seq, b.hash, end) === undefined;
}

function iso(ms: number): string {
  return ms <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`;
}
