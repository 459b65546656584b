// This module is browser compatible.
/**
 * Home's Scrubbers section: the nodes that keep this node's data whole while it is off, what each
 * did last, hiring two more and revoking one.
 */
import { useState } from "preact/hooks";
import { type HireAnswer, type ScrubTicketRow, type ScrubView, send } from "../api.ts";
import { ago, short } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

/** How many scrubbers the button hires. */
const HIRE = 2;

/** The Scrubbers card. */
export function ScrubbersCard() {
  const scrub = usePoll<ScrubView>("/api/v1/scrub", { every: 15_000 });
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const act = async (what: string, call: () => Promise<string>) => {
    setBusy(what);
    setMsg({});
    try {
      setMsg({ ok: await call() });
    } catch (e) {
      setMsg({ error: (e as Error).message });
    } finally {
      setBusy(undefined);
      scrub.reload();
    }
  };
  const hire = () =>
    act("hire", async () => {
      const r: HireAnswer = await (await send("POST", "/api/v1/scrub/hire", { count: HIRE }))
        .json();
      if (r.hired.length === r.asked) return `Hired ${r.asked} scrubbers.`;
      const n = r.hired.length;
      throw new Error(
        n === 0
          ? `0 of ${r.asked} hired: no node offering scrub duty could be hired.`
          : `${n} of ${r.asked} hired: only ${n} node${
            n === 1 ? " offers" : "s offer"
          } scrub duty.`,
      );
    });
  const revoke = (t: ScrubTicketRow) => {
    if (
      !confirm(
        `Revoke the ticket of scrubber ${
          short(t.scrubber)
        }? It stops working for you at once and is not hired again.`,
      )
    ) return;
    act(t.id, async () => {
      await send("POST", "/api/v1/scrub/revoke", { id: t.id });
      return `Revoked the ticket of scrubber ${short(t.scrubber)}.`;
    });
  };
  const active = scrub.data?.tickets.filter((t) => t.state === "active") ?? [];
  const until = Math.max(0, ...active.map((t) => t.expiry));
  return (
    <Card title="Scrubbers">
      <ErrorNote error={scrub.error} onRetry={scrub.reload} />
      {!scrub.data ? <Loading /> : active.length === 0
        ? (
          <Empty>
            No scrubbers: while this node is off, nothing rebuilds lost shards. Scrubbers do that on
            ciphertext only; they cannot read your files.
          </Empty>
        )
        : (
          <>
            <p class="muted" data-testid="unattended">
              With this node off, your data is kept whole until{" "}
              {new Date(until).toLocaleDateString()}; tickets are renewed while it runs.
            </p>
            <div class="table-wrap">
              <table data-testid="scrubbers">
                <thead>
                  <tr>
                    <th scope="col">Scrubber</th>
                    <th scope="col" class="wide">Ticket ends</th>
                    <th scope="col">Last round</th>
                    <th scope="col">Rebuilt</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {active.map((t) => (
                    <tr key={t.id}>
                      <td>
                        <code title={t.scrubber}>{short(t.scrubber)}</code>
                      </td>
                      <td class="wide">{new Date(t.expiry).toLocaleDateString()}</td>
                      <td title={t.error}>
                        {!t.report
                          ? "unreachable"
                          : t.report.lastRound
                          ? ago(t.report.lastRound)
                          : "not yet"}
                      </td>
                      <td>{t.report ? `${t.report.rebuilt} shards` : "—"}</td>
                      <td>
                        <button
                          type="button"
                          class="danger"
                          disabled={busy !== undefined}
                          onClick={() => revoke(t)}
                        >
                          {busy === t.id ? "Revoking…" : "Revoke"}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      <div class="row">
        <button
          type="button"
          data-testid="hire-scrubbers"
          disabled={busy !== undefined || !scrub.data}
          onClick={hire}
        >
          {busy === "hire" ? "Hiring…" : `Hire ${HIRE} scrubbers`}
        </button>
      </div>
      <ErrorNote error={msg.error} />
      {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
    </Card>
  );
}
