// This module is browser compatible.
/**
 * The node API's quick link routes (behind the API guard; changes need the token):
 *
 * - `GET /api/v1/links`: the owner's links (id, path, created, expires, files, bytes). The URLs
 *   are not listed: the node never keeps a link's key.
 * - `POST /api/v1/links` `{ "path": "/photos", "expires"?: <ms from now> }`: snapshots the file
 *   or folder under a fresh key and answers `{ id, path, url, expires, files, bytes }`; the URL
 *   (with the key in its fragment) is answered this once.
 * - `DELETE /api/v1/links/<id>`: deletes the link's snapshot object from the suppliers.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** One link as the routes describe it. */
export interface LinkRow {
  id: string;
  path: string;
  created: number;
  expires: number | null;
  files: number;
  bytes: number;
}

/** What the link routes need from the node. */
export interface LinkBackend {
  list(): Promise<LinkRow[]>;
  create(path: string, expiresIn: number | undefined): Promise<LinkRow & { url: string }>;
  remove(id: string): Promise<LinkRow>;
}

/** Longest expiry accepted: ten years (ms). */
const MAX_EXPIRY = 10 * 365 * 86_400_000;
const ID_RE = /^[0-9a-f]{12}$/;

/** Builds the link routes. */
export function createLinkRoutes(b: LinkBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/links", async (c) => c.json({ links: await b.list() }));
  app.post("/api/v1/links", async (c) => {
    const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    const path = body?.path;
    if (typeof path !== "string" || path.length === 0 || path.length > 4096) {
      throw new HttpError(400, `"path" must be the path of a file or folder`);
    }
    const expires = body?.expires;
    if (
      expires !== undefined &&
      (typeof expires !== "number" || !Number.isSafeInteger(expires) || expires < 1000 ||
        expires > MAX_EXPIRY)
    ) {
      throw new HttpError(400, `"expires" must be a duration in ms from 1000 to ${MAX_EXPIRY}`);
    }
    return c.json(await b.create(path, expires as number | undefined));
  });
  app.delete("/api/v1/links/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID_RE.test(id)) throw new HttpError(400, `"${id.slice(0, 40)}" is not a link id`);
    return c.json(await b.remove(id));
  });
  return app;
}
