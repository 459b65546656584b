// This module is browser compatible.
/**
 * The Files page's permissions of one entry: its mode and group, with `chmod` (octal or
 * symbolic, as `mote chmod` takes) and `chgrp` (one of the owner's groups, or none). Taking a
 * read bit or a group away re-keys the path on the node (docs/sharing.md, "Revocation").
 */
import { useState } from "preact/hooks";
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { usePoll } from "../live.ts";
import { type Groups, modeText, type PermEntry } from "../perms.ts";
import { Card, ErrorNote, Link } from "../ui.tsx";
import { bytes } from "../format.ts";

/** `drwxr-x---` for a folder, `-rw-r-----` for a file. */
export function longMode(e: Pick<PermEntry, "type" | "mode">): string {
  return (e.type === "folder" ? "d" : "-") + modeText(e.mode);
}

/** The permissions card of `path`; `onChange` reloads the listing after a change. */
export function PermsCard(props: { path: string; entry: PermEntry; onChange: () => void }) {
  const { path, entry } = props;
  const groups = usePoll<Groups>("/api/v1/groups");
  const [mode, setMode] = useState("");
  const [group, setGroup] = useState<string | undefined>(undefined);
  const act = useAction();
  const chmod = (e: Event) => {
    e.preventDefault();
    if (mode === "") return act.fail("Enter a mode: octal like 750, or symbolic like g+r,o-rwx.");
    void act.run("chmod", async () => {
      const r = await (await send("POST", "/api/v1/chmod", { path, mode })).json() as {
        mode: number;
        othersWrite?: { cap: number };
        writeRotated?: boolean;
      };
      setMode("");
      props.onChange();
      // o+w on a folder publishes its write secret under a cap (64 MiB unless set with
      // `mote chmod … --cap`); taking it away rotates the write key.
      const others = r.othersWrite
        ? ` Anyone may write files into it: at most ${bytes(r.othersWrite.cap)} on each of your ` +
          "suppliers."
        : r.writeRotated
        ? " Others may no longer write to it: its write key was rotated."
        : "";
      return `${path} is now ${longMode({ type: entry.type, mode: r.mode })}.${others}`;
    });
  };
  const chosen = group ?? entry.group ?? "";
  const chgrp = (e: Event) => {
    e.preventDefault();
    void act.run("chgrp", async () => {
      await send("POST", "/api/v1/chgrp", { path, group: chosen === "" ? null : chosen });
      props.onChange();
      return chosen === "" ? `${path} has no group now.` : `${path} now belongs to ${chosen}.`;
    });
  };
  const names = groups.data?.owned?.map((g) => g.name) ?? [];
  if (entry.group && !names.includes(entry.group)) names.push(entry.group);
  return (
    <Card title={`Permissions of ${path}`} id="h-perms">
      <p>
        Mode <code data-testid="perms-mode">{longMode(entry)}</code>, group{" "}
        <strong>{entry.group ?? "none"}</strong>. Read by the group needs{" "}
        <code>g+r</code>, by everyone{" "}
        <code>o+r</code>; on a folder, its key opens everything under it, and <code>o+rw</code>{" "}
        lets anyone write files into it (under a byte cap per supplier).{" "}
        <Link href={`/sharing?path=${encodeURIComponent(path)}`}>
          Share it or make a quick link
        </Link>.
      </p>
      <form class="row" onSubmit={chmod} noValidate data-testid="chmod">
        <label for="chmod-mode">New mode</label>
        <input
          id="chmod-mode"
          type="text"
          autoComplete="off"
          spellcheck={false}
          placeholder="750 or g+r"
          maxLength={64}
          value={mode}
          onInput={(e) => setMode((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <button type="submit" disabled={act.busy !== undefined}>
          {act.busy === "chmod" ? "Changing…" : "Change mode"}
        </button>
      </form>
      <ErrorNote error={groups.error} onRetry={groups.reload} />
      <form class="row" onSubmit={chgrp} noValidate data-testid="chgrp">
        <label for="chgrp-group">Group</label>
        <select
          id="chgrp-group"
          value={chosen}
          onChange={(e) => setGroup((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">none</option>
          {names.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
        <button type="submit" disabled={act.busy !== undefined || chosen === (entry.group ?? "")}>
          {act.busy === "chgrp" ? "Changing…" : "Change group"}
        </button>
      </form>
      <OutcomeNote outcome={act.outcome} testid="perms-done" />
      <p class="muted">
        Taking a read bit or the group away gives the path a fresh key; what was already downloaded
        cannot be unread.
      </p>
    </Card>
  );
}
