/**
 * Reading what other owners share with this node: `<owner-id>:/path` (docs/sharing.md).
 *
 * The owner's `share` record is looked up by the owner id (the records layer checks that the
 * owner signed it and refuses older versions it has seen superseded). Each entry's grant is
 * opened as a named reader (HPKE with this node's X25519 key), as a member of a group it names
 * (the group record, signed by the same owner, wraps the group key to this node), or as public.
 * A folder share gives the folder's record address and read key: its record is found in the
 * DHT, its pointer unsealed, its object read from the owner's suppliers (found through the DHT,
 * as any node reads a site), and its subfolders' keys come from it (Cryptree). A file share
 * gives a sealed box with the file's newest version. Nothing here needs the owner's node.
 *
 * Refusals are `SharingError`s: `no-owner` (no such node in the network), `nothing-shared`,
 * `denied` (a path outside what was shared with this node), `revoked` (this node could read it
 * before, or holds a key that no longer opens it).
 */
import { NotFoundError } from "../catalog/catalog.ts";
import {
  decodeEntry,
  decodeFolder,
  type FileVersion,
  type FolderVersion,
} from "../catalog/folder.ts";
import { openMember } from "../catalog/pack.ts";
import { fileMode, fileRow, folderRow, type LongListing } from "../catalog/permissions.ts";
import { decodeFolderPointer } from "../catalog/records.ts";
import { SealError, unseal } from "../catalog/seal.ts";
import { shardId } from "../crypto/merkle.ts";
import { equals, fromUtf8, toHex } from "../encoding/bytes.ts";
import { decodeCanonical } from "../encoding/cbor.ts";
import { readBytes, readMap } from "../encoding/shape.ts";
import { decodeManifest, getFile, ShardLocator } from "../files/mod.ts";
import { assertNodeId, nodeIdOf } from "../identity/node_id.ts";
import { recordKeyOf } from "../records/record.ts";
import { openAsGroupMember, openAsReader, openPublic } from "../sharing/grants.ts";
import { unwrapGroupKey } from "../sharing/group.ts";
import { decodeGroup } from "../sharing/group_record.ts";
import { SharingError } from "../sharing/errors.ts";
import { canList, formatMode } from "../sharing/mode.ts";
import {
  decodeShareList,
  FILE_BOX_PURPOSE,
  LABEL_PURPOSE,
  type ShareEntry,
} from "../sharing/share_record.ts";
import { splitPath } from "../catalog/folder.ts";
import type { WrittenFile } from "../sharing/write_records.ts";
import { mergeWritten, writtenIn } from "../sharing/written_merge.ts";
import { Customer, MAX_SHARD } from "../suppliers/mod.ts";
import type { MoteNode } from "./node.ts";
import { memoryState } from "./state.ts";
import { resolvePolicy, resolveWritten } from "./write_sharing.ts";

/** How long a folder's writers' version, once read, is used (ms). */
const WRITTEN_TTL = 3_000;
/** How long the list of an owner's suppliers is used (ms). */
const SUPPLIERS_TTL = 60_000;
/** Owners whose suppliers, and paths once readable, are remembered at most. */
const MAX_REMEMBERED = 256;
/** Deepest path walked. */
const MAX_DEPTH = 256;
/**
 * Distinct groups looked up for one owner's record: a record may name up to 64 per entry, and
 * each is a DHT lookup, so an owner cannot make a reader do thousands of them.
 */
const MAX_GROUP_LOOKUPS = 64;
/** Subfolders opened at once for their modes in a listing; past `MAX_MODE_LOOKUPS` none are. */
const MODE_WAVE = 16, MAX_MODE_LOOKUPS = 256;

/** A share this node could open. */
export interface OpenedShare {
  path: string;
  parts: string[];
  kind: "d" | "f";
  /** The folder's record address (write public key), or the file share's object id. */
  object: Uint8Array;
  /** The folder's read key, or the file share key. */
  key: Uint8Array;
  via: "reader" | "group" | "public";
  box?: Uint8Array;
  /** A folder shared for writing (with anyone): writers' files may wait in its `wver` record. */
  writable?: boolean;
}

/** A group this node found itself in. */
export interface Membership {
  owner: string;
  name: string;
  epoch: number;
  members: number;
}

/** What a path resolved to. */
type Resolved =
  | { kind: "virtual"; names: Map<string, "file" | "folder"> }
  | { kind: "folder"; version: FolderVersion; via: OpenedShare["via"] }
  | { kind: "file"; version: FileVersion; mode: number; group: string | null };

/** Reads other owners' shares through this node. */
export class SharedReader {
  readonly #node: MoteNode;
  readonly #customer: Customer;
  readonly #locator = new ShardLocator();
  readonly #suppliers = new Map<string, { at: number; ids: Promise<string[]> }>();
  /** `owner:/path` of shares this node has opened: a later refusal there says "revoked". */
  readonly #seen = new Map<string, true>();
  readonly #memberships = new Map<string, Membership>();
  readonly #writtenCache = new Map<string, { at: number; files: Promise<WrittenFile[]> }>();

  constructor(node: MoteNode) {
    this.#node = node;
    this.#customer = new Customer(node, memoryState(), {
      shardId,
      maxShard: MAX_SHARD,
      timeout: 15_000,
    });
  }

  /** The node reading (a writer's node uses the same one). */
  get node(): MoteNode {
    return this.#node;
  }

  /** Groups this node has found itself a member of while reading shares. */
  memberships(): Membership[] {
    return [...this.#memberships.values()];
  }

  /** Every share of `owner` this node can open. */
  async shares(owner: string, signal?: AbortSignal): Promise<OpenedShare[]> {
    assertNodeId(owner);
    const r = await this.#node.resolve(recordKeyOf("share", owner), { timeout: 10_000, signal });
    if (!r) {
      const id = await this.#node.resolveIdentity(owner, { timeout: 5_000 });
      if (!id) {
        throw new SharingError("no-owner", `No node ${owner} was found in the network`);
      }
      throw new SharingError("nothing-shared", `${owner} shares nothing with you`);
    }
    const list = decodeShareList(r.record.value);
    const opened: OpenedShare[] = [];
    const groups = new Map<string, Promise<GroupOpen | undefined>>();
    for (const e of list.entries) {
      const got = await this.#open(owner, e, groups);
      if (got) opened.push(got);
    }
    if (opened.length === 0) {
      const was = [...this.#seen.keys()].some((k) => k.startsWith(`${owner}:`));
      throw was
        ? new SharingError("revoked", `${owner} no longer shares anything with you (revoked)`)
        : new SharingError("nothing-shared", `${owner} shares nothing with you`);
    }
    for (const s of opened) this.#remember(`${owner}:${s.path}`);
    return opened;
  }

  async #open(
    owner: string,
    e: ShareEntry,
    groups: Map<string, Promise<GroupOpen | undefined>>,
  ): Promise<OpenedShare | undefined> {
    const me = this.#node.keys;
    let key: Uint8Array | undefined, via: OpenedShare["via"] | undefined;
    if (e.grant.readers.some((r) => r.id === me.id)) {
      key = await openAsReader(e.grant, me.id, me.agreeSecret).catch(() => undefined);
      via = "reader";
    }
    for (const g of e.grant.groups) {
      if (key) break;
      let p = groups.get(g.group);
      if (!p) {
        if (groups.size >= MAX_GROUP_LOOKUPS) continue;
        groups.set(g.group, p = this.openGroup(owner, g.group));
      }
      const gk = await p;
      if (!gk) continue;
      key = await openAsGroupMember(e.grant, gk).catch(() => undefined);
      via = "group";
    }
    if (!key && e.grant.public) [key, via] = [openPublic(e.grant), "public"];
    if (!key) return undefined;
    let path: string;
    try {
      path = fromUtf8(await unseal(key, LABEL_PURPOSE, e.label));
    } catch {
      return undefined; // a label that does not open under its own grant's key: not usable
    }
    const parts = splitPath(path);
    return {
      path: "/" + parts.join("/"),
      parts,
      kind: e.kind,
      object: e.grant.object,
      key,
      via: via!,
      ...(e.box ? { box: e.box } : {}),
      ...(e.write ? { writable: true } : {}),
    };
  }

  /** Opens the group key of `owner`'s group `ref` when this node is a member (and notes it). */
  async openGroup(owner: string, ref: string): Promise<GroupOpen | undefined> {
    const r = await this.#node.resolve({ ns: "group", hash: ref }, { timeout: 10_000 })
      .catch(() => undefined);
    if (!r || nodeIdOf(r.record.signer) !== owner) return undefined;
    const g = decodeGroup(r.record.value);
    const me = this.#node.keys;
    if (!g.members.includes(me.id)) return undefined;
    const key = await unwrapGroupKey(g, me.id, me.agreeSecret).catch(() => undefined);
    if (!key) return undefined;
    this.#memberships.delete(ref);
    this.#memberships.set(ref, { owner, name: g.name, epoch: g.epoch, members: g.members.length });
    if (this.#memberships.size > MAX_REMEMBERED) {
      this.#memberships.delete(this.#memberships.keys().next().value!);
    }
    return { group: ref, epoch: g.epoch, key };
  }

  #remember(k: string): void {
    this.#seen.delete(k);
    this.#seen.set(k, true);
    if (this.#seen.size > MAX_REMEMBERED * 16) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /** Resolves `owner:/parts` to what it is, walking down from the share that covers it. */
  async #resolve(owner: string, parts: string[], signal?: AbortSignal): Promise<Resolved> {
    if (parts.length > MAX_DEPTH) throw new RangeError(`Paths nest at most ${MAX_DEPTH} deep`);
    const shares = await this.shares(owner, signal);
    const text = "/" + parts.join("/");
    const covering = shares
      .filter((s) => s.parts.length <= parts.length && s.parts.every((p, i) => p === parts[i]))
      .sort((a, b) => b.parts.length - a.parts.length)[0];
    if (!covering) {
      const names = new Map<string, "file" | "folder">();
      for (const s of shares) {
        if (s.parts.length > parts.length && parts.every((p, i) => p === s.parts[i])) {
          const leaf = s.parts.length === parts.length + 1 && s.kind === "f";
          names.set(s.parts[parts.length]!, leaf ? "file" : "folder");
        }
      }
      if (names.size > 0) return { kind: "virtual", names };
      const was = [...this.#seen.keys()].some((k) =>
        k === `${owner}:${text}` || text.startsWith(k.slice(owner.length + 1) + "/")
      );
      throw was
        ? new SharingError("revoked", `${owner} no longer shares ${text} with you (revoked)`)
        : new SharingError("denied", `Permission denied: ${owner} does not share ${text} with you`);
    }
    if (covering.kind === "f") {
      if (covering.parts.length !== parts.length) {
        throw new NotFoundError(`${covering.path} is a file, not a folder`);
      }
      const entry = decodeEntry(
        decodeCanonical(
          await this.#unsealOrRevoked(covering.key, FILE_BOX_PURPOSE, covering.box!, text),
        ),
        parts.at(-1)!,
      );
      if (entry.t !== "f") throw new SyntaxError("A shared file's box holds a folder");
      const v = entry.versions[0]!;
      return { kind: "file", version: v, mode: entry.mode ?? 0o600, group: entry.group ?? null };
    }
    // Files writers added that the owner's node has not merged yet are shown as it will merge
    // them (docs/sharing.md, "Write sharing"), so they are there while the owner is away.
    const written = covering.writable ? await this.#written(owner, covering, signal) : [];
    const withWritten = (f: FolderVersion, dir: string[]): FolderVersion => {
      const here = writtenIn(written, dir);
      if (here.length === 0) return f;
      return { ...f, entries: mergeWritten(f, here, { since: f.counter }).entries };
    };
    let folder = withWritten(
      await this.openFolder(owner, covering.object, covering.key, signal),
      [],
    );
    for (let i = covering.parts.length; i < parts.length; i++) {
      const e = folder.entries[parts[i]!];
      const at = "/" + parts.slice(0, i + 1).join("/");
      if (!e) throw new NotFoundError(`Nothing at ${owner}:${at}`);
      if (e.t === "f") {
        if (i !== parts.length - 1) throw new NotFoundError(`${at} is a file, not a folder`);
        const m = fileMode(folder, e);
        return { kind: "file", version: e.versions[0]!, mode: m.mode, group: m.group ?? null };
      }
      folder = withWritten(
        await this.openFolder(owner, e.writePub, e.readKey, signal),
        parts.slice(covering.parts.length, i + 1),
      );
    }
    return { kind: "folder", version: folder, via: covering.via };
  }

  /**
   * The files in the writers' version of a folder shared for writing, checked against its
   * owner's current write policy (none when there is no policy or record). Remembered briefly,
   * as a listing and the reads after it ask again at once.
   */
  async #written(owner: string, s: OpenedShare, signal?: AbortSignal): Promise<WrittenFile[]> {
    const k = `${owner}:${toHex(s.object)}`;
    const now = Date.now();
    const c = this.#writtenCache.get(k);
    if (c && now - c.at < WRITTEN_TTL) return await c.files;
    const files = (async () => {
      const policy = await resolvePolicy(this.#node, owner, s.object, { timeout: 5_000, signal });
      if (!policy) return [];
      const found = await resolveWritten(this.#node, policy, s.key, { timeout: 5_000, signal });
      return found?.files ?? [];
    })().catch((e) => {
      this.#node.log.debug("writers' version unreadable", { owner, error: e });
      return [] as WrittenFile[];
    });
    this.#writtenCache.delete(k);
    this.#writtenCache.set(k, { at: now, files });
    if (this.#writtenCache.size > MAX_REMEMBERED) {
      this.#writtenCache.delete(this.#writtenCache.keys().next().value!);
    }
    return await files;
  }

  /** Forgets the writers' versions read of `owner`'s folders (this node just wrote to one). */
  forgetWritten(owner: string): void {
    for (const k of [...this.#writtenCache.keys()]) {
      if (k.startsWith(`${owner}:`)) this.#writtenCache.delete(k);
    }
  }

  async #unsealOrRevoked(key: Uint8Array, purpose: string, box: Uint8Array, what: string) {
    try {
      return await unseal(key, purpose, box);
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      throw new SharingError("revoked", `${what} cannot be opened with the key you hold (revoked)`);
    }
  }

  /**
   * Opens a folder of `owner` from its record address and a read key: its record from the DHT,
   * its object from the owner's suppliers. A key that no longer opens the record (rotated by a
   * revocation) is refused as `revoked`.
   */
  async openFolder(
    owner: string,
    writePub: Uint8Array,
    readKey: Uint8Array,
    signal?: AbortSignal,
  ): Promise<FolderVersion> {
    const r = await this.#node.resolve(recordKeyOf("folder", nodeIdOf(writePub)), {
      timeout: 10_000,
      signal,
    });
    if (!r) throw new NotFoundError("A shared folder's record could not be found in the network");
    const ptr = decodeFolderPointer(r.record.value);
    const inner = readMap(
      decodeCanonical(await this.#unsealOrRevoked(readKey, "folder-pointer", ptr.box, "A folder")),
      "folder pointer",
      ["manifest", "key"],
    );
    const manifest = decodeManifest(
      readBytes(inner, "manifest", "folder pointer", { max: 60_000 }),
    );
    const key = readBytes(inner, "key", "folder pointer", { exact: 32 });
    const f = decodeFolder(await this.#whole(owner, manifest, key, signal));
    if (f.owner !== owner || !equals(f.writePub, writePub)) {
      throw new SyntaxError("A shared folder's object names another owner or folder");
    }
    return f;
  }

  /** Lists `owner:/parts` (a shared folder, or the shared paths under a prefix). */
  async list(owner: string, parts: string[], signal?: AbortSignal): Promise<LongListing[]> {
    const r = await this.#resolve(owner, parts, signal);
    if (r.kind === "file") {
      throw new NotFoundError(`${owner}:/${parts.join("/")} is a file, not a folder`);
    }
    if (r.kind === "virtual") {
      return [...r.names].map(([name, type]) => ({
        name,
        type,
        size: 0,
        mtime: 0,
        versions: 0,
        mode: 0,
        owner,
        group: null,
      })).sort((a, b) => a.name.localeCompare(b.name));
    }
    const f = r.version;
    // The x bit: a group or "others" may be let read a folder's files by name but not list it.
    // Named readers were given the folder itself. (The listing is sealed under the same read
    // key as the files, so this is the reading node's own refusal, not the key's: docs/sharing.md.)
    const who = r.via === "group" ? "group" : r.via === "public" ? "other" : undefined;
    if (who && !canList(f.mode, who)) {
      throw new SharingError(
        "denied",
        `Permission denied: ${owner}:/${parts.join("/")} may not be listed (mode ` +
          `${formatMode(f.mode)} gives ${who === "group" ? "its group" : "others"} no x)`,
      );
    }
    const entries = Object.entries(f.entries);
    // A subfolder's mode is in its own object: open them a few at a time, and in a folder with
    // very many subfolders not at all (their mode shows as 0).
    const dirs = entries.filter(([, e]) => e.t === "d");
    const modes = new Map<string, FolderVersion | undefined>();
    for (let i = 0; dirs.length <= MAX_MODE_LOOKUPS && i < dirs.length; i += MODE_WAVE) {
      await Promise.all(
        dirs.slice(i, i + MODE_WAVE).map(async ([name, e]) => {
          if (e.t !== "d") return;
          const child = await this.openFolder(owner, e.writePub, e.readKey, signal)
            .catch(() => undefined);
          modes.set(name, child);
        }),
      );
    }
    const rows = entries.map(([name, e]) =>
      e.t === "d" ? folderRow(name, modes.get(name), owner) : fileRow(name, f, e, owner)
    );
    return rows.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reads the newest version of the file at `owner:/parts`. */
  async get(
    owner: string,
    parts: string[],
    signal?: AbortSignal,
  ): Promise<{ size: number; mtime: number; stream: ReadableStream<Uint8Array> }> {
    const r = await this.#resolve(owner, parts, signal);
    if (r.kind !== "file") {
      throw new NotFoundError(`${owner}:/${parts.join("/")} is a folder, not a file`);
    }
    const v = r.version;
    if (v.inline) return { size: v.size, mtime: v.mtime, stream: once(v.inline) };
    if (v.pack) {
      const pack = await this.#whole(owner, decodeManifest(v.pack.manifest), v.pack.key, signal);
      const bytes = await openMember(
        v.key,
        pack.subarray(v.pack.offset, v.pack.offset + v.pack.length),
      );
      return { size: v.size, mtime: v.mtime, stream: once(bytes) };
    }
    return {
      size: v.size,
      mtime: v.mtime,
      stream: getFile(decodeManifest(v.manifest!), v.key, await this.#readOpts(owner, signal)),
    };
  }

  async #whole(
    owner: string,
    manifest: ReturnType<typeof decodeManifest>,
    key: Uint8Array,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    return await new Response(getFile(manifest, key, await this.#readOpts(owner, signal))).bytes();
  }

  async #readOpts(owner: string, signal?: AbortSignal) {
    const fallback = await this.#suppliersOf(owner);
    if (fallback.length === 0) {
      throw new NotFoundError(`No supplier of ${owner} could be found in the network`);
    }
    return { customer: this.#customer, locator: this.#locator, owner, fallback, signal };
  }

  #suppliersOf(owner: string): Promise<string[]> {
    const now = Date.now();
    const c = this.#suppliers.get(owner);
    if (c && now - c.at < SUPPLIERS_TTL) return c.ids;
    const ids = this.#customer.findServing(owner, { timeout: 10_000 }).then((f) =>
      f.map((s) => s.id).filter((id) => id !== this.#node.id)
    );
    this.#suppliers.set(owner, { at: now, ids });
    // An empty or failed answer is not remembered.
    ids.then((l) => l.length === 0 && this.#suppliers.delete(owner), () => {
      this.#suppliers.delete(owner);
    });
    if (this.#suppliers.size > MAX_REMEMBERED) {
      this.#suppliers.delete(this.#suppliers.keys().next().value!);
    }
    return ids;
  }
}

/** A group key this node opened as a member. */
export interface GroupOpen {
  group: string;
  epoch: number;
  key: Uint8Array;
}

function once(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}
