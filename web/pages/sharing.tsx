// This module is browser compatible.
/**
 * Sharing: what this node shares and with whom (share a path with a node or a group, revoke),
 * its groups, what others share with it (`<owner-id>:/path`), and quick links. The routes are
 * `gateway/share_api.ts` and `gateway/link_api.ts`; docs/sharing.md says what each one does.
 */
import { useState } from "preact/hooks";
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { short } from "../format.ts";
import { usePoll } from "../live.ts";
import { type Groups, idProblem, type ShareRow } from "../perms.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";
import { GroupsCard } from "./groups.tsx";
import { LinksCard } from "./links.tsx";
import { SharedWithMeCard } from "./shared_with_me.tsx";

/** The path a link from the Files page asked to share (`/sharing?path=/photos`), or "". */
function askedPath(): string {
  return new URLSearchParams(location.search).get("path") ?? "";
}

/** The Sharing page. */
export function SharingPage() {
  const asked = askedPath();
  const groups = usePoll<Groups>("/api/v1/groups", { every: 30_000 });
  const shares = usePoll<{ shares: ShareRow[] }>("/api/v1/shares", { every: 30_000 });
  return (
    <>
      <h1>Sharing</h1>
      <p class="muted">
        Reading is holding a key: sharing a path wraps its key for a node or a group, and revoking
        gives the path a fresh key that only the remaining readers get. From a terminal:{" "}
        <code>mote share &lt;path&gt; --with &lt;id|group:name&gt; --read</code>.
      </p>
      <SharesCard shares={shares} groups={groups.data?.owned ?? []} path={asked} />
      <GroupsCard groups={groups} onChange={shares.reload} />
      <SharedWithMeCard />
      <LinksCard path={asked} />
    </>
  );
}

type Poll<T> = { data: T | undefined; error: string | undefined; reload: () => void };

/** One reader of a share as a revocable item: a node, a group, or everyone (by its mode). */
interface Recipient {
  key: string;
  label: string;
  title: string;
  /** The share call's `with`, or null for everyone (taken back with chmod o-r). */
  with: string | null;
}

function recipients(s: ShareRow): Recipient[] {
  return [
    ...s.readers.map((id) => ({ key: `r:${id}`, label: `node ${short(id)}`, title: id, with: id })),
    ...s.groups.map((g) => ({
      key: `g:${g}`,
      label: `group ${g}`,
      title: `group ${g}`,
      with: `group:${g}`,
    })),
    ...(s.public ? [{ key: "public", label: "everyone", title: "mode o+r", with: null }] : []),
  ];
}

function SharesCard(
  props: { shares: Poll<{ shares: ShareRow[] }>; groups: { name: string }[]; path: string },
) {
  const { shares } = props;
  const list = useAction();
  const revoke = (s: ShareRow, r: Recipient) => {
    const what = r.with === null ? `Stop sharing ${s.path} with everyone` : `Revoke ${r.label}'s ` +
      `access to ${s.path}`;
    if (
      !confirm(
        `${what}? It gets a fresh key that ${r.label} no longer receives. ` +
          "Whatever was already downloaded cannot be unread.",
      )
    ) return;
    void list.run(`${s.path} ${r.key}`, async () => {
      if (r.with === null) await send("POST", "/api/v1/chmod", { path: s.path, mode: "o-r" });
      else await send("POST", "/api/v1/shares", { path: s.path, with: r.with, revoke: true });
      shares.reload();
      return `${s.path} is no longer shared with ${r.label}; it was re-keyed.`;
    });
  };
  const rows = shares.data?.shares;
  return (
    <Card title="Shared by me" id="h-shared-by-me">
      <p class="note info">
        Revoking re-keys the path, so it stops new reads. It cannot take back what a reader has
        already downloaded.
      </p>
      <ErrorNote error={shares.error} onRetry={shares.reload} />
      {!rows
        ? (shares.error ? null : <Loading />)
        : rows.length === 0
        ? <Empty>You share nothing yet. Share a path below.</Empty>
        : (
          <div class="table-wrap">
            <table data-testid="shares">
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Shared with</th>
                  <th scope="col">Access</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={s.path}>
                    <td>
                      <code>{s.path}</code> <span class="muted">{s.kind}</span>
                    </td>
                    <td>
                      <ul class="plain">
                        {recipients(s).map((r) => (
                          <li key={r.key} class="actions">
                            <span title={r.title}>{r.label}</span>
                            <button
                              type="button"
                              class="danger"
                              disabled={list.busy !== undefined}
                              aria-label={`Revoke ${r.label} on ${s.path}`}
                              onClick={() => revoke(s, r)}
                            >
                              {list.busy === `${s.path} ${r.key}` ? "Revoking…" : "Revoke"}
                            </button>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>read</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <OutcomeNote outcome={list.outcome} />
      <ShareForm groups={props.groups} path={props.path} onDone={shares.reload} />
    </Card>
  );
}

/** Why `target` cannot be shared with, or nothing: a node id or `group:<name>`. */
function targetProblem(target: string): string | undefined {
  if (target === "") return "Enter a node id, or group:<name> for one of your groups.";
  if (target.startsWith("group:")) {
    return target.length > 6 ? undefined : "Write the group's name after group:";
  }
  return idProblem(target);
}

function ShareForm(props: { groups: { name: string }[]; path: string; onDone: () => void }) {
  const [path, setPath] = useState(props.path);
  const [target, setTarget] = useState("");
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const p = path.startsWith("/") ? path : `/${path}`;
    const problem = path === ""
      ? "Enter the path of a file or folder, like /photos."
      : targetProblem(target);
    if (problem) return act.fail(problem);
    void act.run("share", async () => {
      await send("POST", "/api/v1/shares", { path: p, with: target });
      props.onDone();
      return `Shared ${p} with ${target} (read).`;
    });
  };
  return (
    <form onSubmit={submit} noValidate data-testid="share-form">
      <h3>Share a path</h3>
      <div class="stack">
        <label for="share-path">Path</label>
        <input
          id="share-path"
          type="text"
          placeholder="/photos"
          value={path}
          maxLength={4096}
          onInput={(e) => setPath((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <label for="share-with">With</label>
        <input
          id="share-with"
          type="text"
          list="share-groups"
          autoComplete="off"
          spellcheck={false}
          placeholder="node id, or group:family"
          value={target}
          maxLength={80}
          aria-describedby="share-with-note"
          onInput={(e) => setTarget((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <datalist id="share-groups">
          {props.groups.map((g) => <option key={g.name} value={`group:${g.name}`} />)}
        </datalist>
        <span id="share-with-note" class="muted">
          Readers get read access (the path's key). Everyone: set the mode to o+r on the Files page.
          The root is never shared; share folders under it.
        </span>
      </div>
      <div class="row">
        <button type="submit" disabled={act.busy !== undefined}>
          {act.busy ? "Sharing…" : "Share (read)"}
        </button>
      </div>
      <OutcomeNote outcome={act.outcome} testid="share-done" />
    </form>
  );
}
