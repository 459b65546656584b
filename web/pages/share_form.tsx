// This module is browser compatible.
/**
 * The Sharing page's form: share a path with a node id or `group:<name>`, for reading, or (a
 * folder) for reading and writing with an optional byte cap per supplier
 * (`POST /api/v1/shares { path, with, write?, cap? }`).
 */
import { useState } from "preact/hooks";
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { idProblem, type ShareRow } from "../perms.ts";

/** Why `target` cannot be shared with, or nothing: a node id or `group:<name>`. */
function targetProblem(target: string): string | undefined {
  if (target === "") return "Enter a node id, or group:<name> for one of your groups.";
  if (target.startsWith("group:")) {
    return target.length > 6 ? undefined : "Write the group's name after group:";
  }
  return idProblem(target);
}

/** Largest write cap the form takes: 1 TiB, in MiB. */
const MAX_CAP_MIB = 1 << 20;

/** A write cap in MiB as bytes; "" is the node's default. Throws a `RangeError` that says why. */
function parseCap(text: string): number | undefined {
  if (text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CAP_MIB) {
    throw new RangeError(
      `“${text.slice(0, 20)}” is not a cap: give a whole number of MiB from 1 to ${MAX_CAP_MIB}, ` +
        "or leave it empty for the node's default (1 GiB).",
    );
  }
  return n * 1024 * 1024;
}

/** Whether the answered share lists `target` as a writer. */
function writes(row: ShareRow, target: string): boolean {
  return target.startsWith("group:")
    ? (row.writeGroups ?? []).includes(target.slice(6))
    : (row.writers ?? []).includes(target);
}

/** The share form; `path` fills the path (a link from the Files page). */
export function ShareForm(props: { groups: { name: string }[]; path: string; onDone: () => void }) {
  const [path, setPath] = useState(props.path);
  const [target, setTarget] = useState("");
  const [write, setWrite] = useState(false);
  const [cap, setCap] = useState("");
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const p = path.startsWith("/") ? path : `/${path}`;
    const problem = path === ""
      ? "Enter the path of a file or folder, like /photos."
      : targetProblem(target);
    if (problem) return act.fail(problem);
    let capBytes: number | undefined;
    try {
      capBytes = write ? parseCap(cap) : undefined;
    } catch (err) {
      return act.fail((err as Error).message);
    }
    void act.run("share", async () => {
      const body = { path: p, with: target, ...(write ? { write: true, cap: capBytes } : {}) };
      const row = await (await send("POST", "/api/v1/shares", body)).json() as ShareRow;
      props.onDone();
      // Said from the node's answer, so a node that took only read is not reported as writable.
      if (write && !writes(row, target)) {
        throw new Error(
          `Shared ${p} with ${target} for reading only: the node did not grant write.`,
        );
      }
      return `Shared ${p} with ${target} (${write ? "read and write" : "read"}).`;
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
          Everyone: set the mode to o+r on the Files page (o+rw lets anyone write into a folder,
          under a byte cap). The root is never shared; share folders under it.
        </span>
        <label>
          <input
            type="checkbox"
            checked={write}
            onChange={(e) => setWrite((e.currentTarget as HTMLInputElement).checked)}
          />{" "}
          Also let them write (folders only)
        </label>
      </div>
      {write && (
        <div class="stack">
          <label for="share-cap">Write cap per supplier, MiB (optional)</label>
          <input
            id="share-cap"
            type="number"
            min={1}
            max={MAX_CAP_MIB}
            placeholder="1024"
            value={cap}
            aria-describedby="share-cap-note"
            onInput={(e) => setCap((e.currentTarget as HTMLInputElement).value)}
          />
          <span id="share-cap-note" class="muted">
            Writers' files count against your storage; each of your suppliers takes at most this
            much under this folder's write key.
          </span>
        </div>
      )}
      <div class="row">
        <button type="submit" disabled={act.busy !== undefined}>
          {act.busy ? "Sharing…" : write ? "Share (read and write)" : "Share (read)"}
        </button>
      </div>
      <OutcomeNote outcome={act.outcome} testid="share-done" />
    </form>
  );
}
