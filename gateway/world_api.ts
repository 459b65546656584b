// This module is browser compatible.
/**
 * The node API's world routes (behind the API guard; changes need the token):
 *
 * - `GET /api/v1/worlds`: the owner's worlds (name, address, seed, generator, region, title,
 *   grants, sequence, created) with the URLs this node's gateway serves each at.
 * - `POST /api/v1/worlds` `{ "name", "seed"?, "region"?, "title"? }`: creates a world (signs its
 *   record and lists it on the keep record); 409 when the owner already has one of that name.
 * - `POST /api/v1/worlds/<name>/grants` `{ "rx", "rz", "grantee", "expires"? }`: lets `grantee`
 *   (a node id) edit region (`rx`, `rz`) for `expires` ms (default 30 days): the owner's node
 *   republishes the world record with the grant (a higher sequence); an existing grant of that
 *   region to that node is replaced. 404 for a world the owner does not have.
 * - `DELETE /api/v1/worlds/<name>/grants/<rx>/<rz>/<grantee>`: ends that grant now (its expiry
 *   becomes now; the grant stays listed, ended, so the grantee's earlier edits stay merged) and
 *   republishes the record; the owner's node then signs the region's checkpoint. 404 when the
 *   world lists no such grant; a grant already ended is answered as it is.
 * - `POST /api/v1/worlds/<address>/edits` `{ "region": [rx, rz], "edits": [...] }`: this node
 *   adds the edits (without counters: `{ op, x, z, h | d | m | kind, rotation, scale }`,
 *   region-local) to its batch for the region, signs it with its own key and publishes it (at
 *   most once a second per region; the answer comes once the batch holding them is published).
 *   403 when the world grants this node no current grant for the region.
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
  grants: GrantRow[];
  /** Where this node's gateway serves it (the client page). */
  urls: string[];
}

/** A grant as the routes list it. */
export interface GrantRow {
  rx: number;
  rz: number;
  grantee: string;
  /** When it ends (or ended), ms. */
  expiry: number;
  /** Its expiry has passed (on this node's clock): expired or revoked. */
  ended: boolean;
  /** Ended, and the region's checkpoint this node signed since holds the grantee to its edits. */
  checkpointed: boolean;
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

/** A grant to add to a world. */
export interface GrantInit {
  rx: number;
  rz: number;
  /** The grantee's node id. */
  grantee: string;
  /** How long from now it lasts (ms). */
  expires: number;
}

/** The grant length used when none is given: 30 days. */
export const DEFAULT_GRANT_MS = 30 * 24 * 3600_000;
/** The longest grant one request makes: 100 years. */
export const MAX_GRANT_MS = 100 * 365 * 24 * 3600_000;

/** An edit as a page sends it: region-local, without its counter. */
export type NewEditInput =
  | { op: "height"; x: number; z: number; h: number }
  | { op: "raise"; x: number; z: number; d: number }
  | { op: "material"; x: number; z: number; m: number }
  | { op: "place" | "remove"; x: number; z: number; kind: number; rotation: number; scale: number };

/** What publishing edits answers. */
export interface EditResult {
  world: string;
  region: [number, number];
  editor: string;
  /** The counter of the batch now published (the record's sequence number). */
  seq: number;
  /** Edits the region's batch holds. */
  edits: number;
  /** The batch's record key (`/mote/wedit/<hash>`). */
  key: string;
}

/** Most edits one request carries. */
export const MAX_EDITS_PER_REQUEST = 1024;

const EDIT_FIELDS: Record<string, readonly string[]> = {
  height: ["h"],
  raise: ["d"],
  material: ["m"],
  place: ["kind", "rotation", "scale"],
  remove: ["kind", "rotation", "scale"],
};

/** Checks an edits request's body (shapes only; ranges are the batcher's); throws a 400. */
export function parseEditRequest(
  body: unknown,
): { rx: number; rz: number; edits: NewEditInput[] } {
  const shape = 'Body must be JSON {"region": [rx, rz], "edits": [{ "op", "x", "z", ... }]}';
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, shape);
  }
  const b = body as Record<string, unknown>;
  const region = b.region;
  if (
    !Array.isArray(region) || region.length !== 2 ||
    !region.every((v) => Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff)
  ) {
    throw new HttpError(400, `"region" must be [rx, rz], two signed 32-bit integers`);
  }
  if (!Array.isArray(b.edits) || b.edits.length === 0 || b.edits.length > MAX_EDITS_PER_REQUEST) {
    throw new HttpError(400, `"edits" must be a list of 1 to ${MAX_EDITS_PER_REQUEST} edits`);
  }
  const edits = b.edits.map((e: unknown, i: number) => {
    const o = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
    const fields = EDIT_FIELDS[String(o.op)];
    if (!fields) {
      throw new HttpError(400, `Edit ${i}: "op" must be one of ${Object.keys(EDIT_FIELDS)}`);
    }
    const out: Record<string, unknown> = { op: o.op };
    for (const k of ["x", "z", ...fields]) {
      if (!Number.isInteger(o[k])) throw new HttpError(400, `Edit ${i}: "${k}" must be an integer`);
      out[k] = o[k];
    }
    return out as unknown as NewEditInput;
  });
  return { rx: region[0], rz: region[1], edits };
}

/** What the world routes need from the node. */
export interface WorldBackend {
  list(): Promise<WorldRow[]>;
  create(init: WorldInit): Promise<WorldRow>;
  /** Adds (or replaces) a grant in the owner's world `name` and republishes it. */
  grant(name: string, grant: GrantInit): Promise<WorldRow>;
  /** Ends the grants of region (`rx`, `rz`) of world `name` to `grantee` now, and republishes. */
  revoke?(name: string, rx: number, rz: number, grantee: string): Promise<WorldRow>;
  /** Signs and publishes this node's edits to one region of world `address`. */
  edit?(address: string, rx: number, rz: number, edits: NewEditInput[]): Promise<EditResult>;
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

/** Checks a grant request's body; throws a 400 naming the first bad field. */
export function parseGrantInit(body: unknown): GrantInit {
  const shape = 'Body must be JSON {"rx", "rz", "grantee", "expires"?}';
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, shape);
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["rx", "rz", "grantee", "expires"].includes(k)) {
      throw new HttpError(400, `Unexpected field "${k.slice(0, 40)}"`);
    }
  }
  for (const k of ["rx", "rz"] as const) {
    const v = b[k];
    if (!Number.isInteger(v) || (v as number) < -0x80000000 || (v as number) > 0x7fffffff) {
      throw new HttpError(400, `"${k}" must be a signed 32-bit integer, got ${String(v)}`);
    }
  }
  if (typeof b.grantee !== "string" || !/^[a-z2-7]{52}$/.test(b.grantee)) {
    throw new HttpError(
      400,
      `"grantee" must be a node id (52 base32 characters), got ${
        JSON.stringify(String(b.grantee ?? "")).slice(0, 70)
      }`,
    );
  }
  const expires = b.expires ?? DEFAULT_GRANT_MS;
  if (!Number.isInteger(expires) || (expires as number) < 1 || (expires as number) > MAX_GRANT_MS) {
    throw new HttpError(
      400,
      `"expires" must be a whole number of ms from 1 to ${MAX_GRANT_MS}, got ${String(expires)}`,
    );
  }
  return { rx: b.rx as number, rz: b.rz as number, grantee: b.grantee, expires: expires as number };
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
  app.post("/api/v1/worlds/:name/grants", async (c) => {
    const name = c.req.param("name");
    if (!NAME_RE.test(name)) throw new HttpError(400, `"${name.slice(0, 70)}" is not a world name`);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, 'Body must be JSON {"rx", "rz", "grantee", "expires"?}');
    }
    return c.json(await b.grant(name, parseGrantInit(body)));
  });
  app.delete("/api/v1/worlds/:name/grants/:rx/:rz/:grantee", async (c) => {
    const { name, grantee } = c.req.param();
    if (!NAME_RE.test(name)) throw new HttpError(400, `"${name.slice(0, 70)}" is not a world name`);
    const [rx, rz] = [c.req.param("rx"), c.req.param("rz")].map((v, i) => {
      const n = /^(0|-?[1-9][0-9]{0,9})$/.test(v) ? Number(v) : NaN;
      if (!(n >= -0x80000000 && n <= 0x7fffffff)) {
        throw new HttpError(
          400,
          `"${i ? "rz" : "rx"}" must be a signed 32-bit integer, got "${v.slice(0, 20)}"`,
        );
      }
      return n;
    }) as [number, number];
    if (!/^[a-z2-7]{52}$/.test(grantee)) {
      throw new HttpError(400, `"${grantee.slice(0, 60)}" is not a node id`);
    }
    if (!b.revoke) throw new HttpError(501, "This node does not revoke grants");
    return c.json(await b.revoke(name, rx, rz, grantee));
  });
  app.post("/api/v1/worlds/:address/edits", async (c) => {
    const address = c.req.param("address");
    if (!/^[a-z2-7]{52}$/.test(address)) {
      throw new HttpError(400, `"${address.slice(0, 60)}" is not a world address`);
    }
    if (!b.edit) throw new HttpError(501, "This node does not make world edits");
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, 'Body must be JSON {"region": [rx, rz], "edits": [...]}');
    }
    const { rx, rz, edits } = parseEditRequest(body);
    return c.json(await b.edit(address, rx, rz, edits));
  });
  return app;
}
