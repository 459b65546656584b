// This module is browser compatible.
/**
 * Worlds: the endless worlds this node's identity owns. Creating one (`POST /api/v1/worlds`)
 * signs its world record, which the owner's suppliers keep alive while this node is off; the list
 * (`GET /api/v1/worlds`) links each world's page on this node's public gateway, where visitors
 * walk it (any node's gateway serves the same address).
 */
import { useRef, useState } from "preact/hooks";
import { send, type WorldRow } from "../api.ts";
import { short, when } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a world name is refused, or nothing when it is fine. */
export function worldNameProblem(name: string): string | undefined {
  if (name === "") return "Give the world a name.";
  if (NAME_RE.test(name)) return undefined;
  return `“${name.slice(0, 70)}” cannot be a world name: use 1 to 63 lower-case letters (a–z), ` +
    "digits and hyphens, with no hyphen first or last.";
}

/** Why a seed is refused (empty means a random one), or nothing when it is fine. */
export function seedProblem(seed: string): string | undefined {
  if (seed === "") return undefined;
  const n = /^[0-9]{1,10}$/.test(seed) ? Number(seed) : NaN;
  return n <= 0xffffffff ? undefined : "A seed is a whole number from 0 to 4294967295.";
}

/** The Worlds page. */
export function WorldsPage() {
  const list = usePoll<{ worlds: WorldRow[] }>("/api/v1/worlds", { every: 30_000 });
  const [name, setName] = useState("");
  const [seed, setSeed] = useState("");
  const [title, setTitle] = useState("");
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ error?: string }>({});
  const [created, setCreated] = useState<WorldRow | undefined>(undefined);
  const nameInput = useRef<HTMLInputElement>(null);

  const problem = worldNameProblem(name) ?? seedProblem(seed);
  const showProblem = problem && (checked || name !== "" || seed !== "");
  const worlds = list.data?.worlds;

  const create = async (e: Event) => {
    e.preventDefault();
    setChecked(true);
    setMsg({});
    if (problem) {
      nameInput.current?.focus();
      return;
    }
    setBusy(true);
    setCreated(undefined);
    try {
      const res = await send("POST", "/api/v1/worlds", {
        name,
        ...(seed !== "" ? { seed: Number(seed) } : {}),
        ...(title.trim() !== "" ? { title: title.trim() } : {}),
      });
      setCreated(await res.json() as WorldRow);
      setName("");
      setSeed("");
      setTitle("");
      setChecked(false);
    } catch (err) {
      setMsg({ error: (err as Error).message });
    } finally {
      setBusy(false);
      list.reload();
    }
  };

  return (
    <>
      <h1>Worlds</h1>
      <p class="muted">
        A world is endless terrain generated from a seed, the same on every gateway; your suppliers
        keep it reachable while this node is off. From a terminal:{" "}
        <code>mote world create --name &lt;name&gt; [--seed N]</code>.
      </p>
      <Card title="Your worlds" id="h-worlds">
        <ErrorNote error={list.error} onRetry={list.reload} />
        {!worlds
          ? (list.error ? null : <Loading />)
          : worlds.length === 0
          ? <Empty>No worlds yet. Create one below.</Empty>
          : (
            <div class="table-wrap">
              <table data-testid="worlds">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Seed</th>
                    <th scope="col" class="wide">Generator</th>
                    <th scope="col" class="wide">Region</th>
                    <th scope="col" class="wide">Grants</th>
                    <th scope="col" class="wide">Created</th>
                    <th scope="col">Open</th>
                  </tr>
                </thead>
                <tbody>
                  {worlds.map((w) => (
                    <tr key={w.name}>
                      <td>
                        <strong>{w.title ?? w.name}</strong>
                        {w.title && <span class="muted">{` (${w.name})`}</span>}
                        <br />
                        <code class="muted" title={w.address}>{short(w.address, 16)}</code>
                      </td>
                      <td>{w.seed}</td>
                      <td class="wide">{w.generator}</td>
                      <td class="wide">{`${w.region}×${w.region} chunks`}</td>
                      <td class="wide" title="Regions other players may build in">
                        {w.grants.length}
                      </td>
                      <td class="wide">{when(w.created)}</td>
                      <td>
                        {w.urls[0] && (
                          <a href={w.urls[0]} target="_blank" rel="noopener" title={w.urls[0]}>
                            Open<span class="visually-hidden">{` ${w.name}`}</span>
                          </a>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </Card>
      <Card title="Create a world" id="h-create-world">
        <form onSubmit={create} noValidate data-testid="create-world">
          <div class="stack">
            <label for="world-name">Name</label>
            <input
              id="world-name"
              ref={nameInput}
              value={name}
              maxLength={63}
              autoComplete="off"
              spellcheck={false}
              placeholder="my-world"
              aria-invalid={showProblem && worldNameProblem(name) ? true : undefined}
              aria-describedby="world-note"
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value.trim())}
            />
            <label for="world-seed">Seed</label>
            <input
              id="world-seed"
              value={seed}
              inputMode="numeric"
              maxLength={10}
              autoComplete="off"
              placeholder="random"
              aria-invalid={showProblem && seedProblem(seed) ? true : undefined}
              aria-describedby="world-note"
              onInput={(e) => setSeed((e.currentTarget as HTMLInputElement).value.trim())}
            />
            <label for="world-title">Title (optional)</label>
            <input
              id="world-title"
              value={title}
              maxLength={200}
              autoComplete="off"
              onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)}
            />
            <span id="world-note" class={showProblem ? "error-text" : "muted"}>
              {showProblem
                ? problem
                : "Lower-case letters, digits and hyphens. The same seed gives the same terrain."}
            </span>
          </div>
          <div class="row">
            <button type="submit" disabled={busy}>{busy ? "Creating…" : "Create world"}</button>
          </div>
          <ErrorNote error={msg.error} />
          {created && (
            <p class="note ok" role="status" data-testid="world-created">
              Created {created.name} (seed {created.seed}).{" "}
              {created.urls[0] && (
                <a href={created.urls[0]} target="_blank" rel="noopener">Open it</a>
              )}
            </p>
          )}
        </form>
      </Card>
    </>
  );
}
