/** The node API's link routes over the owner's storage ({@linkcode createLink}, the link book). */
import type { LinkBackend, LinkRow } from "../../gateway/link_api.ts";
import { HttpError } from "../../gateway/errors.ts";
import { type LinkEntry, LinkNotFoundError } from "./link_book.ts";
import { createLink } from "./links.ts";
import type { StorageService } from "./storage.ts";

function row(l: LinkEntry): LinkRow {
  const { id, path, created, files, bytes } = l;
  return { id, path, created, expires: l.expires ?? null, files, bytes };
}

/** Builds the link backend; `gateway()` is the public gateway's base URL (http://host:port). */
export function linkBackend(storage: StorageService, gateway: () => string): LinkBackend {
  return {
    list: () => Promise.resolve(storage.links.list().map(row)),
    async create(path, expiresIn) {
      const now = Date.now();
      const { link, url } = await createLink(storage, path, {
        gateway: gateway(),
        now,
        ...(expiresIn !== undefined ? { expires: now + expiresIn } : {}),
      });
      return { ...row(link), url };
    },
    async remove(id) {
      try {
        return row(await storage.links.remove(id));
      } catch (e) {
        if (e instanceof LinkNotFoundError) throw new HttpError(404, e.message);
        throw e;
      }
    },
  };
}
