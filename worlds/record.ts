// This module is browser compatible.
/**
 * World records and addresses. A world is the owner-signed record `world` named by the world's
 * name (the same rules as site names: 1–63 of `a-z0-9-`); its address is the hash part of that
 * record's DHT key, lower-case base32 of
 * SHA-256("mote/record-key/v1" ‖ "world" ‖ node id of the owner's key ‖ name): 52 characters, one
 * DNS label, self-certifying (the validator recomputes it from the record's signer and name) and a
 * DHT key with nothing else to look up.
 *
 * Value (canonical CBOR, at most {@linkcode MAX_WORLD_RECORD_BYTES}):
 * `{ v: 1, created, seed, generator, region, title?, grants: [{ rx, rz, grantee, expiry }] }`.
 * `seed` is a u32, `generator` a generator id (`terrain-v1`), `region` the side of a region in
 * chunks (1..{@linkcode MAX_REGION}); a grant lets `grantee` (a node id) edit region (`rx`, `rz`)
 * (i32 region indices: chunk x belongs to region `floor(x / region)`) until `expiry` (ms). Grants
 * are listed only for now: edits arrive later.
 * @module
 */
import { decodeCanonical, encode } from "../src/encoding/cbor.ts";
import { utf8 } from "../src/encoding/bytes.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { describe, type Fields, readMap, readString, readUint } from "../src/encoding/shape.ts";
import { isNodeId } from "../src/identity/node_id.ts";
import type { Namespace } from "../src/records/namespace.ts";
import { recordKeyOf } from "../src/records/record.ts";
import { GENERATOR_ID_PATTERN } from "./chunk.ts";

/** A world name: one DNS-label-like word (the rules of site names). */
export const WORLD_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The largest world record value, in bytes (256 grants fit with room to spare). */
export const MAX_WORLD_RECORD_BYTES = 32 * 1024;
/** Most grants one world record lists. */
export const MAX_GRANTS = 256;
/** The largest region side, in chunks (32 km). */
export const MAX_REGION = 1024;
/** The longest title, in UTF-16 units. */
export const MAX_TITLE = 200;
/** The region side used when none is given, in chunks (256 m). */
export const DEFAULT_REGION = 8;

const I32_MIN = -0x80000000, I32_MAX = 0x7fffffff;

/** A grant: `grantee` may edit region (`rx`, `rz`) until `expiry`. */
export interface WorldGrant {
  readonly rx: number;
  readonly rz: number;
  /** A node id (52 base32 characters). */
  readonly grantee: string;
  /** Milliseconds since the epoch. */
  readonly expiry: number;
}

/** A decoded world record value. */
export interface WorldRecordValue {
  readonly v: 1;
  /** When the owner created the world (ms). */
  readonly created: number;
  /** Unsigned 32-bit generator seed. */
  readonly seed: number;
  /** The generator id (`terrain-v1`). */
  readonly generator: string;
  /** The side of a region, in chunks. */
  readonly region: number;
  readonly title?: string;
  readonly grants: readonly WorldGrant[];
}

/** Checks a world name; throws a RangeError saying what is wrong. */
export function checkWorldName(name: string): string {
  if (typeof name !== "string" || !WORLD_NAME_RE.test(name)) {
    throw new RangeError(
      `${JSON.stringify(String(name).slice(0, 80))} is not a world name: use 1 to 63 lower-case ` +
        `letters, digits and hyphens, not starting or ending with a hyphen`,
    );
  }
  return name;
}

/** The address of `owner`'s world `name` (`owner` is a node id). */
export function worldAddress(owner: string, name: string): string {
  return recordKeyOf("world", owner, utf8(checkWorldName(name))).hash;
}

/** Checks every field of a world record value; throws a RangeError naming the first bad one. */
export function assertWorldRecord(v: WorldRecordValue): void {
  const fail = (msg: string): never => {
    throw new RangeError(`Invalid world record: ${msg}`);
  };
  if (v.v !== 1) fail(`unsupported version ${String(v.v)}`);
  if (!Number.isSafeInteger(v.created) || v.created < 0) fail(`bad "created" ${v.created}`);
  if (!Number.isInteger(v.seed) || v.seed < 0 || v.seed > 0xffffffff) {
    fail(`"seed" must be an integer from 0 to 4294967295, got ${v.seed}`);
  }
  if (typeof v.generator !== "string" || !GENERATOR_ID_PATTERN.test(v.generator)) {
    fail(`"generator" must be 1 to 32 of a-z 0-9 . -, got ${describe(v.generator)}`);
  }
  if (!Number.isInteger(v.region) || v.region < 1 || v.region > MAX_REGION) {
    fail(`"region" must be an integer from 1 to ${MAX_REGION} chunks, got ${v.region}`);
  }
  if (v.title !== undefined && (typeof v.title !== "string" || v.title.length > MAX_TITLE)) {
    fail(`"title" must be a string of at most ${MAX_TITLE} characters`);
  }
  if (!Array.isArray(v.grants) || v.grants.length > MAX_GRANTS) {
    fail(`"grants" must be a list of at most ${MAX_GRANTS}`);
  }
  v.grants.forEach((g, i) => {
    for (const k of ["rx", "rz"] as const) {
      if (!Number.isInteger(g[k]) || g[k] < I32_MIN || g[k] > I32_MAX) {
        fail(`grant ${i}: "${k}" must be a signed 32-bit integer, got ${g[k]}`);
      }
    }
    if (typeof g.grantee !== "string" || !isNodeId(g.grantee)) {
      fail(`grant ${i}: "grantee" must be a node id, got ${describe(g.grantee)}`);
    }
    if (!Number.isSafeInteger(g.expiry) || g.expiry < 0) {
      fail(`grant ${i}: "expiry" must be a time in ms, got ${g.expiry}`);
    }
  });
}

/** Encodes a world record value (checked first). */
export function encodeWorldRecord(v: WorldRecordValue): Uint8Array {
  assertWorldRecord(v);
  const out: Record<string, unknown> = {
    v: 1,
    created: v.created,
    seed: v.seed,
    generator: v.generator,
    region: v.region,
    grants: v.grants.map((g) => ({ rx: g.rx, rz: g.rz, grantee: g.grantee, expiry: g.expiry })),
  };
  if (v.title !== undefined) out.title = v.title;
  const bytes = encode(out);
  if (bytes.length > MAX_WORLD_RECORD_BYTES) {
    throw new RangeError(
      `A world record is ${bytes.length} bytes, over the limit of ${MAX_WORLD_RECORD_BYTES}`,
    );
  }
  return bytes;
}

/** Decodes and checks a world record value; throws a DecodeError saying what was wrong. */
export function decodeWorldRecord(bytes: Uint8Array): WorldRecordValue {
  const what = "world record";
  if (bytes.length > MAX_WORLD_RECORD_BYTES) {
    throw new DecodeError(
      `Invalid ${what}: ${bytes.length} bytes, limit ${MAX_WORLD_RECORD_BYTES}`,
    );
  }
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_WORLD_RECORD_BYTES }),
    what,
    ["v", "created", "seed", "generator", "region", "grants"],
    ["title"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${describe(m.v)}`);
  if (!Array.isArray(m.grants)) {
    throw new DecodeError(`Invalid ${what}: "grants" must be an array, got ${describe(m.grants)}`);
  }
  if (m.grants.length > MAX_GRANTS) {
    throw new DecodeError(
      `Invalid ${what}: "grants" has ${m.grants.length} items, limit ${MAX_GRANTS}`,
    );
  }
  const grants = m.grants.map((g: unknown, i: number): WorldGrant => {
    const gw = `${what} grant ${i}`;
    const f = readMap(g, gw, ["rx", "rz", "grantee", "expiry"]);
    return {
      rx: readInt(f, "rx", gw),
      rz: readInt(f, "rz", gw),
      grantee: readString(f, "grantee", gw, 52),
      expiry: readUint(f, "expiry", gw),
    };
  });
  const v: WorldRecordValue = {
    v: 1,
    created: readUint(m, "created", what),
    seed: readUint(m, "seed", what),
    generator: readString(m, "generator", what, 32),
    region: readUint(m, "region", what),
    ...("title" in m ? { title: readString(m, "title", what, MAX_TITLE) } : {}),
    grants,
  };
  try {
    assertWorldRecord(v);
  } catch (e) {
    throw new DecodeError((e as Error).message);
  }
  return v;
}

/** The `world` namespace: names are world names, values world records. */
export const WORLD_NAMESPACE: Namespace = {
  name: "world",
  maxValue: MAX_WORLD_RECORD_BYTES,
  maxName: 63,
  validate: (r) => {
    checkWorldName(new TextDecoder().decode(r.name));
    decodeWorldRecord(r.value);
  },
};

function readInt(m: Fields, key: string, what: string): number {
  const v = m[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < I32_MIN || v > I32_MAX) {
    throw new DecodeError(
      `Invalid ${what}: "${key}" must be a signed 32-bit integer, got ${describe(v)}`,
    );
  }
  return v;
}
