// This module is browser compatible.
/**
 * Files: browse folders, create folders, upload files or whole folders by drag and drop or a
 * picker with live progress (bytes sent by the browser, then bytes encrypted and placed as the
 * node reports on the event stream), download, delete, versions (restore one as the newest) and
 * pruning.
 */
import { useRef, useState } from "preact/hooks";
import { encodePath, type Entry, fileUrl, send, upload, type Version } from "../api.ts";
import { bytes, when } from "../format.ts";
import { useEvents, usePoll } from "../live.ts";
import { navigate } from "../router.ts";
import { Card, Empty, ErrorNote, Link, Loading } from "../ui.tsx";
import { PruneForm } from "./prune.tsx";

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

interface Upload {
  id: number;
  path: string;
  size: number;
  sent: number;
  stored: number;
  state: "sending" | "storing" | "done" | "failed";
  error?: string;
}

/** Uploads at most this many files at once; the rest wait their turn. */
const PARALLEL = 2;
/** Most files taken from one dropped or picked folder tree (a bound on what the page holds). */
const MAX_TREE_FILES = 10_000;
const MAX_SHOWN = 50;
let nextId = 1;

/** The files page. */
export function FilesPage(props: { path: string }) {
  const dir = folderOf(props.path);
  const list = usePoll<{ entries: Entry[] }>(
    `/api/v1/ls/${dir.slice(1).split("/").map(encodeURIComponent).join("/")}`,
    {
      on: ["put:done"],
    },
  );
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const folderPicker = useRef<HTMLInputElement>(null);

  const patch = (id: number, p: Partial<Upload>) =>
    setUploads((us) => us.map((u) => (u.id === id ? { ...u, ...p } : u)));

  useEvents((e) => {
    if (e.type !== "put:progress") return;
    const { path, bytes: done } = e.data as { path?: string; bytes?: number };
    if (typeof path !== "string" || typeof done !== "number") return;
    setUploads((us) =>
      us.map((u) =>
        u.path === path && u.state !== "done" && u.state !== "failed"
          ? { ...u, stored: Math.max(u.stored, done) }
          : u
      )
    );
  });

  /** Uploads files, each to `dir` + its path relative to what was dropped or picked. */
  const start = (files: { file: File; rel: string }[]) => {
    setError(undefined);
    const jobs = files.map(({ file: f, rel }) => ({
      file: f,
      row: {
        id: nextId++,
        path: join(dir, rel),
        size: f.size,
        sent: 0,
        stored: 0,
        state: "sending" as const,
      },
    }));
    setUploads((us) => [...jobs.map((j) => j.row).reverse(), ...us].slice(0, MAX_SHOWN));
    let at = 0;
    const worker = async () => {
      while (at < jobs.length) {
        const { file, row } = jobs[at++]!;
        try {
          await upload(row.path, file, (sent) => {
            patch(row.id, { sent, state: sent >= row.size ? "storing" : "sending" });
          });
          patch(row.id, { sent: row.size, stored: row.size, state: "done" });
        } catch (e) {
          patch(row.id, { state: "failed", error: (e as Error).message });
        }
        list.reload();
      }
    };
    for (let i = 0; i < Math.min(PARALLEL, jobs.length); i++) void worker();
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    // Folders come only through entries; plain files work either way.
    const entries = [...(e.dataTransfer?.items ?? [])]
      .map((i) => i.webkitGetAsEntry?.())
      .filter((x): x is FileSystemEntry => Boolean(x));
    try {
      const { files, emptyDirs } = entries.length ? await readTree(entries) : {
        files: [...(e.dataTransfer?.files ?? [])].map((f) => ({ file: f, rel: f.name })),
        emptyDirs: [],
      };
      for (const d of emptyDirs) await send("POST", `/api/v1/mkdir/${encodePath(join(dir, d))}`);
      if (emptyDirs.length) list.reload();
      if (files.length) start(files);
    } catch (err) {
      setError((err as Error).message);
    }
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
  const entries = list.data?.entries;
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
      <div
        class={`drop ${dragging ? "over" : ""}`}
        data-testid="drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
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
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            start([...(input.files ?? [])].map((f) => ({ file: f, rel: f.name })));
            input.value = "";
          }}
        />
        <input
          ref={folderPicker}
          id="folder-picker"
          type="file"
          multiple
          class="visually-hidden"
          aria-label={`Upload a folder to ${dir}`}
          {...{ webkitdirectory: true }}
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            const files = [...(input.files ?? [])].slice(0, MAX_TREE_FILES);
            start(files.map((f) => ({ file: f, rel: f.webkitRelativePath || f.name })));
            input.value = "";
          }}
        />
      </div>
      {uploads.length > 0 && (
        <Card title="Uploads">
          <ul class="uploads" aria-live="polite">
            {uploads.map((u) => (
              <li key={u.id} data-state={u.state}>
                <span class="name">{u.path}</span>
                <progress
                  max={Math.max(1, u.size * 2)}
                  value={u.sent + u.stored}
                  aria-label={`Progress of ${u.path}`}
                />
                <span class="muted">
                  {u.state === "sending" && `sending ${bytes(u.sent)} of ${bytes(u.size)}`}
                  {u.state === "storing" &&
                    `encrypting and placing: ${bytes(u.stored)} of ${bytes(u.size)}`}
                  {u.state === "done" && `stored (${bytes(u.size)})`}
                  {u.state === "failed" && <span class="error-text">failed: {u.error}</span>}
                </span>
              </li>
            ))}
          </ul>
        </Card>
      )}
      <ErrorNote error={error} />
      <ErrorNote error={list.error} onRetry={list.reload} />
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
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e) => {
                    const path = join(dir, e.name);
                    return (
                      <tr key={e.name} class={selected === path ? "selected" : undefined}>
                        <td>
                          {e.type === "folder"
                            ? <Link href={folderHref(path)}>📁 {e.name}</Link>
                            : <span>{e.name}</span>}
                        </td>
                        <td>{e.type === "folder" ? "—" : bytes(e.size)}</td>
                        <td class="wide">{e.type === "folder" ? "" : when(e.mtime)}</td>
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
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
      </Card>
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

/**
 * Reads dropped entries: every file with its path relative to the drop, and the folders that
 * hold nothing (so they are created too). Stops at {@linkcode MAX_TREE_FILES} files.
 */
async function readTree(
  roots: FileSystemEntry[],
): Promise<{ files: { file: File; rel: string }[]; emptyDirs: string[] }> {
  const files: { file: File; rel: string }[] = [];
  const emptyDirs: string[] = [];
  const walk = async (entry: FileSystemEntry, rel: string): Promise<void> => {
    if (files.length >= MAX_TREE_FILES) {
      throw new Error(`More than ${MAX_TREE_FILES} files: upload the folder in parts`);
    }
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) =>
        (entry as FileSystemFileEntry).file(ok, fail)
      );
      files.push({ file, rel });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    let count = 0;
    // readEntries answers in batches (100 in Chromium) until it answers with none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, fail) =>
        reader.readEntries(ok, fail)
      );
      if (batch.length === 0) break;
      count += batch.length;
      for (const child of batch) await walk(child, `${rel}/${child.name}`);
    }
    if (count === 0) emptyDirs.push(rel);
  };
  for (const r of roots) await walk(r, r.name);
  return { files, emptyDirs };
}
