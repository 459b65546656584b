// This module is browser compatible.
/**
 * The Sharing page's "Shared with me": browse `<owner-id>:/path` through
 * `/api/v1/shared/<owner>[/ls/<path>]` and download files from `/api/v1/shared/<owner>/files/…`
 * (read from the owner's suppliers, so the owner's node may be off), and send files into a
 * folder shared with this node for writing (`PUT` there). Owners looked at recently are
 * remembered in this browser's localStorage, never on the node.
 */
import { useEffect, useState } from "preact/hooks";
import { encodePath, getJson, putFile } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { bytes, short, when } from "../format.ts";
import { idProblem, modeText, type PermEntry, remotePath } from "../perms.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

const RECENT_KEY = "mote.sharedOwners";
const MAX_RECENT = 8;

function loadRecent(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string" && !idProblem(x)) : [];
  } catch {
    return []; // storage off or a damaged value: start afresh
  }
}

function remember(owner: string): string[] {
  const next = [owner, ...loadRecent().filter((x) => x !== owner)].slice(0, MAX_RECENT);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch { /* storage off: the list lasts this page only */ }
  return next;
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** The URL listing `owner:/path`. */
function listUrl(owner: string, path: string): string {
  return path === "/"
    ? `/api/v1/shared/${owner}`
    : `/api/v1/shared/${owner}/ls/${encodePath(path)}`;
}

/** The card: an owner id to look at, then its shared tree. */
export function SharedWithMeCard() {
  const [recent, setRecent] = useState<string[]>(loadRecent);
  const [input, setInput] = useState("");
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [where, setWhere] = useState<{ owner: string; path: string } | undefined>(undefined);
  const open = (owner: string) => {
    const p = idProblem(owner);
    setProblem(p);
    if (p) return;
    setRecent(remember(owner));
    setWhere({ owner, path: "/" });
  };
  return (
    <Card title="Shared with me" id="h-shared-with-me">
      <p class="muted">
        Enter the node id of someone who shares with you to see what you may read. From a terminal:
        {" "}
        <code>mote ls &lt;owner-id&gt;:/</code>.
      </p>
      <form
        class="row"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          open(input);
        }}
      >
        <label for="owner-id">Owner id</label>
        <input
          id="owner-id"
          type="text"
          list="recent-owners"
          autoComplete="off"
          spellcheck={false}
          maxLength={52}
          value={input}
          onInput={(e) => setInput((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <datalist id="recent-owners">
          {recent.map((o) => <option key={o} value={o} />)}
        </datalist>
        <button type="submit">Look</button>
      </form>
      <ErrorNote error={problem} />
      {recent.length > 0 && (
        <p class="actions">
          <span class="muted">Recent:</span>
          {recent.map((o) => (
            <button key={o} type="button" title={o} onClick={() => (setInput(o), open(o))}>
              {short(o)}
            </button>
          ))}
        </p>
      )}
      {where && (
        <SharedFolder
          owner={where.owner}
          path={where.path}
          onOpen={(path) => setWhere({ owner: where.owner, path })}
        />
      )}
    </Card>
  );
}

function SharedFolder(props: { owner: string; path: string; onOpen: (path: string) => void }) {
  const { owner, path } = props;
  const [entries, setEntries] = useState<PermEntry[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    // A lookup goes to the DHT and the owner's suppliers: it can take seconds, so a newer
    // request aborts the older one.
    const ctl = new AbortController();
    setEntries(undefined);
    setError(undefined);
    getJson<{ entries: PermEntry[] }>(listUrl(owner, path), ctl.signal).then(
      (r) => setEntries(r.entries),
      (e) => (e as Error).name !== "AbortError" && setError((e as Error).message),
    );
    return () => ctl.abort();
  }, [owner, path, tick]);
  const parts = path.split("/").filter((s) => s !== "");
  return (
    <div data-testid="shared-folder">
      <nav class="crumbs" aria-label="Shared folder">
        <button type="button" onClick={() => props.onOpen("/")}>
          <code title={owner}>{short(owner)}</code>:/
        </button>
        {parts.map((c, i) => (
          <span key={i}>
            <span aria-hidden="true">/</span>
            <button
              type="button"
              onClick={() => props.onOpen("/" + parts.slice(0, i + 1).join("/"))}
            >
              {c}
            </button>
          </span>
        ))}
      </nav>
      <p class="muted">
        <code class="id">{remotePath(owner, path)}</code>
      </p>
      <ErrorNote error={error} onRetry={() => setTick((n) => n + 1)} />
      {!entries
        ? (error ? null : <Loading />)
        : entries.length === 0
        ? <Empty>This folder is empty.</Empty>
        : <SharedTable owner={owner} path={path} entries={entries} onOpen={props.onOpen} />}
      {path !== "/" && <SendHere owner={owner} path={path} />}
    </div>
  );
}

function SharedTable(
  props: { owner: string; path: string; entries: PermEntry[]; onOpen: (path: string) => void },
) {
  return (
    <div class="table-wrap">
      <table data-testid="shared-listing">
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
          {props.entries.map((e) => {
            const p = join(props.path, e.name);
            // The top of an owner's tree lists shared paths' first parts, with no size or time.
            const known = e.mtime > 0;
            return (
              <tr key={e.name}>
                <td>{e.type === "folder" ? `📁 ${e.name}` : e.name}</td>
                <td>{e.type === "file" && known ? bytes(e.size) : "—"}</td>
                <td class="wide">{known ? when(e.mtime) : ""}</td>
                <td class="wide">
                  <code>{known ? (e.type === "folder" ? "d" : "-") + modeText(e.mode) : ""}</code>
                </td>
                <td class="actions">
                  {e.type === "folder"
                    ? <button type="button" onClick={() => props.onOpen(p)}>Open</button>
                    : (
                      <a
                        href={`/api/v1/shared/${props.owner}/files/${encodePath(p)}`}
                        download={e.name}
                      >
                        Download
                      </a>
                    )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Sends files into `owner:/path`, which works where the owner lets this node write. */
function SendHere(props: { owner: string; path: string }) {
  const act = useAction();
  const pick = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = "";
    if (files.length === 0) return;
    void act.run("send", async () => {
      for (const f of files) {
        const url = `/api/v1/shared/${props.owner}/files/${encodePath(join(props.path, f.name))}`;
        await putFile(url, f);
      }
      return `Sent ${files.length} file${files.length === 1 ? "" : "s"} to ${props.path}. ` +
        "The owner's node adds them to the folder when it next merges writes (every 30 s while " +
        "it is online); readers see them from then on.";
    });
  };
  return (
    <div class="row" data-testid="send-here">
      <label for="send-here">Send files here (where it is shared with you for writing)</label>
      <input
        id="send-here"
        type="file"
        multiple
        disabled={act.busy !== undefined}
        onChange={pick}
      />
      {act.busy && <span class="muted" aria-live="polite">Sending…</span>}
      <OutcomeNote outcome={act.outcome} testid="sent" />
    </div>
  );
}
