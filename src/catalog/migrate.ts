/**
 * Moving stored data to a new erasure map. The map is chosen per file at upload and recorded in
 * its manifest; when the owner changes how many suppliers to hire, files already stored keep
 * their map (and stay readable) until this walk moves them: each file version still on another
 * map is streamed out and back in under a fresh data key (a key is never used for a second
 * encryption), swapped into its folder under the catalog's lock only if the folder still holds
 * that version, and its old shards are then deleted. Folder objects are re-stored as well.
 *
 * Only the owner's node does this: new shards mean new ids, which only the owner can record.
 * One file at a time, streaming (a few blocks in memory), so it can run beside normal use. It
 * keeps no state of its own: a version already moved has the right map, so an interrupted pass
 * resumes by walking again. Shards placed by an item that is then dropped (the user pruned or
 * removed the version meanwhile, or the pass was stopped) are deleted again.
 * @module
 */
import { generateDataKey } from "../crypto/block.ts";
import { equals, toHex } from "../encoding/bytes.ts";
import type { EccMap } from "../erasure/mod.ts";
import { decodeManifest, encodeManifest, type FileManifest } from "../files/manifest.ts";
import type { PendingShard } from "../files/put.ts";
import type { Entry, FileVersion, FolderVersion } from "./folder.ts";
import { packId } from "./pack.ts";

/** What storing an object gives back: its manifest and the shards still to place. */
type StoredObject = { manifest: FileManifest; pending: PendingShard[] };

/** A folder as the migration sees it: its current version and where its object is stored. */
export interface MigrationFolder {
  version: FolderVersion;
  manifest: FileManifest | null;
}

/** What the migration needs from the catalog (the catalog builds it; see `Catalog.migrate`). */
export interface MigrationHost {
  /** The map new data uses now. */
  target(): EccMap;
  /** The folder at `parts`, or null when there is none any more. */
  folder(parts: string[]): Promise<MigrationFolder | null>;
  /**
   * Under the catalog's lock: loads the folder at `parts` again and, when `change` returns
   * entries, publishes them as its next version (re-storing the folder object on the current
   * map and deleting its previous one). Resolves to whether it published.
   */
  edit(
    parts: string[],
    change: (folder: MigrationFolder) => Record<string, Entry> | null,
  ): Promise<boolean>;
  /** Streams a stored version's plaintext. */
  read(manifest: FileManifest, key: Uint8Array, signal?: AbortSignal): ReadableStream<Uint8Array>;
  /** Stores a stream on `map` under `key`; reports every placed shard to `onPlaced`. */
  store(
    source: AsyncIterable<Uint8Array>,
    size: number,
    key: Uint8Array,
    opts: { map: EccMap; signal?: AbortSignal; onPlaced: (id: string) => void },
  ): Promise<StoredObject>;
  /** Queues shards a store could not place for repair (only once the version is committed). */
  queue(manifest: FileManifest, pending: PendingShard[]): Promise<void>;
  /** Deletes shards from the suppliers believed to hold them. */
  deleteShards(ids: string[]): Promise<void>;
  /** Reads in progress, so old shards outlive the reads that started on them. */
  reads: ReadTracker;
}

/** How much is still stored on another map than the current one. */
export interface Unmigrated {
  /** File versions (inline ones never count). */
  files: number;
  /** Folder objects. */
  folders: number;
  /** Plaintext bytes of those file versions. */
  bytes: number;
}

/** One migrated file version. */
export interface MigratedVersion {
  path: string;
  /** Index in the file's versions at the time it was read (0 = newest). */
  version: number;
  size: number;
  map: EccMap;
  /** File versions still to move in this pass. */
  left: number;
}

/** Options of {@linkcode migrateCatalog}. */
export interface MigrateOptions {
  signal?: AbortSignal;
  /** Whether enough suppliers are hired for the target map; checked before every item. */
  ready?: () => boolean;
  /** What the pass found on an old map, before it moves anything. */
  onCounted?: (found: Unmigrated) => void;
  onMigrated?: (m: MigratedVersion) => void;
  /** A version or folder that could not be moved (it is tried again on the next pass). */
  onError?: (path: string, error: unknown) => void;
  /** Longest wait for reads of an old version before its shards are deleted (ms, default 5 min). */
  readWait?: number;
}

/** The outcome of a pass. */
export interface MigrationResult {
  map: EccMap;
  /** Found on an old map when the pass began. */
  found: Unmigrated;
  /** File versions moved. */
  files: number;
  /** Folder objects moved. */
  folders: number;
  /** Plaintext bytes moved. */
  bytes: number;
  /** File versions dropped because the user removed or pruned them meanwhile. */
  gone: number;
  /** Items that failed (tried again next pass). */
  failed: number;
  /** Why the pass ended early: too few suppliers, or the target map changed. */
  stopped: "waiting" | "superseded" | null;
  /** Still on an old map as far as this pass knows. */
  left: Unmigrated;
}

const sameMap = (m: { k: number; m: number }, t: EccMap) => m.k === t.k && m.m === t.m;

/** Counts what is stored on another map than `map` (walks every folder). */
export async function countUnmigrated(
  host: MigrationHost,
  map: EccMap = host.target(),
  signal?: AbortSignal,
): Promise<Unmigrated> {
  const n: Unmigrated = { files: 0, folders: 0, bytes: 0 };
  for await (const { folder } of folders(host, signal)) {
    if (folder.manifest && !sameMap(folder.manifest, map)) n.folders++;
    for (const { version } of oldVersions(folder, map)) {
      n.files++;
      n.bytes += version.size;
    }
    for (const pack of oldPacks(folder, map).values()) {
      n.files++;
      n.bytes += pack.size;
    }
  }
  return n;
}

/** Moves every file version and folder object on an old map to the host's target map. */
export async function migrateCatalog(
  host: MigrationHost,
  opts: MigrateOptions = {},
): Promise<MigrationResult> {
  const map = host.target();
  const { signal } = opts;
  const found = await countUnmigrated(host, map, signal);
  opts.onCounted?.(found);
  const r: MigrationResult = {
    map,
    found,
    files: 0,
    folders: 0,
    bytes: 0,
    gone: 0,
    failed: 0,
    stopped: null,
    left: { ...found },
  };
  const halt = (): boolean => {
    signal?.throwIfAborted();
    if (!sameMap(host.target(), map)) r.stopped = "superseded";
    else if (opts.ready && !opts.ready()) r.stopped = "waiting";
    return r.stopped !== null;
  };
  if (found.files + found.folders === 0 || halt()) return r;
  outer: for await (const { parts, folder } of folders(host, signal)) {
    for (const { name, index, version } of oldVersions(folder, map)) {
      if (halt()) break outer;
      const path = "/" + [...parts, name].join("/");
      try {
        const moved = await migrateVersion(host, parts, name, version, map, opts);
        // Clamped: the tree may have changed since it was counted.
        r.left.files = Math.max(0, r.left.files - 1);
        r.left.bytes = Math.max(0, r.left.bytes - version.size);
        if (moved) {
          r.files++;
          r.bytes += version.size;
          opts.onMigrated?.({ path, version: index, size: version.size, map, left: r.left.files });
        } else r.gone++;
      } catch (e) {
        if (signal?.aborted) throw e;
        r.failed++;
        opts.onError?.(path, e);
      }
    }
    for (const [id, pack] of oldPacks(folder, map)) {
      if (halt()) break outer;
      try {
        const moved = await migratePack(host, parts, id, pack, map, opts);
        r.left.files = Math.max(0, r.left.files - 1);
        r.left.bytes = Math.max(0, r.left.bytes - pack.size);
        if (moved) {
          r.files++;
          r.bytes += pack.size;
        } else r.gone++;
      } catch (e) {
        if (signal?.aborted) throw e;
        r.failed++;
        opts.onError?.("/" + parts.join("/"), e);
      }
    }
    if (folder.manifest && !sameMap(folder.manifest, map)) {
      if (halt()) break;
      try {
        // Moving a file above already re-stored this folder's object; then this is a no-op.
        await host.edit(
          parts,
          (f) => f.manifest && !sameMap(f.manifest, map) ? f.version.entries : null,
        );
        r.folders++;
        r.left.folders = Math.max(0, r.left.folders - 1);
      } catch (e) {
        if (signal?.aborted) throw e;
        r.failed++;
        opts.onError?.("/" + parts.join("/"), e);
      }
    }
  }
  return r;
}

/** Moves one version; false when it was gone by the time it could be swapped in. */
async function migrateVersion(
  host: MigrationHost,
  parts: string[],
  name: string,
  old: FileVersion,
  map: EccMap,
  opts: MigrateOptions,
): Promise<boolean> {
  const oldManifest = decodeManifest(old.manifest!);
  // The user may have pruned or removed it since the folder was read.
  const present = async () => {
    const e = (await host.folder(parts))?.version.entries[name];
    return e?.t === "f" && e.versions.some((v) => sameVersion(v, old));
  };
  if (!await present()) return false;
  let again: Awaited<ReturnType<typeof storeAgain>>;
  try {
    again = await storeAgain(host, oldManifest, old.key, old.size, map, opts.signal);
  } catch (e) {
    // A prune that deleted the old shards under the read is not a failure.
    if (!opts.signal?.aborted && !await present().catch(() => true)) return false;
    throw e;
  }
  const { stored, placed } = again;
  const fresh: FileVersion = { ...old, key: again.key, manifest: encodeManifest(stored.manifest) };
  const committed = await swapIn(host, parts, placed, (f) => {
    const e = f.version.entries[name];
    if (e?.t !== "f") return null;
    const i = e.versions.findIndex((v) => sameVersion(v, old));
    if (i < 0) return null;
    return { ...f.version.entries, [name]: { ...e, versions: e.versions.with(i, fresh) } };
  });
  if (!committed) return false;
  await host.queue(stored.manifest, stored.pending);
  // Reads that began on the old manifest keep fetching its shards; let them finish (a stop
  // ends the wait: this node's reads end with it).
  await host.reads.idle(old.key, { signal: opts.signal, timeout: opts.readWait ?? 300_000 });
  await host.deleteShards([...new Set(oldManifest.blocks.flatMap((b) => b.shards))]);
  return true;
}

/**
 * Moves one pack of small files (`pack.ts`): its bytes (the members' ciphertexts) are stored again
 * under a fresh pack key, and every version packed in it is pointed at the new pack in one folder
 * update; members keep their own keys, offsets and lengths. False when no member was left.
 */
async function migratePack(
  host: MigrationHost,
  parts: string[],
  id: string,
  old: { manifest: Uint8Array; key: Uint8Array; size: number },
  map: EccMap,
  opts: MigrateOptions,
): Promise<boolean> {
  const oldManifest = decodeManifest(old.manifest);
  const { key, stored, placed } = await storeAgain(
    host,
    oldManifest,
    old.key,
    old.size,
    map,
    opts.signal,
  );
  const fresh = { manifest: encodeManifest(stored.manifest), key };
  const committed = await swapIn(host, parts, placed, (f) => {
    let hit = false;
    const entries: Record<string, Entry> = {};
    for (const [name, e] of Object.entries(f.version.entries)) {
      if (e.t !== "f") {
        entries[name] = e;
        continue;
      }
      const versions = e.versions.map((v) => {
        if (!v.pack || packId(v.pack.manifest) !== id) return v;
        hit = true;
        return { ...v, pack: { ...v.pack, ...fresh } };
      });
      entries[name] = { ...e, versions };
    }
    return hit ? entries : null;
  });
  if (!committed) return false;
  await host.queue(stored.manifest, stored.pending);
  await host.deleteShards([...new Set(oldManifest.blocks.flatMap((b) => b.shards))]);
  return true;
}

/**
 * Stores an object's plaintext again on `map` under a fresh key; on failure, deletes what it had
 * placed and rethrows.
 */
async function storeAgain(
  host: MigrationHost,
  manifest: FileManifest,
  key: Uint8Array,
  size: number,
  map: EccMap,
  signal?: AbortSignal,
): Promise<{ key: Uint8Array; stored: StoredObject; placed: string[] }> {
  const fresh = generateDataKey();
  const placed: string[] = [];
  try {
    const stored = await host.store(host.read(manifest, key, signal), size, fresh, {
      map,
      signal,
      onPlaced: (id) => placed.push(id),
    });
    return { key: fresh, stored, placed };
  } catch (e) {
    await host.deleteShards(placed).catch(() => {});
    throw e;
  }
}

/**
 * Publishes the folder at `parts` as `change` makes it. When there is nothing to change, or the
 * edit fails before the change was chosen, the new shards (`placed`) are deleted; once chosen, the
 * folder may already point at them, so they stay (at worst strays) rather than risk the data.
 */
async function swapIn(
  host: MigrationHost,
  parts: string[],
  placed: string[],
  change: (folder: MigrationFolder) => Record<string, Entry> | null,
): Promise<boolean> {
  let chosen = false;
  const committed = await host.edit(parts, (f) => {
    const entries = change(f);
    chosen = entries !== null;
    return entries;
  }).catch(async (e) => {
    if (!chosen) await host.deleteShards(placed).catch(() => {});
    throw e;
  });
  if (!committed) await host.deleteShards(placed).catch(() => {});
  return committed;
}

/** The folder's packs stored on another map than `map`, by pack id. */
function oldPacks(folder: MigrationFolder, map: EccMap) {
  const packs = new Map<string, { manifest: Uint8Array; key: Uint8Array; size: number }>();
  for (const e of Object.values(folder.version.entries)) {
    if (e.t !== "f") continue;
    for (const v of e.versions) {
      if (!v.pack) continue;
      const m = decodeManifest(v.pack.manifest);
      if (sameMap(m, map)) continue;
      packs.set(packId(v.pack.manifest), {
        manifest: v.pack.manifest,
        key: v.pack.key,
        size: m.size,
      });
    }
  }
  return packs;
}

/** The data key names a version (fresh for every one); the manifest says where it is now. */
function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return equals(a.key, b.key) && !!a.manifest && !!b.manifest && equals(a.manifest, b.manifest);
}

/** Every folder, depth first, with its path; folders that vanish meanwhile are skipped. */
async function* folders(
  host: MigrationHost,
  signal?: AbortSignal,
): AsyncGenerator<{ parts: string[]; folder: MigrationFolder }> {
  const stack: string[][] = [[]];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const parts = stack.pop()!;
    const folder = await host.folder(parts);
    if (!folder) continue;
    yield { parts, folder };
    const children = Object.entries(folder.version.entries).filter(([, e]) => e.t === "d");
    for (const [name] of children.reverse()) stack.push([...parts, name]);
  }
}

function* oldVersions(folder: MigrationFolder, map: EccMap) {
  for (const [name, e] of Object.entries(folder.version.entries)) {
    if (e.t !== "f") continue;
    for (const [index, version] of e.versions.entries()) {
      if (version.manifest && !sameMap(decodeManifest(version.manifest), map)) {
        yield { name, index, version };
      }
    }
  }
}

/**
 * Counts the reads in progress per file version (by data key), so the shards a read started on
 * are not deleted under it. Bounded by the reads in progress.
 */
export class ReadTracker {
  #open = new Map<string, number>();
  #waiters = new Map<string, Set<() => void>>();

  /** Reads in progress of the version with this data key. */
  reading(key: Uint8Array): number {
    return this.#open.get(toHex(key)) ?? 0;
  }

  /** Passes `stream` through, counting it as a read of `key` until it ends, fails or is cancelled. */
  track(key: Uint8Array, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const id = toHex(key);
    this.#open.set(id, (this.#open.get(id) ?? 0) + 1);
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      const n = this.#open.get(id)! - 1;
      if (n > 0) this.#open.set(id, n);
      else {
        this.#open.delete(id);
        for (const wake of this.#waiters.get(id) ?? []) wake();
      }
    };
    const reader = stream.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          const r = await reader.read();
          if (r.done) {
            release();
            c.close();
          } else c.enqueue(r.value);
        } catch (e) {
          release();
          c.error(e);
        }
      },
      cancel(reason) {
        release();
        return reader.cancel(reason);
      },
    });
  }

  /**
   * Resolves once no read of `key` is in progress (true), or when `timeout` ms pass or `signal`
   * aborts first (false).
   */
  idle(key: Uint8Array, opts: { signal?: AbortSignal; timeout: number }): Promise<boolean> {
    const id = toHex(key);
    if (!this.#open.has(id)) return Promise.resolve(true);
    if (opts.signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const set = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, set);
      const done = (idle: boolean) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        set.delete(wake);
        if (set.size === 0) this.#waiters.delete(id);
        resolve(idle);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), opts.timeout);
      set.add(wake);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
