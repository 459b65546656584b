// This module is browser compatible.
/**
 * One state-changing call at a time per form or list, with its outcome shown where it was made:
 * the node's own error text, or what was done.
 */
import { useState } from "preact/hooks";
import { ErrorNote } from "./ui.tsx";

/** An outcome: what was done, or the node's error. */
export interface Outcome {
  ok?: string;
  error?: string;
}

/** Runs calls one at a time; `busy` names the one running (a button shows it). */
export function useAction() {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [outcome, setOutcome] = useState<Outcome>({});
  /** Runs `f` as `key`; its answer (if any) is shown as done, a throw as the error. */
  const run = async (key: string, f: () => Promise<string | undefined>): Promise<boolean> => {
    setOutcome({});
    setBusy(key);
    try {
      const ok = await f();
      setOutcome({ ok });
      return true;
    } catch (e) {
      setOutcome({ error: (e as Error).message });
      return false;
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, outcome, run, fail: (error: string) => setOutcome({ error }) };
}

/** Shows an outcome: the error as an alert, what was done as a status. */
export function OutcomeNote(props: { outcome: Outcome; testid?: string }) {
  return (
    <>
      <ErrorNote error={props.outcome.error} />
      {props.outcome.ok && (
        <p class="note ok" role="status" data-testid={props.testid}>{props.outcome.ok}</p>
      )}
    </>
  );
}
