/**
 * The node API's file routes over the storage service: uploads (with skip-if-unchanged, resume of
 * an interrupted upload, and progress events), downloads with ranges, listing, versions, removal,
 * pruning, suppliers and space used per supplier.
 */
import type { FilesBackend } from "../../gateway/files.ts";
import { ContentHasher } from "../catalog/mod.ts";
import { equals } from "../encoding/bytes.ts";
import type { StorageService } from "./storage.ts";

/** Raised when an upload only looked unchanged: the client sends it again in full. */
export class ChangedError extends Error {
  override name = "ChangedError";
}

/** Builds the file routes' backend. */
export function storageFilesBackend(storage: StorageService): FilesBackend {
  const events = storage.node.events;
  return {
    async put(path, body, size, opts) {
      const catalog = await storage.catalog();
      if (opts.skipUnchanged && opts.mtime !== undefined) {
        const latest = (await catalog.versions(path).catch(() => []))[0];
        if (latest && latest.size === size && latest.mtime === opts.mtime) {
          const hasher = new ContentHasher(catalog.contentKey());
          for await (const c of body) hasher.update(c);
          if (equals(await hasher.digest(), latest.hash)) return { path, size, skipped: true };
          throw new ChangedError(
            `${path} has the same size and time but new content: send it again`,
          );
        }
      }
      let last = 0;
      const stats = { resumed: 0 };
      // A ResumeMismatchError (the source changed since the interrupted upload) answers 409
      // without reading the rest of the body; sending the file again starts a new version.
      const version = await catalog.put(path, body, size, {
        mtime: opts.mtime,
        signal: opts.signal,
        stats,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < 250 && p.bytes < p.total) return;
          last = now;
          events.emit("put:progress", { path, bytes: p.bytes, total: p.total });
        },
      });
      events.emit("put:done", { path, size });
      return {
        path,
        size: version.size,
        added: version.added,
        versions: (await catalog.versions(path)).length,
        underReplicated: catalog.pending,
        resumed: stats.resumed,
      };
    },
    async putBatch(dir, items, signal) {
      const catalog = await storage.catalog();
      const results = await catalog.putBatch(dir, items, { signal });
      const base = dir === "/" ? "" : dir;
      for (const r of results) {
        if (!r.skipped) events.emit("put:done", { path: `${base}/${r.name}`, size: r.size });
      }
      return { results, underReplicated: catalog.pending };
    },
    async get(path, opts) {
      const { version, stream } = await (await storage.catalog()).get(path, opts);
      return { size: version.size, added: version.added, stream };
    },
    async size(path, version) {
      const v = (await (await storage.catalog()).versions(path))[version ?? 0];
      if (!v) throw new RangeError(`${path} has no version ${version}`);
      return { size: v.size, added: v.added };
    },
    async mkdir(path) {
      const created = await (await storage.catalog()).mkdir(path);
      if (created) events.emit("put:done", { path, size: 0 });
      return created;
    },
    async restoreVersion(path, version, signal) {
      const catalog = await storage.catalog();
      // Streams the old version through the data path again: a new version under a fresh key,
      // with the old one's modification time; nothing passes through the client.
      const old = await catalog.get(path, { version, signal });
      const fresh = await catalog.put(path, old.stream, old.version.size, {
        mtime: old.version.mtime,
        signal,
      });
      events.emit("put:done", { path, size: fresh.size });
      return { path, size: fresh.size, versions: (await catalog.versions(path)).length };
    },
    async remove(path) {
      await (await storage.catalog()).remove(path);
      // The sharing service drops a removed shared path from the share record.
      events.emit("remove:done", { path });
    },
    async list(path) {
      return await (await storage.catalog()).list(path);
    },
    async versions(path) {
      return (await (await storage.catalog()).versions(path)).map((v, i) => ({
        version: i,
        size: v.size,
        mtime: v.mtime,
        added: v.added,
        stored: v.inline ? "inline" : v.pack ? "packed" : "shards",
      }));
    },
    async prune(path, rule) {
      return await (await storage.catalog()).prune(path, rule);
    },
    suppliers() {
      const { k, m } = storage.ecc;
      return Promise.resolve({
        code: `${k}+${m}`,
        wanted: storage.options.supplierCount,
        suppliers: storage.describe(),
        migration: storage.migration,
      });
    },
    setSupplierCount(count) {
      return Promise.resolve(storage.setSupplierCount(count));
    },
    health() {
      return Promise.resolve(storage.healthReport());
    },
    async usage() {
      const rows = await Promise.all(
        storage.suppliers().map(async (s) => {
          try {
            const r = await storage.customer.list(s);
            return { supplier: s, shards: r.shards.length, bytes: r.usage, reachable: true };
          } catch {
            return { supplier: s, shards: 0, bytes: 0, reachable: false };
          }
        }),
      );
      return { suppliers: rows, total: rows.reduce((a, r) => a + r.bytes, 0) };
    },
  };
}
