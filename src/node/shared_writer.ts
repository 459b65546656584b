/**
 * Writing into folders other owners share for writing: `mote put <local> <owner-id>:/folder/`
 * (docs/sharing.md, "Write sharing").
 *
 * The writer's node opens the folder's `"write"` grant in the owner's `share` record (as a named
 * writer or a group member), checks the secret against the folder's `wpolicy` record, encrypts
 * the file under a fresh data key and places its shards on the **owner's** suppliers (found in
 * the DHT, as readers find them), each with a write request signed by the write key for that
 * supplier and shard (`wput`): they land in the owner's space, under the owner's contract and
 * the policy's byte cap. Files of at most 1 KiB go inline, with no shards. The file's version is
 * then added to the folder's writers' version (`wver` record, sealed under the folder's read key
 * and signed with the write key), which readers merge into what they see at once, even with the
 * owner's node off, and the owner's node merges into its catalog when it runs
 * (`write_sharing.ts`; a hint to the owner's node, when it is online, makes that happen within
 * seconds: `write_hint.ts`). Writes go into a folder shared for writing or any subfolder of it
 * that exists (writers add and replace files; they do not make, remove or rename anything).
 */
import { NotFoundError } from "../catalog/catalog.ts";
import { type FolderVersion, INLINE_MAX, splitPath } from "../catalog/folder.ts";
import { seal, unseal } from "../catalog/seal.ts";
import { randomBytes, sha256Sync } from "../crypto/hash.ts";
import { shardId } from "../crypto/merkle.ts";
import { signPublicKey } from "../crypto/sign.ts";
import { fromBase32 } from "../encoding/base32.ts";
import { concat, equals, fromUtf8, utf8 } from "../encoding/bytes.ts";
import { decode } from "../encoding/cbor.ts";
import { encodeWithTail } from "../encoding/cbor_tail.ts";
import { eccForSuppliers } from "../erasure/ecc_maps.ts";
import { encodeManifest, putFile, ShardLocator } from "../files/mod.ts";
import { assertNodeId } from "../identity/node_id.ts";
import { createRecord, formatRecordKey, recordKeyOf } from "../records/record.ts";
import { type Grant, openAsGroupMember, openAsReader, openPublic } from "../sharing/grants.ts";
import { SharingError, type SharingRefusal } from "../sharing/errors.ts";
import { decodeShareList, LABEL_PURPOSE } from "../sharing/share_record.ts";
import type { WritePolicy } from "../sharing/write_key.ts";
import {
  encodeWritersVersion,
  encodeWrittenFiles,
  WRITTEN_PURPOSE,
  type WrittenFile,
  writtenKey,
  WVER_NS,
} from "../sharing/write_records.ts";
import {
  holdsVersion,
  listsVersion,
  mergeWritten,
  writtenIn,
  writtenVersion,
} from "../sharing/written_merge.ts";
import {
  encodeWriteRequest,
  signWriteRequest,
  type WriteRequest,
} from "../sharing/write_request.ts";
import { Customer, MAX_SHARD, SHARD_PROTOCOL } from "../suppliers/mod.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import type { MoteNode } from "./node.ts";
import type { GroupOpen, SharedReader } from "./shared_reader.ts";
import { memoryState } from "./state.ts";
import { resolvePolicy, resolveWritten } from "./write_sharing.ts";
import { sendWriteHint } from "./write_hint.ts";

/** How long a write request lives (the suppliers' limit is 10 minutes). */
const REQUEST_TTL_MS = 5 * 60_000;
/** Times a writer publishes the writers' version when others keep taking its sequence. */
const PUBLISH_ROUNDS = 4;
/** How long a writer waits after publishing before it looks for a competing version (ms). */
const SETTLE_MS = 1_000;
/** When a writer looks at the writers' version again after a write (ms after the previous). */
const WATCH_AFTER = [3_000, 10_000];

/** A folder this node may write to. */
export interface WritableFolder {
  path: string;
  parts: string[];
  writePub: Uint8Array;
  readKey: Uint8Array;
  secret: Uint8Array;
  policy: WritePolicy;
}

/** What a write did. */
export interface WriteResult {
  path: string;
  size: number;
  /** Shards placed on the owner's suppliers (0 for an inline file). */
  shards: number;
}

/**
 * Sends one writer's shard to one supplier (`wput`). A refusal comes back as a `SharingError`
 * with the supplier's reason.
 */
export async function sendWrite(
  node: MoteNode,
  peer: string,
  request: WriteRequest,
  data: Uint8Array,
  signal?: AbortSignal,
): Promise<"stored" | "exists"> {
  const body = encodeWithTail(
    { v: 1, op: "wput", req: encodeWriteRequest(request) },
    "data",
    data,
  );
  let res: Uint8Array[];
  try {
    res = await node.rpc.requestChunks(peerIdFromString(peer), SHARD_PROTOCOL, body, {
      maxResponse: 1024,
      timeout: 30_000,
      signal,
    });
  } catch (e) {
    const m = /^([a-z-]+): /.exec((e as Error).message ?? "");
    if (m && (e as Error).name === "RpcError") {
      throw new SharingError(m[1] as SharingRefusal, (e as Error).message);
    }
    throw e;
  }
  return (decode(concat(...res)) as { result: "stored" | "exists" }).result;
}

/** Writes into other owners' folders through this node. */
export class SharedWriter {
  readonly #node: MoteNode;
  readonly #reader: SharedReader;
  readonly #customer: Customer;

  constructor(node: MoteNode, reader: SharedReader) {
    this.#node = node;
    this.#reader = reader;
    this.#customer = new Customer(node, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: 15_000,
    });
  }

  /** The owner's suppliers as this node finds them (id and peer). */
  async suppliersOf(owner: string): Promise<{ id: string; peer: string }[]> {
    const found = await this.#customer.findServing(owner, { timeout: 10_000 });
    return found.filter((s) => s.id !== this.#node.id).map((s) => ({ id: s.id, peer: s.peer }));
  }

  /** Every folder of `owner` this node may write to, with its current policy. */
  async writable(owner: string, signal?: AbortSignal): Promise<WritableFolder[]> {
    assertNodeId(owner);
    const r = await this.#node.resolve(recordKeyOf("share", owner), { timeout: 10_000, signal });
    if (!r) throw new SharingError("nothing-shared", `${owner} shares nothing with you`);
    const list = decodeShareList(r.record.value);
    const groups = new Map<string, Promise<GroupOpen | undefined>>();
    const out: WritableFolder[] = [];
    for (const e of list.entries) {
      if (!e.write) continue;
      const secret = await this.#openKey(owner, e.write, groups);
      const readKey = secret && await this.#openKey(owner, e.grant, groups);
      if (!secret || !readKey) continue;
      let path: string;
      try {
        path = fromUtf8(await unseal(readKey, LABEL_PURPOSE, e.label));
      } catch {
        continue;
      }
      const writePub = e.grant.object;
      const policy = await resolvePolicy(this.#node, owner, writePub, { timeout: 10_000 });
      if (!policy || !equals(policy.writePub, signPublicKey(secret))) continue;
      const parts = splitPath(path);
      out.push({ path: "/" + parts.join("/"), parts, writePub, readKey, secret, policy });
    }
    return out;
  }

  /**
   * Writes `size` bytes from `source` as `owner:/parts` (the last part the file's name; the rest
   * a folder shared with this node for writing).
   */
  async put(
    owner: string,
    parts: string[],
    source: AsyncIterable<Uint8Array>,
    size: number,
    opts: { mtime?: number; signal?: AbortSignal } = {},
  ): Promise<WriteResult> {
    if (parts.length < 2) {
      throw new RangeError("Name a file inside a shared folder: <owner-id>:/folder/name");
    }
    const name = parts.at(-1)!, dir = parts.slice(0, -1);
    const text = `${owner}:/${parts.join("/")}`;
    const folders = await this.writable(owner, opts.signal);
    // The deepest folder shared for writing that holds the target (it or one of its subfolders).
    const f = folders
      .filter((x) => x.parts.length <= dir.length && x.parts.every((p, i) => p === dir[i]))
      .sort((a, b) => b.parts.length - a.parts.length)[0];
    if (!f) {
      throw new SharingError(
        "denied",
        `Permission denied: ${owner} does not let you write to /${dir.join("/")}` +
          (folders.length ? ` (you may write to ${folders.map((x) => x.path).join(", ")})` : ""),
      );
    }
    // The version newest now under that name: a merge tells an update of it from a concurrent
    // change by this. A subfolder must exist already (writers do not make folders).
    const sub = dir.slice(f.parts.length);
    let current = await this.#reader.openFolder(owner, f.writePub, f.readKey, opts.signal);
    let currentKey = f.readKey;
    for (const [i, c] of sub.entries()) {
      const e = current.entries[c];
      if (e?.t !== "d") {
        throw new NotFoundError(
          `No folder ${owner}:/${[...f.parts, ...sub.slice(0, i + 1)].join("/")}: writers ` +
            `add files to folders that exist`,
        );
      }
      current = await this.#reader.openFolder(owner, e.writePub, e.readKey, opts.signal);
      currentKey = e.readKey;
    }
    // What readers see there: the owner's version and the files writers added that the owner's
    // node has not merged yet. The newest under `name` in that view is what this write replaces.
    const written = await resolveWritten(this.#node, f.policy, f.readKey, { timeout: 5_000 });
    const here = writtenIn(written?.files ?? [], sub);
    const view = mergeWritten(current, here, { since: current.counter }).entries;
    const prev = view[name];
    if (prev?.t === "d") throw new RangeError(`${text} is a folder`);
    const replaces = prev?.t === "f" ? prev.versions[0]!.key : undefined;
    const key = randomBytes(32);
    const now = Date.now();
    const base = {
      size,
      mtime: opts.mtime ?? now,
      added: now,
      // The owner's content hash is keyed with a key only the owner holds: a random one never
      // matches, so the owner never skips a later upload as unchanged because of it.
      hash: randomBytes(32),
      key,
    };
    let version: Record<string, unknown>, shards = 0;
    if (size <= INLINE_MAX) {
      const bytes = concat(...await collect(source, size));
      if (bytes.length !== size) throw new RangeError(`The source gave ${bytes.length} bytes`);
      version = { ...base, inline: bytes };
    } else {
      const suppliers = await this.suppliersOf(owner);
      if (suppliers.length < 2) {
        throw new SharingError(
          "no-owner",
          `Only ${suppliers.length} supplier of ${owner} could be found: writing needs 2`,
        );
      }
      const { k, m } = eccForSuppliers(suppliers.length);
      const placer = {
        putShard: (supplier: string, id: string, data: Uint8Array, signal?: AbortSignal) => {
          const peer = suppliers.find((s) => s.id === supplier)!.peer;
          const req = signWriteRequest(f.secret, {
            owner,
            folder: f.policy.folder,
            seq: f.policy.seq,
            supplier,
            shard: fromBase32(id),
            size: data.length,
            expires: Date.now() + REQUEST_TTL_MS,
          });
          return sendWrite(this.#node, peer, req, data, signal);
        },
        contactOf: (s: string) => this.#customer.contactOf(s),
        has: (s: string, ids: string[]) => this.#customer.has(s, ids),
      };
      const { manifest, pending } = await putFile(source, size, {
        customer: placer,
        locator: new ShardLocator(),
        suppliers: suppliers.map((s) => s.id),
        k,
        m,
        key,
        signal: opts.signal,
      });
      shards = manifest.blocks.reduce((n, b) => n + b.shards.length, 0) - pending.length;
      version = { ...base, manifest: encodeManifest(manifest) };
    }
    const file = {
      name,
      ...(sub.length ? { dir: sub } : {}),
      version,
      ...(replaces ? { replaces } : {}),
      by: this.#node.id,
      base: current.counter,
    };
    await this.#publishWritten(owner, f, written, file, current);
    this.#watch(owner, f, file, { version: current, readKey: currentKey });
    this.#reader.forgetWritten(owner);
    // Not waited for: an owner that is off merges when it runs.
    sendWriteHint(this.#node, owner).catch(() => {});
    return { path: text, size, shards };
  }

  /**
   * Publishes the folder's next writers' version with `file` added (`write_records.ts`): the
   * record sequence after the newest found, naming that one's hash as its parent. Then it looks
   * again: when a competing version took that sequence (another writer published at the same
   * time), it merges entry by entry (the files of both) and publishes the next, a few times at
   * most. Files the owner's node has merged into `target` (the folder written to) are left out,
   * and the oldest drop off when the record would be too large.
   */
  async #publishWritten(
    owner: string,
    f: WritableFolder,
    found: Awaited<ReturnType<typeof resolveWritten>>,
    file: Omit<WrittenFile, "at">,
    target: FolderVersion,
  ): Promise<void> {
    const node = this.#node;
    // Files the owner's node has merged into `target` since they were written.
    const merged = (x: WrittenFile) => {
      const here = x.base < target.counter && writtenIn([x], file.dir ?? []).length === 1;
      const v = here ? writtenVersion(x) : undefined;
      return !!v && holdsVersion(target, v.key);
    };
    const key = writtenVersion({ ...file, at: 0 })!.key;
    let cur = found;
    for (let round = 0; round < PUBLISH_ROUNDS; round++) {
      const seq = (cur?.record.seq ?? -1) + 1;
      const mine: WrittenFile = { ...file, at: seq };
      let files = [...(cur?.files ?? []).filter((x) => !merged(x)), mine];
      let value: Uint8Array;
      for (;;) {
        const box = await seal(f.readKey, WRITTEN_PURPOSE, encodeWrittenFiles(files));
        try {
          value = encodeWritersVersion({
            owner,
            folder: f.policy.folder,
            seq: f.policy.seq,
            parent: cur ? sha256Sync(cur.record.value) : new Uint8Array(0),
            box,
          });
          break;
        } catch (e) {
          // Shrink from the oldest until it fits one record (a large file's manifest is big).
          if (!(e instanceof RangeError) || files.length <= 1) throw e;
          files = files.slice(1);
        }
      }
      const record = createRecord(f.secret, signPublicKey(f.secret), {
        ns: WVER_NS,
        name: utf8(f.policy.folder),
        seq,
        value,
      });
      // A version another writer published at this sequence first is refused here: look again.
      await node.publishRecord(record).catch((e) =>
        node.log.debug("writers' version not published", { error: e })
      );
      await delay(SETTLE_MS);
      cur = await resolveWritten(node, f.policy, f.readKey, { timeout: 5_000 });
      if (listsVersion(cur?.files ?? [], file.by, key)) return;
      node.log.info("another writer published at the same time; merging", {
        key: formatRecordKey(writtenKey(f.policy)),
        seq,
      });
    }
    throw new SharingError(
      "busy",
      `${owner}:/${[...f.parts, ...(file.dir ?? []), file.name].join("/")}: other writers kept ` +
        `publishing at the same time; the file's shards are stored, try the write again`,
    );
  }

  /**
   * Looks again a few seconds after a write: another writer's version published at the same
   * sequence may reach the network after this writer's first look (its put was slower), and
   * win the records layer's tie-break, so this file is no longer listed. Unless the owner's node
   * has merged it meanwhile, it is merged back and published again. In the background, bounded:
   * `WATCH_AFTER` looks, errors only logged (the node may have stopped).
   */
  #watch(
    owner: string,
    f: WritableFolder,
    file: Omit<WrittenFile, "at">,
    target: { version: FolderVersion; readKey: Uint8Array },
  ): void {
    const node = this.#node;
    const key = writtenVersion({ ...file, at: 0 })!.key;
    let i = 0;
    const look = async () => {
      const cur = await resolveWritten(node, f.policy, f.readKey, { timeout: 5_000 });
      if (listsVersion(cur?.files ?? [], file.by, key)) return;
      const now = await this.#reader.openFolder(owner, target.version.writePub, target.readKey);
      if (holdsVersion(now, key)) return; // the owner's node has merged it
      node.log.info("a written file fell out of the writers' version; publishing it again", {
        name: file.name,
      });
      await this.#publishWritten(owner, f, cur, file, now);
      this.#reader.forgetWritten(owner);
    };
    const next = () => {
      if (i >= WATCH_AFTER.length) return;
      const t = setTimeout(() => {
        look().catch((e) =>
          node.log.debug("could not look at a writers' version again", { error: e })
        )
          .finally(next);
      }, WATCH_AFTER[i++]!);
      Deno.unrefTimer(t);
    };
    next();
  }

  async #openKey(
    owner: string,
    g: Grant,
    groups: Map<string, Promise<GroupOpen | undefined>>,
  ): Promise<Uint8Array | undefined> {
    const me = this.#node.keys;
    if (g.readers.some((r) => r.id === me.id)) {
      const k = await openAsReader(g, me.id, me.agreeSecret).catch(() => undefined);
      if (k) return k;
    }
    for (const x of g.groups.slice(0, 64)) {
      let p = groups.get(x.group);
      if (!p) groups.set(x.group, p = this.#reader.openGroup(owner, x.group));
      const gk = await p;
      const k = gk && await openAsGroupMember(g, gk).catch(() => undefined);
      if (k) return k;
    }
    // "Others" (a folder whose mode gives others write, or a public read grant): the key itself.
    return g.public ? openPublic(g) : undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function collect(source: AsyncIterable<Uint8Array>, max: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > max) throw new RangeError(`The source grew past ${max} bytes`);
    out.push(c);
  }
  return out;
}
