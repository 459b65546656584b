// This module is browser compatible.
/** The prune form: drop old versions of a file or of every file under a folder. */
import { useState } from "preact/hooks";
import { send } from "../api.ts";
import { ErrorNote } from "../ui.tsx";

/** Keeps the newest N versions and those younger than D days; deletes the rest's shards. */
export function PruneForm(props: { path: string; onDone: () => void }) {
  const [keep, setKeep] = useState("1");
  const [days, setDays] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const id = `prune-${props.path.replace(/\W+/g, "-")}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setMsg({});
    const body: Record<string, unknown> = { path: props.path };
    if (keep !== "") body.keep = Number(keep);
    if (days !== "") body.days = Number(days);
    if (!confirm(`Delete old versions under ${props.path}? This cannot be undone.`)) return;
    try {
      const r = await (await send("POST", "/api/v1/prune", body)).json();
      setMsg({ ok: `Deleted ${r.deleted} old version${r.deleted === 1 ? "" : "s"}.` });
      props.onDone();
    } catch (err) {
      setMsg({ error: (err as Error).message });
    }
  };
  return (
    <form class="row" onSubmit={submit}>
      <label for={`${id}-keep`}>Keep the newest</label>
      <input
        id={`${id}-keep`}
        type="number"
        min={1}
        max={100000}
        value={keep}
        onInput={(e) => setKeep((e.currentTarget as HTMLInputElement).value)}
      />
      <label for={`${id}-days`}>and those younger than (days)</label>
      <input
        id={`${id}-days`}
        type="number"
        min={0}
        max={36500}
        value={days}
        onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit" disabled={keep === "" && days === ""}>Prune</button>
      <ErrorNote error={msg.error} />
      {msg.ok && <span class="ok-text" role="status">{msg.ok}</span>}
    </form>
  );
}
