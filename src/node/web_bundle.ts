/**
 * Building browser bundles: `deno bundle --platform browser --minify` of an entry, run as a
 * subprocess of the node the first time the bundle is asked for, and cached on disk keyed by a
 * hash of the sources (every file under the bundle's folders), the import map and the lockfile,
 * so a restart (or a second page load) serves the cached bundle at once. Nothing built is
 * committed. Three bundles: the web UI (`web/app.tsx`, {@linkcode webBundle}, under
 * `<data>/web/`), the world client (`worlds/client/main.ts`, {@linkcode worldClientBundle}, served
 * by the public gateway at `/w/<address>/client.js`) and the quick link page's script
 * (`web/link/main.ts`, {@linkcode linkPageBundle}, at `/l/link-<hash>.js`).
 *
 * Bundles are built lazily (on the first request) rather than at every start: building takes
 * about a third of a second here, and nodes that never open the UI (tests, servers) pay nothing.
 */
import { sha256 } from "../crypto/hash.ts";
import { concat, toHex, utf8 } from "../encoding/bytes.ts";
import type { UiAssets } from "../../gateway/ui.ts";
import type { WorldClientAssets } from "../../gateway/worlds.ts";
import type { LinkPageAssets } from "../../gateway/links.ts";

const ROOT = new URL("../../", import.meta.url);
/** Bounds on what is hashed and built: a bundle is a few dozen small files. */
const MAX_FILES = 200;
const MAX_SOURCE = 1 << 20;
const MAX_BUNDLE = 4 << 20;
const BUILD_TIMEOUT = 120_000;

/** Raised when a bundle cannot be built (no sources next to the code, or the bundler failed). */
export class WebBuildError extends Error {
  override name = "WebBuildError";
}

/** Options for {@linkcode webBundle}. */
export interface WebBundleOptions {
  /** Where built bundles are cached (`<data>/web`). */
  cacheDir: string;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** What one bundle is built from. */
interface BundleSpec {
  /** What it is, for messages ("the web UI"). */
  what: string;
  /** The entry, relative to the checkout. */
  entry: string;
  /** The folder whose sources the hash covers. */
  dir: string;
  /** Further folders the entry imports from, covered by the hash too. */
  extra?: string[];
  /** Cached files are `<prefix>-<hash>.js`. */
  prefix: string;
  /** A stylesheet under `dir` served beside the bundle. */
  css?: string;
}

type Built = { js: Uint8Array; css: Uint8Array; hash: string };

/** Builds `spec` once per source hash and keeps it in memory after the first load. */
function lazyBundle(spec: BundleSpec, opts: WebBundleOptions): { load(): Promise<Built> } {
  let loading: Promise<Built> | undefined;
  return {
    load() {
      loading ??= build(spec, opts).catch((e) => {
        loading = undefined; // a later request tries again (after the sources are fixed, say)
        throw e;
      });
      return loading;
    },
  };
}

/** The UI's assets, built once per source hash and kept in memory after the first load. */
export function webBundle(opts: WebBundleOptions): UiAssets {
  return lazyBundle(
    { what: "the web UI", entry: "web/app.tsx", dir: "web", prefix: "app", css: "web/style.css" },
    opts,
  );
}

/**
 * The world client (`worlds/client/main.ts` and what it imports from `worlds/`), built like the
 * UI; `cacheDir` is `<data>/web` too (the files are `world-<hash>.js`).
 */
export function worldClientBundle(opts: WebBundleOptions): WorldClientAssets {
  return lazyBundle(
    { what: "the world client", entry: "worlds/client/main.ts", dir: "worlds", prefix: "world" },
    opts,
  );
}

/**
 * The quick link page's script (`web/link/main.ts`, served by the public gateway at `/l/`); the
 * hash also covers the shared code it reads and decrypts with, since the page is where a link's
 * key is used. `cacheDir` is `<data>/web` (the files are `link-<hash>.js`).
 */
export function linkPageBundle(opts: WebBundleOptions): LinkPageAssets {
  return lazyBundle({
    what: "the link page",
    entry: "web/link/main.ts",
    dir: "web/link",
    extra: ["src/sharing", "src/files", "src/crypto", "src/erasure", "src/encoding"],
    prefix: "link",
  }, opts);
}

async function build(spec: BundleSpec, opts: WebBundleOptions): Promise<Built> {
  if (ROOT.protocol !== "file:") {
    throw new WebBuildError(`${spec.what} is built from a local checkout; this node runs remotely`);
  }
  const root = ROOT.pathname;
  try {
    await Deno.stat(root + spec.entry);
  } catch {
    throw new WebBuildError(`${spec.what} has no entry at ${spec.entry} in this checkout`);
  }
  const { hash, css } = await hashSources(root, spec);
  const file = `${opts.cacheDir}/${spec.prefix}-${hash}.js`;
  try {
    const js = await Deno.readFile(file);
    if (js.length > 0 && js.length <= MAX_BUNDLE) return { js, css, hash };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${crypto.randomUUID()}.tmp`;
  const started = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--config",
      `${root}deno.json`,
      "--output",
      tmp,
      `${root}${spec.entry}`,
    ],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(BUILD_TIMEOUT),
  }).output();
  if (out.code !== 0) {
    await Deno.remove(tmp).catch(() => {});
    const err = new TextDecoder().decode(out.stderr.subarray(0, 4000));
    throw new WebBuildError(`Building ${spec.what} failed (exit ${out.code}): ${err}`);
  }
  const js = await Deno.readFile(tmp);
  if (js.length > MAX_BUNDLE) {
    await Deno.remove(tmp).catch(() => {});
    throw new WebBuildError(`The bundle of ${spec.what} is ${js.length} bytes, over ${MAX_BUNDLE}`);
  }
  await Deno.rename(tmp, file);
  await removeStale(opts.cacheDir, file, spec.prefix);
  opts.log?.(`built ${spec.what}`, { bytes: js.length, ms: Date.now() - started, hash });
  return { js, css, hash };
}

/** A hash over every source under the bundle's folder (path and bytes), the import map and the lockfile. */
async function hashSources(
  root: string,
  spec: BundleSpec,
): Promise<{ hash: string; css: Uint8Array }> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(root + dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (/\.(tsx?|css)$/.test(e.name)) files.push(path);
      if (files.length > MAX_FILES) {
        throw new WebBuildError(`${spec.dir}/ holds more than ${MAX_FILES} source files`);
      }
    }
  };
  try {
    for (const dir of [spec.dir, ...spec.extra ?? []]) await walk(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new WebBuildError(`No sources of ${spec.what} at ${root}${spec.dir}`);
    }
    throw e;
  }
  files.sort();
  const parts: Uint8Array[] = [];
  let css = new Uint8Array();
  for (const path of [...files, "deno.json", "deno.lock"]) {
    const bytes = await Deno.readFile(root + path);
    if (bytes.length > MAX_SOURCE) throw new WebBuildError(`${path} is over ${MAX_SOURCE} bytes`);
    if (path === spec.css) css = bytes;
    parts.push(utf8(`${path}\0${bytes.length}\0`), bytes);
  }
  return { hash: toHex(await sha256(concat(...parts))).slice(0, 16), css };
}

async function removeStale(dir: string, keep: string, prefix: string): Promise<void> {
  const re = new RegExp(`^${prefix}-[0-9a-f]{16}\\.js$`);
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (path !== keep && re.test(e.name)) {
      await Deno.remove(path).catch(() => {});
    }
  }
}
