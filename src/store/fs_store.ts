/**
 * A shard store in a directory through Deno's file APIs: the default for `<data>/shards`.
 * NOT browser compatible (this is the only store module that uses `Deno.*`).
 *
 * Layout: `<dir>/<customer>/<id[0..2]>/<id>`, files 0600 in directories 0700. The two-letter
 * level keeps directories small (1,024 of them per customer, ~1,000 shards each at 1M shards).
 *
 * Atomicity: a shard is written to `.<id>.<uuid>.tmp` beside its final name, fsynced, renamed
 * into place (atomic on POSIX file systems), and the directory fsynced, so a reader sees the
 * whole shard or none and a stored shard survives power loss. A crash leaves at worst a `.tmp`
 * file, which `sweepTemporary()` (run on open) removes. unstorage's fs-lite driver cannot do
 * this: it rewrites files in place.
 *
 * Usage is recomputed on open by walking the tree (one `lstat` per shard: seconds for a million
 * shards), so it is right after any restart or manual cleanup; `size` and `storedAt` come from
 * the file itself (length and mtime), so there is no metadata to drift.
 * @module
 */
import {
  checkCustomer,
  checkKey,
  checkOptions,
  forEachLimit,
  ID_RE,
  KeyedLock,
  Lifecycle,
  preparePut,
  UsageBook,
  usageMethods,
  verify,
} from "./_common.ts";
import type { ShardInfo, ShardStore, ShardStoreOptions } from "./shard_store.ts";

/** Options for {@linkcode openFsShardStore}. */
export interface FsShardStoreOptions extends ShardStoreOptions {
  /** Fsync each shard and its directory before `put` resolves (default true). */
  fsync?: boolean;
}

const PREFIX_RE = /^[a-z2-7]{2}$/;
const TMP_RE = /^\.([a-z2-7]{52})\.[0-9a-f-]{36}\.tmp$/;
/** Writes go out in 1 MiB pieces so an abort is noticed between them. */
const WRITE_CHUNK = 1 << 20;

type Entry = { kind: "shard" | "tmp"; customer: string; id: string; path: string };

async function readDirOrEmpty(path: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** Best effort: makes a rename or a new entry in `dir` durable (not possible on Windows). */
async function syncDir(dir: string): Promise<void> {
  try {
    using f = await Deno.open(dir, { read: true });
    await f.sync();
  } catch {
    // Directories cannot be opened for fsync on some platforms; the file itself was synced.
  }
}

/**
 * Opens (creating if needed) a shard store in `dir`: counts usage from the files there and
 * removes temporary files left by a crash. One store per directory: the node's data-directory
 * lock ensures it.
 */
export async function openFsShardStore(
  dir: string,
  options: FsShardStoreOptions,
): Promise<ShardStore> {
  const opts = checkOptions(options);
  const fsync = opts.fsync ?? true;
  const book = new UsageBook();
  const lock = new KeyedLock();
  const life = new Lifecycle(dir);
  const madeDirs = new Set<string>();

  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });

  const subdir = (customer: string, id: string) => `${dir}/${customer}/${id.slice(0, 2)}`;
  const pathOf = (customer: string, id: string) => `${subdir(customer, id)}/${id}`;

  /** Shards and temporary files of one customer (or all); anything else is ignored. */
  async function* walk(only?: string): AsyncGenerator<Entry> {
    const customers = only ? [only] : (await readDirOrEmpty(dir))
      .filter((e) => e.isDirectory && ID_RE.test(e.name)).map((e) => e.name);
    for (const customer of customers) {
      for (const p of await readDirOrEmpty(`${dir}/${customer}`)) {
        if (!p.isDirectory || !PREFIX_RE.test(p.name)) continue;
        const sub = `${dir}/${customer}/${p.name}`;
        for (const f of await readDirOrEmpty(sub)) {
          if (!f.isFile) continue;
          const tmp = TMP_RE.exec(f.name);
          if (tmp) yield { kind: "tmp", customer, id: tmp[1]!, path: `${sub}/${f.name}` };
          else if (ID_RE.test(f.name) && f.name.startsWith(p.name)) {
            yield { kind: "shard", customer, id: f.name, path: `${sub}/${f.name}` };
          }
        }
      }
    }
  }

  async function sweep(tmps: Entry[]): Promise<number> {
    let removed = 0;
    await forEachLimit(tmps, 16, (t) =>
      // Under the shard's lock, a put in flight has renamed or removed its own file by now.
      lock.run(`${t.customer}:${t.id}`, async () => {
        try {
          await Deno.remove(t.path);
          removed++;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }));
    return removed;
  }

  async function collectTmps(): Promise<Entry[]> {
    return (await Array.fromAsync(walk())).filter((e) => e.kind === "tmp");
  }

  {
    const entries = await Array.fromAsync(walk());
    await forEachLimit(entries.filter((e) => e.kind === "shard"), 32, async (e) => {
      const info = await lstatOrNull(e.path);
      if (info?.isFile) book.add(e.customer, info.size);
    });
    await sweep(entries.filter((e) => e.kind === "tmp"));
  }

  async function ensureDir(sub: string, customer: string) {
    if (madeDirs.has(sub)) return;
    await Deno.mkdir(sub, { recursive: true, mode: 0o700 });
    if (fsync) {
      await syncDir(`${dir}/${customer}`);
      await syncDir(dir);
    }
    madeDirs.add(sub);
  }

  async function writeFile(path: string, bytes: Uint8Array, signal?: AbortSignal) {
    using f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    for (let off = 0; off < bytes.length;) {
      signal?.throwIfAborted();
      off += await f.write(bytes.subarray(off, Math.min(bytes.length, off + WRITE_CHUNK)));
    }
    if (fsync) await f.sync();
  }

  return {
    put: (customer, id, bytes, putOpts = {}) =>
      life.run(async () => {
        const { signal } = putOpts;
        const copy = await preparePut(opts, customer, id, bytes, signal);
        return await lock.run(`${customer}:${id}`, async () => {
          const final = pathOf(customer, id);
          if ((await lstatOrNull(final))?.isFile) return "exists" as const;
          signal?.throwIfAborted();
          const release = book.reserve(customer, copy.length, opts.quota?.(customer));
          const sub = subdir(customer, id);
          const tmp = `${sub}/.${id}.${crypto.randomUUID()}.tmp`;
          try {
            await ensureDir(sub, customer);
            await writeFile(tmp, copy, signal);
            signal?.throwIfAborted();
            await Deno.rename(tmp, final);
          } catch (e) {
            await Deno.remove(tmp).catch(() => {});
            // The directory may have been removed under us; make it again next time.
            madeDirs.delete(sub);
            throw e;
          } finally {
            release();
          }
          book.add(customer, copy.length);
          if (fsync) await syncDir(sub);
          return "stored" as const;
        });
      }),

    get: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        let bytes: Uint8Array;
        try {
          // No lock: the file appears and disappears whole (rename, unlink).
          bytes = await Deno.readFile(pathOf(customer, id));
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) return null;
          throw e;
        }
        return await verify(opts, customer, id, bytes);
      }),

    has: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        return (await lstatOrNull(pathOf(customer, id)))?.isFile ?? false;
      }),

    delete: (customer, id) =>
      life.run(async () => {
        checkKey(customer, id);
        return await lock.run(`${customer}:${id}`, async () => {
          const path = pathOf(customer, id);
          const info = await lstatOrNull(path);
          if (!info?.isFile) return false;
          await Deno.remove(path);
          book.remove(customer, info.size);
          return true;
        });
      }),

    async *list(customer): AsyncIterable<ShardInfo> {
      checkCustomer(customer);
      life.check();
      for await (const e of walk(customer)) {
        if (e.kind !== "shard") continue;
        const info = await lstatOrNull(e.path);
        if (!info?.isFile) continue; // deleted meanwhile
        yield { id: e.id, size: info.size, storedAt: info.mtime?.getTime() ?? 0 };
      }
    },

    ...usageMethods(book, life),

    sweepTemporary: () => life.run(async () => await sweep(await collectTmps())),

    close: () => life.close(),
  };
}
