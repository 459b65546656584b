/**
 * The owner's side of write sharing (docs/sharing.md, "Write sharing"): a shared folder's write
 * key and its owner-signed `wpolicy` record, and merging what writers wrote into the catalog.
 *
 * Merging: each writer publishes an addendum (`wadd`, one per writer and folder) listing the files
 * it wrote, sealed under a key derived from the folder's write secret and signed with it. The
 * owner's node reads the addenda of everyone who holds the current write key, checks each against
 * the current policy (a revoked writer's key no longer verifies), and adds each file version:
 * as the newest version of its name when the writer saw the version that is newest now (or the
 * name was free), otherwise (a concurrent change: the owner's folder has the later counter) as
 * `name.conflict-<writer id prefix>`. A version already present is skipped, so merging again
 * changes nothing.
 */
import { checkName, decodeEntry, type Entry, type FileVersion } from "../catalog/folder.ts";
import { fileEntry, type FolderEntry, type PermissionHost } from "../catalog/permissions.ts";
import { SealError, unseal } from "../catalog/seal.ts";
import { randomBytes, taggedHash } from "../crypto/hash.ts";
import { signPublicKey } from "../crypto/sign.ts";
import { equals, toHex, utf8 } from "../encoding/bytes.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import { decodeManifest } from "../files/manifest.ts";
import { encodeRecord, recordKeyOf } from "../records/record.ts";
import { type Customer, encodeRequest, SHARD_PROTOCOL } from "../suppliers/mod.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import type { WriteShare } from "../sharing/owner_state.ts";
import { createWritePolicy, encodeWritePolicy, type WritePolicy } from "../sharing/write_key.ts";
import {
  ADDENDUM_PURPOSE,
  addendumMatches,
  decodeAddendum,
  decodeWrittenFiles,
  WADD_NS,
  WPOLICY_NS,
  type WrittenFile,
} from "../sharing/write_records.ts";
import type { MoteNode } from "./node.ts";

/** Bytes each supplier accepts under one write key unless the owner says otherwise (1 GiB). */
export const DEFAULT_WRITE_CAP = 1 << 30;
/** Writers' addenda looked up at once. */
const LOOKUP_WAVE = 8;
/** Most writers (named and group members) merged per folder. */
const MAX_WRITERS = 1024;

/** The `wpolicy` record name of a folder: its record key hash. */
export function folderHash(writePub: Uint8Array): string {
  return recordKeyOf("folder", nodeIdOf(writePub)).hash;
}

/** The key an addendum's box is sealed under: only holders of the write secret derive it. */
export function addendumKey(writeSecret: Uint8Array): Uint8Array {
  return taggedHash("mote/write-addendum-key/v1", writeSecret);
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
 * Merges the addenda of `writers` (node ids) for the folder at `parts` into the catalog; returns
 * the marks ({@linkcode mergedMark}) of the file versions added. Versions whose mark is in
 * `w.merged` (merged before, maybe removed since by the owner) are skipped.
 */
export async function mergeWrites(
  node: MoteNode,
  host: PermissionHost,
  parts: string[],
  folder: FolderEntry,
  w: WriteShare,
  writers: readonly string[],
  inUse: () => Promise<ReadonlySet<string>>,
): Promise<Uint8Array[]> {
  const policy = policyOf(node, folder.writePub, w);
  const key = addendumKey(w.secret);
  const ids = [...new Set(writers)].filter((id) => id !== node.id).slice(0, MAX_WRITERS);
  const found: { writer: string; files: ReturnType<typeof decodeWrittenFiles> }[] = [];
  for (let i = 0; i < ids.length; i += LOOKUP_WAVE) {
    await Promise.all(
      ids.slice(i, i + LOOKUP_WAVE).map(async (writer) => {
        // A writer that never wrote here has no record, and a lookup of a missing key runs to its
        // timeout: a short one, all writers of a wave at once.
        const r = await node.resolve(recordKeyOf(WADD_NS, writer, utf8(policy.folder)), {
          timeout: 3_000,
        }).catch(() => undefined);
        if (!r) return;
        try {
          const a = decodeAddendum(r.record.value);
          // An addendum under an older key (written before a rotation and not merged then) or not
          // signed with the write key is not taken.
          if (!addendumMatches(a, policy)) return;
          found.push({
            writer,
            files: decodeWrittenFiles(await unseal(key, ADDENDUM_PURPOSE, a.box)),
          });
        } catch (e) {
          if (!(e instanceof SealError)) {
            node.log.debug("unusable write addendum", { writer, error: e });
          }
        }
      }),
    );
  }
  if (found.length === 0) return [];
  const done = new Set((w.merged ?? []).map(toHex));
  found.sort((a, b) => a.writer < b.writer ? -1 : 1);
  // Files go to their folders (the shared one, or a subfolder of it), one update per folder.
  const byDir = new Map<
    string,
    { dir: string[]; items: { writer: string; file: WrittenFile }[] }
  >();
  for (const { writer, files } of found) {
    for (const file of files) {
      const dir = [...(file.dir ?? [])];
      const k = JSON.stringify(dir);
      if (!byDir.has(k)) byDir.set(k, { dir, items: [] });
      byDir.get(k)!.items.push({ writer, file });
    }
  }
  // The shard ids the owner's catalog holds, read once per merge and only when needed.
  let held: Promise<ReadonlySet<string>> | undefined;
  return await host.serial(async () => {
    const added: Uint8Array[] = [];
    for (const { dir, items } of byDir.values()) {
      let f;
      try {
        dir.forEach(checkName);
        f = await host.walk([...parts, ...dir]);
      } catch (e) {
        // A subfolder the owner removed (or a bad name): those files are not merged.
        node.log.debug("a written file's folder is not there", { dir, error: e });
        continue;
      }
      const entries: Record<string, Entry> = { ...f.version.entries };
      const before = added.length;
      for (const { writer, file } of items) {
        let version: FileVersion;
        try {
          // A name that is not one path component would make the folder undecodable.
          checkName(file.name);
          const e = decodeEntry({ t: "f", versions: [file.version] }, file.name);
          if (e.t !== "f") continue;
          version = e.versions[0]!;
        } catch (e) {
          node.log.debug("unusable written file", { writer, error: e });
          continue;
        }
        const conflict = `${file.name}.conflict-${writer.slice(0, 8)}`.slice(0, 255);
        const has = (n: string) => {
          const x = entries[n];
          return x?.t === "f" && x.versions.some((v) => equals(v.key, version.key));
        };
        const mark = mergedMark(version.key);
        if (done.has(toHex(mark)) || has(file.name) || has(conflict)) continue;
        // A writer's version must bring its own shards: one naming a pack, or shards the owner's
        // files already use (copied from a version the writer can read), would have the owner
        // delete those when it later removes or prunes this version.
        if (version.pack) continue;
        if (version.manifest) {
          let ids: string[];
          try {
            ids = decodeManifest(version.manifest).blocks.flatMap((b) => b.shards);
          } catch (e) {
            node.log.debug("a written file's manifest is unreadable", { writer, error: e });
            continue;
          }
          const owned = await (held ??= inUse());
          if (ids.some((id) => owned.has(id))) {
            node.log.warn("a written file names shards the owner's files use; not merged", {
              writer,
            });
            continue;
          }
        }
        const cur = entries[file.name];
        const plain = cur === undefined ||
          (cur.t === "f" && !!file.replaces && equals(cur.versions[0]!.key, file.replaces));
        const name = plain ? file.name : conflict;
        const prev = entries[name];
        if (prev?.t === "d") continue; // a folder took that name: never replaced by a file
        const older = prev?.t === "f" ? prev.versions : [];
        entries[name] = fileEntry(f.version, prev, [version, ...older]);
        added.push(mark);
        done.add(toHex(mark));
      }
      if (added.length > before) await host.update(f, entries);
    }
    return added;
  });
}
