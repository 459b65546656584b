/**
 * The owner's side of write sharing (docs/sharing.md, "Write sharing"): a shared folder's write
 * key and its owner-signed `wpolicy` record, and merging what writers wrote into the catalog.
 *
 * Merging: writers publish the folder's writers' version (`wver`, one record per folder and write
 * key, signed with the write key, sealed under the folder's read key) listing the files they
 * wrote. The owner's node reads it, checks it against the current policy (a revoked writer's key
 * no longer verifies), and merges its files under the one rule readers and writers apply too
 * (`sharing/written_merge.ts`). A version already present, or merged before, is skipped, so
 * merging again changes nothing.
 */
import { checkName } from "../catalog/folder.ts";
import type { FolderEntry, PermissionHost } from "../catalog/permissions.ts";
import { SealError, unseal } from "../catalog/seal.ts";
import { randomBytes } from "../crypto/hash.ts";
import { signPublicKey } from "../crypto/sign.ts";
import { toHex, utf8 } from "../encoding/bytes.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import { decodeManifest } from "../files/manifest.ts";
import { encodeRecord, recordKeyOf, type SignedRecord } from "../records/record.ts";
import { type Customer, encodeRequest, SHARD_PROTOCOL } from "../suppliers/mod.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import type { WriteShare } from "../sharing/owner_state.ts";
import { createWritePolicy, encodeWritePolicy, type WritePolicy } from "../sharing/write_key.ts";
import {
  decodeWrittenFiles,
  policyOfRecord,
  WPOLICY_NS,
  WRITTEN_PURPOSE,
  type WrittenFile,
  writtenKey,
  writtenUnder,
} from "../sharing/write_records.ts";
import { mergeWritten, writtenVersion } from "../sharing/written_merge.ts";
import type { MoteNode } from "./node.ts";

/** Bytes each supplier accepts under one write key unless the owner says otherwise (1 GiB). */
export const DEFAULT_WRITE_CAP = 1 << 30;

/** The `wpolicy` record name of a folder: its record key hash. */
export function folderHash(writePub: Uint8Array): string {
  return recordKeyOf("folder", nodeIdOf(writePub)).hash;
}

/** A fresh write key (a sequence above `prev`'s), with no writers yet when new. */
export function nextWriteKey(prev: WriteShare | undefined, cap?: number): WriteShare {
  const c = cap ?? prev?.cap ?? DEFAULT_WRITE_CAP;
  if (!Number.isSafeInteger(c) || c <= 0) {
    throw new RangeError(`A write cap is a positive number of bytes, got ${c}`);
  }
  return {
    writers: prev?.writers ?? [],
    groups: prev?.groups ?? [],
    secret: randomBytes(32),
    // The time, so a sequence is never used twice for two keys: a policy published before the
    // state holding its key failed to save must not be matched by the next rotation's.
    seq: Math.max(prev ? prev.seq + 1 : 0, Date.now()),
    cap: c,
  };
}

/** The signed policy of a folder's current write key. */
export function policyOf(node: MoteNode, writePub: Uint8Array, w: WriteShare): WritePolicy {
  return createWritePolicy(node.keys, {
    folder: folderHash(writePub),
    seq: w.seq,
    writePub: signPublicKey(w.secret),
    byteCap: w.cap,
  });
}

/** Whom a new policy is pushed to: the owner's hired suppliers. */
export interface PolicyTargets {
  readonly customer: Customer;
  suppliers(): string[];
}

/**
 * Publishes the folder's `wpolicy` record (suppliers check writes against it) and hands it to
 * the owner's suppliers at once, so a rotation (a revoked writer) takes effect there without
 * waiting for their next lookup. A supplier out of reach looks it up within a minute itself.
 */
export async function publishPolicy(
  node: MoteNode,
  writePub: Uint8Array,
  w: WriteShare,
  targets?: PolicyTargets,
): Promise<void> {
  const p = policyOf(node, writePub, w);
  const { record } = await node.publish(WPOLICY_NS, utf8(p.folder), encodeWritePolicy(p));
  if (!targets) return;
  const body = encodeRequest("wpolicy", { record: encodeRecord(record) });
  await Promise.all(
    targets.suppliers().map(async (s) => {
      const peer = targets.customer.peerOf(s);
      if (!peer) return;
      await node.rpc.request(peerIdFromString(peer), SHARD_PROTOCOL, body, {
        maxResponse: 1024,
        timeout: 10_000,
      }).catch((e) => node.log.debug("could not push a write policy", { supplier: s, error: e }));
    }),
  );
}

/** The mark a merged version leaves in the owner's state: its data key's first 16 bytes. */
export function mergedMark(key: Uint8Array): Uint8Array {
  return key.slice(0, 16);
}

/**
 * Merges the writers' version (`wver`) of the folder at `parts` into the catalog; returns the
 * marks ({@linkcode mergedMark}) of the file versions added. Versions whose mark is in
 * `w.merged` (merged before, maybe removed since by the owner) are skipped. One record, signed
 * with the write key, holds every writer's files, so no list of writers is needed.
 */
export async function mergeWrites(
  node: MoteNode,
  host: PermissionHost,
  parts: string[],
  folder: FolderEntry,
  w: WriteShare,
  inUse: () => Promise<ReadonlySet<string>>,
): Promise<Uint8Array[]> {
  const policy = policyOf(node, folder.writePub, w);
  const files = await readWritten(node, policy, folder.readKey, { timeout: 5_000 });
  if (files.length === 0) return [];
  const done = new Set((w.merged ?? []).map(toHex));
  // Files go to their folders (the shared one, or a subfolder of it), one update per folder.
  const byDir = new Map<string, { dir: string[]; files: WrittenFile[] }>();
  for (const file of files) {
    const dir = [...(file.dir ?? [])];
    const k = JSON.stringify(dir);
    if (!byDir.has(k)) byDir.set(k, { dir, files: [] });
    byDir.get(k)!.files.push(file);
  }
  // A writer's version must bring its own shards: one naming shards the owner's files already
  // use (copied from a version the writer can read) would have the owner delete those when it
  // later removes or prunes this version. Read once, and only when a file has shards.
  const named = files.flatMap((f) => shardsOf(writtenVersion(f)?.manifest));
  const owned = named.length ? await inUse() : new Set<string>();
  return await host.serial(async () => {
    const added: Uint8Array[] = [];
    for (const { dir, files } of byDir.values()) {
      let f;
      try {
        dir.forEach(checkName);
        f = await host.walk([...parts, ...dir]);
      } catch (e) {
        // A subfolder the owner removed (or a bad name): those files are not merged.
        node.log.debug("a written file's folder is not there", { dir, error: e });
        continue;
      }
      const { entries, taken } = mergeWritten(f.version, files, {
        skip: (v, file) => {
          if (done.has(toHex(mergedMark(v.key)))) return true;
          if (shardsOf(v.manifest).some((id) => owned.has(id))) {
            node.log.warn("a written file names shards the owner's files use; not merged", {
              writer: file.by,
            });
            return true;
          }
          return false;
        },
      });
      if (taken.length === 0) continue;
      await host.update(f, entries);
      for (const t of taken) {
        added.push(mergedMark(t.version.key));
        done.add(toHex(mergedMark(t.version.key)));
      }
    }
    return added;
  });
}

/**
 * The files in the writers' version of `policy`'s folder, opened with the folder's read key
 * (none when there is no record, or it is under another key or does not open).
 */
export async function readWritten(
  node: MoteNode,
  policy: WritePolicy,
  readKey: Uint8Array,
  opts: { timeout: number; signal?: AbortSignal },
): Promise<WrittenFile[]> {
  return (await resolveWritten(node, policy, readKey, opts))?.files ?? [];
}

/** The newest write policy of `owner`'s folder `writePub` (readers and writers look it up). */
export async function resolvePolicy(
  node: MoteNode,
  owner: string,
  writePub: Uint8Array,
  opts: { timeout: number; signal?: AbortSignal },
): Promise<WritePolicy | undefined> {
  const key = recordKeyOf(WPOLICY_NS, owner, utf8(folderHash(writePub)));
  const r = await node.resolve(key, opts).catch(() => undefined);
  return r ? policyOfRecord(r.record) : undefined;
}

/**
 * The newest writers' version of `policy`'s folder: its record and files (none when it is under
 * another key or does not open with `readKey`), or `undefined` when there is no record.
 */
export async function resolveWritten(
  node: MoteNode,
  policy: WritePolicy,
  readKey: Uint8Array,
  opts: { timeout: number; signal?: AbortSignal },
): Promise<{ record: SignedRecord; files: WrittenFile[] } | undefined> {
  const r = await node.resolve(writtenKey(policy), opts).catch(() => undefined);
  if (!r) return undefined;
  try {
    const w = writtenUnder(r.record, policy);
    if (!w) return { record: r.record, files: [] };
    const files = decodeWrittenFiles(await unseal(readKey, WRITTEN_PURPOSE, w.box));
    return { record: r.record, files };
  } catch (e) {
    if (!(e instanceof SealError)) node.log.debug("unusable writers' version", { error: e });
    return { record: r.record, files: [] };
  }
}

function shardsOf(manifest: Uint8Array | undefined): string[] {
  if (!manifest) return [];
  try {
    return decodeManifest(manifest).blocks.flatMap((b) => b.shards);
  } catch {
    return [];
  }
}
