// This module is browser compatible.
/**
 * The node API's site routes (behind the API guard; changes need the token):
 *
 * - `GET /api/v1/sites`: the owner's sites (name, address, sequence, files, bytes, published,
 *   removed) with the URLs this node's gateway serves each at.
 * - `POST /api/v1/sites/<name>` `{ "files"?: ["/index.html", …] }`: publishes the site from its
 *   files in the catalog (`/.sites/<name>/`, uploaded first through the file routes): every file
 *   there, or only those listed. Answers `{ name, address, seq, files, bytes, urls }`.
 * - `DELETE /api/v1/sites/<name>`: unpublishes it (a `removed` record) and deletes its files.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** One site as the routes describe it. */
export interface SiteRow {
  name: string;
  address: string;
  seq: number | null;
  published: number | null;
  files: number;
  bytes: number;
  removed: boolean;
  /** Where this node's gateway serves it (subdomain and path forms). */
  urls: string[];
}

/** What the site routes need from the node. */
export interface SiteBackend {
  list(): Promise<SiteRow[]>;
  publish(
    name: string,
    files: string[] | undefined,
  ): Promise<
    { name: string; address: string; seq: number; files: number; bytes: number; urls: string[] }
  >;
  remove(name: string): Promise<{ name: string; address: string; files: number }>;
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_LISTED = 100_000;

function siteName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new HttpError(
      400,
      `"${name.slice(0, 80)}" is not a site name: 1 to 63 lower-case letters, digits and hyphens`,
    );
  }
  return name;
}

/** Builds the site routes. */
export function createSiteRoutes(b: SiteBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/sites", async (c) => c.json({ sites: await b.list() }));
  app.post("/api/v1/sites/:name", async (c) => {
    const name = siteName(c.req.param("name"));
    const body = await c.req.json().catch(() => ({})) as { files?: unknown } | null;
    let files: string[] | undefined;
    if (body && typeof body === "object" && "files" in body && body.files !== undefined) {
      if (
        !Array.isArray(body.files) || body.files.length > MAX_LISTED ||
        !body.files.every((f) => typeof f === "string" && f.length > 0 && f.length <= 4096)
      ) {
        throw new HttpError(400, `"files" must be a list of at most ${MAX_LISTED} paths`);
      }
      files = body.files as string[];
    }
    return c.json(await b.publish(name, files));
  });
  app.delete(
    "/api/v1/sites/:name",
    async (c) => c.json(await b.remove(siteName(c.req.param("name")))),
  );
  return app;
}
