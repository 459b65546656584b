// This module is browser compatible.
/**
 * The records of write sharing (docs/sharing.md, "Write sharing"):
 *
 * - `wpolicy`: the owner-signed write policy of one folder (`write_key.ts`), named by the
 *   folder record's key hash, so rotating the write key keeps the address. Suppliers look it up
 *   to check writers' requests; the owner's node and its suppliers keep it alive.
 * - `wadd`: a writer's **addendum** to one folder: the files it wrote there, sealed under the
 *   folder's read key and signed with the folder's write key (under the policy sequence it
 *   names). The record itself is signed by the writer's node, so each writer has its own slot
 *   (records are per signer) and one writer cannot overwrite another's. Whoever merges it (the
 *   owner's node) checks the inner signature against the current policy: a reader who holds the
 *   read key but not the write secret cannot forge one.
 *
 * Addendum value (canonical CBOR): `{ v: 1, owner, folder, seq, box, sig }`; `box` opens (purpose
 * `mote/write-addendum/v1`) to `{ files: [{ name, dir?, version, replaces? }] }`: each a file
 * version (in the subfolder `dir` of the shared folder, as path components, when given)
 * as the catalog stores it, and the data key of the newest version the writer saw under that
 * name (absent when there was none), which tells a plain update from a concurrent one.
 */
import { sign, verify } from "../crypto/sign.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { Namespace } from "../records/namespace.ts";
import type { SignedRecord } from "../records/record.ts";
import { SharingError } from "./errors.ts";
import { decodeWritePolicy, type WritePolicy } from "./write_key.ts";

/** Namespace of write policies (name: the folder record's key hash). */
export const WPOLICY_NS = "wpolicy";
/** Namespace of writers' addenda (signer: the writer's node; name: the folder's key hash). */
export const WADD_NS = "wadd";
/** Seal purpose of an addendum's box. */
export const ADDENDUM_PURPOSE = "mote/write-addendum/v1";
/** Largest addendum value (the records layer's 64 KiB, less the record's own fields). */
export const MAX_ADDENDUM = 60_000;
/** Most files one addendum lists (a writer's newest first; older ones drop off once merged). */
export const MAX_ADDENDUM_FILES = 64;

const ADD_TAG = "sharing/write-addendum/v1";
/** Deepest subfolder of a shared folder an addendum names. */
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

/** A writer's addendum as published (the box still sealed). */
export interface Addendum {
  readonly v: 1;
  readonly owner: string;
  readonly folder: string;
  /** The policy sequence whose write key signed it. */
  readonly seq: number;
  readonly box: Uint8Array;
  readonly sig: Uint8Array;
}

function body(a: Omit<Addendum, "sig">): Uint8Array {
  return encode({ v: 1, owner: a.owner, folder: a.folder, seq: a.seq, box: a.box });
}

/** Signs an addendum with a folder's write secret. */
export function signAddendum(writeSecret: Uint8Array, a: Omit<Addendum, "v" | "sig">): Addendum {
  const unsigned = { v: 1 as const, ...a };
  return { ...unsigned, sig: sign(writeSecret, ADD_TAG, body(unsigned)) };
}

/** Whether `a` was signed by `policy`'s write key, for that owner, folder and sequence. */
export function addendumMatches(a: Addendum, policy: WritePolicy): boolean {
  return a.owner === policy.owner && a.folder === policy.folder && a.seq === policy.seq &&
    verify(policy.writePub, ADD_TAG, body(a), a.sig);
}

/** Encodes an addendum; throws `RangeError` when it would not fit a record. */
export function encodeAddendum(a: Addendum): Uint8Array {
  const bytes = encode({ ...a });
  if (bytes.length > MAX_ADDENDUM) {
    throw new RangeError(`A write addendum of ${bytes.length} bytes is over ${MAX_ADDENDUM}`);
  }
  return bytes;
}

/** Decodes an addendum (shape only: {@linkcode addendumMatches} checks it). */
export function decodeAddendum(bytes: Uint8Array): Addendum {
  const what = "write addendum";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_ADDENDUM }), what, [
    "v",
    "owner",
    "folder",
    "seq",
    "box",
    "sig",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const a: Addendum = {
    v: 1,
    owner: readString(m, "owner", what, 52),
    folder: readString(m, "folder", what, 52),
    seq: readUint(m, "seq", what),
    box: readBytes(m, "box", what, { max: MAX_ADDENDUM }),
    sig: readBytes(m, "sig", what, { exact: 64 }),
  };
  if (!ID_RE.test(a.owner) || !ID_RE.test(a.folder)) {
    throw new DecodeError(`Invalid ${what}: bad owner or folder`);
  }
  return a;
}

/** The `wadd` namespace: values are addenda whose name is their folder. */
export const WADD_NAMESPACE: Namespace = {
  name: WADD_NS,
  maxValue: MAX_ADDENDUM,
  maxName: 52,
  validate: (r: SignedRecord) => {
    const a = decodeAddendum(r.value);
    if (fromUtf8(r.name) !== a.folder) {
      throw new DecodeError("Invalid write addendum record: its name is not its folder");
    }
  },
};

/** One file in an addendum's box. */
export interface WrittenFile {
  readonly name: string;
  /** The subfolder of the shared folder it goes in (components; absent: the folder itself). */
  readonly dir?: readonly string[];
  /** The file version, encoded as a catalog file entry's version (`catalog/folder.ts`). */
  readonly version: unknown;
  /** The data key of the newest version the writer saw under `name`, if any. */
  readonly replaces?: Uint8Array;
}

/** Encodes an addendum's box contents. */
export function encodeWrittenFiles(files: readonly WrittenFile[]): Uint8Array {
  if (files.length > MAX_ADDENDUM_FILES) {
    throw new RangeError(`An addendum lists at most ${MAX_ADDENDUM_FILES} files`);
  }
  return encode({
    files: files.map((f) => ({
      name: f.name,
      version: f.version,
      ...(f.dir?.length ? { dir: [...f.dir] } : {}),
      ...(f.replaces ? { replaces: f.replaces } : {}),
    })),
  });
}

/** Decodes an addendum's box contents (versions are checked by the catalog's decoder). */
export function decodeWrittenFiles(bytes: Uint8Array): WrittenFile[] {
  const what = "written files";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_ADDENDUM }), what, ["files"]);
  if (!Array.isArray(m.files) || m.files.length > MAX_ADDENDUM_FILES) {
    throw new DecodeError(`Invalid ${what}: at most ${MAX_ADDENDUM_FILES} files`);
  }
  return m.files.map((x) => {
    const f = readMap(x, what, ["name", "version"], ["dir", "replaces"]);
    if (
      "dir" in f && (!Array.isArray(f.dir) || f.dir.length > MAX_DIR_DEPTH ||
        f.dir.some((c) => typeof c !== "string" || c.length === 0 || c.length > 255))
    ) {
      throw new DecodeError(`Invalid ${what}: "dir" is at most ${MAX_DIR_DEPTH} names`);
    }
    return {
      name: readString(f, "name", what, 255),
      ...("dir" in f ? { dir: f.dir as string[] } : {}),
      version: f.version,
      ...("replaces" in f ? { replaces: readBytes(f, "replaces", what, { exact: 32 }) } : {}),
    };
  });
}
