// This module is browser compatible.
/**
 * The owner's keep list: a plaintext, owner-signed statement of every object the owner keeps
 * (object id, k/m, and the shard ids of each block), with no names, keys or contents. Suppliers
 * reconcile against it (a shard absent from the latest complete list, and stored well before the
 * list was made, is a stray); audits and scrubbers can work from it without any key.
 *
 * The list is cut into pages of at most {@linkcode MAX_PAGE_BYTES}, each signed on its own with
 * the list's sequence number, page index and page count, so a large catalog travels in bounded
 * messages and a receiver knows when it holds a complete list. Shard ids travel as their 32 raw
 * bytes (the base32 form is 52 characters).
 *
 * Page body: `{ v: 1, owner, seq, created, page, pages, objects: [{ id, k, m, first, shards }] }`
 * where `shards` concatenates the ids of blocks `first`, `first + 1`, … (k + m ids per block). An
 * object too large for one page continues on the next one with a later `first`.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { fromBase32, toBase32 } from "../encoding/base32.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { sign, verify } from "../crypto/sign.ts";

/** Largest page body, in bytes. */
export const MAX_PAGE_BYTES = 1 << 20;
/** Most pages in one list (with 32-byte ids: about 2 million shard ids). */
export const MAX_PAGES = 64;

const TAG = "keep-list-page/v1";
const ID_BYTES = 32;

/** One kept object: its id, code and the shard ids of its blocks in order. */
export interface KeptObject {
  /** An opaque 32-byte id (the owner uses the SHA-256 of the object's manifest). */
  id: Uint8Array;
  k: number;
  m: number;
  /** Shard ids per block, k + m each, as 52-character base32 strings. */
  blocks: string[][];
}

/** A decoded page. */
export interface KeepPage {
  owner: string;
  seq: number;
  created: number;
  page: number;
  pages: number;
  objects: { id: Uint8Array; k: number; m: number; first: number; shards: string[] }[];
}

/** A page as sent: the encoded body and the owner's signature over it. */
export interface SignedPage {
  body: Uint8Array;
  sig: Uint8Array;
}

/**
 * Cuts a list into signed pages. Throws a RangeError when it needs more than {@linkcode MAX_PAGES}
 * (the caller then must not publish a partial list: suppliers would delete what it leaves out).
 */
export function buildKeepPages(
  objects: readonly KeptObject[],
  head: { owner: string; seq: number; created: number },
  secret: Uint8Array,
): SignedPage[] {
  // Each object part costs its ids plus under 96 bytes of framing; leave room for the header.
  const budget = MAX_PAGE_BYTES - 4096;
  const parts: KeepPage["objects"][] = [[]];
  let used = 0;
  for (const o of objects) {
    const perBlock = (o.k + o.m) * ID_BYTES;
    for (let first = 0; first < o.blocks.length;) {
      const room = Math.floor((budget - used - 96) / perBlock);
      if (room < 1 && used > 0) {
        parts.push([]);
        used = 0;
        continue;
      }
      const take = Math.max(1, Math.min(room, o.blocks.length - first));
      const shards = o.blocks.slice(first, first + take).flat();
      parts.at(-1)!.push({ id: o.id, k: o.k, m: o.m, first, shards });
      used += 96 + shards.length * ID_BYTES;
      first += take;
    }
  }
  if (parts.length > MAX_PAGES) {
    throw new RangeError(
      `The keep list needs ${parts.length} pages; at most ${MAX_PAGES} are allowed`,
    );
  }
  return parts.map((objs, page) => {
    const body = encode({
      v: 1,
      ...head,
      page,
      pages: parts.length,
      objects: objs.map((o) => ({
        id: o.id,
        k: o.k,
        m: o.m,
        first: o.first,
        shards: packIds(o.shards),
      })),
    });
    return { body, sig: sign(secret, TAG, body) };
  });
}

/** Verifies a page against the owner's public key and decodes it. */
export function openKeepPage(p: SignedPage, ownerKey: Uint8Array): KeepPage {
  if (p.body.length > MAX_PAGE_BYTES) {
    throw new DecodeError(`Invalid keep list page: over ${MAX_PAGE_BYTES} bytes`);
  }
  if (!verify(ownerKey, TAG, p.body, p.sig)) {
    throw new DecodeError("Invalid keep list page: the signature does not verify");
  }
  return decodeKeepPage(p.body);
}

/** Decodes a page body (without checking its signature). */
export function decodeKeepPage(body: Uint8Array): KeepPage {
  const what = "keep list page";
  const m = readMap(decodeCanonical(body, { what, maxBytes: MAX_PAGE_BYTES }), what, [
    "v",
    "owner",
    "seq",
    "created",
    "page",
    "pages",
    "objects",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const pages = readUint(m, "pages", what), page = readUint(m, "page", what);
  if (pages < 1 || pages > MAX_PAGES || page >= pages) {
    throw new DecodeError(`Invalid ${what}: page ${page} of ${pages}`);
  }
  if (!Array.isArray(m.objects)) throw new DecodeError(`Invalid ${what}: objects must be a list`);
  const objects = m.objects.map((x) => {
    const o = readMap(x, what, ["id", "k", "m", "first", "shards"]);
    const k = readUint(o, "k", what), mm = readUint(o, "m", what);
    if (k < 1 || mm < 0 || k + mm > 256) throw new DecodeError(`Invalid ${what}: bad code`);
    const raw = readBytes(o, "shards", what, { max: MAX_PAGE_BYTES });
    if (raw.length % ((k + mm) * ID_BYTES) !== 0) {
      throw new DecodeError(`Invalid ${what}: shard ids do not fill whole blocks`);
    }
    return {
      id: readBytes(o, "id", what, { exact: 32 }),
      k,
      m: mm,
      first: readUint(o, "first", what),
      shards: unpackIds(raw),
    };
  });
  return {
    owner: readString(m, "owner", what, 52),
    seq: readUint(m, "seq", what),
    created: readUint(m, "created", what),
    page,
    pages,
    objects,
  };
}

/** Every shard id a set of pages names. */
export function keptShardIds(pages: Iterable<KeepPage>): Set<string> {
  const ids = new Set<string>();
  for (const p of pages) for (const o of p.objects) for (const id of o.shards) ids.add(id);
  return ids;
}

function packIds(ids: readonly string[]): Uint8Array {
  const out = new Uint8Array(ids.length * ID_BYTES);
  ids.forEach((id, i) => {
    const raw = fromBase32(id);
    if (raw.length !== ID_BYTES) throw new SyntaxError(`Invalid shard id "${id.slice(0, 60)}"`);
    out.set(raw, i * ID_BYTES);
  });
  return out;
}

function unpackIds(raw: Uint8Array): string[] {
  const ids: string[] = [];
  for (let i = 0; i < raw.length; i += ID_BYTES) ids.push(toBase32(raw.subarray(i, i + ID_BYTES)));
  return ids;
}
