// This module is browser compatible.
/**
 * The Sharing page's quick links: the owner's links (the node keeps no link's key, so a URL is
 * shown once, when it is made), making one for a path with an optional expiry, and deleting one.
 */
import { useRef, useState } from "preact/hooks";
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { bytes, when } from "../format.ts";
import { usePoll } from "../live.ts";
import { type LinkRow, parseExpiry } from "../perms.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

/** The quick links card; `path` fills the form's path (a link from the Files page). */
export function LinksCard(props: { path: string }) {
  const links = usePoll<{ links: LinkRow[] }>("/api/v1/links", { every: 60_000 });
  const list = useAction();
  const remove = (l: LinkRow) => {
    if (
      !confirm(
        `Delete the link to ${l.path}? It stops working for anyone who has not opened it yet; ` +
          "whoever already opened it may have the files.",
      )
    ) return;
    void list.run(l.id, async () => {
      await send("DELETE", `/api/v1/links/${l.id}`);
      links.reload();
      return `Deleted the link to ${l.path}.`;
    });
  };
  const rows = links.data?.links;
  return (
    <Card title="Quick links" id="h-links">
      <p class="note info">
        A quick link opens a snapshot of a file or folder in any browser, with the key in the URL.
        Deleting a link, or its expiry, stops it for those who have not used it yet:{" "}
        <strong>a link already opened cannot be taken back.</strong>
      </p>
      <ErrorNote error={links.error} onRetry={links.reload} />
      {!rows
        ? (links.error ? null : <Loading />)
        : rows.length === 0
        ? <Empty>No links yet.</Empty>
        : (
          <div class="table-wrap">
            <table data-testid="links">
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Files</th>
                  <th scope="col" class="wide">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((l) => (
                  <tr key={l.id}>
                    <td>
                      <code>{l.path}</code>
                    </td>
                    <td>
                      {l.files}, {bytes(l.bytes)}
                    </td>
                    <td class="wide">{when(l.created)}</td>
                    <td>{l.expires === null ? "never" : when(l.expires)}</td>
                    <td class="actions">
                      <button
                        type="button"
                        class="danger"
                        disabled={list.busy !== undefined}
                        aria-label={`Delete the link to ${l.path}`}
                        onClick={() => remove(l)}
                      >
                        {list.busy === l.id ? "Deleting…" : "Delete"}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <OutcomeNote outcome={list.outcome} />
      <MakeLink path={props.path} onDone={links.reload} />
    </Card>
  );
}

function MakeLink(props: { path: string; onDone: () => void }) {
  const [path, setPath] = useState(props.path);
  const [expires, setExpires] = useState("");
  const [made, setMade] = useState<{ path: string; url: string } | undefined>(undefined);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setMade(undefined);
    if (path === "") return act.fail("Enter the path of a file or folder, like /photos.");
    let ms: number | undefined;
    try {
      ms = parseExpiry(expires);
    } catch (err) {
      return act.fail((err as Error).message);
    }
    const p = path.startsWith("/") ? path : `/${path}`;
    void act.run("make", async () => {
      const r = await (await send("POST", "/api/v1/links", { path: p, expires: ms })).json() as {
        url: string;
      };
      setMade({ path: p, url: r.url });
      props.onDone();
      return undefined;
    });
  };
  return (
    <form onSubmit={submit} noValidate data-testid="make-link">
      <h3>Make a link</h3>
      <div class="stack">
        <label for="link-path">Path</label>
        <input
          id="link-path"
          type="text"
          placeholder="/photos/beach.jpg"
          maxLength={4096}
          value={path}
          onInput={(e) => setPath((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <label for="link-expires">Expires after (optional)</label>
        <input
          id="link-expires"
          type="text"
          placeholder="7d"
          maxLength={12}
          aria-describedby="link-expires-note"
          value={expires}
          onInput={(e) => setExpires((e.currentTarget as HTMLInputElement).value)}
        />
        <span id="link-expires-note" class="muted">
          30m, 12h or 7d; empty for a link that lasts until you delete it.
        </span>
      </div>
      <div class="row">
        <button type="submit" disabled={act.busy !== undefined}>
          {act.busy ? "Making the link…" : "Make a link"}
        </button>
      </div>
      <OutcomeNote outcome={act.outcome} />
      {made && <MadeLink {...made} />}
    </form>
  );
}

/** A new link's URL, shown this once, with a copy button. */
function MadeLink(props: { path: string; url: string }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async () => {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(props.url);
      setCopied("Copied.");
    } catch {
      // The clipboard API needs a secure context (remote access over plain HTTP has none).
      setCopied("This browser did not allow copying: the URL is selected, copy it yourself.");
    }
  };
  return (
    <div class="note ok" role="status" data-testid="link-made">
      <div>
        <p>
          A link to{" "}
          <code>{props.path}</code>. This is the only time it is shown: the node does not keep its
          key.
        </p>
        <div class="actions">
          <input
            ref={field}
            type="text"
            readOnly
            aria-label="The link's URL"
            value={props.url}
            size={32}
            data-testid="link-url"
          />
          <button type="button" onClick={copy}>Copy</button>
          {copied && <span>{copied}</span>}
        </div>
      </div>
    </div>
  );
}
