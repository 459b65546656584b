// This module is browser compatible.
/**
 * What gateways tell each other about a region, live, over publish/subscribe: one topic per
 * (world, region), `mote/w/<world address>/r/<rx>,<rz>/v1`, carrying canonical CBOR messages:
 *
 * - **presence** `{ v: 1, t: 0, w, r: [rx, rz], id, p: [x, y, z], h, ts, n? }`: a player (`id`,
 *   8 random bytes for one page session, chosen by the gateway it is connected to) stands at
 *   (x, y, z), in centimetres (x and z wrapped to the world's 2^37 m), looking at heading `h`
 *   (1/65536 turn), at time `ts` (ms). `n`, when present, is the node id of the publishing node,
 *   saying the player is that node's own (its page on the node's UI origin); a receiver believes
 *   it only if the node's signed identity document lists the publishing peer as its device. At
 *   most {@linkcode MAX_PRESENCE_BYTES}.
 * - **edit** `{ v: 1, t: 1, rec }`: a signed `wedit` record (an editor's whole batch for the
 *   region, as published to the DHT). At most {@linkcode MAX_LIVE_BYTES}.
 *
 * {@linkcode decodeLiveMessage} refuses (DecodeError for malformed bytes, RangeError for values)
 * anything oversized, non-canonical, of another version, or about another world or region than
 * the topic's; an edit's record must verify (signature, namespace, the region it names). Whether
 * the editor holds a grant is for the receiver to check against the world (`verifyEditBatch`).
 * @module
 */
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { describe, readBytes, readMap, readString, readUint } from "../src/encoding/shape.ts";
import { namespaces } from "../src/records/namespace.ts";
import { decodeRecord, MAX_RECORD_BYTES, type SignedRecord } from "../src/records/record.ts";
import { CHUNK_SIZE, HALF_WORLD_METRES, wrapMetres } from "./chunk.ts";
import { EDIT_NAMESPACE, regionRecordName } from "./edit_record.ts";
import { equals } from "../src/encoding/bytes.ts";

export { wrapMetres };

/** The largest presence message (bytes): the canonical form is about 110, 165 with a node id. */
export const MAX_PRESENCE_BYTES = 224;
/** The largest live message: an edit's record (64 KiB at most) and its envelope. */
export const MAX_LIVE_BYTES = MAX_RECORD_BYTES + 64;
/** Bytes of a player id. */
export const PLAYER_ID_BYTES = 8;
/** Heights a player may stand at, in centimetres (−1 km to 10 km). */
export const MIN_Y_CM = -100_000, MAX_Y_CM = 1_000_000;

/** World addresses and node ids alike: 52 lower-case base32 characters. */
const WORLD_RE = /^[a-z2-7]{52}$/;
const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;
const MAX_XZ_CM = HALF_WORLD_METRES * 100;
const EDIT_NAMESPACES = namespaces(EDIT_NAMESPACE);

/** A region of a world: what a topic is about. */
export interface RegionRef {
  readonly world: string;
  readonly rx: number;
  readonly rz: number;
}

/** A player's position as gateways exchange it. */
export interface Presence {
  readonly type: "presence";
  readonly world: string;
  readonly rx: number;
  readonly rz: number;
  /** 16 lower-case hex digits. */
  readonly id: string;
  /** Metres; x and z wrapped into [−2^36, 2^36). */
  readonly x: number;
  readonly y: number;
  readonly z: number;
  /** Radians, 0..2π. */
  readonly heading: number;
  readonly ts: number;
  /** The publishing node's id, when the player is that node's own (to be checked by the receiver). */
  readonly node?: string;
}

/** A signed edit batch announced on its region's topic. */
export interface EditAnnouncement {
  readonly type: "edit";
  /** The encoded record, as signed. */
  readonly bytes: Uint8Array;
  readonly record: SignedRecord;
}

/** A decoded live message. */
export type LiveMessage = Presence | EditAnnouncement;

/** The topic of region (`rx`, `rz`) of `world`. */
export function regionTopic(world: string, rx: number, rz: number): string {
  return `mote/w/${world}/r/${rx},${rz}/v1`;
}

/** The region holding world position (x, z) metres, for a region side of `side` chunks. */
export function regionAt(x: number, z: number, side: number): { rx: number; rz: number } {
  const cx = Math.floor(wrapMetres(x) / CHUNK_SIZE), cz = Math.floor(wrapMetres(z) / CHUNK_SIZE);
  return { rx: Math.floor(cx / side), rz: Math.floor(cz / side) };
}

/** Encodes a presence message (coordinates rounded to centimetres, heading to 1/65536 turn). */
export function encodePresence(p: Omit<Presence, "type">): Uint8Array {
  checkRegion(p);
  if (!/^[0-9a-f]{16}$/.test(p.id)) {
    throw new RangeError(`Player id "${p.id}" is not 16 hex digits`);
  }
  if (p.node !== undefined && !WORLD_RE.test(p.node)) {
    throw new RangeError(`"${p.node}" is not a node id`);
  }
  const turn = 2 * Math.PI;
  const h = Math.round(((p.heading % turn + turn) % turn) / turn * 65536) % 65536;
  const bytes = encode({
    v: 1,
    t: 0,
    w: p.world,
    r: [p.rx, p.rz],
    id: hexBytes(p.id),
    p: [
      Math.round(wrapMetres(p.x) * 100),
      Math.round(Math.min(MAX_Y_CM, Math.max(MIN_Y_CM, p.y * 100))),
      Math.round(wrapMetres(p.z) * 100),
    ],
    h,
    ts: p.ts,
    ...(p.node !== undefined ? { n: p.node } : {}),
  });
  if (bytes.length > MAX_PRESENCE_BYTES) {
    throw new RangeError(
      `A presence message is ${bytes.length} bytes, limit ${MAX_PRESENCE_BYTES}`,
    );
  }
  return bytes;
}

/** Wraps a signed `wedit` record's bytes as an edit announcement. */
export function encodeEditAnnouncement(record: Uint8Array): Uint8Array {
  if (record.length > MAX_RECORD_BYTES) {
    throw new RangeError(`An edit record is ${record.length} bytes, limit ${MAX_RECORD_BYTES}`);
  }
  return encode({ v: 1, t: 1, rec: record });
}

/**
 * Decodes and checks a message received on region `where`'s topic (see the module doc); `now`
 * (ms) bounds record timestamps. Throws DecodeError or RangeError saying what was wrong.
 */
export function decodeLiveMessage(bytes: Uint8Array, where: RegionRef, now: number): LiveMessage {
  if (bytes.length > MAX_LIVE_BYTES) {
    throw new RangeError(`A live message is ${bytes.length} bytes, limit ${MAX_LIVE_BYTES}`);
  }
  const raw = decodeCanonical(bytes, { what: "live message", maxBytes: MAX_LIVE_BYTES });
  const head = raw as { v?: unknown; t?: unknown };
  if (typeof raw !== "object" || raw === null || head.v !== 1) {
    throw new DecodeError(`Invalid live message: expected { v: 1, … }, got v ${describe(head.v)}`);
  }
  if (head.t === 0) return decodePresence(bytes, raw, where);
  if (head.t === 1) return decodeEdit(raw, where, now);
  throw new DecodeError(`Invalid live message: unknown type ${describe(head.t)}`);
}

function decodePresence(bytes: Uint8Array, raw: unknown, where: RegionRef): Presence {
  if (bytes.length > MAX_PRESENCE_BYTES) {
    throw new RangeError(
      `A presence message is ${bytes.length} bytes, limit ${MAX_PRESENCE_BYTES}`,
    );
  }
  const what = "presence";
  const m = readMap(raw, what, ["v", "t", "w", "r", "id", "p", "h", "ts"], ["n"]);
  const world = readString(m, "w", what, 52);
  const r = ints(m.r, 2, "r");
  const [rx, rz] = r as [number, number];
  if (world !== where.world || rx !== where.rx || rz !== where.rz) {
    throw new RangeError(
      `Presence for region (${rx}, ${rz}) of ${world.slice(0, 52)} on the topic of region ` +
        `(${where.rx}, ${where.rz}) of ${where.world}`,
    );
  }
  const id = readBytes(m, "id", what, { exact: PLAYER_ID_BYTES });
  const [x, y, z] = ints(m.p, 3, "p") as [number, number, number];
  if (Math.abs(x) > MAX_XZ_CM || Math.abs(z) > MAX_XZ_CM || y < MIN_Y_CM || y > MAX_Y_CM) {
    throw new RangeError(`Presence at (${x}, ${y}, ${z}) cm is outside the world`);
  }
  const h = readUint(m, "h", what);
  if (h > 65535) throw new RangeError(`Presence heading ${h} is over 65535`);
  const ts = readUint(m, "ts", what);
  const node = m.n === undefined ? undefined : readString(m, "n", what, 52);
  if (node !== undefined && !WORLD_RE.test(node)) {
    throw new DecodeError(`Invalid presence: "n" is not a node id, got ${describe(node)}`);
  }
  // Whether (x, z) lies in the region needs the world's region side: assertInRegion.
  return {
    type: "presence",
    world,
    rx,
    rz,
    id: Array.from(id, (b) => b.toString(16).padStart(2, "0")).join(""),
    x: x / 100,
    y: y / 100,
    z: z / 100,
    heading: h / 65536 * 2 * Math.PI,
    ts,
    ...(node !== undefined ? { node } : {}),
  };
}

function decodeEdit(raw: unknown, where: RegionRef, now: number): EditAnnouncement {
  const m = readMap(raw, "edit announcement", ["v", "t", "rec"]);
  const bytes = readBytes(m, "rec", "edit announcement", { max: MAX_RECORD_BYTES });
  // Signature, canonical form, namespace and the batch's own checks (editor = signer, …).
  const record = decodeRecord(bytes, { namespaces: EDIT_NAMESPACES, now });
  if (!equals(record.name, regionRecordName(where.world, where.rx, where.rz))) {
    throw new RangeError(
      `An edit batch for another region than (${where.rx}, ${where.rz}) of ${where.world}`,
    );
  }
  return { type: "edit", bytes, record };
}

/** Checks that a presence's position lies in the region it names (side in chunks). */
export function assertInRegion(p: Presence, side: number): void {
  const at = regionAt(p.x, p.z, side);
  if (at.rx !== p.rx || at.rz !== p.rz) {
    throw new RangeError(
      `Presence at (${p.x}, ${p.z}) m is in region (${at.rx}, ${at.rz}), not (${p.rx}, ${p.rz})`,
    );
  }
}

function checkRegion(p: RegionRef): void {
  if (!WORLD_RE.test(p.world)) throw new RangeError(`"${p.world}" is not a world address`);
  for (const v of [p.rx, p.rz]) {
    if (!Number.isInteger(v) || v < I32_MIN || v > I32_MAX) {
      throw new RangeError(`Region index ${v} is not a signed 32-bit integer`);
    }
  }
}

function ints(v: unknown, n: number, key: string): number[] {
  if (!Array.isArray(v) || v.length !== n) {
    throw new DecodeError(`Invalid presence: "${key}" must be ${n} integers, got ${describe(v)}`);
  }
  for (const x of v) {
    if (typeof x !== "number" || !Number.isSafeInteger(x)) {
      throw new DecodeError(`Invalid presence: "${key}" must be ${n} integers, got ${describe(x)}`);
    }
  }
  return v as number[];
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
