// This module is browser compatible.
/**
 * The node API's world routes (behind the API guard; changes need the token):
 *
 * - `GET /api/v1/worlds`: the owner's worlds (name, address, seed, generator, region, title,
 *   grants, sequence, created) with the URLs this node's gateway serves each at.
 * - `POST /api/v1/worlds` `{ "name", "seed"?, "region"?, "title"? }`: creates a world (signs its
 *   record and lists it on the keep record); 409 when the owner already has one of that name.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** One world as the routes describe it. */
export interface WorldRow {
  name: string;
  address: string;
  seq: number;
  seed: number;
  generator: string;
  region: number;
  title: string | null;
  created: number;
  grants: { rx: number; rz: number; grantee: string; expiry: number }[];
  /** Where this node's gateway serves it (the client page). */
  urls: string[];
}

/** What a new world may set; the rest is chosen by the node. */
export interface WorldInit {
  name: string;
  /** Unsigned 32-bit; random when absent. */
  seed?: number;
  /** Region side in chunks, 1..1024 (default 8). */
  region?: number;
  title?: string;
}

/** What the world routes need from the node. */
export interface WorldBackend {
  list(): Promise<WorldRow[]>;
  create(init: WorldInit): Promise<WorldRow>;
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks a create request's body; throws a 400 naming the first bad field. */
export function parseWorldInit(body: unknown): WorldInit {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'Body must be JSON {"name", "seed"?, "region"?, "title"?}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["name", "seed", "region", "title"].includes(k)) {
      throw new HttpError(400, `Unexpected field "${k.slice(0, 40)}"`);
    }
  }
  if (typeof b.name !== "string" || !NAME_RE.test(b.name)) {
    throw new HttpError(
      400,
      `${JSON.stringify(String(b.name ?? "")).slice(0, 80)} is not a world name: 1 to 63 ` +
        "lower-case letters, digits and hyphens, not starting or ending with a hyphen",
    );
  }
  const init: WorldInit = { name: b.name };
  if (b.seed !== undefined) {
    if (!Number.isInteger(b.seed) || (b.seed as number) < 0 || (b.seed as number) > 0xffffffff) {
      throw new HttpError(400, `"seed" must be an integer from 0 to 4294967295, got ${b.seed}`);
    }
    init.seed = b.seed as number;
  }
  if (b.region !== undefined) {
    if (!Number.isInteger(b.region) || (b.region as number) < 1 || (b.region as number) > 1024) {
      throw new HttpError(
        400,
        `"region" must be an integer from 1 to 1024 chunks, got ${b.region}`,
      );
    }
    init.region = b.region as number;
  }
  if (b.title !== undefined) {
    if (typeof b.title !== "string" || b.title.length > 200) {
      throw new HttpError(400, '"title" must be a string of at most 200 characters');
    }
    init.title = b.title;
  }
  return init;
}

/** Builds the world routes. */
export function createWorldRoutes(b: WorldBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/worlds", async (c) => c.json({ worlds: await b.list() }));
  app.post("/api/v1/worlds", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, 'Body must be JSON {"name", "seed"?, "region"?, "title"?}');
    }
    return c.json(await b.create(parseWorldInit(body)), 201);
  });
  return app;
}
