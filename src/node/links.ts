/**
 * Making a quick link (`mote link <path>`): a snapshot of the file, or of every file under the
 * folder, as they are now (`sharing/link_snapshot.ts`), sealed under a fresh 32-byte key and
 * stored on the owner's suppliers as one full-copy object (k = 1, up to 5 copies), so it is read
 * while the owner is offline. The capability names that object (owner and shard ids) and
 * carries the key; the URL goes to the owner once and the key is never kept on the node.
 *
 * Each linked file's version is named by its data key and manifest (its shards stay where they
 * are, pinned by the link so the catalog does not delete them while it lives); inline and packed
 * files are copied into the snapshot (a pack's key is never shared).
 * Later versions of the files are not in the snapshot, so they never leak through the link.
 */
import { generateDataKey } from "../crypto/block.ts";
import { randomBytes } from "../crypto/hash.ts";
import { toHex } from "../encoding/bytes.ts";
import { type FileVersion, NotFoundError, splitPath } from "../catalog/mod.ts";
import { putFile } from "../files/put.ts";
import { type Capability, formatLink } from "../sharing/link.ts";
import {
  encodeLinkRef,
  encodeSnapshot,
  MAX_LINK_FILES,
  MAX_REF_SHARDS,
  MIN_REF_SHARDS,
  type SnapshotFile,
} from "../sharing/link_snapshot.ts";
import { type Customer, SupplierError } from "../suppliers/customer.ts";
import type { ShardLocator } from "../files/locator.ts";
import type { LinkEntry, Pin } from "./link_book.ts";
import { decodeManifest } from "../files/manifest.ts";
import type { StorageService } from "./storage.ts";
import { SHARING_FOLDER } from "./sharing.ts";

/** What {@linkcode createLink} answers. */
export interface CreatedLink {
  link: LinkEntry;
  /** The capability URL (`<gateway>/l/#…`): the only place the key is. */
  url: string;
}

/**
 * Snapshots `path` and stores it; `expires` (ms since the epoch) has the node delete it then.
 * Throws `NotFoundError` for a missing path, `RangeError` past the snapshot's limits (nothing is
 * stored then).
 */
export async function createLink(
  storage: StorageService,
  path: string,
  opts: { expires?: number; gateway: string; now?: number; signal?: AbortSignal },
): Promise<CreatedLink> {
  const now = opts.now ?? Date.now();
  if (opts.expires !== undefined && (!Number.isSafeInteger(opts.expires) || opts.expires <= now)) {
    throw new RangeError("A link's expiry must be in the future");
  }
  const catalog = await storage.catalog();
  const found = await filesAt(storage, path);
  if (found.length > MAX_LINK_FILES) {
    throw new RangeError(
      `${path} holds ${found.length} files; a link holds at most ${MAX_LINK_FILES}`,
    );
  }
  const files: SnapshotFile[] = [];
  const pins: Pin[] = [];
  for (const { rel, full, v } of found) {
    opts.signal?.throwIfAborted();
    if (v.manifest) {
      files.push({ path: rel, size: v.size, key: v.key, manifest: v.manifest });
      const m = decodeManifest(v.manifest);
      pins.push({ k: m.k, m: m.m, blocks: m.blocks.map((b) => [...b.shards]) });
    } else if (v.inline) files.push({ path: rel, size: v.size, inline: v.inline });
    else {
      // Packed: copy the bytes (a pack's key would also open its neighbours' ciphertext).
      const { stream } = await catalog.get(full, { signal: opts.signal });
      files.push({ path: rel, size: v.size, inline: await collect(stream, v.size) });
    }
  }
  const bytes = encodeSnapshot({ v: 1, created: now, files });
  const suppliers = storage.suppliers();
  const n = Math.min(suppliers.length, MAX_REF_SHARDS);
  if (n < MIN_REF_SHARDS) {
    throw new RangeError(`A link needs ${MIN_REF_SHARDS} hired suppliers; ${n} are hired`);
  }
  const key = generateDataKey();
  const { manifest, pending } = await putFile(once(bytes), bytes.length, {
    customer: storage.customer,
    locator: storage.locator,
    suppliers,
    k: 1,
    m: n - 1,
    key,
    // One block whatever the size: the ref names a single block's shards.
    blockSize: bytes.length,
    signal: opts.signal,
  });
  const shards = [...manifest.blocks[0]!.shards];
  if (pending.length) {
    await storage.repairs.add({ k: 1, m: n - 1, shards, missing: pending.map((p) => p.index) });
  }
  const link: LinkEntry = {
    id: toHex(randomBytes(6)),
    path,
    created: now,
    ...(opts.expires !== undefined ? { expires: opts.expires } : {}),
    files: files.length,
    bytes: files.reduce((s, f) => s + f.size, 0),
    size: bytes.length,
    shards,
    ...(pins.length ? { pins } : {}),
  };
  try {
    await storage.links.add(link);
  } catch (e) {
    // Not in the book, the object would be kept by nobody: delete it now (best effort; a
    // supplier missed here drops it as a stray after the next keep list).
    await deleteShardsEverywhere(storage.customer, storage.locator, suppliers, shards)
      .catch(() => {});
    throw e;
  }
  const cap: Capability = {
    v: 1,
    ref: encodeLinkRef({ v: 1, owner: storage.node.id, size: bytes.length, shards }),
    key,
    ...(opts.expires !== undefined ? { expires: opts.expires } : {}),
  };
  return { link, url: formatLink(cap, opts.gateway) };
}

/** The newest version of the file at `path`, or of every file under the folder at `path`. */
async function filesAt(
  storage: StorageService,
  path: string,
): Promise<{ rel: string; full: string; v: FileVersion }[]> {
  const catalog = await storage.catalog();
  const parts = splitPath(path);
  if (parts[0] === SHARING_FOLDER) {
    throw new RangeError(`/${SHARING_FOLDER} holds the sharing keys: it is never linked`);
  }
  const clean = "/" + parts.join("/");
  try {
    const v = (await catalog.versions(clean))[0]!;
    return [{ rel: clean.split("/").pop()!, full: clean, v }];
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  let tree;
  try {
    tree = await catalog.tree(clean);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`No file or folder at ${path}`);
    throw e;
  }
  // Linking the whole tree leaves out the sharing keys.
  const files = [...tree].filter(([rel]) =>
    !(clean === "/" && rel.startsWith(`/${SHARING_FOLDER}/`))
  );
  if (files.length === 0) throw new RangeError(`${path} holds no files to link`);
  return files.map(([rel, versions]) => ({
    rel: rel.slice(1),
    full: `${clean === "/" ? "" : clean}${rel}`,
    v: versions[0]!,
  }));
}

/**
 * Deletes shards from every supplier that may hold them (the locator's hints and every hired
 * supplier: a delete of a shard a supplier lacks is harmless). Throws when a hinted supplier
 * could not be asked, so the caller tries again later.
 */
export async function deleteShardsEverywhere(
  customer: Customer,
  locator: ShardLocator,
  hired: readonly string[],
  ids: readonly string[],
): Promise<void> {
  const targets = [...new Set([...hired, ...ids.flatMap((id) => locator.suppliersFor(id))])];
  const results = await Promise.allSettled(targets.map(async (s) => {
    await customer.deleteShards(s, [...ids]);
    for (const id of ids) locator.forget(id, s);
  }));
  await locator.save();
  // A refusal (no contract any more) will not change by asking again; silence may.
  const failed = results.filter((r) =>
    r.status === "rejected" && !(r.reason instanceof SupplierError && r.reason.refused)
  );
  if (failed.length) {
    throw new Error(`Could not reach ${failed.length} supplier(s) to delete the link's shards`);
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function collect(s: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  for await (const part of s) {
    if (at + part.length > size) throw new RangeError(`A file gave more than its ${size} bytes`);
    out.set(part, at);
    at += part.length;
  }
  if (at !== size) throw new RangeError(`A file gave ${at} of its ${size} bytes`);
  return out;
}
