/**
 * The node API's site routes over the owner's catalog ({@linkcode publishSite},
 * {@linkcode removeSite}, {@linkcode listSites}), with the URLs this node's gateway serves each
 * site at.
 */
import type { SiteBackend } from "../../gateway/site_api.ts";
import { HttpError } from "../../gateway/errors.ts";
import { listSites, publishSite, removeSite } from "../sites/mod.ts";
import type { StorageService } from "./storage.ts";

/** Builds the site backend; `gateway()` is the public gateway's base URL (http://host:port). */
export function siteBackend(storage: StorageService, gateway: () => string): SiteBackend {
  const urls = (address: string) => {
    const u = new URL(gateway());
    // Browsers resolve *.localhost to loopback, so subdomain mode works on one machine.
    const host = u.hostname === "127.0.0.1" || u.hostname === "::1" ? "localhost" : u.hostname;
    return [
      `${u.protocol}//${address}.${host}${u.port ? `:${u.port}` : ""}/`,
      `${u.origin}/s/${address}/`,
    ];
  };
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof RangeError) throw new HttpError(400, e.message);
      throw e;
    }
  };
  return {
    async list() {
      const catalog = await storage.catalog();
      return (await listSites({ node: storage.node, catalog })).map((s) => ({
        ...s,
        urls: urls(s.address),
      }));
    },
    publish: (name, files) =>
      guard(async () => {
        const catalog = await storage.catalog();
        const r = await publishSite({ node: storage.node, catalog, name, only: files });
        return { ...r, urls: urls(r.address) };
      }),
    remove: (name) =>
      guard(async () => {
        const catalog = await storage.catalog();
        return await removeSite({ node: storage.node, catalog, name });
      }),
  };
}
