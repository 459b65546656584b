// This module is browser compatible.
/**
 * Uploading from the browser, shared by the Files and Sites pages: files and whole folders by
 * drag and drop (`webkitGetAsEntry`, walked in the page) or a folder picker (`webkitdirectory`),
 * two at a time, with live progress (bytes sent by the browser, then bytes encrypted and placed
 * as the node reports on the event stream).
 */
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import { ApiError, upload } from "./api.ts";
import { bytes } from "./format.ts";
import { useEvents } from "./live.ts";
import { Card } from "./ui.tsx";

/** A file taken from a drop or a picker, with its path relative to what was dropped or picked. */
export interface Picked {
  file: File;
  rel: string;
}

/** One upload as the list shows it. */
export interface UploadRow {
  id: number;
  path: string;
  size: number;
  sent: number;
  stored: number;
  state: "sending" | "storing" | "done" | "failed";
  /** The node already had this exact file (size, time and content) as its newest version. */
  unchanged?: boolean;
  error?: string;
}

/** Uploads at most this many files at once; the rest wait their turn. */
const PARALLEL = 2;
/** Most files taken from one dropped or picked folder tree (a bound on what the page holds). */
export const MAX_TREE_FILES = 10_000;
const MAX_SHOWN = 50;
let nextId = 1;

const tooMany = () => new Error(`More than ${MAX_TREE_FILES} files: upload the folder in parts`);

/**
 * Uploads with progress. `run` stores files at their paths and settles when every one of them
 * has finished or failed; `rows` are the newest uploads, `tally` counts the current run(s).
 */
export function useUploads() {
  const [rows, setRows] = useState<UploadRow[]>([]);
  const [tally, setTally] = useState({ total: 0, done: 0, failed: 0 });
  const active = useRef(0);

  const patch = (id: number, p: Partial<UploadRow>) =>
    setRows((us) => us.map((u) => (u.id === id ? { ...u, ...p } : u)));

  useEvents((e) => {
    if (e.type !== "put:progress") return;
    const { path, bytes: done } = e.data as { path?: string; bytes?: number };
    if (typeof path !== "string" || typeof done !== "number") return;
    setRows((us) =>
      us.map((u) =>
        u.path === path && u.state !== "done" && u.state !== "failed"
          ? { ...u, stored: Math.max(u.stored, done) }
          : u
      )
    );
  });

  /**
   * Uploads each file to its path. With `skipUnchanged`, a file the node already holds as its
   * newest version (same size, time and content) is not stored again. `onEach` runs after every
   * file. Answers the files that failed, with the node's message.
   */
  const run = async (
    files: { file: File; path: string }[],
    opts: { skipUnchanged?: boolean; onEach?: () => void } = {},
  ): Promise<{ failed: { path: string; error: string }[] }> => {
    const jobs = files.map(({ file, path }) => ({
      file,
      row: {
        id: nextId++,
        path,
        size: file.size,
        sent: 0,
        stored: 0,
        state: "sending" as const,
      },
    }));
    setRows((us) => [...jobs.map((j) => j.row).reverse(), ...us].slice(0, MAX_SHOWN));
    const fresh = active.current === 0;
    active.current += jobs.length;
    setTally((t) =>
      fresh ? { total: jobs.length, done: 0, failed: 0 } : { ...t, total: t.total + jobs.length }
    );
    const failed: { path: string; error: string }[] = [];
    let at = 0;
    const worker = async () => {
      while (at < jobs.length) {
        const { file, row } = jobs[at++]!;
        const onSent = (sent: number) =>
          patch(row.id, { sent, state: sent >= row.size ? "storing" : "sending" });
        try {
          let r: Record<string, unknown> | undefined;
          // 409: the file looks unchanged but is not, or changed since an interrupted upload of
          // it; the node asks for it whole again (as `mote put` does, at most twice).
          for (let attempt = 0; !r; attempt++) {
            try {
              r = await upload(row.path, file, onSent, {
                skipUnchanged: opts.skipUnchanged === true && attempt === 0,
              });
            } catch (e) {
              if (!(e instanceof ApiError) || e.status !== 409 || attempt === 2) throw e;
            }
          }
          patch(row.id, {
            sent: row.size,
            stored: row.size,
            state: "done",
            unchanged: r.skipped === true,
          });
          setTally((t) => ({ ...t, done: t.done + 1 }));
        } catch (e) {
          const error = (e as Error).message;
          failed.push({ path: row.path, error });
          patch(row.id, { state: "failed", error });
          setTally((t) => ({ ...t, failed: t.failed + 1 }));
        } finally {
          active.current--;
        }
        opts.onEach?.();
      }
    };
    const workers = [];
    for (let i = 0; i < Math.min(PARALLEL, jobs.length); i++) workers.push(worker());
    await Promise.all(workers);
    return { failed };
  };

  return { rows, tally, run };
}

/** The Uploads card: each recent upload with its progress, and a count when there are several. */
export function UploadList(props: { uploads: ReturnType<typeof useUploads> }) {
  const { rows, tally } = props.uploads;
  if (rows.length === 0) return null;
  return (
    <Card title="Uploads">
      {tally.total > 1 && (
        <p class="muted" data-testid="upload-tally">
          {tally.done} of {tally.total} files stored
          {tally.failed > 0 && <span class="error-text">, {tally.failed} failed</span>}
          {rows.length < tally.total && ` (the newest ${rows.length} shown)`}
        </p>
      )}
      <ul class="uploads" aria-live="polite">
        {rows.map((u) => (
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
              {u.state === "done" &&
                (u.unchanged ? `unchanged (${bytes(u.size)})` : `stored (${bytes(u.size)})`)}
              {u.state === "failed" && <span class="error-text">failed: {u.error}</span>}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** A zone that takes dropped files and folders. */
export function DropZone(
  props: { onDrop: (e: DragEvent) => void; testid: string; children: ComponentChildren },
) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={`drop ${over ? "over" : ""}`}
      data-testid={props.testid}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        props.onDrop(e);
      }}
    >
      {props.children}
    </div>
  );
}

/**
 * What a drop carries: every file with its path relative to the drop (a dropped folder's files
 * start with its name), and the folders that hold nothing. Call it inside the drop handler: the
 * entries are taken before anything is awaited.
 */
export function readDrop(e: DragEvent): Promise<{ files: Picked[]; emptyDirs: string[] }> {
  // Folders come only through entries; plain files work either way.
  const entries = [...(e.dataTransfer?.items ?? [])]
    .map((i) => i.webkitGetAsEntry?.())
    .filter((x): x is FileSystemEntry => Boolean(x));
  if (entries.length) return readTree(entries);
  const files = [...(e.dataTransfer?.files ?? [])].map((f) => ({ file: f, rel: f.name }));
  return Promise.resolve({ files, emptyDirs: [] });
}

/** The files of a file input; a folder picker's start with the folder's name. */
export function pickedFiles(input: HTMLInputElement): Picked[] {
  const files = [...(input.files ?? [])];
  if (files.length > MAX_TREE_FILES) throw tooMany();
  return files.map((f) => ({ file: f, rel: f.webkitRelativePath || f.name }));
}

/**
 * Reads dropped entries: every file with its path relative to the drop, and the folders that
 * hold nothing (so they are created too). Stops at {@linkcode MAX_TREE_FILES} files.
 */
async function readTree(
  roots: FileSystemEntry[],
): Promise<{ files: Picked[]; emptyDirs: string[] }> {
  const files: Picked[] = [];
  const emptyDirs: string[] = [];
  const walk = async (entry: FileSystemEntry, rel: string): Promise<void> => {
    if (files.length >= MAX_TREE_FILES) throw tooMany();
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
