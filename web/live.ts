// This module is browser compatible.
/**
 * Live updates: one `EventSource` on `/api/v1/events` (same-origin GET, no token needed) shared
 * by every page, and hooks to follow the node's status and the events pages care about.
 */
import { useEffect, useState } from "preact/hooks";
import { getJson, type Status } from "./api.ts";

/** A node event as the stream carries it. */
export interface NodeEvent {
  type: string;
  data: Record<string, unknown> & { at?: number };
}

const TYPES = [
  "status",
  "peer:connect",
  "peer:disconnect",
  "put:progress",
  "put:done",
  "storage:hired",
  "storage:repaired",
  "storage:migrated",
  "storage:migration",
  "storage:supplier-dismissed",
  "audit:round",
  "supplier:contract",
  "record:published",
  "node:stopping",
];

type Listener = (e: NodeEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(s: boolean) => void>();
let source: EventSource | undefined;
let open = false;

function setOpen(v: boolean) {
  if (open === v) return;
  open = v;
  for (const l of stateListeners) l(v);
}

function connect() {
  if (source) return;
  source = new EventSource("/api/v1/events");
  source.onopen = () => setOpen(true);
  // EventSource reconnects by itself after an error; the UI shows "reconnecting" meanwhile.
  source.onerror = () => setOpen(false);
  for (const type of TYPES) {
    source.addEventListener(type, (m) => {
      let data: NodeEvent["data"] = {};
      try {
        data = JSON.parse((m as MessageEvent<string>).data);
      } catch { /* ignore a malformed event */ }
      for (const l of listeners) l({ type, data });
    });
  }
}

/** Calls `fn` for every node event while the component is mounted. */
export function useEvents(fn: Listener, deps: unknown[] = []): void {
  useEffect(() => {
    connect();
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, deps);
}

/** Whether the event stream is connected (the node is reachable). */
export function useConnected(): boolean {
  const [v, setV] = useState(open);
  useEffect(() => {
    connect();
    stateListeners.add(setV);
    setV(open);
    return () => void stateListeners.delete(setV);
  }, []);
  return v;
}

/**
 * Loads JSON and keeps it fresh: again every `every` ms, and whenever an event of one of the
 * given types arrives. Errors keep the last good value and carry the API's message.
 */
export function usePoll<T>(
  path: string,
  opts: { every?: number; on?: string[] } = {},
): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    getJson<T>(path, ctl.signal).then((d) => {
      setData(d);
      setError(undefined);
    }, (e) => {
      if ((e as Error).name !== "AbortError") setError((e as Error).message);
    });
    const t = opts.every ? setTimeout(() => setTick((n) => n + 1), opts.every) : undefined;
    return () => {
      ctl.abort();
      clearTimeout(t);
    };
  }, [path, tick]);
  useEvents((e) => {
    if (opts.on?.includes(e.type)) setTick((n) => n + 1);
  }, [path]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

/** The node's status, refreshed every 5 s and on peer changes. */
export function useStatus() {
  return usePoll<Status>("/api/v1/status", {
    every: 5_000,
    on: ["peer:connect", "peer:disconnect"],
  });
}
