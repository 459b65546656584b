/**
 * The node API's scrubber routes over the owner's {@linkcode ScrubManager}: list the tickets
 * issued with the scrubbers' reports, hire, revoke.
 */
import type { ScrubBackend } from "../../gateway/scrub.ts";
import { type ScrubManager, UnknownTicketError } from "../scrub/owner.ts";

/** No ticket matches the id given (answered with 404). */
export class TicketNotFoundError extends Error {
  override name = "NotFoundError";
}

/** Builds the scrubber routes' backend; `wanted` is the `scrubbers` setting. */
export function scrubBackend(scrubs: ScrubManager, wanted: number): ScrubBackend {
  return {
    async list() {
      return { tickets: await scrubs.list(), settings: { ...scrubs.settings }, wanted };
    },
    async hire(count, expiry, signal) {
      const hired = await scrubs.hire(count, signal, { expiry });
      return hired.map((r) => ({
        id: r.ticket.name,
        scrubber: r.ticket.scrubber,
        expiry: r.ticket.expiry,
      }));
    },
    async revoke(id) {
      try {
        const r = await scrubs.revoke(id);
        return { id: r.ticket.name, scrubber: r.ticket.scrubber };
      } catch (e) {
        // An id that matches no ticket is a 404; a short or ambiguous one stays a RangeError (400).
        if (e instanceof UnknownTicketError) {
          throw new TicketNotFoundError(e.message);
        }
        throw e;
      }
    },
  };
}
