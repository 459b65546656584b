/**
 * The node API's scrubber routes over the owner's {@linkcode ScrubManager}: list the tickets
 * issued with the scrubbers' reports, hire, revoke.
 */
import type { HiredScrubber, ScrubBackend } from "../../gateway/scrub.ts";
import type { ScrubManager } from "../scrub/owner.ts";

/** No ticket matches the id given (answered with 404). */
export class TicketNotFoundError extends Error {
  override name = "NotFoundError";
}

/** Builds the scrubber routes' backend; `wanted` is the `scrubbers` setting. */
export function scrubBackend(scrubs: ScrubManager, wanted: number): ScrubBackend {
  // Hires one at a time, so a hire's own expiry is never seen by another hire through the API.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async list() {
      return { tickets: await scrubs.list(), settings: { ...scrubs.settings }, wanted };
    },
    hire(count, expiry, signal) {
      const run = async (): Promise<HiredScrubber[]> => {
        // ScrubManager signs every ticket with its settings at that moment, so this hire's
        // expiry applies while it runs, and the settings are put back whatever happens.
        const saved = scrubs.settings;
        if (expiry !== undefined) scrubs.settings = { ...saved, expiry };
        try {
          const hired = await scrubs.hire(count, signal);
          return hired.map((r) => ({
            id: r.ticket.name,
            scrubber: r.ticket.scrubber,
            expiry: r.ticket.expiry,
          }));
        } finally {
          scrubs.settings = saved;
        }
      };
      const result = queue.then(run, run);
      queue = result.catch(() => {});
      return result;
    },
    async revoke(id) {
      try {
        const r = await scrubs.revoke(id);
        return { id: r.ticket.name, scrubber: r.ticket.scrubber };
      } catch (e) {
        // The owner's side says "No ticket … was issued" for an id that matches none; a short or
        // ambiguous id stays a RangeError (400).
        if (e instanceof RangeError && e.message.startsWith("No ticket")) {
          throw new TicketNotFoundError(e.message);
        }
        throw e;
      }
    },
  };
}
