/**
 * The owner's worlds: creating one signs its `world` record (`worlds/record.ts`) and lists it in
 * the catalog as an empty folder `/.worlds/<name>`, which puts the record's key on the owner's
 * keep record, so suppliers and scrubbers republish it while the owner is offline (like sites).
 * Listing reads that folder and resolves each world's record. The node API's world routes
 * (`gateway/world_api.ts`) run over {@linkcode worldBackend}.
 */
import type { GrantInit, WorldBackend, WorldInit, WorldRow } from "../../gateway/world_api.ts";
import { HttpError } from "../../gateway/errors.ts";
import { WORLDS_FOLDER } from "../catalog/mod.ts";
import type { Catalog } from "../catalog/mod.ts";
import { utf8 } from "../encoding/bytes.ts";
import { createRecord, formatRecordKey, recordKeyOf } from "../records/record.ts";
import { GENERATOR_ID } from "../../worlds/generate.ts";
import {
  checkWorldName,
  decodeWorldRecord,
  DEFAULT_REGION,
  encodeWorldRecord,
  MAX_GRANTS,
  WORLD_NAME_RE,
  worldAddress,
  type WorldRecordValue,
} from "../../worlds/record.ts";
import type { MoteNode } from "./node.ts";
import type { WorldSource } from "../../gateway/world_source.ts";
import { WorldEditor, type WorldEditorOptions } from "./world_editor.ts";
import { nodeWorldSource } from "./world_source.ts";
import type { StorageService } from "./storage.ts";

/** A world as its owner lists it, before URLs are added. */
export type WorldSummary = Omit<WorldRow, "urls">;

/** Raised when the owner already has a world of that name. */
export class WorldExistsError extends Error {
  override name = "WorldExistsError";
}

function summary(name: string, seq: number, v: WorldRecordValue, owner: string): WorldSummary {
  return {
    name,
    address: worldAddress(owner, name),
    seq,
    seed: v.seed,
    generator: v.generator,
    region: v.region,
    title: v.title ?? null,
    created: v.created,
    grants: v.grants.map((g) => ({ ...g })),
  };
}

/**
 * Creates `owner`'s world: lists it in the catalog first (so nothing is signed when storage is
 * not ready), then signs and publishes the record. A seed is drawn at random when none is given.
 */
export async function createWorld(
  o: { node: MoteNode; catalog: Catalog; init: WorldInit },
): Promise<WorldSummary> {
  const name = checkWorldName(o.init.name);
  const key = recordKeyOf("world", o.node.id, utf8(name));
  if (await o.node.resolve(key, { timeout: 5_000 })) {
    throw new WorldExistsError(`You already have a world named ${name}`);
  }
  const value: WorldRecordValue = {
    v: 1,
    created: Date.now(),
    seed: o.init.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!,
    generator: GENERATOR_ID,
    region: o.init.region ?? DEFAULT_REGION,
    ...(o.init.title ? { title: o.init.title } : {}),
    grants: [],
  };
  const bytes = encodeWorldRecord(value);
  await o.catalog.mkdir(`/${WORLDS_FOLDER}/${name}`);
  const { record } = await o.node.publish("world", utf8(name), bytes, { looked: true });
  return summary(name, record.seq, value, o.node.id);
}

/** Raised when the owner has no world of that name. */
export class NoSuchWorldError extends Error {
  override name = "NoSuchWorldError";
}

/**
 * Adds a grant to the owner's world `name` (replacing one of the same region and grantee) and
 * republishes the record with the next sequence number, so every gateway sees it within its
 * cache time (15 s). Grants past their expiry are dropped to make room.
 */
export async function grantWorld(
  o: { node: MoteNode; name: string; grant: GrantInit; now?: number },
): Promise<WorldSummary> {
  const name = checkWorldName(o.name);
  const key = recordKeyOf("world", o.node.id, utf8(name));
  const found = await o.node.resolve(key, { timeout: 5_000 });
  if (!found) throw new NoSuchWorldError(`You have no world named ${name}`);
  const old = decodeWorldRecord(found.record.value);
  const now = o.now ?? Date.now();
  const { rx, rz, grantee } = o.grant;
  const grants = old.grants.filter((g) =>
    g.expiry > now && !(g.rx === rx && g.rz === rz && g.grantee === grantee)
  );
  if (grants.length >= MAX_GRANTS) {
    throw new RangeError(`World ${name} already has ${grants.length} grants (the most one lists)`);
  }
  grants.push({ rx, rz, grantee, expiry: now + o.grant.expires });
  const value: WorldRecordValue = { ...old, grants };
  const seq = Math.max(found.record.seq, o.node.memory.get(formatRecordKey(key))?.seq ?? -1) + 1;
  const record = createRecord(o.node.keys.signSecret, o.node.keys.signPublic, {
    ns: "world",
    name: utf8(name),
    seq,
    value: encodeWorldRecord(value),
  });
  await o.node.publishRecord(record);
  return summary(name, seq, value, o.node.id);
}

/** The owner's worlds (those listed under `/.worlds` whose record is found), by name. */
export async function listWorlds(o: { node: MoteNode; catalog: Catalog }): Promise<WorldSummary[]> {
  const entries = await o.catalog.list(`/${WORLDS_FOLDER}`).catch(() => []);
  const names = entries.filter((e) => e.type === "folder" && WORLD_NAME_RE.test(e.name))
    .map((e) => e.name).sort();
  const out: WorldSummary[] = [];
  // Eight lookups at a time: each may wait for the DHT.
  for (let i = 0; i < names.length; i += 8) {
    const found = await Promise.all(
      names.slice(i, i + 8).map(async (name) => {
        const r = await o.node.resolve(recordKeyOf("world", o.node.id, utf8(name)), {
          timeout: 5_000,
        }).catch(() => undefined);
        return r && summary(name, r.record.seq, decodeWorldRecord(r.record.value), o.node.id);
      }),
    );
    for (const w of found) if (w) out.push(w);
  }
  return out;
}

/**
 * Builds the world backend; `gateway()` is the public gateway's base URL (http://host:port),
 * `worlds` the node's world source (for edits: grants and other editors' counters) and
 * `announce` tells players in a region about a batch just published (the live hub).
 */
export function worldBackend(
  storage: StorageService,
  gateway: () => string,
  worlds: WorldSource = nodeWorldSource(storage.node),
  announce?: WorldEditorOptions["announce"],
): WorldBackend {
  const urls = (address: string) => [`${gateway()}/w/${address}/`];
  const editor = new WorldEditor({
    node: storage.node,
    worlds,
    catalog: () => storage.catalog(),
    ...(announce ? { announce } : {}),
  });
  return {
    edit: (address, rx, rz, edits) => editor.edit(address, rx, rz, edits),
    async list() {
      const catalog = await storage.catalog();
      return (await listWorlds({ node: storage.node, catalog })).map((w) => ({
        ...w,
        urls: urls(w.address),
      }));
    },
    async create(init) {
      const catalog = await storage.catalog();
      try {
        const w = await createWorld({ node: storage.node, catalog, init });
        return { ...w, urls: urls(w.address) };
      } catch (e) {
        if (e instanceof WorldExistsError) throw new HttpError(409, e.message);
        if (e instanceof RangeError) throw new HttpError(400, e.message);
        throw e;
      }
    },
    async grant(name, grant) {
      try {
        const w = await grantWorld({ node: storage.node, name, grant });
        return { ...w, urls: urls(w.address) };
      } catch (e) {
        if (e instanceof NoSuchWorldError) throw new HttpError(404, e.message);
        if (e instanceof RangeError) throw new HttpError(400, e.message);
        throw e;
      }
    },
  };
}
