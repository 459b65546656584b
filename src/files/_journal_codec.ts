/**
 * The upload journal's on-disk form: an append-only log of framed records,
 * `u32be(length) ‖ CBOR record ‖ first 8 bytes of SHA-256(CBOR record)`.
 *
 * Appends are serial, so a crash can tear only the last frame; anything bad before the end is
 * damage. {@linkcode parseLog} tells the two apart, because the journal treats them differently
 * (a torn tail is dropped, damage drops every entry).
 */
import { sha256Sync } from "../crypto/hash.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import {
  type Fields,
  readBytes,
  readMap,
  readString,
  readStrings,
  readUint,
} from "../encoding/shape.ts";

/** One journal record. */
export type JournalRecord =
  | {
    t: "begin";
    id: string;
    path: string;
    size: number;
    mtime: number;
    /** When the entry was created (ms). */
    at: number;
    key: Uint8Array;
    blockSize: number;
    k: number;
    m: number;
  }
  | { t: "started"; id: string; i: number; h: Uint8Array }
  | { t: "placed"; id: string; i: number; len: number; shards: string[] }
  | { t: "end"; id: string };

/** Largest record: a placed block of 256 shard ids is about 14 KiB. */
export const MAX_RECORD = 64 * 1024;
const CHECK = 8;
const ID_RE = /^[0-9a-f]{16}$/;

/** Frames one record. */
export function frame(r: JournalRecord): Uint8Array {
  const body = encode(r);
  const out = new Uint8Array(4 + body.length + CHECK);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  out.set(sha256Sync(body).subarray(0, CHECK), 4 + body.length);
  return out;
}

/** What a log holds: its good records, and whether its end was torn or its middle damaged. */
export interface ParsedLog {
  records: { record: JournalRecord; bytes: number }[];
  torn: boolean;
  /** Why the log is damaged (a bad frame or record before its end), else null. */
  damaged: string | null;
}

/** Reads every frame of a log. Never throws: bad bytes are reported in the result. */
export function parseLog(bytes: Uint8Array): ParsedLog {
  const records: ParsedLog["records"] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off < bytes.length) {
    // A torn append leaves a prefix of a good frame: a partial header, or a body cut short.
    if (bytes.length - off < 4) return { records, torn: true, damaged: null };
    const len = view.getUint32(off);
    const end = off + 4 + len + CHECK;
    if (len <= MAX_RECORD && end > bytes.length) return { records, torn: true, damaged: null };
    const bad = (why: string) =>
      // A bad last frame may be torn too (its length written, its bytes not); before the end
      // it can only be damage.
      end === bytes.length
        ? { records, torn: true, damaged: null }
        : { records, torn: false, damaged: `${why} at byte ${off}` };
    if (len > MAX_RECORD) return bad(`a frame of ${len} bytes (limit ${MAX_RECORD})`);
    const body = bytes.subarray(off + 4, off + 4 + len);
    const check = sha256Sync(body).subarray(0, CHECK);
    if (!check.every((b, i) => b === bytes[off + 4 + len + i])) return bad("a bad checksum");
    try {
      records.push({ record: decodeRecord(body), bytes: end - off });
    } catch (e) {
      // The checksum held, so these bytes were written as they are: not a torn write.
      return { records, torn: false, damaged: `${(e as Error).message} at byte ${off}` };
    }
    off = end;
  }
  return { records, torn: false, damaged: null };
}

function decodeRecord(body: Uint8Array): JournalRecord {
  const what = "upload journal record";
  const raw = decode(body, { what, maxBytes: MAX_RECORD }) as Fields;
  const t = typeof raw === "object" && raw !== null ? raw.t : undefined;
  const id = (m: Fields) => {
    const v = readString(m, "id", what, 16);
    if (!ID_RE.test(v)) throw new DecodeError(`Invalid ${what}: bad id "${v}"`);
    return v;
  };
  switch (t) {
    case "begin": {
      const m = readMap(raw, what, [
        "t",
        "id",
        "path",
        "size",
        "mtime",
        "at",
        "key",
        "blockSize",
        "k",
        "m",
      ]);
      return {
        t,
        id: id(m),
        path: readString(m, "path", what, 4096),
        size: readUint(m, "size", what),
        mtime: readUint(m, "mtime", what),
        at: readUint(m, "at", what),
        key: readBytes(m, "key", what, { exact: 32 }),
        blockSize: readUint(m, "blockSize", what),
        k: readUint(m, "k", what),
        m: readUint(m, "m", what),
      };
    }
    case "started": {
      const m = readMap(raw, what, ["t", "id", "i", "h"]);
      return { t, id: id(m), i: readUint(m, "i", what), h: readBytes(m, "h", what, { exact: 32 }) };
    }
    case "placed": {
      const m = readMap(raw, what, ["t", "id", "i", "len", "shards"]);
      return {
        t,
        id: id(m),
        i: readUint(m, "i", what),
        len: readUint(m, "len", what),
        shards: readStrings(m, "shards", what, 256, 52),
      };
    }
    case "end":
      return { t, id: id(readMap(raw, what, ["t", "id"])) };
    default:
      throw new DecodeError(`Invalid ${what}: unknown type ${String(t).slice(0, 20)}`);
  }
}

/** Joins frames into one buffer (no spread: a compaction may join hundreds of thousands). */
export function joinFrames(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}
