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
import { keptCheckpointTime, type WorldCheckpointer } from "./world_checkpoints.ts";
import { WorldEditor, type WorldEditorOptions } from "./world_editor.ts";
import { nodeWorldSource } from "./world_source.ts";
import type { StorageService } from "./storage.ts";

/** A world as its owner lists it, before URLs are added. */
export type WorldSummary = Omit<WorldRow, "urls">;

/** Raised when the owner already has a world of that name. */
export class WorldExistsError extends Error {
  override name = "WorldExistsError";
}

function summary(
  name: string,
  seq: number,
  v: WorldRecordValue,
  node: MoteNode,
  now = Date.now(),
): WorldSummary {
  const owner = node.id;
  const address = worldAddress(owner, name);
  return {
    name,
    address,
    seq,
    seed: v.seed,
    generator: v.generator,
    region: v.region,
    title: v.title ?? null,
    created: v.created,
    grants: v.grants.map((g) => {
      const ended = g.expiry <= now;
      const cp = ended ? keptCheckpointTime(node, address, g.rx, g.rz) : undefined;
      return { ...g, ended, checkpointed: cp !== undefined && cp >= g.expiry };
    }),
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
  return summary(name, record.seq, value, o.node);
}

/** Raised when the owner has no world of that name. */
export class NoSuchWorldError extends Error {
  override name = "NoSuchWorldError";
}

/**
 * Adds a grant to the owner's world `name` (replacing one of the same region and grantee) and
 * republishes the record with the next sequence number, so every gateway sees it within its
 * cache time (15 s). Ended grants stay listed (gateways merge a grantee's batches only while the
 * world lists its grant, so dropping one would drop the edits made under it); when the record is
 * full the ones that ended longest ago make room.
 */
export async function grantWorld(
  o: { node: MoteNode; name: string; grant: GrantInit; now?: number },
): Promise<WorldSummary> {
  const { name, found, old } = await ownWorld(o.node, o.name);
  const now = o.now ?? Date.now();
  const { rx, rz, grantee } = o.grant;
  const grants = old.grants.filter((g) => !(g.rx === rx && g.rz === rz && g.grantee === grantee));
  // Room: drop the grants that ended longest ago (their grantees' edits go with them).
  const ended = grants.filter((g) => g.expiry <= now).sort((a, b) => a.expiry - b.expiry);
  while (grants.length >= MAX_GRANTS && ended.length > 0) {
    grants.splice(grants.indexOf(ended.shift()!), 1);
  }
  if (grants.length >= MAX_GRANTS) {
    throw new RangeError(`World ${name} already has ${grants.length} grants (the most one lists)`);
  }
  grants.push({ rx, rz, grantee, expiry: now + o.grant.expires });
  const value: WorldRecordValue = { ...old, grants };
  const seq = await republish(o.node, name, found.record.seq, value);
  return summary(name, seq, value, o.node, now);
}

/** The owner's world `name`: its record as found and its decoded value. */
async function ownWorld(node: MoteNode, worldName: string) {
  const name = checkWorldName(worldName);
  const found = await node.resolve(recordKeyOf("world", node.id, utf8(name)), { timeout: 5_000 });
  if (!found) throw new NoSuchWorldError(`You have no world named ${name}`);
  return { name, found, old: decodeWorldRecord(found.record.value) };
}

/** Signs and publishes `value` as world `name`'s record after `seq`; answers the new sequence. */
async function republish(
  node: MoteNode,
  name: string,
  seq: number,
  value: WorldRecordValue,
): Promise<number> {
  const key = recordKeyOf("world", node.id, utf8(name));
  const next = Math.max(seq, node.memory.get(formatRecordKey(key))?.seq ?? -1) + 1;
  const record = createRecord(node.keys.signSecret, node.keys.signPublic, {
    ns: "world",
    name: utf8(name),
    seq: next,
    value: encodeWorldRecord(value),
  });
  await node.publishRecord(record);
  return next;
}

/** Raised when the world lists no grant of that region to that node. */
export class NoSuchGrantError extends Error {
  override name = "NoSuchGrantError";
}

/**
 * Ends the grants of region (`rx`, `rz`) of the owner's world `name` to `grantee` now: their
 * expiry becomes `now` and the record is republished (gateways see it within 15 s and refuse the
 * grantee's batches signed after it; the owner's checkpointer then holds the grantee to the batch
 * it had published). The grant stays listed, ended, so the edits made under it stay merged. A
 * grant already ended is left as it is (the record is not republished).
 */
export async function revokeGrant(
  o: { node: MoteNode; name: string; rx: number; rz: number; grantee: string; now?: number },
): Promise<WorldSummary> {
  const { name, found, old } = await ownWorld(o.node, o.name);
  const now = o.now ?? Date.now();
  const mine = (g: WorldRecordValue["grants"][number]) =>
    g.rx === o.rx && g.rz === o.rz && g.grantee === o.grantee;
  if (!old.grants.some(mine)) {
    throw new NoSuchGrantError(
      `World ${name} has no grant of region (${o.rx}, ${o.rz}) to ${o.grantee}`,
    );
  }
  if (!old.grants.some((g) => mine(g) && g.expiry > now)) {
    return summary(name, found.record.seq, old, o.node, now);
  }
  const value: WorldRecordValue = {
    ...old,
    grants: old.grants.map((g) => mine(g) && g.expiry > now ? { ...g, expiry: now } : g),
  };
  const seq = await republish(o.node, name, found.record.seq, value);
  return summary(name, seq, value, o.node, now);
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
        return r && summary(name, r.record.seq, decodeWorldRecord(r.record.value), o.node);
      }),
    );
    for (const w of found) if (w) out.push(w);
  }
  return out;
}

/**
 * Builds the world backend; `gateway()` is the public gateway's base URL (http://host:port),
 * `worlds` the node's world source (for edits: grants and other editors' counters) and
 * `announce` tells players in a region about a batch just published (the live hub);
 * `checkpoints` is the owner's checkpointer, told to look soon after a revocation.
 */
export function worldBackend(
  storage: StorageService,
  gateway: () => string,
  worlds: WorldSource = nodeWorldSource(storage.node),
  announce?: WorldEditorOptions["announce"],
  checkpoints?: WorldCheckpointer,
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
    async revoke(name, rx, rz, grantee) {
      try {
        const w = await revokeGrant({ node: storage.node, name, rx, rz, grantee });
        checkpoints?.soon();
        return { ...w, urls: urls(w.address) };
      } catch (e) {
        if (e instanceof NoSuchWorldError || e instanceof NoSuchGrantError) {
          throw new HttpError(404, e.message);
        }
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
