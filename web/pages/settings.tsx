// This module is browser compatible.
/** Settings: key backup, how many suppliers to hire, and the network settings (read-only here). */
import { useState } from "preact/hooks";
import { send, type Status, type Suppliers } from "../api.ts";
import { usePoll } from "../live.ts";
import { Card, ErrorNote } from "../ui.tsx";

type Polled<T> = { data: T | undefined; error: string | undefined; reload: () => void };

/** The settings page. */
export function SettingsPage(props: { status: Polled<Status> }) {
  return (
    <>
      <h1>Settings</h1>
      <KeyBackup />
      <SupplierCount />
      <Card title="Network and supply">
        <p>
          {props.status.data?.devnet.running
            ? `This node runs the embedded local network (${props.status.data.devnet.suppliers} supplier nodes on 127.0.0.1) because no bootstrap peers are set.`
            : "This node joins the network through its bootstrap peers."}
        </p>
        <p class="muted">
          Bootstrap peers and the space this node supplies to others are set in{" "}
          <code>config.json</code> in the data directory or with <code>mote start</code>{" "}
          flags (<code>--bootstrap</code>, <code>--supply</code>); <code>mote config</code>{" "}
          shows what is in effect. They are read-only here for now.
        </p>
      </Card>
    </>
  );
}

function KeyBackup() {
  const [pass, setPass] = useState("");
  const [again, setAgain] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const [busy, setBusy] = useState(false);
  const mismatch = pass !== again;
  const submit = async (e: Event) => {
    e.preventDefault();
    setMsg({});
    if (mismatch) return;
    setBusy(true);
    try {
      const res = await send("POST", "/api/v1/key/export", pass ? { passphrase: pass } : {});
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ??
        "mote.key";
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setMsg({ ok: `Saved ${name}${pass ? " (sealed with your passphrase)" : ""}.` });
      setPass("");
      setAgain("");
    } catch (err) {
      setMsg({ error: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Back up your key">
      <p>
        The key file is the one thing you must keep: with it alone, <code>mote restore</code>{" "}
        brings back all your files on a new machine. Anyone holding it can read them and act as you,
        so seal it with a passphrase (at least 8 characters) unless you store it somewhere safe.
      </p>
      <form class="stack" onSubmit={submit}>
        <label for="pass">Passphrase (optional)</label>
        <input
          id="pass"
          type="password"
          autoComplete="new-password"
          minLength={8}
          maxLength={1024}
          value={pass}
          onInput={(e) => setPass((e.currentTarget as HTMLInputElement).value)}
        />
        <label for="pass2">Passphrase again</label>
        <input
          id="pass2"
          type="password"
          autoComplete="new-password"
          maxLength={1024}
          value={again}
          aria-invalid={mismatch}
          onInput={(e) => setAgain((e.currentTarget as HTMLInputElement).value)}
        />
        {mismatch && again !== "" && <span class="error-text">The passphrases differ.</span>}
        <div>
          <button type="submit" disabled={busy || mismatch}>
            {busy ? "Preparing…" : pass ? "Download sealed key" : "Download key"}
          </button>
        </div>
      </form>
      <ErrorNote error={msg.error} />
      {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
      <p class="muted">
        Importing a key needs the node stopped: use <code>mote key import</code> or{" "}
        <code>mote restore</code>.
      </p>
    </Card>
  );
}

function SupplierCount() {
  const sup = usePoll<Suppliers>("/api/v1/suppliers", { on: ["storage:hired"] });
  const [count, setCount] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const submit = async (e: Event) => {
    e.preventDefault();
    setMsg({});
    try {
      const r = await (await send("POST", "/api/v1/suppliers", { count: Number(count) })).json();
      setMsg({ ok: `New files use ${r.k}+${r.m}; stored files move over in the background.` });
      setCount("");
      sup.reload();
    } catch (err) {
      setMsg({ error: (err as Error).message });
    }
  };
  return (
    <Card title="Suppliers">
      <p>
        Each file is split over this many suppliers; about a third of them can vanish and every file
        still reads back.{" "}
        {sup.data && `Now: ${sup.data.wanted} suppliers (erasure code ${sup.data.code}).`}
      </p>
      <ErrorNote error={sup.error} />
      <form class="row" onSubmit={submit}>
        <label for="count">Number of suppliers</label>
        <input
          id="count"
          type="number"
          min={2}
          max={64}
          required
          placeholder={sup.data ? String(sup.data.wanted) : ""}
          value={count}
          onInput={(e) => setCount((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" disabled={count === ""}>Change</button>
      </form>
      <ErrorNote error={msg.error} />
      {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
    </Card>
  );
}
