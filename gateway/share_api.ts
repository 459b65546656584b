/**
 * The node API's sharing routes (behind the API guard; changes need the token), issue 8:
 *
 * - `GET /api/v1/perms[/<folder>]`: the long listing (`ls -l`): name, type, size, mtime,
 *   versions, mode (0..0o777), owner, group.
 * - `POST /api/v1/chmod` `{ "path", "mode", "cap"?: bytes }` (octal `"750"` or symbolic
 *   `"g+r,o-rwx"`; `cap`: the byte cap per supplier when the mode gives others write, o+w);
 *   `POST /api/v1/chgrp` `{ "path", "group": name | null }`. Both answer `{ path, mode, group }`;
 *   chmod adds `othersWrite: { cap }` when others may write, `writeRotated: true` when o+w was
 *   taken away (the write key rotated).
 * - `GET /api/v1/groups`: `{ owned: [{ name, owner, epoch, members }] | null (storage not ready),
 *   memberOf: [{ owner, name, epoch, members }] }` (groups this node found itself in while reading
 *   shares).
 *   `POST /api/v1/groups` `{ "name" }`; `POST /api/v1/groups/<name>/members` `{ "id" }`;
 *   `DELETE /api/v1/groups/<name>/members/<id>` (a new epoch; what the group read is re-keyed).
 * - `GET /api/v1/shares`: what this node shares (path, kind, readers, groups, public, and for
 *   folders shared for writing writers, writeGroups, cap and, when others may write, othersWrite).
 *   `POST /api/v1/shares` `{ "path", "with": "<node id>" | "group:<name>", "revoke"?: true,
 *   "write"?: true, "cap"?: bytes }` (`write`: folders only; it gives read too; with `revoke` it
 *   takes write only and rotates the folder's write key).
 * - `PUT /api/v1/shared/<owner>/files/<folder>/<name>`: writes a file into a folder `<owner>`
 *   shares with this node for writing (its shards go to the owner's suppliers; the owner's node
 *   merges it into its folder, after which readers see it). 403 when this node may not write.
 * - `GET /api/v1/shared/<owner>[/ls/<path>]`: what `<owner>` shares with this node (the root:
 *   the shared paths), or a folder in it. `GET /api/v1/shared/<owner>/files/<path>`: a file's
 *   bytes, read from the owner's suppliers (the owner's node may be off).
 *
 * Refusals: 404 for an unknown owner or node id, 403 for nothing shared, a path outside what was
 * shared, or a revoked key; 400 for malformed input.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";
import { pathAfter } from "./files.ts";

/** What the sharing routes need from the node. */
export interface SharingBackend {
  listLong(path: string): Promise<unknown[]>;
  chmod(path: string, mode: string, opts?: { cap?: number }): Promise<unknown>;
  chgrp(path: string, group: string | null): Promise<unknown>;
  /** `owned` is null while the node's storage (where its groups are kept) is not ready. */
  groups(): Promise<{ owned: unknown[] | null; memberOf: unknown[] }>;
  createGroup(name: string): Promise<unknown>;
  addMember(name: string, id: string): Promise<unknown>;
  removeMember(name: string, id: string): Promise<unknown>;
  shares(): Promise<unknown[]>;
  share(
    path: string,
    target: string,
    revoke: boolean,
    opts?: { write?: boolean; cap?: number },
  ): Promise<unknown>;
  sharedList(owner: string, path: string, signal: AbortSignal): Promise<unknown[]>;
  sharedGet(
    owner: string,
    path: string,
    signal: AbortSignal,
  ): Promise<{ size: number; stream: ReadableStream<Uint8Array> }>;
  /** Writes a file into a folder `owner` shares with this node for writing. */
  sharedPut?(
    owner: string,
    path: string,
    body: ReadableStream<Uint8Array>,
    size: number,
    opts: { mtime?: number; signal: AbortSignal },
  ): Promise<unknown>;
}

const ID_RE = /^[a-z2-7]{52}$/;
const STATUS: Record<string, 403 | 404> = {
  "no-owner": 404,
  "unknown-id": 404,
  "nothing-shared": 403,
  denied: 403,
  revoked: 403,
  "not-member": 403,
  "not-owner": 403,
  "no-grant": 403,
  "bad-wrap": 403,
  "stale-epoch": 403,
  "stale-policy": 403,
};

/** Maps sharing refusals (`SharingError`, with a `reason`) to HTTP answers. */
async function refusals<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const reason = (e as { reason?: string }).reason;
    if ((e as Error).name === "SharingError" && reason && STATUS[reason]) {
      throw new HttpError(STATUS[reason], (e as Error).message);
    }
    throw e;
  }
}

async function body(req: Request): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = await req.json();
  } catch {
    throw new HttpError(400, "Body must be a JSON object");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new HttpError(400, "Body must be a JSON object");
  }
  return v as Record<string, unknown>;
}

function str(b: Record<string, unknown>, key: string, max: number): string {
  const v = b[key];
  if (typeof v !== "string" || v.length === 0 || v.length > max) {
    throw new HttpError(400, `"${key}" must be a string of 1 to ${max} characters`);
  }
  return v;
}

/** An optional byte cap: a positive whole number of bytes. */
function optionalCap(cap: unknown): number | undefined {
  if (cap === undefined) return undefined;
  if (typeof cap !== "number" || !Number.isSafeInteger(cap) || cap <= 0) {
    throw new HttpError(400, `"cap" must be a positive whole number of bytes`);
  }
  return cap;
}

function owner(id: string): string {
  if (!ID_RE.test(id)) throw new HttpError(400, `"${id.slice(0, 60)}" is not a node id`);
  return id;
}

/** Builds the sharing routes. */
export function createSharingRoutes(b: SharingBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/perms", async (c) => c.json({ entries: await b.listLong("/") }));
  app.get(
    "/api/v1/perms/*",
    async (c) => c.json({ entries: await b.listLong(pathAfter(c.req.path, "/api/v1/perms/")) }),
  );
  app.post("/api/v1/chmod", async (c) => {
    const x = await body(c.req.raw);
    const cap = optionalCap(x.cap);
    return c.json(
      await refusals(() =>
        b.chmod(str(x, "path", 4096), str(x, "mode", 64), cap !== undefined ? { cap } : {})
      ),
    );
  });
  app.post("/api/v1/chgrp", async (c) => {
    const x = await body(c.req.raw);
    const group = x.group === null ? null : str(x, "group", 64);
    return c.json(await refusals(() => b.chgrp(str(x, "path", 4096), group)));
  });
  app.get("/api/v1/groups", async (c) => c.json(await b.groups()));
  app.post("/api/v1/groups", async (c) => {
    const x = await body(c.req.raw);
    return c.json(await refusals(() => b.createGroup(str(x, "name", 64))), 201);
  });
  app.post("/api/v1/groups/:name/members", async (c) => {
    const x = await body(c.req.raw);
    const id = owner(str(x, "id", 52));
    return c.json(await refusals(() => b.addMember(c.req.param("name"), id)));
  });
  app.delete("/api/v1/groups/:name/members/:id", async (c) => {
    const id = owner(c.req.param("id"));
    return c.json(await refusals(() => b.removeMember(c.req.param("name"), id)));
  });
  app.get("/api/v1/shares", async (c) => c.json({ shares: await b.shares() }));
  app.post("/api/v1/shares", async (c) => {
    const x = await body(c.req.raw);
    for (const k of ["revoke", "write"]) {
      if (x[k] !== undefined && typeof x[k] !== "boolean") {
        throw new HttpError(400, `"${k}" must be true or false`);
      }
    }
    const cap = optionalCap(x.cap);
    const opts = {
      ...(x.write === true ? { write: true } : {}),
      ...(cap !== undefined ? { cap } : {}),
    };
    return c.json(
      await refusals(() =>
        b.share(str(x, "path", 4096), str(x, "with", 80), x.revoke === true, opts)
      ),
    );
  });
  app.get("/api/v1/shared/:owner", async (c) => {
    const o = owner(c.req.param("owner"));
    return c.json({ entries: await refusals(() => b.sharedList(o, "/", c.req.raw.signal)) });
  });
  app.get("/api/v1/shared/:owner/ls/*", async (c) => {
    const o = owner(c.req.param("owner"));
    const path = pathAfter(c.req.path, `/api/v1/shared/${o}/ls/`);
    return c.json({ entries: await refusals(() => b.sharedList(o, path, c.req.raw.signal)) });
  });
  app.get("/api/v1/shared/:owner/files/*", async (c) => {
    const o = owner(c.req.param("owner"));
    const path = pathAfter(c.req.path, `/api/v1/shared/${o}/files/`);
    const { size, stream } = await refusals(() => b.sharedGet(o, path, c.req.raw.signal));
    c.header("Content-Type", "application/octet-stream");
    c.header("Content-Length", String(size));
    return c.body(stream, 200);
  });
  app.put("/api/v1/shared/:owner/files/*", async (c) => {
    if (!b.sharedPut) throw new HttpError(501, "Writing to others' folders is not available here");
    const o = owner(c.req.param("owner"));
    const path = pathAfter(c.req.path, `/api/v1/shared/${o}/files/`);
    const len = c.req.header("content-length") ?? c.req.header("x-mote-size");
    if (len === undefined || !/^\d{1,15}$/.test(len)) {
      throw new HttpError(411, "Send a Content-Length or X-Mote-Size");
    }
    const mtime = c.req.header("x-mote-mtime");
    const body = c.req.raw.body ?? new ReadableStream({ start: (ctl) => ctl.close() });
    const r = await refusals(() =>
      b.sharedPut!(o, path, body, Number(len), {
        ...(mtime && /^\d{1,15}$/.test(mtime) ? { mtime: Number(mtime) } : {}),
        signal: c.req.raw.signal,
      })
    );
    return c.json(r, 201);
  });
  return app;
}
