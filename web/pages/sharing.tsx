// This module is browser compatible.
/**
 * Sharing: what this node shares and with whom (share a path with a node or a group, revoke),
 * its groups, what others share with it (`<owner-id>:/path`), and quick links. The routes are
 * `gateway/share_api.ts` and `gateway/link_api.ts`; docs/sharing.md says what each one does.
 */
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { bytes, short } from "../format.ts";
import { usePoll } from "../live.ts";
import type { Groups, ShareRow } from "../perms.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";
import { GroupsCard } from "./groups.tsx";
import { ShareForm } from "./share_form.tsx";
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
  const shares = usePoll<{ shares: Share[] }>("/api/v1/shares", { every: 30_000 });
  return (
    <>
      <h1>Sharing</h1>
      <p class="muted">
        Reading is holding a key: sharing a path wraps its key for a node or a group, and revoking
        gives the path a fresh key that only the remaining readers get. From a terminal:{" "}
        <code>mote share &lt;path&gt; --with &lt;id|group:name&gt; --read|--write</code>.
      </p>
      <SharesCard shares={shares} groups={groups.data?.owned ?? []} path={asked} />
      <GroupsCard groups={groups} onChange={shares.reload} />
      <SharedWithMeCard />
      <LinksCard path={asked} />
    </>
  );
}

type Poll<T> = { data: T | undefined; error: string | undefined; reload: () => void };

/**
 * A shared path as `GET /api/v1/shares` answers it: for a folder shared for writing, its byte
 * cap per supplier (one write key, so one cap for all its writers) and whether everyone may write
 * (mode o+w).
 */
type Share = ShareRow & { othersWrite?: boolean; cap?: number };

/** One reader of a share as a revocable item: a node, a group, or everyone (by its mode). */
interface Recipient {
  key: string;
  label: string;
  title: string;
  /** The share call's `with`, or null for everyone (taken back with chmod o-r, or o-w). */
  with: string | null;
  /** Whether it may also write (a folder shared with write). */
  write: boolean;
}

function recipients(s: Share): Recipient[] {
  const writers = new Set(s.writers ?? []), writeGroups = new Set(s.writeGroups ?? []);
  return [
    ...s.readers.map((id) => ({
      key: `r:${id}`,
      label: `node ${short(id)}`,
      title: id,
      with: id,
      write: writers.has(id),
    })),
    ...s.groups.map((g) => ({
      key: `g:${g}`,
      label: `group ${g}`,
      title: `group ${g}`,
      with: `group:${g}`,
      write: writeGroups.has(g),
    })),
    ...(s.public
      ? [{
        key: "public",
        label: "everyone",
        title: s.othersWrite ? "mode o+rw" : "mode o+r",
        with: null,
        write: !!s.othersWrite,
      }]
      : []),
  ];
}

/** What a revoke takes: everything (`all`), or only the right to write. */
type Taking = "all" | "write";

function confirmText(s: Share, r: Recipient, taking: Taking): string {
  if (taking === "write") {
    return `Stop ${r.label} writing to ${s.path}? The folder gets a new write key that ${r.label} ` +
      "no longer receives; it can still read. Files it already wrote stay.";
  }
  const what = r.with === null
    ? `Stop sharing ${s.path} with everyone`
    : `Revoke ${r.label}'s access to ${s.path}`;
  return `${what}? It gets a fresh key that ${r.label} no longer receives. ` +
    "Whatever was already downloaded cannot be unread.";
}

function SharesCard(
  props: { shares: Poll<{ shares: Share[] }>; groups: { name: string }[]; path: string },
) {
  const { shares } = props;
  const list = useAction();
  const revoke = (s: Share, r: Recipient, taking: Taking) => {
    if (!confirm(confirmText(s, r, taking))) return;
    void list.run(`${s.path} ${r.key} ${taking}`, async () => {
      if (r.with === null) {
        // Everyone reads (o+r) and may write (o+w) through the mode; o+w needs o+r.
        const mode = taking === "write" ? "o-w" : "o-rw";
        await send("POST", "/api/v1/chmod", { path: s.path, mode });
      } else {
        await send("POST", "/api/v1/shares", {
          path: s.path,
          with: r.with,
          revoke: true,
          ...(taking === "write" ? { write: true } : {}),
        });
      }
      shares.reload();
      return taking === "write"
        ? `${r.label} can no longer write to ${s.path}; its write key was rotated.`
        : `${s.path} is no longer shared with ${r.label}; it was re-keyed.`;
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
                  <th scope="col">Shared with, and access</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={s.path}>
                    <td>
                      <code>{s.path}</code> <span class="muted">{s.kind}</span>
                      {s.cap !== undefined && (
                        <div class="muted" data-testid="write-cap">
                          writes: at most {bytes(s.cap)} per supplier
                          {s.othersWrite ? ", anyone may write" : ""}
                        </div>
                      )}
                    </td>
                    <td>
                      {recipients(s).length === 0 && <span class="muted">no one</span>}
                      <ul class="plain">
                        {recipients(s).map((r) => (
                          <li key={r.key} class="actions">
                            <span title={r.title}>{r.label}</span>
                            <span class="muted">{r.write ? "read, write" : "read"}</span>
                            <button
                              type="button"
                              class="danger"
                              disabled={list.busy !== undefined}
                              aria-label={`Revoke ${r.label} on ${s.path}`}
                              onClick={() => revoke(s, r, "all")}
                            >
                              {list.busy === `${s.path} ${r.key} all` ? "Revoking…" : "Revoke"}
                            </button>
                            {r.write && (
                              <button
                                type="button"
                                class="danger"
                                disabled={list.busy !== undefined}
                                aria-label={`Revoke write for ${r.label} on ${s.path}`}
                                onClick={() => revoke(s, r, "write")}
                              >
                                {list.busy === `${s.path} ${r.key} write`
                                  ? "Revoking…"
                                  : "Revoke write"}
                              </button>
                            )}
                          </li>
                        ))}
                      </ul>
                    </td>
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
