// This module is browser compatible.
/**
 * Worlds: the endless worlds this node's identity owns. Creating one (`POST /api/v1/worlds`)
 * signs its world record, which the owner's suppliers keep alive while this node is off; the list
 * (`GET /api/v1/worlds`) links each world's page on this node's public gateway, where visitors
 * walk it (any node's gateway serves the same address). Grants let another node build in one
 * region (`POST /api/v1/worlds/<name>/grants`) until they expire or are ended early
 * (`DELETE /api/v1/worlds/<name>/grants/<rx>/<rz>/<grantee>`); the grantee's edits stay, and
 * this node then signs the region's checkpoint.
 */
import { useRef, useState } from "preact/hooks";
import { send, type WorldRow } from "../api.ts";
import { short, when } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Loading, NameCell, NameField, nameProblem } from "../ui.tsx";

/** Why a world name is refused, or nothing when it is fine. */
export function worldNameProblem(name: string): string | undefined {
  return nameProblem("world", name);
}

/** Why a seed is refused (empty means a random one), or nothing when it is fine. */
export function seedProblem(seed: string): string | undefined {
  if (seed === "") return undefined;
  const n = /^[0-9]{1,10}$/.test(seed) ? Number(seed) : NaN;
  return n <= 0xffffffff ? undefined : "A seed is a whole number from 0 to 4294967295.";
}

/** Why a region coordinate is refused, or nothing when it is fine. */
export function regionProblem(v: string): string | undefined {
  const n = /^-?[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
  return n >= -0x80000000 && n <= 0x7fffffff
    ? undefined
    : "Region coordinates are whole numbers (negative ones too), like 0 and -3.";
}

/** Why a grantee is refused, or nothing when it is a node id. */
export function granteeProblem(id: string): string | undefined {
  if (id === "") return "Paste the node id of who may build there (their Home page shows it).";
  if (/^[a-z2-7]{52}$/.test(id)) return undefined;
  return /[^a-z2-7]/.test(id)
    ? "A node id has only the letters a–z and the digits 2–7."
    : `A node id is 52 characters long; this is ${id.length}.`;
}

const DAY = 24 * 3600_000;
const UNITS: Record<string, number> = { m: 60_000, h: 3600_000, d: DAY, w: 7 * DAY };
/** The longest grant one request makes: 100 years (the API's limit). */
const MAX_GRANT = 100 * 365 * DAY;

/**
 * When a grant typed as a length (`7d`, `30d`, `12h`, `2w`, `90m`) or a date (`2027-01-31`,
 * through the end of that day here) ends, or why it cannot; empty means 30 days.
 */
export function parseExpiry(
  text: string,
  now = Date.now(),
): { at: number; problem?: undefined } | { at?: undefined; problem: string } {
  const t = text.trim().toLowerCase();
  if (t === "") return { at: now + 30 * DAY };
  const length = /^([0-9]{1,6})\s*(m|h|d|w)$/.exec(t);
  const date = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(t);
  let at: number;
  if (length) at = now + Number(length[1]) * UNITS[length[2]!]!;
  else if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const day = new Date(y, m - 1, d);
    if (day.getFullYear() !== y || day.getMonth() !== m - 1 || day.getDate() !== d) {
      return { problem: `There is no date ${t}.` };
    }
    at = new Date(y, m - 1, d + 1).getTime(); // through the end of that day
  } else {
    return { problem: "Say how long, like 7d, 30d, 12h or 2w, or until when, like 2027-01-31." };
  }
  if (at <= now) return { problem: "That date has passed: a grant must end in the future." };
  if (at - now > MAX_GRANT) return { problem: "A grant lasts at most 100 years." };
  return { at };
}

type Grant = WorldRow["grants"][number];

/** Active grants first (ending soonest first), then ended ones (latest first). */
function ordered(grants: readonly Grant[], now: number): Grant[] {
  const ended = (g: Grant) => g.ended || g.expiry <= now;
  return [...grants].sort((a, b) =>
    ended(a) !== ended(b)
      ? (ended(a) ? 1 : -1)
      : ended(a)
      ? b.expiry - a.expiry
      : a.expiry - b.expiry
  );
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
  // What a grant or revocation answered, until the list catches up with it.
  const [fresh, setFresh] = useState<Record<string, WorldRow>>({});
  const nameInput = useRef<HTMLInputElement>(null);

  const nameBad = worldNameProblem(name);
  const seedBad = seedProblem(seed);
  const show = checked || name !== "" || seed !== "";
  const worlds = list.data?.worlds.map((w) => {
    const f = fresh[w.name];
    return f && f.seq > w.seq ? f : w;
  });

  const create = async (e: Event) => {
    e.preventDefault();
    setChecked(true);
    setMsg({});
    if (nameBad || seedBad) {
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
                        <NameCell name={w.title ?? w.name} address={w.address}>
                          {w.title && <span class="muted">{` (${w.name})`}</span>}
                        </NameCell>
                      </td>
                      <td>{w.seed}</td>
                      <td class="wide">{w.generator}</td>
                      <td class="wide">{`${w.region}×${w.region} chunks`}</td>
                      <td class="wide" title="Regions other players may build in now">
                        {w.grants.filter((g) => !g.ended).length}
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
      {worlds && worlds.length > 0 && (
        <Grants
          worlds={worlds}
          onChange={(w) => {
            setFresh((f) => ({ ...f, [w.name]: w }));
            list.reload();
          }}
        />
      )}
      <Card title="Create a world" id="h-create-world">
        <form onSubmit={create} noValidate data-testid="create-world">
          <div class="stack">
            <NameField
              id="world-name"
              inputRef={nameInput}
              value={name}
              placeholder="my-world"
              problem={show ? nameBad : undefined}
              hint="Lower-case letters, digits and hyphens."
              onInput={setName}
            />
            <label for="world-seed">Seed</label>
            <input
              id="world-seed"
              value={seed}
              inputMode="numeric"
              maxLength={10}
              autoComplete="off"
              placeholder="random"
              aria-invalid={show && seedBad ? true : undefined}
              aria-describedby="world-seed-note"
              onInput={(e) => setSeed((e.currentTarget as HTMLInputElement).value.trim())}
            />
            <span id="world-seed-note" class={show && seedBad ? "error-text" : "muted"}>
              {show && seedBad ? seedBad : "The same seed gives the same terrain."}
            </span>
            <label for="world-title">Title (optional)</label>
            <input
              id="world-title"
              value={title}
              maxLength={200}
              autoComplete="off"
              onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)}
            />
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

/** A world's grants: the list (ending one early) and the form that grants a region. */
function Grants(props: { worlds: WorldRow[]; onChange: (w: WorldRow) => void }) {
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [rx, setRx] = useState("0");
  const [rz, setRz] = useState("0");
  const [grantee, setGrantee] = useState("");
  const [expires, setExpires] = useState("30d");
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const [listMsg, setListMsg] = useState<{ ok?: string; error?: string }>({});
  const granteeInput = useRef<HTMLInputElement>(null);

  // The world chosen, else the first with grants, else the first.
  const w = props.worlds.find((x) => x.name === chosen) ??
    props.worlds.find((x) => x.grants.length > 0) ?? props.worlds[0]!;
  const now = Date.now();
  const regionBad = regionProblem(rx) ?? regionProblem(rz);
  const granteeBad = granteeProblem(grantee);
  const expiry = parseExpiry(expires, now);
  const show = checked || grantee !== "";
  const side = w.region;

  const grant = async (e: Event) => {
    e.preventDefault();
    setChecked(true);
    setMsg({});
    const at = parseExpiry(expires).at;
    if (regionBad || granteeBad || at === undefined) {
      if (granteeBad) granteeInput.current?.focus();
      return;
    }
    setBusy("grant");
    try {
      const res = await send("POST", `/api/v1/worlds/${w.name}/grants`, {
        rx: Number(rx),
        rz: Number(rz),
        grantee,
        expires: Math.max(1, at - Date.now()),
      });
      const row = await res.json() as WorldRow;
      const g = row.grants.find((g) =>
        g.rx === Number(rx) && g.rz === Number(rz) && g.grantee === grantee
      );
      setMsg({
        ok: `Granted region (${rx}, ${rz}) of ${row.name} to ${short(grantee, 16)}` +
          (g ? ` until ${when(g.expiry)}` : "") + ". Gateways see it within 15 s.",
      });
      setGrantee("");
      setChecked(false);
      props.onChange(row);
    } catch (err) {
      setMsg({ error: (err as Error).message });
    } finally {
      setBusy(undefined);
    }
  };

  const revoke = async (g: Grant) => {
    const where = `region (${g.rx}, ${g.rz}) of ${w.name}`;
    if (
      !confirm(
        `End the grant of ${where} to ${short(g.grantee, 16)} now? Edits made so far stay; ` +
          "anything it signs later is refused.",
      )
    ) return;
    const id = `${g.rx},${g.rz},${g.grantee}`;
    setBusy(`end:${id}`);
    setListMsg({});
    try {
      const res = await send(
        "DELETE",
        `/api/v1/worlds/${w.name}/grants/${g.rx}/${g.rz}/${g.grantee}`,
      );
      const row = await res.json() as WorldRow;
      setListMsg({
        ok: `Ended the grant of ${where} to ${short(g.grantee, 16)}. Its edits stay; this node ` +
          "signs the region's checkpoint within a minute.",
      });
      props.onChange(row);
    } catch (err) {
      setListMsg({ error: (err as Error).message });
    } finally {
      setBusy(undefined);
    }
  };

  const grants = ordered(w.grants, now);
  return (
    <Card title="Grants" id="h-grants">
      <p class="muted">
        A grant lets another node build in one region of a world (sculpt terrain, place and remove
        objects) until it ends. Region (x, z) covers chunks x×{side} to x×{side}+{side - 1}{" "}
        east and z×{side} to z×{side}+{side - 1} south ({side * 32}{" "}
        m square); the world page's HUD shows the region you stand in.
      </p>
      {props.worlds.length > 1 && (
        <div class="stack">
          <label for="grants-world">World</label>
          <select
            id="grants-world"
            value={w.name}
            onChange={(e) => {
              setChosen((e.currentTarget as HTMLSelectElement).value);
              setMsg({});
              setListMsg({});
            }}
          >
            {props.worlds.map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}
          </select>
        </div>
      )}
      {grants.length === 0
        ? <Empty>{`No grants in ${w.name} yet: only you can build there.`}</Empty>
        : (
          <div class="table-wrap">
            <table data-testid="grants">
              <thead>
                <tr>
                  <th scope="col">Region</th>
                  <th scope="col">Grantee</th>
                  <th scope="col" class="wide">Ends</th>
                  <th scope="col">State</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {grants.map((g) => {
                  const ended = g.ended || g.expiry <= now;
                  const id = `${g.rx},${g.rz},${g.grantee}`;
                  return (
                    <tr key={id} data-grantee={g.grantee}>
                      <td>{`(${g.rx}, ${g.rz})`}</td>
                      <td>
                        <code title={g.grantee}>{short(g.grantee, 12)}</code>
                      </td>
                      <td class="wide">{when(g.expiry)}</td>
                      <td>
                        <span
                          class={`badge ${ended ? "expired" : "ok"}`}
                          title={`${ended ? "Ended" : "Ends"} ${when(g.expiry)}`}
                        >
                          {ended ? "ended" : "active"}
                        </span>
                        {ended && g.checkpointed && (
                          <span
                            class="muted"
                            title="This node signed the region's checkpoint: the grantee's edits stay, nothing later is accepted"
                          >
                            {" "}checkpointed
                          </span>
                        )}
                      </td>
                      <td>
                        {!ended && (
                          <button
                            type="button"
                            class="danger"
                            disabled={busy !== undefined}
                            onClick={() => revoke(g)}
                          >
                            {busy === `end:${id}` ? "Ending…" : "End now"}
                            <span class="visually-hidden">
                              {` the grant of region (${g.rx}, ${g.rz}) to ${g.grantee}`}
                            </span>
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
      <ErrorNote error={listMsg.error} />
      {listMsg.ok && <p class="note ok" role="status" data-testid="grant-ended">{listMsg.ok}</p>}
      <h3>Grant a region</h3>
      <form onSubmit={grant} noValidate data-testid="grant-region">
        <div class="stack">
          <label for="grant-rx">Region x</label>
          <input
            id="grant-rx"
            value={rx}
            inputMode="numeric"
            maxLength={11}
            autoComplete="off"
            aria-invalid={regionProblem(rx) ? true : undefined}
            aria-describedby="grant-region-note"
            onInput={(e) => setRx((e.currentTarget as HTMLInputElement).value.trim())}
          />
          <label for="grant-rz">Region z</label>
          <input
            id="grant-rz"
            value={rz}
            inputMode="numeric"
            maxLength={11}
            autoComplete="off"
            aria-invalid={regionProblem(rz) ? true : undefined}
            aria-describedby="grant-region-note"
            onInput={(e) => setRz((e.currentTarget as HTMLInputElement).value.trim())}
          />
          <span id="grant-region-note" class={regionBad ? "error-text" : "muted"}>
            {regionBad ?? "(0, 0) is where the world page starts."}
          </span>
          <label for="grant-grantee">Grantee node id</label>
          <input
            id="grant-grantee"
            ref={granteeInput}
            value={grantee}
            maxLength={80}
            autoComplete="off"
            spellcheck={false}
            placeholder="52 characters, a–z and 2–7"
            aria-invalid={show && granteeBad ? true : undefined}
            aria-describedby="grant-grantee-note"
            onInput={(e) =>
              setGrantee((e.currentTarget as HTMLInputElement).value.trim().toLowerCase())}
          />
          <span id="grant-grantee-note" class={show && granteeBad ? "error-text" : "muted"}>
            {show && granteeBad ? granteeBad : "Only that node can sign edits there."}
          </span>
          <label for="grant-expires">Ends after</label>
          <input
            id="grant-expires"
            value={expires}
            maxLength={20}
            autoComplete="off"
            spellcheck={false}
            placeholder="30d"
            aria-invalid={expiry.problem ? true : undefined}
            aria-describedby="grant-expires-note"
            onInput={(e) => setExpires((e.currentTarget as HTMLInputElement).value)}
          />
          <span id="grant-expires-note" class={expiry.problem ? "error-text" : "muted"}>
            {expiry.problem ?? `A length (7d, 30d, 12h) or a date. Ends ${when(expiry.at)}.`}
          </span>
        </div>
        <div class="row">
          <button type="submit" disabled={busy !== undefined}>
            {busy === "grant" ? "Granting…" : `Grant region in ${w.name}`}
          </button>
        </div>
        <ErrorNote error={msg.error} />
        {msg.ok && <p class="note ok" role="status" data-testid="granted">{msg.ok}</p>}
      </form>
    </Card>
  );
}
