// This module is browser compatible.
/**
 * The records of write sharing (docs/sharing.md, "Write sharing"):
 *
 * - `wpolicy`: the owner-signed write policy of one folder (`write_key.ts`), named by the
 *   folder record's key hash, so rotating the write key keeps the address. Suppliers look it up
 *   to check writers' requests; the owner's node and its suppliers keep it alive.
 * - `wver`: the **writers' version** of one folder shared for writing: the files writers added
 *   there that the owner's node has not merged yet. One record per folder and write key, signed
 *   with the folder's write key itself (the record's signer is the policy's write public key), so
 *   only writers (and the owner) can publish it, readers who hold only the read key cannot forge
 *   it, and it names no writer's node in the network. Its record sequence is the writers' logical
 *   counter: a writer publishes the next one, naming the hash of the value it built on
 *   (`parent`); a writer who finds that a competing version took that sequence merges entry by
 *   entry and publishes the next (`written_merge.ts` holds the one merge rule readers, writers
 *   and the owner all apply). The box is sealed under the folder's **read** key, so readers see
 *   written files while the owner's node is off; the owner's node merges them into its catalog
 *   when it runs (`node/write_sharing.ts`).
 *
 * Writers' version value (canonical CBOR): `{ v: 1, owner, folder, seq, parent, box }`: `seq` is
 * the policy sequence whose key signs it; `box` opens (purpose `mote/writers-version/v1`) to
 * `{ files: [{ name, dir?, version, replaces?, at, by, base }] }`: each a file version (in the
 * subfolder `dir` of the shared folder, when given) as the catalog stores it, the data key of the
 * newest version the writer saw under that name (absent when there was none), the logical
 * counter it was written at (the record sequence that first carried it), the writer's node id,
 * and the counter of the owner's folder version it was written against.
 */
import { equals, fromUtf8, utf8 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { Namespace } from "../records/namespace.ts";
import { type RecordKey, recordKeyOf, type SignedRecord } from "../records/record.ts";
import { SharingError } from "./errors.ts";
import { decodeWritePolicy, type WritePolicy } from "./write_key.ts";

/** Namespace of write policies (name: the folder record's key hash). */
export const WPOLICY_NS = "wpolicy";
/** Namespace of writers' versions (signer: the write key; name: the folder's key hash). */
export const WVER_NS = "wver";
/** Seal purpose of a writers' version box (under the folder's read key). */
export const WRITTEN_PURPOSE = "mote/writers-version/v1";
/** Largest writers' version value (the records layer's 64 KiB, less the record's own fields). */
export const MAX_WRITTEN = 60_000;
/** Most files one writers' version lists (newest last; older ones drop off once merged). */
export const MAX_WRITTEN_FILES = 64;

/** Deepest subfolder of a shared folder a written file names. */
const MAX_DIR_DEPTH = 64;
const ID_RE = /^[a-z2-7]{52}$/;

/** The `wpolicy` namespace: the value is a policy the record's signer signed for that folder. */
export const WPOLICY_NAMESPACE: Namespace = {
  name: WPOLICY_NS,
  maxValue: 512,
  maxName: 52,
  validate: (r: SignedRecord) => void policyOfRecord(r),
};

/** The policy a `wpolicy` record holds, checked against the record's signer and name. */
export function policyOfRecord(r: SignedRecord): WritePolicy {
  const p = decodeWritePolicy(r.value);
  if (nodeIdOf(r.signer) !== p.owner) {
    throw new SharingError("bad-signature", "A write policy published by someone else");
  }
  if (fromUtf8(r.name) !== p.folder) {
    throw new DecodeError("Invalid write policy record: its name is not its folder");
  }
  return p;
}

/** A writers' version as published (the box still sealed). */
export interface WritersVersion {
  readonly v: 1;
  readonly owner: string;
  readonly folder: string;
  /** The policy sequence whose write key signs the record. */
  readonly seq: number;
  /** SHA-256 of the value this one was built on (empty for the first under a key). */
  readonly parent: Uint8Array;
  readonly box: Uint8Array;
}

/** Encodes a writers' version; throws `RangeError` when it would not fit a record. */
export function encodeWritersVersion(w: Omit<WritersVersion, "v">): Uint8Array {
  const bytes = encode({
    v: 1,
    owner: w.owner,
    folder: w.folder,
    seq: w.seq,
    parent: w.parent,
    box: w.box,
  });
  if (bytes.length > MAX_WRITTEN) {
    throw new RangeError(`A writers' version of ${bytes.length} bytes is over ${MAX_WRITTEN}`);
  }
  return bytes;
}

/** Decodes a writers' version (shape only: {@linkcode writtenUnder} checks it). */
export function decodeWritersVersion(bytes: Uint8Array): WritersVersion {
  const what = "writers' version";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_WRITTEN }), what, [
    "v",
    "owner",
    "folder",
    "seq",
    "parent",
    "box",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const w: WritersVersion = {
    v: 1,
    owner: readString(m, "owner", what, 52),
    folder: readString(m, "folder", what, 52),
    seq: readUint(m, "seq", what),
    parent: readBytes(m, "parent", what, { max: 32 }),
    box: readBytes(m, "box", what, { max: MAX_WRITTEN }),
  };
  if (!ID_RE.test(w.owner) || !ID_RE.test(w.folder)) {
    throw new DecodeError(`Invalid ${what}: bad owner or folder`);
  }
  return w;
}

/**
 * The writers' version a `wver` record holds when it belongs to `policy`: signed with its write
 * key, for its owner, folder and sequence. `undefined` for one under an older key (written before
 * a rotation), which nobody takes.
 */
export function writtenUnder(r: SignedRecord, policy: WritePolicy): WritersVersion | undefined {
  const w = decodeWritersVersion(r.value);
  const ok = r.ns === WVER_NS && equals(r.signer, policy.writePub) &&
    fromUtf8(r.name) === policy.folder && w.owner === policy.owner &&
    w.folder === policy.folder && w.seq === policy.seq;
  return ok ? w : undefined;
}

/** The record key of a folder's writers' version under `policy`'s write key. */
export function writtenKey(policy: WritePolicy): RecordKey {
  return recordKeyOf(WVER_NS, nodeIdOf(policy.writePub), utf8(policy.folder));
}

/** The `wver` namespace: values are writers' versions whose name is their folder. */
export const WVER_NAMESPACE: Namespace = {
  name: WVER_NS,
  maxValue: MAX_WRITTEN,
  maxName: 52,
  validate: (r: SignedRecord) => {
    const w = decodeWritersVersion(r.value);
    if (fromUtf8(r.name) !== w.folder) {
      throw new DecodeError("Invalid writers' version record: its name is not its folder");
    }
  },
};

/** One file in a writers' version. */
export interface WrittenFile {
  readonly name: string;
  /** The subfolder of the shared folder it goes in (components; absent: the folder itself). */
  readonly dir?: readonly string[];
  /** The file version, encoded as a catalog file entry's version (`catalog/folder.ts`). */
  readonly version: unknown;
  /** The data key of the newest version the writer saw under `name`, if any. */
  readonly replaces?: Uint8Array;
  /** The writers' logical counter it was written at. */
  readonly at: number;
  /** The writer's node id. */
  readonly by: string;
  /** The counter of the owner's folder version (of `dir`) it was written against. */
  readonly base: number;
}

/** Encodes a writers' version box contents. */
export function encodeWrittenFiles(files: readonly WrittenFile[]): Uint8Array {
  if (files.length > MAX_WRITTEN_FILES) {
    throw new RangeError(`A writers' version lists at most ${MAX_WRITTEN_FILES} files`);
  }
  return encode({
    files: files.map((f) => ({
      name: f.name,
      version: f.version,
      at: f.at,
      by: f.by,
      base: f.base,
      ...(f.dir?.length ? { dir: [...f.dir] } : {}),
      ...(f.replaces ? { replaces: f.replaces } : {}),
    })),
  });
}

/** Decodes a writers' version box contents (versions are checked by the catalog's decoder). */
export function decodeWrittenFiles(bytes: Uint8Array): WrittenFile[] {
  const what = "written files";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_WRITTEN }), what, ["files"]);
  if (!Array.isArray(m.files) || m.files.length > MAX_WRITTEN_FILES) {
    throw new DecodeError(`Invalid ${what}: at most ${MAX_WRITTEN_FILES} files`);
  }
  return m.files.map((x) => {
    const f = readMap(x, what, ["name", "version", "at", "by", "base"], ["dir", "replaces"]);
    if (
      "dir" in f && (!Array.isArray(f.dir) || f.dir.length > MAX_DIR_DEPTH ||
        f.dir.some((c) => typeof c !== "string" || c.length === 0 || c.length > 255))
    ) {
      throw new DecodeError(`Invalid ${what}: "dir" is at most ${MAX_DIR_DEPTH} names`);
    }
    const by = readString(f, "by", what, 52);
    if (!ID_RE.test(by)) throw new DecodeError(`Invalid ${what}: "by" is not a node id`);
    return {
      name: readString(f, "name", what, 255),
      ...("dir" in f ? { dir: f.dir as string[] } : {}),
      version: f.version,
      ...("replaces" in f ? { replaces: readBytes(f, "replaces", what, { exact: 32 }) } : {}),
      at: readUint(f, "at", what),
      by,
      base: readUint(f, "base", what),
    };
  });
}
