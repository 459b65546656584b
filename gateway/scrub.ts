// This module is browser compatible.
/**
 * The node API's scrubber routes (behind the API guard; the POSTs need the token like every
 * state-changing call):
 *
 * - `GET /api/v1/scrub`: every ticket this node issued (active, revoked or expired) with what each
 *   active scrubber reports, the settings of new tickets, and how many scrubbers the node keeps
 *   hired by itself (`scrubbers`).
 * - `POST /api/v1/scrub/hire` `{ "count": 1..16, "expiry"?: "30d" | ms }`: hires up to `count`
 *   more scrubbers among the nodes offering scrub duty; `expiry` sets the life of this hire's
 *   tickets only. Fewer than asked is still a success: the answer says how many were asked.
 * - `POST /api/v1/scrub/revoke` `{ "id": "<ticket id or a unique prefix of 4+ characters>" }`.
 */
import { Hono } from "hono";
import { parseDuration } from "../src/config/units.ts";
import { HttpError } from "./errors.ts";
import type { JobReport } from "../src/scrub/report.ts";

/** What a scrubber reports about its work for this owner. */
export type ScrubReport = JobReport;

/** One ticket this node issued. */
export interface ScrubTicketRow {
  /** The ticket id (base32). */
  id: string;
  /** The scrubber's node id, and its libp2p peer. */
  scrubber: string;
  peer: string;
  issued: number;
  expiry: number;
  maxContracts: number;
  maxQuota: number;
  state: "active" | "revoked" | "expired";
  /** What the scrubber reports (null when it is not active or could not be reached). */
  report: ScrubReport | null;
  /** Why the scrubber could not be asked. */
  error?: string;
}

/** The settings of new tickets (ms, contracts, bytes). */
export interface ScrubTicketSettings {
  expiry: number;
  maxContracts: number;
  maxQuota: number;
}

/** `GET /api/v1/scrub`. */
export interface ScrubView {
  tickets: ScrubTicketRow[];
  settings: ScrubTicketSettings;
  /** Scrubbers the node keeps hired by itself (the `scrubbers` setting; 0: only by hand). */
  wanted: number;
}

/** A ticket issued by a hire. */
export interface HiredScrubber {
  id: string;
  scrubber: string;
  expiry: number;
}

/** `POST /api/v1/scrub/hire`. */
export interface HireAnswer {
  hired: HiredScrubber[];
  asked: number;
}

/** What the scrubber routes need from the node. */
export interface ScrubBackend {
  list(): Promise<ScrubView>;
  /** Hires up to `count` more scrubbers; `expiry` (ms) is the life of these tickets only. */
  hire(count: number, expiry?: number, signal?: AbortSignal): Promise<HiredScrubber[]>;
  /**
   * Revokes a ticket by id or prefix: a `NotFoundError` when no ticket matches, a `RangeError`
   * when the prefix is too short or matches several.
   */
  revoke(id: string): Promise<{ id: string; scrubber: string }>;
}

/** Most scrubbers hired by one call (the owner's side allows 1 to 16). */
export const MAX_HIRE = 16;
/** Shortest ticket life a hire may ask for (as the `scrubExpiry` setting). */
export const MIN_TICKET_LIFE = 60_000;
/** Longest: ten years. A ticket lets its scrubber sign contracts for the owner until it ends. */
export const MAX_TICKET_LIFE = 3650 * 86_400_000;

/** Builds the scrubber routes. */
export function createScrubRoutes(b: ScrubBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/scrub", async (c) => c.json(await b.list()));
  app.post("/api/v1/scrub/hire", async (c) => {
    const body = await c.req.json().catch(() => null) as
      | { count?: unknown; expiry?: unknown }
      | null;
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw new HttpError(400, 'Body must be JSON {"count": 1..16, "expiry"?: "30d" | ms}');
    }
    const count = body.count;
    if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_HIRE) {
      throw new HttpError(
        400,
        `"count" must be a whole number from 1 to ${MAX_HIRE}, got ${
          JSON.stringify(count ?? null).slice(0, 40)
        }`,
      );
    }
    const expiry = body.expiry === undefined ? undefined : ticketLife(body.expiry);
    const hired = await b.hire(count as number, expiry, c.req.raw.signal);
    const answer: HireAnswer = { hired, asked: count as number };
    return c.json(answer);
  });
  app.post("/api/v1/scrub/revoke", async (c) => {
    const body = await c.req.json().catch(() => null) as { id?: unknown } | null;
    const id = body?.id;
    if (typeof id !== "string" || id.trim() === "" || id.length > 64) {
      throw new HttpError(
        400,
        'Body must be JSON {"id": "<ticket id or its first 4+ characters>"}',
      );
    }
    return c.json({ revoked: await b.revoke(id) });
  });
  return app;
}

/** A hire's `expiry`: a duration (`"30d"`) or milliseconds, within the allowed ticket life. */
function ticketLife(v: unknown): number {
  if (typeof v !== "string" && typeof v !== "number") {
    throw new HttpError(400, `"expiry" must be a duration like "30d" or milliseconds`);
  }
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    throw new HttpError(400, `"expiry": ${(e as Error).message}`);
  }
  if (ms < MIN_TICKET_LIFE || ms > MAX_TICKET_LIFE) {
    throw new HttpError(
      400,
      `"expiry" must be from 1 minute to 3650 days, got ${JSON.stringify(v).slice(0, 40)}`,
    );
  }
  return ms;
}
