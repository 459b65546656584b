// This module is browser compatible.
/**
 * What a quick link opens: a snapshot object and the reference that finds it.
 *
 * The snapshot lists the linked files as they were when the link was made: each file's path
 * (relative to the linked folder, or just its name), size, and either its version's data key and
 * encoded manifest (the shards stay where they are) or its bytes inline (small and packed files:
 * a pack's key would also open its neighbours' ciphertext, so a pack is never named). The owner's
 * node stores the encoded snapshot as an ordinary object under the link's fresh key: one block,
 * k = 1 (every shard is a full copy), so a few shard ids find it.
 *
 * Snapshot: canonical CBOR `{ v: 1, created, files: [{ path, size, key?, manifest?, inline? }] }`.
 * Ref (the capability's `ref`, ≤ 256 bytes): `{ v: 1, owner: 32 B, size, shards: [32 B × 2–5] }`,
 * the owner's node id and the snapshot object's shard ids as raw bytes, `size` its plaintext
 * length. {@linkcode refManifest} turns a ref into the object's manifest, so the page reads it
 * with the same code as any file (`files/get.ts`), through `GET /shards/<id>?owner=<owner>`.
 */
import { fromBase32, toBase32 } from "../encoding/base32.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { type Fields, readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { decodeManifest, type FileManifest } from "../files/manifest.ts";
import { MAX_LINK_REF_BYTES } from "./link.ts";

/** Largest encoded snapshot (its object is stored as full copies, so it stays small). */
export const MAX_SNAPSHOT_BYTES = 2 << 20;
/** Most files in one link. */
export const MAX_LINK_FILES = 1000;
/** Largest file carried inline in a snapshot (a packed file is at most 256 KiB). */
export const MAX_INLINE_BYTES = 256 * 1024;
/** Largest encoded manifest of one linked file (a few TB at 4 MiB blocks). */
export const MAX_LINKED_MANIFEST = 1 << 20;
/** Copies of the snapshot object: 2 to 5 shards, each the whole (encrypted) snapshot. */
export const MIN_REF_SHARDS = 2;
export const MAX_REF_SHARDS = 5;
/** Longest relative path in a snapshot. */
const MAX_PATH = 4096;

/** One file of a snapshot: its data key and manifest, or its bytes. */
export type SnapshotFile =
  & { readonly path: string; readonly size: number }
  & (
    | { readonly key: Uint8Array; readonly manifest: Uint8Array; readonly inline?: undefined }
    | { readonly inline: Uint8Array; readonly key?: undefined; readonly manifest?: undefined }
  );

/** A link's snapshot. */
export interface LinkSnapshot {
  readonly v: 1;
  /** When the link was made (ms). */
  readonly created: number;
  readonly files: readonly SnapshotFile[];
}

/** Where the snapshot object is: its owner, plaintext size and shard ids (one block, k = 1). */
export interface LinkRef {
  readonly v: 1;
  /** The owner's node id (52 base32 characters). */
  readonly owner: string;
  readonly size: number;
  /** The object's shard ids: shard 0 is the data, the others parity (each a full copy). */
  readonly shards: readonly string[];
}

/** Checks a snapshot path: relative, `/`-separated components, no `.`, `..` or control bytes. */
export function checkSnapshotPath(path: string): string {
  if (typeof path !== "string" || path.length === 0 || path.length > MAX_PATH) {
    throw new DecodeError(`Invalid snapshot path: must be 1 to ${MAX_PATH} characters`);
  }
  for (const part of path.split("/")) {
    // deno-lint-ignore no-control-regex
    if (part === "" || part === "." || part === ".." || /[\\\x00-\x1f]/.test(part)) {
      throw new DecodeError(`Invalid snapshot path "${path.slice(0, 80)}"`);
    }
  }
  return path;
}

/** Encodes a snapshot; throws `RangeError` past the limits (nothing is stored then). */
export function encodeSnapshot(s: LinkSnapshot): Uint8Array {
  if (s.files.length === 0) throw new RangeError("A link needs at least one file");
  if (s.files.length > MAX_LINK_FILES) {
    throw new RangeError(`A link holds at most ${MAX_LINK_FILES} files, got ${s.files.length}`);
  }
  const files = s.files.map((f) => {
    checkSnapshotPath(f.path);
    if (f.inline !== undefined) {
      if (f.inline.length !== f.size || f.size > MAX_INLINE_BYTES) {
        throw new RangeError(`${f.path}: inline bytes must be the file (≤ ${MAX_INLINE_BYTES})`);
      }
      return { path: f.path, size: f.size, inline: f.inline };
    }
    if (f.key.length !== 32) throw new RangeError(`${f.path}: a data key is 32 bytes`);
    return { path: f.path, size: f.size, key: f.key, manifest: f.manifest };
  });
  const bytes = encode({ v: 1, created: s.created, files });
  if (bytes.length > MAX_SNAPSHOT_BYTES) {
    throw new RangeError(
      `The link's snapshot would be ${bytes.length} bytes, over ${MAX_SNAPSHOT_BYTES}: ` +
        `link fewer files (small files are copied into it)`,
    );
  }
  return bytes;
}

/** Decodes and checks a snapshot: every manifest decodes and agrees with its file's size. */
export function decodeSnapshot(bytes: Uint8Array): LinkSnapshot {
  const what = "link snapshot";
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_SNAPSHOT_BYTES }),
    what,
    ["v", "created", "files"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  if (!Array.isArray(m.files) || m.files.length === 0 || m.files.length > MAX_LINK_FILES) {
    throw new DecodeError(`Invalid ${what}: "files" must list 1 to ${MAX_LINK_FILES} files`);
  }
  const seen = new Set<string>();
  const files = m.files.map((x: unknown, i: number): SnapshotFile => {
    const w = `${what} file ${i}`;
    const f = readMap(x, w, ["path", "size"], ["key", "manifest", "inline"]);
    const path = checkSnapshotPath(readString(f, "path", w, MAX_PATH));
    if (seen.has(path)) throw new DecodeError(`Invalid ${what}: "${path}" appears twice`);
    seen.add(path);
    const size = readUint(f, "size", w);
    if (f.inline !== undefined) {
      if (f.key !== undefined || f.manifest !== undefined) {
        throw new DecodeError(`Invalid ${w}: inline bytes or a key and manifest, not both`);
      }
      const inline = readBytes(f, "inline", w, { max: MAX_INLINE_BYTES });
      if (inline.length !== size) throw new DecodeError(`Invalid ${w}: size disagrees`);
      return { path, size, inline };
    }
    return { path, size, ...readStored(f, w, size) };
  });
  return { v: 1, created: readUint(m, "created", what), files };
}

function readStored(f: Fields, w: string, size: number) {
  const key = readBytes(f, "key", w, { exact: 32 });
  const manifest = readBytes(f, "manifest", w, { max: MAX_LINKED_MANIFEST });
  if (decodeManifest(manifest, MAX_LINKED_MANIFEST).size !== size) {
    throw new DecodeError(`Invalid ${w}: its manifest is not of ${size} bytes`);
  }
  return { key, manifest };
}

const ID_RE = /^[a-z2-7]{52}$/;

/** Encodes a ref (at most 256 bytes, as a capability allows). */
export function encodeLinkRef(ref: LinkRef): Uint8Array {
  if (!ID_RE.test(ref.owner)) throw new RangeError("A link ref's owner must be a node id");
  const n = ref.shards.length;
  if (n < MIN_REF_SHARDS || n > MAX_REF_SHARDS || !ref.shards.every((s) => ID_RE.test(s))) {
    throw new RangeError(`A link ref names ${MIN_REF_SHARDS} to ${MAX_REF_SHARDS} shard ids`);
  }
  if (!Number.isSafeInteger(ref.size) || ref.size < 1 || ref.size > MAX_SNAPSHOT_BYTES) {
    throw new RangeError(`A link ref's size must be 1 to ${MAX_SNAPSHOT_BYTES}`);
  }
  const bytes = encode({
    v: 1,
    owner: fromBase32(ref.owner),
    size: ref.size,
    shards: ref.shards.map(fromBase32),
  });
  if (bytes.length > MAX_LINK_REF_BYTES) throw new RangeError("A link ref is too long");
  return bytes;
}

/** Decodes a ref; throws `DecodeError` for anything malformed. */
export function decodeLinkRef(bytes: Uint8Array): LinkRef {
  const what = "link ref";
  const m = readMap(
    decodeCanonical(bytes, { what, maxBytes: MAX_LINK_REF_BYTES }),
    what,
    ["v", "owner", "size", "shards"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const owner = toBase32(readBytes(m, "owner", what, { exact: 32 }));
  const size = readUint(m, "size", what);
  if (size < 1 || size > MAX_SNAPSHOT_BYTES) {
    throw new DecodeError(`Invalid ${what}: size ${size} is outside 1 to ${MAX_SNAPSHOT_BYTES}`);
  }
  const s = m.shards;
  if (!Array.isArray(s) || s.length < MIN_REF_SHARDS || s.length > MAX_REF_SHARDS) {
    throw new DecodeError(`Invalid ${what}: expected ${MIN_REF_SHARDS} to ${MAX_REF_SHARDS} ids`);
  }
  const shards = s.map((x: unknown, i: number) =>
    toBase32(readBytes({ x }, "x", `${what} shard ${i}`, { exact: 32 }))
  );
  return { v: 1, owner, size, shards };
}

/** The snapshot object's manifest: one block of `size` bytes under a 1 + (n − 1) code. */
export function refManifest(ref: LinkRef): FileManifest {
  return {
    v: 1,
    size: ref.size,
    blockSize: ref.size,
    k: 1,
    m: ref.shards.length - 1,
    blocks: [{ len: ref.size + 16, shards: [...ref.shards] }],
  };
}
