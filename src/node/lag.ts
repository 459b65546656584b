/**
 * Watches the event loop: a timer that fires late means the process was busy (or starved of CPU)
 * for that long, and everything it serves (shard streams, DHT queries, the API) waited with it.
 * Long stalls are logged, so a failure on the other end of a connection can be matched with one.
 */
import type { Logger } from "../log/mod.ts";

/** Starts watching; returns a function that stops it. */
export function watchEventLoop(
  log: Logger,
  opts: { every?: number; warnAfter?: number } = {},
): () => void {
  const every = opts.every ?? 500, warnAfter = opts.warnAfter ?? 2_000;
  let expected = performance.now() + every;
  const timer = setInterval(() => {
    const now = performance.now(), late = now - expected;
    expected = now + every;
    if (late > warnAfter) log.warn("the event loop was blocked", { ms: Math.round(late) });
  }, every);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
