// This module is browser compatible.
/**
 * Settings: key backup and import, how many suppliers to hire, and the node's own settings
 * (nickname, bootstrap peers, space supplied to others), saved in config.json and applied by a
 * restart of the node, which the page offers and follows.
 */
import { useState } from "preact/hooks";
import { getJson, send, type SettingsView, type Status, type Suppliers } from "../api.ts";
import { bytes } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, ErrorNote } from "../ui.tsx";

type Polled<T> = { data: T | undefined; error: string | undefined; reload: () => void };
type Msg = { ok?: string; error?: string };

/** The settings page. */
export function SettingsPage(props: { status: Polled<Status> }) {
  const settings = usePoll<SettingsView>("/api/v1/settings");
  const [restarting, setRestarting] = useState<string | undefined>(undefined);
  const restart = async (why: string, call: () => Promise<unknown>) => {
    setRestarting(why);
    try {
      // Fresh, not the polled status: that one may be from before an earlier restart.
      const before = (await getJson<Status>("/api/v1/status")).started;
      await call();
      await waitForRestart(before);
      setRestarting(undefined);
      settings.reload();
      props.status.reload();
    } catch (e) {
      setRestarting(`Restart failed: ${(e as Error).message}`);
    }
  };
  return (
    <>
      <h1>Settings</h1>
      {restarting && <p class="note" role="status" data-testid="restarting">{restarting}</p>}
      <KeyBackup />
      <KeyImport
        currentId={props.status.data?.id}
        onImported={(id, call) =>
          restart(
            `Restarting as ${id}; then it looks for that identity's files in the network…`,
            call,
          )}
      />
      <SupplierCount />
      <NodeSettings
        view={settings}
        devnet={props.status.data?.devnet}
        onRestart={() => restart("Restarting the node…", () => send("POST", "/api/v1/restart"))}
      />
    </>
  );
}

/** Waits until the node answers again as a new run (its start time changes). */
async function waitForRestart(startedBefore: number): Promise<void> {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const s = await getJson<Status>("/api/v1/status", AbortSignal.timeout(2000));
      if (s.started !== startedBefore) return;
    } catch { /* down while it restarts */ }
  }
  throw new Error("the node did not come back within two minutes; see its log");
}

function NodeSettings(
  props: {
    view: Polled<SettingsView>;
    devnet: Status["devnet"] | undefined;
    onRestart: () => void;
  },
) {
  const v = props.view.data;
  const [form, setForm] = useState<{ nickname: string; bootstrap: string; supply: string } | null>(
    null,
  );
  const [msg, setMsg] = useState<Msg>({});
  const shown = form ?? (v
    ? {
      nickname: v.saved.nickname,
      bootstrap: v.saved.bootstrap.join("\n"),
      supply: v.saved.supply ? bytes(v.saved.supply).replace(" ", "") : "0",
    }
    : null);
  const edit = (k: "nickname" | "bootstrap" | "supply") => (e: Event) =>
    setForm({ ...shown!, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!shown) return;
    setMsg({});
    try {
      await send("POST", "/api/v1/settings", {
        nickname: shown.nickname,
        bootstrap: shown.bootstrap.split(/\s+/).filter((l) => l !== ""),
        supply: shown.supply.trim() || "0",
      });
      setForm(null);
      setMsg({ ok: "Saved in config.json. Restart the node to apply it." });
      props.view.reload();
    } catch (err) {
      setMsg({ error: (err as Error).message });
    }
  };
  const over = (k: string) =>
    v?.overridden.includes(k as keyof SettingsView["saved"]) && (
      <span class="muted">
        {" "}(a flag or environment variable sets this now; what you save here applies without it)
      </span>
    );
  return (
    <Card title="Network and supply">
      <p>
        {props.devnet?.running
          ? `This node runs the embedded local network (${props.devnet.suppliers} supplier nodes on 127.0.0.1) because no bootstrap peers are set. Add bootstrap peers to join a real network instead.`
          : "This node joins the network through its bootstrap peers."}
      </p>
      <ErrorNote error={props.view.error} onRetry={props.view.reload} />
      {shown && (
        <form class="stack" onSubmit={submit} data-testid="node-settings">
          <label for="nickname">Nickname{over("nickname")}</label>
          <input
            id="nickname"
            maxLength={64}
            placeholder={v?.running.nickname}
            value={shown.nickname}
            onInput={edit("nickname")}
          />
          <label for="bootstrap">
            Bootstrap peers, one multiaddr per line (with its /p2p/ part){over("bootstrap")}
          </label>
          <textarea
            id="bootstrap"
            rows={3}
            spellcheck={false}
            placeholder="/ip4/203.0.113.7/tcp/8182/p2p/12D3KooW…"
            value={shown.bootstrap}
            onInput={edit("bootstrap")}
          />
          <label for="supply">
            Space this node offers to others (for example 10GiB; 0 offers none){over("supply")}
          </label>
          <input id="supply" value={shown.supply} onInput={edit("supply")} />
          <div class="row">
            <button type="submit">Save</button>
            {v?.restartNeeded && (
              <button type="button" onClick={props.onRestart} data-testid="restart">
                Restart now to apply
              </button>
            )}
          </div>
        </form>
      )}
      <ErrorNote error={msg.error} />
      {msg.ok && v?.restartNeeded && <p class="note ok" role="status">{msg.ok}</p>}
      {v && (
        <p class="muted">
          Saved in <code>{v.file}</code>. Running now: {v.running.bootstrap.length}{" "}
          bootstrap peer(s), {v.running.supply ? bytes(v.running.supply) : "no space"} supplied.
        </p>
      )}
    </Card>
  );
}

function KeyImport(
  props: { currentId?: string; onImported: (id: string, call: () => Promise<unknown>) => void },
) {
  const [text, setText] = useState<string | undefined>(undefined);
  const [pass, setPass] = useState("");
  const [msg, setMsg] = useState<Msg>({});
  const pick = async (e: Event) => {
    setMsg({});
    const f = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!f) return;
    if (f.size > 16 * 1024) {
      setMsg({ error: `${f.name} is ${bytes(f.size)}: a key file is far smaller` });
      return;
    }
    setText(await f.text());
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!text) return;
    setMsg({});
    if (
      !confirm(
        "This node will restart as the identity in the key file. The key it runs with now is kept in a backup folder in the data directory. Continue?",
      )
    ) return;
    try {
      const res = await send("POST", "/api/v1/key/import", {
        key: text,
        ...(pass ? { passphrase: pass } : {}),
      });
      const r = await res.json() as { id: string; changed: boolean };
      setText(undefined);
      setPass("");
      if (!r.changed) setMsg({ ok: "This node already runs as that identity." });
      else props.onImported(r.id, () => send("POST", "/api/v1/restart"));
    } catch (err) {
      setMsg({ error: (err as Error).message });
    }
  };
  return (
    <Card title="Import a key">
      <p>
        Bring your identity to this node from a key file (one saved with “Download key” or{" "}
        <code>mote key export</code>). The node restarts as that identity and finds its files in the
        network; the key it runs with now {props.currentId && (
          <>
            (<code>{props.currentId.slice(0, 12)}…</code>){" "}
          </>
        )}
        is kept in a backup folder in the data directory, so nothing is lost.
      </p>
      <form class="stack" onSubmit={submit}>
        <label for="keyfile">Key file</label>
        <input id="keyfile" type="file" accept=".key,text/plain" onChange={pick} />
        <label for="import-pass">Passphrase (if the key file is sealed with one)</label>
        <input
          id="import-pass"
          type="password"
          autoComplete="current-password"
          maxLength={1024}
          value={pass}
          onInput={(e) => setPass((e.currentTarget as HTMLInputElement).value)}
        />
        <div>
          <button type="submit" disabled={!text}>Import and restart</button>
        </div>
      </form>
      <ErrorNote error={msg.error} />
      {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
    </Card>
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
