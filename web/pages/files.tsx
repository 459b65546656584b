// This module is browser compatible.
/**
 * Files: browse folders, create folders, upload files or whole folders by drag and drop or a
 * picker with live progress (bytes sent by the browser, then bytes encrypted and placed as the
 * node reports on the event stream), download, delete, versions (restore one as the newest),
 * pruning, and each entry's mode and group (`/api/v1/perms`) with chmod and chgrp.
 */
import { useRef, useState } from "preact/hooks";
import { encodePath, type Entry, fileUrl, send, type Version } from "../api.ts";
import { bytes, when } from "../format.ts";
import { usePoll } from "../live.ts";
import { navigate } from "../router.ts";
import { Card, Empty, ErrorNote, Link, Loading } from "../ui.tsx";
import {
  DropZone,
  type Picked,
  pickedFiles,
  readDrop,
  UploadList,
  useUploads,
} from "../uploads.tsx";
import { PruneForm } from "./prune.tsx";
import type { PermEntry } from "../perms.ts";
import { longMode, PermsCard } from "./perms_card.tsx";

/** The root folder that holds hosted sites' files (managed on the Sites page, not listed here). */
const SITES_FOLDER = ".sites";
/** The root folder listing the owner's worlds (one empty folder each; see the Worlds page). */
const WORLDS_FOLDER = ".worlds";
/**
 * The root folder of the node's sharing state (groups, readers, keys; see the Sharing page):
 * never shared, and deleting it would lose who reads what.
 */
const SHARING_FOLDER = ".sharing";

/** The folder a `/files/...` URL shows. */
export function folderOf(urlPath: string): string {
  const rest = urlPath.replace(/^\/files\/?/, "");
  const parts = rest.split("/").filter((s) => s !== "").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return "/" + parts.join("/");
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function folderHref(dir: string): string {
  const segs = dir.split("/").filter((s) => s !== "").map(encodeURIComponent);
  return "/files" + (segs.length ? "/" + segs.join("/") : "");
}

/** The files page. */
export function FilesPage(props: { path: string }) {
  const dir = folderOf(props.path);
  const list = usePoll<{ entries: Entry[] }>(
    `/api/v1/ls/${dir.slice(1).split("/").map(encodeURIComponent).join("/")}`,
    {
      on: ["put:done"],
    },
  );
  // Modes and groups come from the long listing, a second call, so the plain listing (and the
  // page) never waits for it; a row shows "…" until it answers.
  const perms = usePoll<{ entries: PermEntry[] }>(
    dir === "/" ? "/api/v1/perms" : `/api/v1/perms/${encodePath(dir)}`,
    { on: ["put:done"] },
  );
  const permOf = new Map(perms.data?.entries.map((e) => [e.name, e]));
  const [permsFor, setPermsFor] = useState<string | undefined>(undefined);
  // The open permissions card (a path), shown only while its folder is the one listed.
  const permsName = permsFor?.slice(permsFor.lastIndexOf("/") + 1) ?? "";
  const permsEntry = permsFor === join(dir, permsName) ? permOf.get(permsName) : undefined;
  const uploads = useUploads();
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const picker = useRef<HTMLInputElement>(null);
  const folderPicker = useRef<HTMLInputElement>(null);

  /** Uploads files, each to `dir` + its path relative to what was dropped or picked. */
  const start = (files: Picked[]) => {
    setError(undefined);
    void uploads.run(files.map(({ file, rel }) => ({ file, path: join(dir, rel) })), {
      onEach: list.reload,
    });
  };

  const onDrop = async (e: DragEvent) => {
    try {
      const { files, emptyDirs } = await readDrop(e);
      for (const d of emptyDirs) await send("POST", `/api/v1/mkdir/${encodePath(join(dir, d))}`);
      if (emptyDirs.length) list.reload();
      if (files.length) start(files);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const onPick = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    try {
      start(pickedFiles(input));
    } catch (err) {
      setError((err as Error).message);
    }
    input.value = "";
  };

  const newFolder = async () => {
    const name = prompt(`Name of the new folder in ${dir}`)?.trim();
    if (!name) return;
    if (name.includes("/") || name === "." || name === "..") {
      setError(`"${name}" cannot be a folder name (no slashes, not . or ..)`);
      return;
    }
    try {
      await send("POST", `/api/v1/mkdir/${encodePath(join(dir, name))}`);
      navigate(folderHref(join(dir, name)));
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const remove = async (name: string) => {
    const path = join(dir, name);
    if (!confirm(`Delete ${path}? Its versions go too, and its shards are deleted.`)) return;
    try {
      await send("DELETE", fileUrl(path));
      if (selected === path) setSelected(undefined);
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const crumbs = dir.split("/").filter((s) => s !== "");
  const all = list.data?.entries;
  // Sites' files live under /.sites; the Sites page manages them, so the root does not list them.
  const hidden = dir === "/" && all?.some((e) => e.type === "folder" && e.name === SITES_FOLDER);
  // Likewise /.worlds, which only lists the worlds the Worlds page shows, and /.sharing.
  const managed = [SITES_FOLDER, WORLDS_FOLDER, SHARING_FOLDER];
  const entries = dir === "/" && all
    ? all.filter((e) => !(e.type === "folder" && managed.includes(e.name)))
    : all;
  return (
    <>
      <h1>Files</h1>
      <nav class="crumbs" aria-label="Folder">
        <Link href="/files">All files</Link>
        {crumbs.map((c, i) => (
          <span key={i}>
            <span aria-hidden="true">/</span>
            <Link href={folderHref("/" + crumbs.slice(0, i + 1).join("/"))}>{c}</Link>
          </span>
        ))}
      </nav>
      <DropZone testid="drop" onDrop={onDrop}>
        <p>
          Drop files or folders here to store them in <strong>{dir}</strong>, or{" "}
          <button type="button" onClick={() => picker.current?.click()}>choose files</button>{" "}
          <button type="button" onClick={() => folderPicker.current?.click()}>
            choose a folder
          </button>{" "}
          <button type="button" onClick={newFolder}>New folder</button>
        </p>
        <input
          ref={picker}
          id="picker"
          type="file"
          multiple
          class="visually-hidden"
          aria-label={`Upload files to ${dir}`}
          onChange={onPick}
        />
        <input
          ref={folderPicker}
          id="folder-picker"
          type="file"
          multiple
          class="visually-hidden"
          aria-label={`Upload a folder to ${dir}`}
          {...{ webkitdirectory: true }}
          onChange={onPick}
        />
      </DropZone>
      <UploadList uploads={uploads} />
      <ErrorNote error={error} />
      <ErrorNote error={list.error} onRetry={list.reload} />
      {/* When the listing itself fails, its error says enough. */}
      {!list.error && <ErrorNote error={perms.error} onRetry={perms.reload} />}
      <Card title={dir === "/" ? "All files" : dir} id="h-listing">
        {!entries ? (list.error ? null : <Loading />) : entries.length === 0
          ? (
            <Empty>
              {dir === "/"
                ? "Nothing stored yet. Drop files above, or use “mote put” on the command line."
                : "This folder is empty."}
            </Empty>
          )
          : (
            <div class="table-wrap">
              <table data-testid="listing">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Size</th>
                    <th scope="col" class="wide">Modified</th>
                    <th scope="col" class="wide">Mode</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e) => {
                    const path = join(dir, e.name);
                    const perm = permOf.get(e.name);
                    return (
                      <tr key={e.name} class={selected === path ? "selected" : undefined}>
                        <td>
                          {e.type === "folder"
                            ? <Link href={folderHref(path)}>📁 {e.name}</Link>
                            : <span>{e.name}</span>}
                        </td>
                        <td>{e.type === "folder" ? "—" : bytes(e.size)}</td>
                        <td class="wide">{e.type === "folder" ? "" : when(e.mtime)}</td>
                        <td class="wide" data-testid="mode">
                          {perm
                            ? (
                              <>
                                <code>{longMode(perm)}</code> {perm.group ?? ""}
                              </>
                            )
                            : "…"}
                        </td>
                        <td class="actions">
                          {e.type === "file" && (
                            <>
                              <a href={fileUrl(path, { download: true })} download={e.name}>
                                Download
                              </a>
                              <button
                                type="button"
                                aria-expanded={selected === path}
                                onClick={() => setSelected(selected === path ? undefined : path)}
                              >
                                Versions ({e.versions})
                              </button>
                              <button type="button" class="danger" onClick={() => remove(e.name)}>
                                Delete
                              </button>
                            </>
                          )}
                          {e.type === "folder" && (
                            <button
                              type="button"
                              onClick={() => navigate(folderHref(path))}
                            >
                              Open
                            </button>
                          )}
                          {perm && (
                            <button
                              type="button"
                              aria-expanded={permsFor === path}
                              aria-label={`Permissions of ${e.name}`}
                              onClick={() => setPermsFor(permsFor === path ? undefined : path)}
                            >
                              Permissions
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        {hidden && (
          <p class="muted" data-testid="sites-hidden">
            Your hosted sites' files are kept in <code>/{SITES_FOLDER}</code>: see the{" "}
            <Link href="/sites">Sites</Link> page.
          </p>
        )}
      </Card>
      {permsEntry && <PermsCard path={permsFor!} entry={permsEntry} onChange={perms.reload} />}
      {selected && <VersionsCard path={selected} onChange={list.reload} />}
      {entries && entries.length > 0 && (
        <Card title="Prune old versions in this folder">
          <PruneForm path={dir} onDone={list.reload} />
        </Card>
      )}
    </>
  );
}

function VersionsCard(props: { path: string; onChange: () => void }) {
  const enc = encodePath(props.path);
  const v = usePoll<{ versions: Version[] }>(`/api/v1/versions/${enc}`, { on: ["put:done"] });
  const [busy, setBusy] = useState<number | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const restore = async (x: Version) => {
    setError(undefined);
    if (!confirm(`Store version ${x.version} of ${props.path} again as its newest version?`)) {
      return;
    }
    setBusy(x.version);
    try {
      // The node streams the old version into a new one; nothing passes through the browser.
      await send("POST", `/api/v1/restore/${enc}`, { version: x.version });
      v.reload();
      props.onChange();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <Card title={`Versions of ${props.path}`} id="h-versions">
      <ErrorNote error={v.error} onRetry={v.reload} />
      <ErrorNote error={error} />
      {!v.data ? <Loading /> : (
        <>
          <div class="table-wrap">
            <table data-testid="versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Size</th>
                  <th scope="col" class="wide">Modified</th>
                  <th scope="col">Stored</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {v.data.versions.map((x) => (
                  <tr key={x.version}>
                    <td>{x.version === 0 ? "0 (newest)" : x.version}</td>
                    <td>{bytes(x.size)}</td>
                    <td class="wide">{when(x.mtime || x.added)}</td>
                    <td>{x.stored}</td>
                    <td class="actions">
                      <a
                        href={fileUrl(props.path, { version: x.version, download: true })}
                        download
                      >
                        Download
                      </a>
                      {x.version > 0 && (
                        <button
                          type="button"
                          disabled={busy !== undefined}
                          onClick={() => restore(x)}
                        >
                          {busy === x.version ? "Restoring…" : "Restore"}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PruneForm
            path={props.path}
            onDone={() => {
              v.reload();
              props.onChange();
            }}
          />
        </>
      )}
    </Card>
  );
}
