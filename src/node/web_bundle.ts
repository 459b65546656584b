/**
 * Building the web UI: `deno bundle --platform browser --minify` of `web/app.tsx`, run as a
 * subprocess of the node the first time the UI is asked for, and cached on disk under
 * `<data>/web/` keyed by a hash of the web sources, the import map and the lockfile, so a restart
 * (or a second page load) serves the cached bundle at once. Nothing built is committed.
 *
 * The bundle is built lazily (on the first UI request) rather than at every start: building takes
 * about a third of a second here, and nodes that never open the UI (tests, servers) pay nothing.
 */
import { sha256 } from "../crypto/hash.ts";
import { concat, toHex, utf8 } from "../encoding/bytes.ts";
import type { UiAssets } from "../../gateway/ui.ts";

const ROOT = new URL("../../", import.meta.url);
/** Bounds on what is hashed and built: the UI is a few dozen small files. */
const MAX_FILES = 200;
const MAX_SOURCE = 1 << 20;
const MAX_BUNDLE = 4 << 20;
const BUILD_TIMEOUT = 120_000;

/** Raised when the UI cannot be built (no sources next to the code, or the bundler failed). */
export class WebBuildError extends Error {
  override name = "WebBuildError";
}

/** Options for {@linkcode webBundle}. */
export interface WebBundleOptions {
  /** Where built bundles are cached (`<data>/web`). */
  cacheDir: string;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** The UI's assets, built once per source hash and kept in memory after the first load. */
export function webBundle(opts: WebBundleOptions): UiAssets {
  let loading: Promise<{ js: Uint8Array; css: Uint8Array; hash: string }> | undefined;
  return {
    load() {
      loading ??= build(opts).catch((e) => {
        loading = undefined; // a later request tries again (after the sources are fixed, say)
        throw e;
      });
      return loading;
    },
  };
}

async function build(
  opts: WebBundleOptions,
): Promise<{ js: Uint8Array; css: Uint8Array; hash: string }> {
  if (ROOT.protocol !== "file:") {
    throw new WebBuildError("The web UI is built from a local checkout; this node runs remotely");
  }
  const root = ROOT.pathname;
  const { hash, css } = await hashSources(root);
  const file = `${opts.cacheDir}/app-${hash}.js`;
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
      `${root}web/app.tsx`,
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
    throw new WebBuildError(`Building the web UI failed (exit ${out.code}): ${err}`);
  }
  const js = await Deno.readFile(tmp);
  if (js.length > MAX_BUNDLE) {
    await Deno.remove(tmp).catch(() => {});
    throw new WebBuildError(`The web UI bundle is ${js.length} bytes, over ${MAX_BUNDLE}`);
  }
  await Deno.rename(tmp, file);
  await removeStale(opts.cacheDir, file);
  opts.log?.("built the web UI", { bytes: js.length, ms: Date.now() - started, hash });
  return { js, css, hash };
}

/** A hash over every web source (path and bytes), the import map and the lockfile. */
async function hashSources(root: string): Promise<{ hash: string; css: Uint8Array }> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(root + dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (/\.(tsx?|css)$/.test(e.name)) files.push(path);
      if (files.length > MAX_FILES) {
        throw new WebBuildError(`web/ holds more than ${MAX_FILES} source files`);
      }
    }
  };
  try {
    await walk("web");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new WebBuildError(`No web UI sources at ${root}web`);
    }
    throw e;
  }
  files.sort();
  const parts: Uint8Array[] = [];
  let css = new Uint8Array();
  for (const path of [...files, "deno.json", "deno.lock"]) {
    const bytes = await Deno.readFile(root + path);
    if (bytes.length > MAX_SOURCE) throw new WebBuildError(`${path} is over ${MAX_SOURCE} bytes`);
    if (path === "web/style.css") css = bytes;
    parts.push(utf8(`${path}\0${bytes.length}\0`), bytes);
  }
  return { hash: toHex(await sha256(concat(...parts))).slice(0, 16), css };
}

async function removeStale(dir: string, keep: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (path !== keep && /^app-[0-9a-f]{16}\.js$/.test(e.name)) {
      await Deno.remove(path).catch(() => {});
    }
  }
}
