/**
 * The node API's file routes (mounted on the API app, behind its guard):
 *
 * - `PUT /api/v1/files/<path>`: streams the body in as a new version. `Content-Length` (or, for
 *   a chunked body, `X-Mote-Size`) is required; `X-Mote-Mtime` (ms) records the source's modification time; with
 *   `X-Mote-Skip-Unchanged: 1` an upload whose size, mtime and keyed hash match the newest
 *   version is skipped (`{"skipped": true}`), and one that only looks unchanged answers 409 so
 *   the client sends it again without the header. An upload with an mtime that was interrupted
 *   resumes when sent again with the same path, size and mtime (`"resumed"` counts the bytes
 *   already stored); if the content changed meanwhile it answers 409, and sending it again
 *   stores it as a new version.
 * - `GET /api/v1/files/<path>[?version=N][&download=1]`: streams a file, with single `Range`
 *   requests (206); `download=1` adds `Content-Disposition: attachment` with the file's name.
 * - `POST /api/v1/batch/<folder>`: several small files of one folder in one request
 *   (`multipart/form-data`: a `meta` field, JSON `[{ "name", "mtime"? }]`, then one `file` part
 *   per entry in the same order). They are stored with one folder update: tiny files inline, the
 *   rest packed together; unchanged files (same size, mtime and keyed hash) are skipped.
 * - `POST /api/v1/mkdir/<path>`: creates a folder and its missing parents (201, or 200 when it
 *   existed). `POST /api/v1/restore/<path>` `{ "version": N }`: stores version N of a file again
 *   as its newest (streamed on the node, under a fresh key).
 * - `DELETE /api/v1/files/<path>`; `GET /api/v1/ls/<path>`; `GET /api/v1/versions/<path>`;
 *   `POST /api/v1/prune` `{ "path", "keep"?, "days"? }` (a file, or every file under a folder;
 *   a version stays if among the newest `keep` or younger than `days`); `GET /api/v1/suppliers`; `GET /api/v1/du`;
 *   `GET /api/v1/health` (per-supplier health and audits, rebuilding).
 *
 * Path segments are percent-decoded one by one; traversal (`..`, `.`, separators, NUL) is
 * refused by the catalog with 400.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** What the file routes need from the node. */
export interface FilesBackend {
  put(
    path: string,
    body: AsyncIterable<Uint8Array>,
    size: number,
    opts: { mtime?: number; skipUnchanged: boolean; signal: AbortSignal },
  ): Promise<Record<string, unknown>>;
  /** Stores small files of one folder together. */
  putBatch(
    dir: string,
    items: { name: string; bytes: Uint8Array; mtime?: number }[],
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
  get(
    path: string,
    opts: { version?: number; range?: { start: number; end: number } },
  ): Promise<{ size: number; added: number; stream: ReadableStream<Uint8Array> }>;
  /** The size of a file version (to answer a Range request). */
  size(path: string, version?: number): Promise<{ size: number; added: number }>;
  remove(path: string): Promise<void>;
  /** Creates a folder (and missing parents); false when it existed. */
  mkdir(path: string): Promise<boolean>;
  /** Stores an older version of a file again as its newest. */
  restoreVersion(
    path: string,
    version: number,
    signal: AbortSignal,
  ): Promise<{ path: string; size: number; versions: number }>;

  list(path: string): Promise<unknown[]>;
  versions(path: string): Promise<unknown[]>;
  prune(path: string, rule: { keep?: number; days?: number }): Promise<number>;
  suppliers(): Promise<unknown>;
  /** Changes how many suppliers to hire; returns the new code. */
  setSupplierCount(count: number): Promise<{ k: number; m: number }>;
  usage(): Promise<unknown>;
  /** Supplier health, audits and rebuilding. */
  health(): Promise<unknown>;
}

const MAX_UPLOAD = 2 ** 53 - 1;
/** Largest batch request body (the files plus multipart framing). */
export const MAX_BATCH_BODY = 20 << 20;
/** Largest total of file bytes in one batch. */
const MAX_BATCH_FILES = 16 << 20;

/** Builds the file routes. */
export function createFilesRoutes(b: FilesBackend): Hono {
  const app = new Hono();

  app.put("/api/v1/files/*", async (c) => {
    const path = pathAfter(c.req.path, "/api/v1/files/");
    // Streamed (chunked) bodies carry no Content-Length, so X-Mote-Size may announce the size;
    // the data path refuses a body whose length differs from it.
    const len = c.req.header("content-length") ?? c.req.header("x-mote-size");
    if (len === undefined || !/^\d+$/.test(len)) {
      throw new HttpError(411, "Send a Content-Length or X-Mote-Size");
    }
    const size = Number(len);
    if (size > MAX_UPLOAD) throw new HttpError(413, "Body too large");
    const mtimeText = c.req.header("x-mote-mtime");
    const mtime = mtimeText === undefined ? undefined : Number(mtimeText);
    if (mtime !== undefined && (!Number.isSafeInteger(mtime) || mtime < 0)) {
      throw new HttpError(400, `X-Mote-Mtime must be milliseconds, got "${mtimeText}"`);
    }
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
    const result = await b.put(path, body, size, {
      mtime,
      skipUnchanged: c.req.header("x-mote-skip-unchanged") === "1",
      signal: c.req.raw.signal,
    });
    return c.json(result, result.skipped ? 200 : 201);
  });

  app.get("/api/v1/files/*", async (c) => {
    const path = pathAfter(c.req.path, "/api/v1/files/");
    const version = versionParam(c.req.query("version"));
    const head = await b.size(path, version);
    const etag = `"${head.added}-${head.size}"`;
    c.header("ETag", etag);
    c.header("Accept-Ranges", "bytes");
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    const rangeHeader = c.req.header("range");
    const range = rangeHeader ? parseRange(rangeHeader, head.size) : undefined;
    if (range === null) {
      c.header("Content-Range", `bytes */${head.size}`);
      return c.json({ error: `Range "${rangeHeader!.slice(0, 60)}" cannot be satisfied` }, 416);
    }
    const { stream } = await b.get(path, { version, range });
    c.header("Content-Type", "application/octet-stream");
    if (c.req.query("download") === "1") {
      c.header("Content-Disposition", contentDisposition(path.slice(path.lastIndexOf("/") + 1)));
    }
    if (range) {
      c.header("Content-Range", `bytes ${range.start}-${range.end - 1}/${head.size}`);
      c.header("Content-Length", String(range.end - range.start));
      return c.body(stream, 206);
    }
    c.header("Content-Length", String(head.size));
    return c.body(stream, 200);
  });

  app.post("/api/v1/batch/*", async (c) => {
    const dir = pathAfter(c.req.path, "/api/v1/batch/");
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw new HttpError(400, "Send multipart/form-data with a meta field and file parts");
    }
    const metaText = form.get("meta");
    const files = form.getAll("file");
    let meta: unknown;
    try {
      meta = JSON.parse(typeof metaText === "string" ? metaText : "");
    } catch {
      throw new HttpError(400, 'The "meta" field must be JSON [{"name": …, "mtime"?: …}]');
    }
    if (!Array.isArray(meta) || meta.length !== files.length) {
      throw new HttpError(400, `"meta" must list one entry per file part (${files.length})`);
    }
    let total = 0;
    const items = await Promise.all(meta.map(async (m, i) => {
      const f = files[i];
      const { name, mtime } = (m ?? {}) as { name?: unknown; mtime?: unknown };
      if (typeof name !== "string" || !(f instanceof File)) {
        throw new HttpError(400, `Entry ${i} needs a name and a file part`);
      }
      if (mtime !== undefined && (!Number.isSafeInteger(mtime) || (mtime as number) < 0)) {
        throw new HttpError(400, `Entry ${i}: mtime must be milliseconds`);
      }
      total += f.size;
      if (total > MAX_BATCH_FILES) {
        throw new HttpError(413, `A batch carries at most ${MAX_BATCH_FILES >> 20} MiB of files`);
      }
      return { name, bytes: new Uint8Array(await f.arrayBuffer()), mtime: mtime as number };
    }));
    return c.json(await b.putBatch(dir, items, c.req.raw.signal), 201);
  });

  app.post("/api/v1/mkdir/*", async (c) => {
    const created = await b.mkdir(pathAfter(c.req.path, "/api/v1/mkdir/"));
    return c.json({ created }, created ? 201 : 200);
  });
  app.post("/api/v1/restore/*", async (c) => {
    const body = await c.req.json().catch(() => null) as { version?: unknown } | null;
    if (!body || !Number.isInteger(body.version) || (body.version as number) < 1) {
      throw new HttpError(400, 'Body must be JSON {"version": N ≥ 1} (0 is the newest already)');
    }
    const path = pathAfter(c.req.path, "/api/v1/restore/");
    return c.json(await b.restoreVersion(path, body.version as number, c.req.raw.signal), 201);
  });
  app.delete("/api/v1/files/*", async (c) => {
    await b.remove(pathAfter(c.req.path, "/api/v1/files/"));
    return c.json({ removed: true });
  });
  app.get("/api/v1/ls", async (c) => c.json({ entries: await b.list("/") }));
  app.get(
    "/api/v1/ls/*",
    async (c) => c.json({ entries: await b.list(pathAfter(c.req.path, "/api/v1/ls/")) }),
  );
  app.get(
    "/api/v1/versions/*",
    async (c) => c.json({ versions: await b.versions(pathAfter(c.req.path, "/api/v1/versions/")) }),
  );
  app.post("/api/v1/prune", async (c) => {
    const body = await c.req.json().catch(() => null) as
      | { path?: unknown; keep?: unknown; days?: unknown }
      | null;
    const keepOk = body?.keep === undefined ||
      (Number.isInteger(body.keep) && (body.keep as number) >= 1);
    const daysOk = body?.days === undefined ||
      (typeof body.days === "number" && Number.isFinite(body.days) && body.days >= 0);
    if (
      !body || typeof body.path !== "string" || !keepOk || !daysOk ||
      (body.keep === undefined && body.days === undefined)
    ) {
      throw new HttpError(
        400,
        'Body must be JSON {"path": "/file-or-folder", "keep": N ≥ 1, "days": D ≥ 0} (keep, days or both)',
      );
    }
    const rule = {
      ...(body.keep !== undefined ? { keep: body.keep as number } : {}),
      ...(body.days !== undefined ? { days: body.days as number } : {}),
    };
    return c.json({ deleted: await b.prune(body.path, rule) });
  });
  app.get("/api/v1/suppliers", async (c) => c.json(await b.suppliers()));
  app.post("/api/v1/suppliers", async (c) => {
    const body = await c.req.json().catch(() => null) as { count?: unknown } | null;
    if (!body || !Number.isInteger(body.count)) {
      throw new HttpError(400, 'Body must be JSON {"count": N}');
    }
    return c.json(await b.setSupplierCount(body.count as number));
  });
  app.get("/api/v1/du", async (c) => c.json(await b.usage()));
  app.get("/api/v1/health", async (c) => c.json(await b.health()));
  return app;
}

/** The decoded remote path after a route prefix. */
export function pathAfter(raw: string, prefix: string): string {
  const rest = raw.slice(prefix.length);
  try {
    return "/" + rest.split("/").map((s) => decodeURIComponent(s)).join("/");
  } catch {
    throw new HttpError(400, "The path is not valid percent-encoding");
  }
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 8187 form. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_") || "download";
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16)}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

function versionParam(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,6}$/.test(v)) {
    throw new HttpError(400, `version must be a small whole number, got "${v.slice(0, 20)}"`);
  }
  return Number(v);
}

/** Parses a single `bytes=` range; null when it cannot be satisfied, undefined when absent. */
export function parseRange(header: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number, end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || end <= start) return null;
  return { start, end };
}
