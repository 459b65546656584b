/**
 * Publishing sites from the owner's catalog. A site's files live in the catalog under
 * `/.sites/<name>/` (uploaded like any files: resumable, unchanged files skipped, kept whole by
 * audits and scrubbers, and their shards on the keep list); publishing builds the site's index
 * from the newest version of each file, stores it as `/.sites/<name>.index`, and signs the `site`
 * record pointing to it. The switch is that one record: visitors see the old index or the new.
 *
 * The previous version stays servable for a while ({@linkcode KEEP_PREVIOUS_MS}): a republish
 * only prunes versions older than that, and a file dropped from the site is removed only once
 * its newest version is that old.
 */
import { getMimeType } from "hono/utils/mime";
import type { Catalog } from "../catalog/mod.ts";
import { SITES_FOLDER } from "../catalog/mod.ts";
import { utf8 } from "../encoding/bytes.ts";
import type { MoteNode } from "../node/node.ts";
import { recordKeyOf } from "../records/record.ts";
import {
  checkSiteName,
  decodeSiteRecord,
  encodeSiteRecord,
  SITE_NAME_RE,
  siteAddress,
} from "./record.ts";
import { encodeSiteIndex, type IndexCopy, type IndexEntry } from "./site_index.ts";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import type { FileVersion } from "../catalog/mod.ts";

/** How long a replaced version of a site stays servable (ms). */
export const KEEP_PREVIOUS_MS = 10 * 60_000;
const REDIRECTS = "/_redirects";
/** Where compressed copies of site files are kept: `/.sites/.enc/<name>/<path>.br|.gz`. */
const ENC = ".enc";
/** Files compressed at publish: text-like types from 1 KiB to 16 MiB. */
const COMPRESS_MIN = 1024, COMPRESS_MAX = 16 << 20;
const COMPRESSIBLE =
  /^(text\/|application\/(javascript|json|xml|wasm|manifest\+json|ld\+json)|image\/svg)/;

/** What a publish did. */
export interface PublishResult {
  name: string;
  address: string;
  seq: number;
  files: number;
  bytes: number;
}

/** One of the owner's sites, for `mote site ls`. */
export interface SiteSummary {
  name: string;
  address: string;
  /** From the record: null when it was never published (files uploaded only). */
  seq: number | null;
  published: number | null;
  files: number;
  bytes: number;
  removed: boolean;
}

function folderOf(name: string): string {
  return `/${SITES_FOLDER}/${checkSiteName(name)}`;
}

/** Every file under a catalog folder, relative to it ("/a/b.html"); none when it is missing. */
async function filesUnder(catalog: Catalog, root: string): Promise<string[]> {
  return [...(await catalog.tree(root).catch(() => new Map())).keys()];
}

/** The content type served for a path. */
export function contentType(path: string): string {
  return getMimeType(path) ?? "application/octet-stream";
}

/**
 * Publishes the site `name` from its files in the catalog: all of them, or only `only` (paths
 * relative to the site, "/index.html"), which must all be there.
 */
export async function publishSite(
  o: { node: MoteNode; catalog: Catalog; name: string; only?: readonly string[] },
): Promise<PublishResult> {
  const folder = folderOf(o.name);
  const tree = await o.catalog.tree(folder).catch(() => new Map<string, FileVersion[]>());
  const present = [...tree.keys()];
  const wanted = o.only
    ? [...new Set(o.only.map((p) => (p.startsWith("/") ? p : `/${p}`)))]
    : present;
  const missing = wanted.filter((p) => !present.includes(p));
  if (missing.length) {
    throw new RangeError(
      `Not in the site's folder ${folder}: ${missing.slice(0, 5).join(", ")}` +
        (missing.length > 5 ? ` and ${missing.length - 5} more` : ""),
    );
  }
  if (wanted.length === 0) throw new RangeError(`The site ${o.name} has no files to publish`);
  const files = new Map<string, IndexEntry>();
  let redirects: string | undefined, bytes = 0;
  const encTree = await o.catalog.tree(`/${SITES_FOLDER}/${ENC}/${o.name}`).catch(() =>
    new Map<string, FileVersion[]>()
  );
  for (const path of wanted) {
    const v = tree.get(path)![0]!;
    if (path === REDIRECTS) {
      if (v.size > 64 * 1024) throw new RangeError("_redirects is over 64 KiB");
      const { stream } = await o.catalog.get(folder + path);
      redirects = await new Response(stream).text();
      continue;
    }
    const entry: IndexEntry = {
      size: v.size,
      type: contentType(path),
      mtime: v.mtime || v.added,
      hash: v.hash.subarray(0, 16),
      key: v.key,
    };
    Object.assign(entry, formOf(v));
    if (COMPRESSIBLE.test(entry.type) && v.size >= COMPRESS_MIN && v.size <= COMPRESS_MAX) {
      Object.assign(entry, await compressedCopies(o.catalog, o.name, path, v, encTree));
    }
    files.set(path, entry);
    bytes += v.size;
  }
  const index = encodeSiteIndex({ files, ...(redirects !== undefined ? { redirects } : {}) });
  const indexPath = `${folder}.index`;
  await o.catalog.put(
    indexPath,
    (async function* () {
      yield index;
    })(),
    index.length,
  );
  const iv = (await o.catalog.versions(indexPath))[0]!;
  const { record } = await o.node.publish(
    "site",
    utf8(o.name),
    encodeSiteRecord({
      v: 1,
      published: Date.now(),
      files: files.size,
      bytes,
      index: { key: iv.key, ...(iv.manifest ? { manifest: iv.manifest } : { inline: iv.inline }) },
    }),
  );
  await sweepSite(o.catalog, o.name, new Set(wanted)).catch((e) =>
    o.node.log.warn("could not clean up a site's old versions", { site: o.name, error: e })
  );
  return {
    name: o.name,
    address: siteAddress(o.node.id, o.name),
    seq: record.seq,
    files: files.size,
    bytes,
  };
}

function formOf(v: FileVersion): Pick<IndexEntry, "manifest" | "inline" | "pack"> {
  if (v.manifest) return { manifest: v.manifest };
  if (v.inline) return { inline: v.inline };
  return { pack: { ...v.pack! } };
}

/**
 * Brotli and gzip copies of a text-like file, stored beside the site (each kept only when it
 * saves at least a tenth). A copy made for this very version (its mtime is the version's time)
 * is reused, so a republish compresses only what changed.
 */
async function compressedCopies(
  catalog: Catalog,
  name: string,
  path: string,
  v: FileVersion,
  existing: ReadonlyMap<string, FileVersion[]>,
): Promise<{ br?: IndexCopy; gzip?: IndexCopy }> {
  const out: { br?: IndexCopy; gzip?: IndexCopy } = {};
  let plain: Uint8Array | undefined;
  for (const [coding, ext] of [["br", "br"], ["gzip", "gz"]] as const) {
    const copyPath = `/${SITES_FOLDER}/${ENC}/${name}${path}.${ext}`;
    let copy = existing.get(`${path}.${ext}`)?.[0];
    if (!copy || copy.mtime !== v.added) {
      plain ??= await new Response((await catalog.get(`/${SITES_FOLDER}/${name}${path}`)).stream)
        .bytes();
      const packed = coding === "br"
        ? brotliCompressSync(plain, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: plain.length > (1 << 20) ? 9 : 11 },
        })
        : gzipSync(plain, { level: 9 });
      if (packed.length > plain.length * 0.9) continue;
      const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.length);
      copy = await catalog.put(
        copyPath,
        (async function* () {
          yield bytes;
        })(),
        bytes.length,
        { mtime: v.added },
      );
    }
    out[coding] = { size: copy.size, key: copy.key, ...formOf(copy) };
  }
  return out;
}

/**
 * Drops what no version served lately needs: versions older than {@linkcode KEEP_PREVIOUS_MS}
 * (the newest always stays), and files the site no longer lists once that old.
 */
export async function sweepSite(
  catalog: Catalog,
  name: string,
  listed: ReadonlySet<string>,
  now: number = Date.now(),
): Promise<void> {
  const folder = folderOf(name);
  const days = KEEP_PREVIOUS_MS / 86_400_000;
  const enc = `/${SITES_FOLDER}/${ENC}/${name}`;
  const sweep = async (base: string, sourceOf: (path: string) => string) => {
    const tree = await catalog.tree(base).catch(() => new Map<string, FileVersion[]>());
    for (const [path, versions] of tree) {
      const newest = versions[0]!;
      if (!listed.has(sourceOf(path)) && now - newest.added > KEEP_PREVIOUS_MS) {
        await catalog.remove(base + path);
      } else if (versions.some((x, i) => i > 0 && now - x.added > KEEP_PREVIOUS_MS)) {
        await catalog.prune(base + path, { keep: 1, days });
      }
    }
  };
  await sweep(folder, (p) => p);
  // Compressed copies follow their sources.
  await sweep(enc, (p) => p.replace(/\.(br|gz)$/, ""));
  const index = (await catalog.versions(`${folder}.index`).catch(() => [])).slice(1);
  if (index.some((x) => now - x.added > KEEP_PREVIOUS_MS)) {
    await catalog.prune(`${folder}.index`, { keep: 1, days });
  }
}

/**
 * Unpublishes a site: signs a `removed` record (a higher sequence, so every node stops serving
 * it) and deletes its files and index from the catalog.
 */
export async function removeSite(
  o: { node: MoteNode; catalog: Catalog; name: string },
): Promise<{ name: string; address: string; files: number }> {
  const folder = folderOf(o.name);
  const files = await o.catalog.tree(folder).then((t) => [...t.keys()], () => null);
  const had = await o.node.resolve(recordKeyOf("site", o.node.id, utf8(o.name)), {
    timeout: 5_000,
  });
  if (!files && !had) throw new RangeError(`There is no site ${o.name}`);
  await o.node.publish(
    "site",
    utf8(o.name),
    encodeSiteRecord({ v: 1, published: Date.now(), removed: true }),
    { looked: true },
  );
  for (const path of files ?? []) await o.catalog.remove(folder + path);
  await removeEmptyFolders(o.catalog, folder).catch(() => {});
  const enc = `/${SITES_FOLDER}/${ENC}/${o.name}`;
  for (const path of await filesUnder(o.catalog, enc)) {
    await o.catalog.remove(enc + path);
  }
  await removeEmptyFolders(o.catalog, enc).catch(() => {});
  await o.catalog.remove(`${folder}.index`).catch(() => {});
  // The last site gone: no empty `.sites` (or `.sites/.enc`) left behind.
  for (const f of [`/${SITES_FOLDER}/${ENC}`, `/${SITES_FOLDER}`]) {
    if ((await o.catalog.list(f).catch(() => [1])).length === 0) {
      await o.catalog.remove(f).catch(() => {});
    }
  }
  return { name: o.name, address: siteAddress(o.node.id, o.name), files: files?.length ?? 0 };
}

async function removeEmptyFolders(catalog: Catalog, folder: string): Promise<void> {
  for (const e of await catalog.list(folder)) {
    if (e.type === "folder") await removeEmptyFolders(catalog, `${folder}/${e.name}`);
  }
  await catalog.remove(folder);
}

/** The owner's sites: every folder under `/.sites`, with what its record says. */
export async function listSites(
  o: { node: MoteNode; catalog: Catalog },
): Promise<SiteSummary[]> {
  const entries = await o.catalog.list(`/${SITES_FOLDER}`).catch(() => []);
  const names = entries.filter((e) => e.type === "folder" && SITE_NAME_RE.test(e.name)).map((e) =>
    e.name
  );
  return await Promise.all(names.map(async (name): Promise<SiteSummary> => {
    const r = await o.node.resolve(recordKeyOf("site", o.node.id, utf8(name)), {
      timeout: 5_000,
    }).catch(() => undefined);
    const v = r ? decodeSiteRecord(r.record.value) : undefined;
    return {
      name,
      address: siteAddress(o.node.id, name),
      seq: r?.record.seq ?? null,
      published: v?.published ?? null,
      files: v && !v.removed ? v.files : 0,
      bytes: v && !v.removed ? v.bytes : 0,
      removed: v?.removed === true,
    };
  }));
}
