/**
 * The owner's catalog: a tree of folders (a simplified Cryptree, as Peergos does) over the data
 * path. Each folder has its own write key (signing its record) and read key (sealing its
 * pointer and, through its object, its children's read keys); folder versions and file contents
 * are stored erasure-coded on the suppliers like any data, with a fresh data key per version.
 * A child's write secret is stored masked under its parent's write secret (`folder.ts`), so a
 * folder's read key opens its subtree for reading only.
 *
 * The root record, signed by the identity, seals the root folder's keys under a key derived from
 * the identity key, so `Catalog.open` on a fresh machine with only the key file finds everything
 * (and, walking down, unmasks every folder's write secret).
 *
 * Mutations are serialised (one writer: the owner's node). A folder changes by publishing a new
 * version with the next counter and the hash of the previous record value; the previous
 * version's shards are then deleted from the suppliers.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { DEFAULT_BLOCK_SIZE, generateDataKey } from "../crypto/block.ts";
import { randomBytes, sha256 } from "../crypto/hash.ts";
import { concat, equals, toHex, utf8 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { readBytes, readMap } from "../encoding/shape.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { MoteNode } from "../node/node.ts";
import { createRecord, formatRecordKey, recordKeyOf } from "../records/record.ts";
import type { Customer } from "../suppliers/customer.ts";
import { decodeManifest, encodeManifest, type FileManifest } from "../files/manifest.ts";
import { getFile, type ReadStats } from "../files/get.ts";
import type { ShardLocator } from "../files/locator.ts";
import type { UploadJournal } from "../files/journal.ts";
import { RepairQueue } from "../files/repair.ts";
import { ResumeMismatchError } from "../files/resume.ts";
import { type PendingShard, putFile, type PutProgress, type PutStats } from "../files/put.ts";
import {
  checkName,
  decodeOwnFolder,
  encodeFolder,
  type Entry,
  type FileVersion,
  type FolderVersion,
  INLINE_MAX,
  splitPath,
  WriteSecretError,
} from "./folder.ts";
import { buildKeepPages, type KeptObject, type SignedPage } from "../files/keep_list.ts";
import { openMember, PACK_FILE_MAX, PACK_MEMBERS_MAX, PackBuilder, packId } from "./pack.ts";
import {
  countUnmigrated,
  migrateCatalog,
  type MigrateOptions,
  type MigrationHost,
  type MigrationResult,
  ReadTracker,
  type Unmigrated,
} from "./migrate.ts";
import { decodeFolderPointer, decodeRootPointer, MAX_KEPT_FOLDERS } from "./records.ts";
import { rootKey, seal, unseal } from "./seal.ts";
import { forget, openEntry, resumeOptions } from "./_resume.ts";
import { fileEntry, inherited, type PermissionHost } from "./permissions.ts";

/** Packs kept after a read (each at most 4 MiB). */
const PACKS_CACHED = 8;

/**
 * Folders written again per keep-list walk because their stored version still holds subfolders'
 * write secrets in the clear (data written before those were masked).
 */
const UPGRADES_PER_WALK = 64;

/** How long to wait before sending the keep list again after a supplier missed it (ms). */
const KEEP_RETRY_MS = 5 * 60_000;
/**
 * How long a folder seen or published by this catalog is used without asking the DHT again.
 * The catalog has one writer (this node, mutations serialised), so within it nothing is lost;
 * another device's change shows after at most this long.
 */
const FOLDER_FRESH_MS = 30_000;

/** What {@linkcode Catalog.publishKeepList} published. */
export interface KeepReport {
  /** Folder records listed in the `keep` record. */
  folders: number;
  /** Objects (folder versions and file versions) in the keep list. */
  objects: number;
  shards: number;
  pages: number;
  /** Suppliers that received the whole list. */
  suppliers: number;
}

/** Raised for a path that does not exist or is of the wrong kind. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** What the catalog works with. */
export interface CatalogOptions {
  node: MoteNode;
  customer: Customer;
  locator: ShardLocator;
  /** The suppliers to place shards on, in shard order, then spares. */
  suppliers: () => string[];
  /** Where shards a put could not place are queued (kept in memory when absent). */
  repairs?: RepairQueue;
  /** Where puts with an mtime record their progress, so an interrupted one can resume. */
  journal?: UploadJournal;
  k: number;
  m: number;
  blockSize?: number;
  /** Objects kept outside the tree (the owner's quick links), added to every keep list. */
  kept?: () => readonly KeptObject[];
  /**
   * Shards the catalog must not delete (versions a quick link still shows): its deletes (remove,
   * prune, migration) skip them, and the link's owner deletes them when the link ends.
   */
  pinned?: (id: string) => boolean;
}

interface FolderKeys {
  writePub: Uint8Array;
  writeSecret: Uint8Array;
  readKey: Uint8Array;
}

interface LoadedFolder {
  keys: FolderKeys;
  version: FolderVersion;
  manifest: FileManifest | null;
  /** The record value of the current version (its hash is the next version's parent). */
  pointer: Uint8Array | null;
  /**
   * Subfolder entries of the stored version that hold their write secret in the clear (written
   * before masking); 0 once the folder was written again.
   */
  plain?: number;
}

/** Which versions {@linkcode Catalog.prune} keeps (either or both; the newest always stays). */
export interface PruneRule {
  /** Keep the newest N versions. */
  keep?: number;
  /** Keep versions added within the last D days. */
  days?: number;
}

/** One small file of {@linkcode Catalog.putBatch}. */
export interface BatchItem {
  name: string;
  bytes: Uint8Array;
  mtime?: number;
}

/** What happened to one file of a batch. */
export interface BatchResult {
  name: string;
  size: number;
  skipped: boolean;
}

/** One listed entry. */
export interface Listing {
  name: string;
  type: "file" | "folder";
  size: number;
  mtime: number;
  versions: number;
}

/**
 * The folder holding the owner's hosted sites, one subfolder per site name (its files as
 * published, and `<name>.index`, the site's index). Its record keys go on the keep record.
 */
export const SITES_FOLDER = ".sites";
/**
 * The folder listing the owner's worlds, one empty subfolder per world name; their record keys
 * go on the keep record too.
 */
export const WORLDS_FOLDER = ".worlds";

/** The owner's catalog. */
export class Catalog {
  readonly options: CatalogOptions;
  #root?: FolderKeys;
  #lock: Promise<unknown> = Promise.resolve();
  #repairs: RepairQueue;
  #keepDue = false;
  /** Recently read packs (plaintext: the members' ciphertexts), by pack id. */
  #packs = new Map<string, Promise<Uint8Array>>();
  /** Decoded folders by write key, valid while their record is unchanged (bounded). */
  #folders = new Map<string, LoadedFolder & { seen: number }>();
  /** Reads in progress, so a migration deletes a version's old shards only after them. */
  #reads = new ReadTracker();

  #keepSeq = 0;
  #keepRetryAt = 0;

  /** Whether the catalog changed since the keep list was last published (and a try is due). */
  get keepListDue(): boolean {
    return this.#keepDue && Date.now() >= this.#keepRetryAt;
  }

  constructor(options: CatalogOptions) {
    this.options = options;
    this.#repairs = options.repairs ?? new RepairQueue();
  }

  /** Shards waiting in the repair queue (the data is under-replicated until they are placed). */
  get pending(): number {
    return this.#repairs.pendingShards;
  }

  async #queue(manifest: FileManifest, pending: PendingShard[]): Promise<void> {
    const byBlock = new Map<number, number[]>();
    for (const p of pending) byBlock.set(p.block, [...(byBlock.get(p.block) ?? []), p.index]);
    for (const [block, missing] of byBlock) {
      await this.#repairs.add({
        k: manifest.k,
        m: manifest.m,
        shards: [...manifest.blocks[block]!.shards],
        missing,
      });
    }
  }

  /** Finds the root through the DHT, or creates an empty catalog when there is none. */
  async open(opts: { timeout?: number; create?: boolean } = {}): Promise<"found" | "created"> {
    const { node } = this.options;
    const key = rootKey(node.keys.signSecret);
    const found = await node.resolve(recordKeyOf("root", node.id), {
      timeout: opts.timeout ?? 10_000,
    });
    if (found) {
      const box = decodeRootPointer(found.record.value).box;
      const m = readMap(decodeCanonical(await unseal(key, "catalog-root", box)), "root", [
        "writePub",
        "readKey",
        "writeSecret",
      ]);
      this.#root = {
        writePub: readBytes(m, "writePub", "root", { exact: 32 }),
        readKey: readBytes(m, "readKey", "root", { exact: 32 }),
        writeSecret: readBytes(m, "writeSecret", "root", { exact: 32 }),
      };
      this.#keepDue = true; // refresh it once per start, so older catalogs get one too
      return "found";
    }
    if (opts.create === false) {
      throw new NotFoundError(`No catalog for ${node.id} was found in the network`);
    }
    this.#root = newFolderKeys();
    await this.#saveFolder({
      keys: this.#root,
      version: emptyFolder(node.id, this.#root),
      manifest: null,
      pointer: null,
    });
    this.#keepDue = true;
    const box = await seal(key, "catalog-root", encode({ ...this.#root }));
    await node.publish("root", new Uint8Array(0), encode({ v: 1, box }));
    return "created";
  }

  /** Lists a folder. */
  async list(path: string): Promise<Listing[]> {
    const f = await this.#walk(splitPath(path));
    return Object.entries(f.version.entries).map(([name, e]) =>
      e.t === "d" ? { name, type: "folder" as const, size: 0, mtime: 0, versions: 0 } : {
        name,
        type: "file" as const,
        size: e.versions[0]!.size,
        mtime: e.versions[0]!.mtime,
        versions: e.versions.length,
      }
    ).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Every file under a folder with its versions (newest first), by path relative to the folder
   * ("/a/b.html"). One walk: each folder's record is looked up once, not once per file.
   */
  async tree(path: string): Promise<Map<string, FileVersion[]>> {
    const out = new Map<string, FileVersion[]>();
    const visit = async (f: LoadedFolder, rel: string) => {
      for (const [name, e] of Object.entries(f.version.entries)) {
        if (e.t === "f") out.set(`${rel}/${name}`, [...e.versions]);
        else await visit(await this.#load(e), `${rel}/${name}`);
      }
    };
    await visit(await this.#walk(splitPath(path)), "");
    return out;
  }

  /** The versions of a file, newest first. */
  async versions(path: string): Promise<FileVersion[]> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (!name) throw new NotFoundError("The root is a folder, not a file");
    const e = (await this.#walk(parts)).version.entries[name];
    if (!e || e.t !== "f") throw new NotFoundError(`No file at ${path}`);
    return [...e.versions];
  }

  /** Whether a file's newest version has this size, mtime and content hash (so a put can skip). */
  async unchanged(path: string, size: number, mtime: number, hash: Uint8Array): Promise<boolean> {
    try {
      const v = (await this.versions(path))[0]!;
      return v.size === size && v.mtime === mtime && v.hash.every((b, i) => b === hash[i]);
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  #contentKey?: Uint8Array;

  /** The key of the keyed content hash (see {@linkcode ContentHasher}), derived once. */
  contentKey(): Uint8Array {
    return this.#contentKey ??= hkdf(
      nobleSha256,
      this.options.node.keys.signSecret,
      utf8("mote/content-hash/v1"),
      utf8("content"),
      32,
    );
  }

  /**
   * Stores a new version of the file at `path` (creating folders on the way). With an `mtime`
   * and a journal, a put interrupted earlier with the same path, size and mtime resumes under
   * its saved key; if the source changed meanwhile, this throws {@linkcode ResumeMismatchError}
   * and drops the saved state, so putting it again starts a new version with a fresh key.
   * `stats.resumed` tells how many bytes were already stored.
   */
  put(
    path: string,
    source: AsyncIterable<Uint8Array>,
    size: number,
    opts: {
      mtime?: number;
      signal?: AbortSignal;
      onProgress?: (p: PutProgress) => void;
      stats?: PutStats;
    } = {},
  ): Promise<FileVersion> {
    return this.#serial(async () => {
      const parts = splitPath(path);
      const name = parts.pop();
      if (!name) throw new SyntaxError("Give a file path, not the root");
      const hasher = new ContentHasher(this.contentKey());
      const hashed = hasher.wrap(source);
      const { journal } = this.options, log = this.options.node.log;
      const entry = size > INLINE_MAX && opts.mtime !== undefined
        ? await this.#openEntry([...parts, name].join("/"), size, opts.mtime)
        : undefined;
      const key = entry?.key ?? generateDataKey();
      const stamp = async () => ({
        size,
        mtime: opts.mtime ?? Date.now(),
        added: Date.now(),
        hash: await hasher.digest(),
        key,
      });
      let version: FileVersion;
      if (size <= INLINE_MAX) {
        const chunks: Uint8Array[] = [];
        for await (const c of hashed) chunks.push(c);
        const inline = concat(...chunks);
        if (inline.length !== size) {
          throw new RangeError(`The source gave ${inline.length} bytes, not ${size}`);
        }
        version = { ...await stamp(), inline };
      } else {
        let put;
        try {
          put = await putFile(hashed, size, {
            ...this.#placement(),
            key,
            signal: opts.signal,
            onProgress: opts.onProgress,
            ...(entry && journal ? resumeOptions(journal, entry) : {}),
          });
        } catch (e) {
          if (e instanceof ResumeMismatchError && entry) await forget(journal!, entry, log);
          throw e;
        }
        if (opts.stats) opts.stats.resumed = put.resumed;
        await this.#queue(put.manifest, put.pending);
        version = { ...await stamp(), manifest: encodeManifest(put.manifest) };
      }
      const folder = await this.#walk(parts, true);
      const prev = folder.version.entries[name];
      if (prev?.t === "d") throw new SyntaxError(`${path} is a folder`);
      const versions = [version, ...(prev?.t === "f" ? prev.versions : [])];
      await this.#update(folder, {
        ...folder.version.entries,
        [name]: fileEntry(folder.version, prev, versions),
      });
      // Only now: a crash before this leaves the entry, and the next put finds its key in use.
      if (entry) await forget(journal!, entry, log);
      return version;
    });
  }

  /**
   * Stores several small files of one folder at once, with one folder update: files up to
   * 1 KiB inline, the others packed together (each under its own key, see `pack.ts`). A file
   * whose size, mtime and content hash match its newest version is skipped.
   */
  putBatch(
    dir: string,
    items: readonly BatchItem[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<BatchResult[]> {
    return this.#serial(async () => {
      if (items.length > PACK_MEMBERS_MAX) {
        throw new RangeError(`A batch holds at most ${PACK_MEMBERS_MAX} files`);
      }
      const seen = new Set<string>();
      for (const it of items) {
        checkName(it.name);
        if (it.bytes.length > PACK_FILE_MAX) {
          throw new RangeError(`${it.name} is over ${PACK_FILE_MAX} bytes: put it on its own`);
        }
        if (seen.has(it.name)) throw new SyntaxError(`${it.name} appears twice in the batch`);
        seen.add(it.name);
      }
      const folder = await this.#walk(splitPath(dir), true);
      const entries = { ...folder.version.entries };
      const results: BatchResult[] = [];
      const contentKey = this.contentKey();
      const packs = [new PackBuilder()];
      const members: {
        name: string;
        base: Omit<FileVersion, "key">;
        pack: number;
        at: { key: Uint8Array; offset: number; length: number };
      }[] = [];
      for (const it of items) {
        const prev = entries[it.name];
        if (prev?.t === "d") throw new SyntaxError(`${it.name} is a folder`);
        const hasher = new ContentHasher(contentKey);
        hasher.update(it.bytes);
        const hash = await hasher.digest();
        const latest = prev?.t === "f" ? prev.versions[0] : undefined;
        if (
          latest && it.mtime !== undefined && latest.size === it.bytes.length &&
          latest.mtime === it.mtime && equals(latest.hash, hash)
        ) {
          results.push({ name: it.name, size: it.bytes.length, skipped: true });
          continue;
        }
        const base = {
          size: it.bytes.length,
          mtime: it.mtime ?? Date.now(),
          added: Date.now(),
          hash,
        };
        if (it.bytes.length <= INLINE_MAX) {
          const version = { ...base, key: generateDataKey(), inline: it.bytes.slice() };
          entries[it.name] = fileEntry(folder.version, prev, [version, ...versionsOf(prev)]);
        } else {
          if (!packs.at(-1)!.fits(it.bytes.length)) packs.push(new PackBuilder());
          const at = await packs.at(-1)!.add(it.bytes);
          members.push({ name: it.name, base, pack: packs.length - 1, at });
        }
        results.push({ name: it.name, size: it.bytes.length, skipped: false });
      }
      const stored = [];
      for (const b of packs) {
        if (b.count === 0) continue;
        opts.signal?.throwIfAborted();
        const key = generateDataKey(), bytes = b.bytes();
        const { manifest, pending } = await putFile(chunked(bytes), bytes.length, {
          ...this.#placement(),
          key,
          signal: opts.signal,
        });
        await this.#queue(manifest, pending);
        stored.push({ manifest: encodeManifest(manifest), key });
      }
      for (const mem of members) {
        const { key, offset, length } = mem.at;
        const version = { ...mem.base, key, pack: { ...stored[mem.pack]!, offset, length } };
        const prev = entries[mem.name];
        entries[mem.name] = fileEntry(folder.version, prev, [version, ...versionsOf(prev)]);
      }
      if (results.some((r) => !r.skipped)) await this.#update(folder, entries);
      return results;
    });
  }

  /** The journal entry of a put with an mtime (`_resume.ts`), if there is a journal. */
  #openEntry(path: string, size: number, mtime: number) {
    const { journal, k, m, blockSize = DEFAULT_BLOCK_SIZE } = this.options;
    if (!journal) return Promise.resolve(undefined);
    const keyInUse = async (key: Uint8Array) => {
      try {
        return (await this.versions(path)).some((v) => equals(v.key, key));
      } catch (e) {
        if (e instanceof NotFoundError) return false;
        throw e;
      }
    };
    return openEntry(
      journal,
      { path, size, mtime, k, m, blockSize },
      keyInUse,
      this.options.node.log,
    );
  }

  /** Streams a file (its newest version, or `version` counting from 0 = newest). */
  async get(
    path: string,
    opts: {
      version?: number;
      range?: { start: number; end: number };
      signal?: AbortSignal;
      stats?: ReadStats;
    } = {},
  ): Promise<{ version: FileVersion; stream: ReadableStream<Uint8Array> }> {
    const versions = await this.versions(path);
    const v = versions[opts.version ?? 0];
    if (!v) {
      throw new NotFoundError(
        `${path} has ${versions.length} versions; there is no version ${opts.version}`,
      );
    }
    if (v.inline || v.pack) {
      const start = opts.range?.start ?? 0, end = Math.min(opts.range?.end ?? v.size, v.size);
      const bytes = (v.inline ?? await this.#readPacked(v, opts)).slice(start, end);
      return {
        version: v,
        stream: new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) }),
      };
    }
    return {
      version: v,
      stream: this.#reads.track(
        v.key,
        this.#read(decodeManifest(v.manifest!), v.key, opts),
      ),
    };
  }

  /**
   * A packed file's bytes. A pack is one block, fetched and decrypted whole, so the last few
   * packs are kept (bounded): reading a folder's small files one after another fetches each pack
   * once.
   */
  async #readPacked(
    v: FileVersion,
    opts: { signal?: AbortSignal; stats?: ReadStats },
  ): Promise<Uint8Array> {
    const { manifest, key, offset, length } = v.pack!;
    const id = packId(manifest);
    let pack = this.#packs.get(id);
    if (!pack) {
      // The whole pack, never the caller's range: that range is within the member.
      const { signal, stats } = opts;
      pack = collect(this.#read(decodeManifest(manifest), key, { signal, stats }));
      this.#packs.set(id, pack);
      pack.catch(() => this.#packs.delete(id));
      if (this.#packs.size > PACKS_CACHED) this.#packs.delete(this.#packs.keys().next().value!);
    } else {
      this.#packs.delete(id); // most recently used last
      this.#packs.set(id, pack);
    }
    return await openMember(v.key, (await pack).subarray(offset, offset + length));
  }

  /**
   * Creates a folder and any missing parents; a folder that exists already is left as it is.
   * Returns whether anything was created.
   */
  mkdir(path: string): Promise<boolean> {
    return this.#serial(async () => {
      const parts = splitPath(path);
      if (parts.length === 0) return false;
      const name = parts.pop()!;
      const parent = await this.#walk(parts, true);
      const e = parent.version.entries[name];
      if (e?.t === "d") return false;
      if (e) throw new SyntaxError(`${path} is a file, not a folder`);
      await this.#walk([...parts, name], true);
      return true;
    });
  }

  /** Removes a file or an empty folder; deletes the removed versions' shards. */
  remove(path: string): Promise<void> {
    return this.#serial(async () => {
      const parts = splitPath(path);
      const name = parts.pop();
      if (!name) throw new SyntaxError("The root cannot be removed");
      const folder = await this.#walk(parts);
      const e = folder.version.entries[name];
      if (!e) throw new NotFoundError(`Nothing at ${path}`);
      if (e.t === "d") {
        const child = await this.#load(e);
        if (Object.keys(child.version.entries).length > 0) {
          throw new SyntaxError(`${path} is a folder that is not empty`);
        }
      }
      const { [name]: _, ...rest } = folder.version.entries;
      await this.#update(folder, rest);
      if (e.t === "f") await this.#deleteVersions(e.versions, rest);
    });
  }

  /**
   * Deletes old versions of a file, or of every file under a folder (one folder update per
   * folder). A version stays if it is among the newest `keep` or younger than `days`; the newest
   * always stays. A bare number means `{ keep }`. Returns how many versions were deleted. A prune
   * of the whole catalog ("/") leaves hosted sites' files (`/.sites`) alone: publishing manages
   * their versions (the previous one stays servable for a few minutes after a republish).
   */
  prune(path: string, rule: PruneRule | number): Promise<number> {
    const r = typeof rule === "number" ? { keep: rule } : rule;
    if (r.keep === undefined && r.days === undefined) {
      throw new RangeError("Give a rule: keep the newest N versions, or those younger than D days");
    }
    if (r.keep !== undefined && (!Number.isInteger(r.keep) || r.keep < 1)) {
      throw new RangeError(`keep must be a whole number of at least 1, got ${r.keep}`);
    }
    if (r.days !== undefined && !(Number.isFinite(r.days) && r.days >= 0)) {
      throw new RangeError(`days must be a number of at least 0, got ${r.days}`);
    }
    const cutoff = r.days === undefined ? Infinity : Date.now() - r.days * 86_400_000;
    // Without a keep count, only age decides (the newest is kept regardless).
    const keep = r.keep ?? (r.days === undefined ? 1 : 0);
    const stays = (v: FileVersion, i: number) => i === 0 || i < keep || v.added >= cutoff;
    return this.#serial(async () => {
      const parts = splitPath(path);
      const name = parts.pop();
      if (name === undefined) {
        return await this.#pruneFolder(await this.#walk([]), stays, SITES_FOLDER);
      }
      const folder = await this.#walk(parts);
      const e = folder.version.entries[name];
      if (!e) throw new NotFoundError(`Nothing at ${path}`);
      if (e.t === "d") return await this.#pruneFolder(await this.#load(e), stays);
      const dropped = e.versions.filter((v, i) => !stays(v, i));
      if (dropped.length === 0) return 0;
      const versions = e.versions.filter(stays);
      const entries = { ...folder.version.entries, [name]: { ...e, versions } };
      await this.#update(folder, entries);
      await this.#deleteVersions(dropped, entries);
      return dropped.length;
    });
  }

  async #pruneFolder(
    folder: LoadedFolder,
    stays: (v: FileVersion, i: number) => boolean,
    skip?: string,
  ): Promise<number> {
    let deleted = 0;
    const entries = { ...folder.version.entries };
    const dropped: FileVersion[] = [];
    for (const [name, e] of Object.entries(folder.version.entries)) {
      if (name === skip) continue;
      if (e.t === "d") {
        deleted += await this.#pruneFolder(await this.#load(e), stays);
        continue;
      }
      const gone = e.versions.filter((v, i) => !stays(v, i));
      if (gone.length === 0) continue;
      dropped.push(...gone);
      entries[name] = { ...e, versions: e.versions.filter(stays) };
    }
    if (dropped.length === 0) return deleted;
    await this.#update(folder, entries);
    await this.#deleteVersions(dropped, entries);
    return deleted + dropped.length;
  }

  /**
   * Publishes what the owner keeps: the `keep` record in the DHT (the record keys of every
   * folder, so suppliers keep those records alive), and the signed keep list (every object's
   * shard ids) sent to every supplier holding a contract, which they reconcile against. Walks the
   * whole tree; if any folder cannot be read nothing is sent, because suppliers delete what a
   * list leaves out. Suppliers that cannot be reached get it on a later try.
   */
  #lastKeepList?: { seq: number; pages: SignedPage[] };

  /** The keep list last published (its signed pages), to hand on to scrubbers. */
  get lastKeepList(): { seq: number; pages: readonly SignedPage[] } | undefined {
    return this.#lastKeepList;
  }

  async publishKeepList(): Promise<KeepReport> {
    if (!this.#root) throw new Error("The catalog is not open");
    this.#keepDue = false;
    try {
      // The walk runs between mutations, so the list is one consistent state of the catalog.
      const { records, objects } = await this.#serial(async () => {
        const kept = await this.#collectKept(true);
        kept.records.push(...await this.#siteRecords());
        return kept;
      });
      if (records.length > MAX_KEPT_FOLDERS) {
        this.options.node.log.warn(
          "more folders than one keep record lists; the rest are kept by the owner only",
          { folders: records.length },
        );
      }
      await this.options.node.publish(
        "keep",
        new Uint8Array(0),
        encode({ v: 1, records: records.slice(0, MAX_KEPT_FOLDERS) }),
      );
      const { node, customer } = this.options;
      this.#keepSeq = Math.max(this.#keepSeq + 1, Date.now());
      const pages = buildKeepPages(objects, {
        owner: node.id,
        seq: this.#keepSeq,
        created: Date.now(),
      }, node.keys.signSecret);
      this.#lastKeepList = { seq: this.#keepSeq, pages };
      const suppliers = [...new Set(customer.contracts.all().map((c) => c.terms.supplier))];
      const sent = await Promise.allSettled(
        suppliers.map((s) => customer.sendKeepList(s, pages)),
      );
      const failed = sent.filter((r) => r.status === "rejected").length;
      if (failed > 0) {
        this.#keepDue = true;
        this.#keepRetryAt = Date.now() + KEEP_RETRY_MS;
        node.log.warn("the keep list did not reach every supplier; retrying later", {
          failed,
          suppliers: suppliers.length,
        });
      }
      return {
        folders: records.length,
        objects: objects.length,
        shards: objects.reduce((n, o) => n + o.blocks.length * (o.k + o.m), 0),
        pages: pages.length,
        suppliers: suppliers.length - failed,
      };
    } catch (e) {
      this.#keepDue = true;
      this.#keepRetryAt = Date.now() + KEEP_RETRY_MS;
      throw e;
    }
  }

  /**
   * The record keys of the owner's hosted sites and worlds (one per folder under `/.sites` and
   * `/.worlds`), of its world edit batches (`/.worlds/.edits/<key hash>`) and of its worlds'
   * region checkpoints (`/.worlds/.checks/<key hash>`), so suppliers and scrubbers keep them
   * alive with the rest.
   */
  async #siteRecords(): Promise<string[]> {
    const keys = async (ns: "site" | "world", folder: string) =>
      (await this.list(`/${folder}`).catch(() => []))
        // Names never contain a dot; `.enc` (compressed copies of sites) is not a site.
        .filter((e) => e.type === "folder" && !e.name.includes("."))
        .map((e) => formatRecordKey(recordKeyOf(ns, this.options.node.id, utf8(e.name))));
    // The node's edit batches and region checkpoints: `/.worlds/.edits/<hash>` names
    // `/mote/wedit/<hash>`, `/.worlds/.checks/<hash>` names `/mote/wcheck/<hash>`.
    const hashes = async (ns: "wedit" | "wcheck", folder: string) =>
      (await this.list(`/${WORLDS_FOLDER}/${folder}`).catch(() => []))
        .filter((e) => e.type === "folder" && /^[a-z2-7]{52}$/.test(e.name))
        .map((e) => formatRecordKey({ ns, hash: e.name }));
    return [
      ...await keys("site", SITES_FOLDER),
      ...await keys("world", WORLDS_FOLDER),
      ...await hashes("wedit", ".edits"),
      ...await hashes("wcheck", ".checks"),
    ];
  }

  /** Walks the tree: every folder's record key and every stored object (folders and files). */
  /**
   * Every object the owner keeps (file versions, packs, folder objects, and blocks of puts that
   * may resume) with its code and shard ids: what audits and repairs work from. Walks every
   * folder (decoded folders are cached).
   */
  async keptObjects(): Promise<KeptObject[]> {
    return (await this.#collectKept()).objects;
  }

  /**
   * Walks every folder for what the owner keeps. With `upgrade` (only under the catalog's lock:
   * the keep-list walk), folders still holding subfolders' write secrets in the clear are
   * written again on the way (`#upgradeSecrets`).
   */
  async #collectKept(upgrade = false): Promise<{ records: string[]; objects: KeptObject[] }> {
    const records: string[] = [];
    const objects: KeptObject[] = [];
    const packs = new Set<string>();
    const add = async (manifest: FileManifest) => {
      objects.push({
        id: await sha256(encodeManifest(manifest)),
        k: manifest.k,
        m: manifest.m,
        blocks: manifest.blocks.map((b) => [...b.shards]),
      });
    };
    const upgraded = { done: 0, left: 0 };
    const visit = async (e: Extract<Entry, { t: "d" }>) => {
      records.push(formatRecordKey(recordKeyOf("folder", nodeIdOf(e.writePub))));
      let f = await this.#load(e);
      if (f.plain && upgrade) f = await this.#upgradeSecrets(f, e, upgraded);
      if (f.manifest) await add(f.manifest);
      for (const child of Object.values(f.version.entries)) {
        if (child.t === "d") await visit(child);
        else {
          for (const v of child.versions) {
            if (v.manifest) await add(decodeManifest(v.manifest));
            else if (v.pack && !packs.has(packId(v.pack.manifest))) {
              packs.add(packId(v.pack.manifest));
              await add(decodeManifest(v.pack.manifest));
            }
          }
        }
      }
    };
    await visit({ t: "d", ...this.#root! });
    if (upgraded.done + upgraded.left > 0) {
      this.options.node.log.info("folders written again with subfolders' write secrets masked", {
        folders: upgraded.done,
        left: upgraded.left,
      });
    }
    // Blocks an interrupted put already placed stay kept while its journal entry lives, so a
    // resume days later still finds them (the entry expires after 7 days).
    for (const e of this.options.journal?.entries ?? []) {
      if (e.placed.size === 0) continue;
      objects.push({
        id: await sha256(utf8(`journal:${e.id}`)),
        k: e.k,
        m: e.m,
        blocks: [...e.placed.values()].map((b) => [...b.shards]),
      });
    }
    objects.push(...this.options.kept?.() ?? []);
    return { records, objects };
  }

  /**
   * Writes a folder whose stored version still holds subfolders' write secrets in the clear
   * (written before they were masked) again as it is, so they are stored masked from now on. At
   * most {@linkcode UPGRADES_PER_WALK} per keep-list walk (the walk at start, and after changes:
   * writing a folder makes the keep list due again, so the rest follow on the next walks). A
   * failure is logged and leaves the folder as it was, for a later walk.
   */
  async #upgradeSecrets(
    f: LoadedFolder,
    e: Extract<Entry, { t: "d" }>,
    count: { done: number; left: number },
  ): Promise<LoadedFolder> {
    if (count.done >= UPGRADES_PER_WALK) {
      count.left++;
      return f;
    }
    try {
      await this.#update(f, { ...f.version.entries });
      count.done++;
      return await this.#load(e);
    } catch (err) {
      count.left++;
      this.options.node.log.warn("could not write a folder again with masked write secrets", {
        error: err,
      });
      return f;
    }
  }

  /** What is still stored on another erasure map than the current one (walks every folder). */
  unmigrated(signal?: AbortSignal): Promise<Unmigrated> {
    return countUnmigrated(this.#migrationHost(), undefined, signal);
  }

  /**
   * Moves every file version and folder object stored on another erasure map than the current
   * (k, m) to it, one file at a time (see `migrate.ts`). Unless `ready` says otherwise, it runs
   * only while `suppliers()` lists at least k + m suppliers.
   */
  migrate(opts: MigrateOptions = {}): Promise<MigrationResult> {
    const ready = opts.ready ??
      (() => this.options.suppliers().length >= this.options.k + this.options.m);
    return migrateCatalog(this.#migrationHost(), { ...opts, ready });
  }

  /**
   * The catalog's walk, load, update and lock for `permissions.ts` (chmod, chgrp, long listings,
   * re-keying), and the root folder's keys.
   */
  permissionHost(): PermissionHost & { root(): Extract<Entry, { t: "d" }> } {
    return {
      serial: (f) => this.#serial(f),
      walk: (parts) => this.#walk(parts),
      load: (e) => this.#load(e),
      update: (f, entries) => this.#update(f as LoadedFolder, entries),
      root: () => {
        if (!this.#root) throw new Error("The catalog is not open");
        return { t: "d", ...this.#root };
      },
    };
  }

  #migrationHost(): MigrationHost {
    const folder = async (parts: string[]) => {
      try {
        return await this.#walk(parts);
      } catch (e) {
        if (e instanceof NotFoundError) return null;
        throw e;
      }
    };
    return {
      target: () => ({ k: this.options.k, m: this.options.m }),
      folder,
      edit: (parts, change) =>
        this.#serial(async () => {
          const f = await folder(parts);
          const entries = f && change(f);
          if (!f || !entries) return false;
          await this.#update(f, entries);
          return true;
        }),
      read: (manifest, key, signal) => this.#read(manifest, key, { signal }),
      store: (source, size, key, { map, signal, onPlaced }) =>
        putFile(source, size, { ...this.#placement(), ...map, key, signal, onPlaced }),
      queue: (manifest, pending) => this.#queue(manifest, pending),
      deleteShards: (ids) => this.#deleteShards(ids),
      reads: this.#reads,
    };
  }

  /**
   * Deletes dropped versions' shards. A pack goes only when no version left in its folder
   * (`remaining`) is packed in it: packs never span folders, so the folder alone tells.
   */
  async #deleteVersions(versions: readonly FileVersion[], remaining: Record<string, Entry>) {
    const inUse = new Set<string>();
    for (const e of Object.values(remaining)) {
      for (const v of versionsOf(e)) if (v.pack) inUse.add(packId(v.pack.manifest));
    }
    const ids: string[] = [];
    for (const v of versions) {
      if (v.manifest) ids.push(...decodeManifest(v.manifest).blocks.flatMap((b) => b.shards));
      else if (v.pack && !inUse.has(packId(v.pack.manifest))) {
        inUse.add(packId(v.pack.manifest)); // once, however many dropped versions share it
        ids.push(...decodeManifest(v.pack.manifest).blocks.flatMap((b) => b.shards));
      }
    }
    await this.#deleteShards(ids);
  }

  async #deleteShards(all: string[]) {
    const pinned = this.options.pinned;
    const ids = pinned ? all.filter((id) => !pinned(id)) : all;
    const bySupplier = new Map<string, string[]>();
    for (const id of ids) {
      for (const s of this.options.locator.suppliersFor(id)) {
        bySupplier.set(s, [...(bySupplier.get(s) ?? []), id]);
      }
    }
    await Promise.allSettled([...bySupplier].map(async ([s, list]) => {
      for (let i = 0; i < list.length; i += 1000) {
        await this.options.customer.deleteShards(s, list.slice(i, i + 1000));
      }
      for (const id of list) this.options.locator.forget(id, s);
    }));
    await this.options.locator.save();
  }

  /** Streams a stored object through the customer, trying the suppliers that may hold it. */
  #read(
    manifest: FileManifest,
    key: Uint8Array,
    opts: {
      range?: { start: number; end: number };
      signal?: AbortSignal;
      stats?: ReadStats;
    } = {},
  ): ReadableStream<Uint8Array> {
    return getFile(manifest, key, {
      customer: this.options.customer,
      locator: this.options.locator,
      fallback: this.options.suppliers(),
      ...opts,
    });
  }

  #placement() {
    const { customer, locator, k, m, blockSize } = this.options;
    return { customer, locator, suppliers: this.options.suppliers(), k, m, blockSize };
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(f, f);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #walk(parts: string[], create = false): Promise<LoadedFolder> {
    if (!this.#root) throw new Error("The catalog is not open");
    let folder = await this.#load({ t: "d", ...this.#root });
    for (const [i, name] of parts.entries()) {
      let e = folder.version.entries[name];
      if (!e) {
        if (!create) throw new NotFoundError(`No folder /${parts.slice(0, i + 1).join("/")}`);
        const keys = newFolderKeys();
        await this.#saveFolder({
          keys,
          version: emptyFolder(this.options.node.id, keys, folder.version),
          manifest: null,
          pointer: null,
        });
        e = { t: "d", ...keys };
        await this.#update(folder, { ...folder.version.entries, [name]: e });
      }
      if (e.t !== "d") {
        throw new NotFoundError(`/${parts.slice(0, i + 1).join("/")} is a file, not a folder`);
      }
      folder = await this.#load(e);
    }
    return folder;
  }

  async #load(e: Extract<Entry, { t: "d" }>): Promise<LoadedFolder> {
    const keys = keysOf(e);
    const cacheKey = toHex(keys.writePub);
    const cached = this.#folders.get(cacheKey);
    // A folder this node published or looked up moments ago is taken as it is: a path walk
    // would otherwise cost a DHT lookup per folder, per operation (seconds for a site publish
    // of a few files). Past that, the record is looked up again (another device may have
    // published a newer version), and an unchanged record means an unchanged folder.
    if (cached && Date.now() - cached.seen < FOLDER_FRESH_MS) return cached;
    const found = await this.options.node.resolve(recordKeyOf("folder", nodeIdOf(keys.writePub)), {
      timeout: 10_000,
    });
    if (!found) throw new NotFoundError("A folder's record could not be found in the network");
    if (cached && equals(cached.pointer!, found.record.value)) {
      cached.seen = Date.now();
      return cached;
    }
    const ptr = decodeFolderPointer(found.record.value);
    const inner = readMap(
      decodeCanonical(await unseal(keys.readKey, "folder-pointer", ptr.box)),
      "folder pointer",
      [
        "manifest",
        "key",
      ],
    );
    const manifest = decodeManifest(
      readBytes(inner, "manifest", "folder pointer", { max: 60_000 }),
    );
    const key = readBytes(inner, "key", "folder pointer", { exact: 32 });
    // The owner holds this folder's write secret, so it unmasks its children's (and checks
    // each against its public key).
    const { version, plain } = decodeOwnFolder(
      await collect(this.#read(manifest, key)),
      keys.writeSecret,
    );
    // A version must be this folder's: one signed with a leaked key but naming another folder
    // (copied from elsewhere) is refused, as readers refuse it.
    if (!equals(version.writePub, keys.writePub)) {
      throw new SyntaxError("A folder's record points at another folder's version");
    }
    const loaded = { keys, version, manifest, pointer: found.record.value, plain };
    this.#remember(loaded);
    return loaded;
  }

  /** Keeps a folder as just seen or published (at most 256, least recently used out). */
  #remember(f: LoadedFolder): void {
    const cacheKey = toHex(f.keys.writePub);
    this.#folders.delete(cacheKey);
    this.#folders.set(cacheKey, { ...f, seen: Date.now() });
    if (this.#folders.size > 256) this.#folders.delete(this.#folders.keys().next().value!);
  }

  async #update(folder: LoadedFolder, entries: Record<string, Entry>): Promise<void> {
    const version: FolderVersion = {
      ...folder.version,
      parent: folder.pointer ? await sha256(folder.pointer) : new Uint8Array(0),
      counter: folder.version.counter + 1,
      entries,
    };
    const old = folder.manifest;
    await this.#saveFolder({ ...folder, version });
    if (old) await this.#deleteShards(old.blocks.flatMap((b) => b.shards));
  }

  async #saveFolder(f: LoadedFolder): Promise<void> {
    // Every change to the catalog saves a folder: the keep list is due again.
    this.#keepDue = true;
    // Subfolders' write secrets are written masked under this folder's own.
    const bytes = encodeFolder(f.version, f.keys.writeSecret);
    const key = generateDataKey();
    const { manifest, pending } = await putFile(chunked(bytes), bytes.length, {
      ...this.#placement(),
      key,
    });
    await this.#queue(manifest, pending);
    const box = await seal(
      f.keys.readKey,
      "folder-pointer",
      encode({ manifest: encodeManifest(manifest), key }),
    );
    const record = createRecord(f.keys.writeSecret, f.keys.writePub, {
      ns: "folder",
      seq: f.version.counter,
      value: encode({ v: 1, counter: f.version.counter, box }),
    });
    await this.options.node.publishRecord(record);
    this.#remember({ ...f, manifest, pointer: record.value, plain: 0 });
  }
}

/** The versions of a file entry (none for a folder or nothing). */
function versionsOf(e: Entry | undefined): readonly FileVersion[] {
  return e?.t === "f" ? e.versions : [];
}

/** Reads a whole stream (a folder object or a pack: small, bounded objects). */
async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return concat(...chunks);
}

/**
 * A subfolder entry's keys. In the catalog's memory every entry holds its write secret in the
 * clear (unmasked by `decodeOwnFolder`, or made here); one that does not was decoded as a
 * reader's and cannot be written through.
 */
function keysOf(e: Extract<Entry, { t: "d" }>): FolderKeys {
  if (!e.writeSecret) {
    throw new WriteSecretError("A folder entry without its write secret reached the catalog");
  }
  return { writePub: e.writePub, readKey: e.readKey, writeSecret: e.writeSecret };
}

function newFolderKeys(): FolderKeys {
  const writeSecret = randomBytes(32);
  return { writeSecret, writePub: ed25519.getPublicKey(writeSecret), readKey: randomBytes(32) };
}

/** A new folder's first version: mode and group from its parent (`permissions.ts`). */
function emptyFolder(owner: string, keys: FolderKeys, parent?: FolderVersion): FolderVersion {
  return {
    v: 1,
    owner,
    ...inherited(parent),
    writePub: keys.writePub,
    parent: new Uint8Array(0),
    counter: 0,
    entries: {},
  };
}

async function* chunked(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * The keyed content hash used to skip unchanged files: HMAC-SHA-256, under a key derived from
 * the identity, over the SHA-256 of each 4 MiB piece (computed with WebCrypto, which is about
 * 6× faster here than hashing the whole stream with @noble/hashes).
 */
export class ContentHasher {
  #key: Uint8Array;
  #pieces: Promise<Uint8Array>[] = [];
  #buf = new Uint8Array(4 << 20);
  #fill = 0;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** Passes `source` through, hashing it on the way. */
  async *wrap(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const chunk of source) {
      this.update(chunk);
      yield chunk;
    }
  }

  /** Adds bytes. */
  update(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(this.#buf.length - this.#fill, chunk.length - off);
      this.#buf.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === this.#buf.length) this.#flush();
    }
  }

  #flush() {
    // No copy: WebCrypto copies its input before digest() returns (WebCrypto §14.3.5, checked
    // under Deno), so the buffer can be refilled at once. The copy cost 4 MiB per 4 MiB read.
    this.#pieces.push(sha256(this.#buf.subarray(0, this.#fill)));
    this.#fill = 0;
  }

  /** The hash of everything added. */
  async digest(): Promise<Uint8Array> {
    if (this.#fill > 0 || this.#pieces.length === 0) this.#flush();
    return hmac(nobleSha256, this.#key, concat(...await Promise.all(this.#pieces)));
  }
}
