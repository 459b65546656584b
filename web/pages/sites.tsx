// This module is browser compatible.
/**
 * Sites: the static sites this node publishes on the network. Publishing uploads a folder into
 * `/.sites/<name>/` with the Files page's upload code (files the node already has are skipped),
 * then publishes exactly the files uploaded (`POST /api/v1/sites/<name>`): one signed record
 * switches visitors to the new version whole. Unpublishing (`DELETE /api/v1/sites/<name>`)
 * removes it and its files.
 */
import { useRef, useState } from "preact/hooks";
import { send, type SiteRow } from "../api.ts";
import { bytes, when } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Loading, NameCell, NameField, nameProblem } from "../ui.tsx";
import {
  DropZone,
  type Picked,
  pickedFiles,
  readDrop,
  UploadList,
  useUploads,
} from "../uploads.tsx";

/** A site name made from a folder's name ("My Blog" → "my-blog"), or "" if nothing fits. */
function suggestName(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 63).replace(/^-+|-+$/g, "");
}

/**
 * The files of a chosen folder relative to it: a single top folder's own name goes, so
 * `mysite/index.html` is the site's `/index.html`.
 */
export function siteFiles(picked: Picked[]): { folder?: string; files: Picked[] } {
  const top = picked[0]?.rel.split("/")[0];
  if (!top || !picked.every((p) => p.rel.startsWith(`${top}/`))) return { files: picked };
  return {
    folder: top,
    files: picked.map((p) => ({ file: p.file, rel: p.rel.slice(top.length + 1) })),
  };
}

interface Published {
  name: string;
  address: string;
  seq: number;
  files: number;
  bytes: number;
  urls: string[];
}

function state(s: SiteRow): { label: string; badge: string } {
  if (s.removed) return { label: "removed", badge: "expired" };
  if (s.seq === null) return { label: "not published", badge: "unknown" };
  return { label: "live", badge: "ok" };
}

/** Links to a site in both forms, opening in a new tab. */
function SiteLinks(props: { name: string; urls: string[] }) {
  const [sub, path] = props.urls;
  return (
    <>
      {sub && (
        <a href={sub} target="_blank" rel="noopener" title={sub}>
          Open<span class="visually-hidden">{` ${props.name} (subdomain form)`}</span>
        </a>
      )}
      {path && (
        <a href={path} target="_blank" rel="noopener" title={path}>
          Path form<span class="visually-hidden">{` of ${props.name}`}</span>
        </a>
      )}
    </>
  );
}

/** The Sites page. */
export function SitesPage() {
  const list = usePoll<{ sites: SiteRow[] }>("/api/v1/sites", { every: 15_000 });
  const uploads = useUploads();
  const [name, setName] = useState("");
  const [checked, setChecked] = useState(false);
  const [chosen, setChosen] = useState<{ folder?: string; files: Picked[] } | undefined>();
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const [listMsg, setListMsg] = useState<{ ok?: string; error?: string }>({});
  const [published, setPublished] = useState<Published | undefined>(undefined);
  const folderPicker = useRef<HTMLInputElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);

  const problem = nameProblem("site", name);
  const showProblem = problem && (checked || name !== "");
  const sites = list.data?.sites;
  const existing = sites?.find((s) => s.name === name && s.seq !== null && !s.removed);

  const choose = (picked: Picked[]) => {
    setMsg({});
    const c = siteFiles(picked);
    if (c.files.length === 0) {
      setMsg({ error: "That folder has no files to publish." });
      return;
    }
    setChosen(c);
    if (name === "" && c.folder) setName(suggestName(c.folder));
  };

  const onDrop = async (e: DragEvent) => {
    try {
      choose((await readDrop(e)).files);
    } catch (err) {
      setMsg({ error: (err as Error).message });
    }
  };

  const publish = async (e: Event) => {
    e.preventDefault();
    setChecked(true);
    setMsg({});
    if (problem) {
      nameInput.current?.focus();
      return;
    }
    if (!chosen) {
      setMsg({ error: "Choose the site's folder first: drop it above or pick it." });
      return;
    }
    setPublished(undefined);
    setBusy("publish");
    try {
      const files = chosen.files;
      const { failed } = await uploads.run(
        files.map((f) => ({ file: f.file, path: `/.sites/${name}/${f.rel}` })),
        { skipUnchanged: true },
      );
      if (failed.length) {
        throw new Error(
          `${failed.length} of ${files.length} files did not upload, so nothing was published ` +
            `(${failed[0]!.path}: ${failed[0]!.error}). Publish again to retry: the files ` +
            "already stored are not sent twice.",
        );
      }
      const res = await send("POST", `/api/v1/sites/${name}`, {
        files: files.map((f) => `/${f.rel}`),
      });
      setPublished(await res.json() as Published);
      setChosen(undefined);
    } catch (err) {
      setMsg({ error: (err as Error).message });
    } finally {
      setBusy(undefined);
      list.reload();
    }
  };

  const remove = async (s: SiteRow) => {
    const live = state(s).label === "live";
    if (
      !confirm(
        live
          ? `Unpublish ${s.name}? Gateways stop serving it within a minute, and its files are deleted.`
          : `Delete the files of ${s.name}?`,
      )
    ) return;
    setBusy(`rm:${s.name}`);
    setListMsg({});
    try {
      const r = await (await send("DELETE", `/api/v1/sites/${s.name}`)).json() as {
        files: number;
      };
      if (published?.name === s.name) setPublished(undefined);
      setListMsg({
        ok: `${live ? "Unpublished" : "Deleted"} ${s.name}; ${r.files} file${
          r.files === 1 ? "" : "s"
        } deleted.`,
      });
    } catch (err) {
      setListMsg({ error: (err as Error).message });
    } finally {
      setBusy(undefined);
      list.reload();
    }
  };

  const total = chosen?.files.reduce((n, f) => n + f.file.size, 0) ?? 0;
  const noIndex = chosen && !chosen.files.some((f) => f.rel === "index.html");
  return (
    <>
      <h1>Sites</h1>
      <p class="muted">
        A site is a folder of static files (<code>index.html</code>, styles, images) that any Mote
        gateway serves from your suppliers, even while this node is off. From a terminal:{" "}
        <code>mote site publish &lt;folder&gt; --name &lt;name&gt;</code>.
      </p>
      <Card title="Your sites" id="h-sites">
        <ErrorNote error={list.error} onRetry={list.reload} />
        {!sites
          ? (list.error ? null : <Loading />)
          : sites.length === 0
          ? <Empty>No sites yet. Publish a folder below.</Empty>
          : (
            <div class="table-wrap">
              <table data-testid="sites">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">State</th>
                    <th scope="col">Files</th>
                    <th scope="col">Size</th>
                    <th scope="col" class="wide">Version</th>
                    <th scope="col" class="wide">Published</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {sites.map((s) => {
                    const st = state(s);
                    return (
                      <tr key={s.name}>
                        <td>
                          <NameCell name={s.name} address={s.address} />
                        </td>
                        <td>
                          <span class={`badge ${st.badge}`}>{st.label}</span>
                        </td>
                        <td>{s.files}</td>
                        <td>{bytes(s.bytes)}</td>
                        <td class="wide">{s.seq ?? "—"}</td>
                        <td class="wide">{when(s.published ?? 0)}</td>
                        <td>
                          <div class="actions">
                            {st.label === "live" && <SiteLinks name={s.name} urls={s.urls} />}
                            <button
                              type="button"
                              class="danger"
                              disabled={busy !== undefined}
                              onClick={() => remove(s)}
                            >
                              {busy === `rm:${s.name}`
                                ? "Removing…"
                                : st.label === "live"
                                ? "Unpublish"
                                : "Delete"}
                            </button>
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        <ErrorNote error={listMsg.error} />
        {listMsg.ok && <p class="note ok" role="status">{listMsg.ok}</p>}
      </Card>
      <Card title="Publish a site" id="h-publish">
        <form onSubmit={publish} noValidate data-testid="publish-site">
          <div class="stack">
            <NameField
              id="site-name"
              inputRef={nameInput}
              value={name}
              placeholder="my-site"
              problem={showProblem ? problem : undefined}
              hint={existing
                ? `${name} is live: publishing replaces it at once (visitors see the old version or the new, never a mix).`
                : "Lower-case letters, digits and hyphens. A name keeps its address across updates."}
              onInput={setName}
            />
          </div>
          <DropZone testid="site-drop" onDrop={onDrop}>
            <p>
              {chosen
                ? (
                  <span data-testid="site-chosen">
                    <strong>{chosen.folder ?? "Dropped files"}</strong>: {chosen.files.length}{" "}
                    file{chosen.files.length === 1 ? "" : "s"}, {bytes(total)}.{" "}
                  </span>
                )
                : "Drop the site's folder here, or "}
              <button type="button" onClick={() => folderPicker.current?.click()}>
                {chosen ? "choose another folder" : "choose a folder"}
              </button>
            </p>
            {noIndex && (
              <p class="muted">
                It has no <code>index.html</code> at its top: visitors to <code>/</code>{" "}
                will get the site's 404.
              </p>
            )}
            <input
              ref={folderPicker}
              id="site-folder-picker"
              type="file"
              multiple
              class="visually-hidden"
              aria-label="Choose the site's folder"
              {...{ webkitdirectory: true }}
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                try {
                  choose(pickedFiles(input));
                } catch (err) {
                  setMsg({ error: (err as Error).message });
                }
                input.value = "";
              }}
            />
          </DropZone>
          <div class="row">
            <button type="submit" disabled={busy !== undefined}>
              {busy === "publish" ? "Publishing…" : existing ? "Update the site" : "Publish"}
            </button>
          </div>
        </form>
        <ErrorNote error={msg.error} />
        {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
        {published && (
          <div class="note ok" role="status" data-testid="published">
            <div>
              <p>
                Published <strong>{published.name}</strong>, version {published.seq}:{" "}
                {published.files} file{published.files === 1 ? "" : "s"},{" "}
                {bytes(published.bytes)}. Address <code class="id">{published.address}</code>
              </p>
              <ul class="plain">
                {published.urls.map((u) => (
                  <li key={u}>
                    <a href={u} target="_blank" rel="noopener">{u}</a>
                  </li>
                ))}
              </ul>
            </div>
          </div>
        )}
      </Card>
      <UploadList uploads={uploads} />
    </>
  );
}
