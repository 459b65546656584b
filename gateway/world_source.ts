// This module is browser compatible.
/**
 * What the public gateway needs to serve worlds, whoever backs it: a node (records from its DHT)
 * or the edge entry (records over HTTP from seed gateways, verified). A world is addressed by a
 * 52-character lower-case base32 label, the hash part of its signed record's key
 * (`/mote/world/<address>`), so a world address is a DHT key with nothing else to look up.
 *
 * {@linkcode RecordWorldSource} turns any resolver of verified records into a source: it decodes
 * the world record, keeps answers for `ttl` (a world) or `missTtl` (none), bounded, and asks once
 * per address at a time. A world once seen is served while it is looked up again, and a lookup
 * that fails or finds nothing (a DHT query can time out under load) or finds an older version
 * never takes it back: world records are never withdrawn, only superseded by a higher sequence.
 * @module
 */
import { fromUtf8 } from "../src/encoding/bytes.ts";
import { nodeIdOf } from "../src/identity/node_id.ts";
import type { SignedRecord } from "../src/records/record.ts";
import { decodeWorldRecord, type WorldRecordValue } from "../worlds/record.ts";
import {
  NO_REGION_EDITS,
  type OfferedEdit,
  type RecordResolver,
  type RegionEdits,
  type RegionEditsOptions,
  RegionEditsSource,
} from "./region_edits.ts";

/** What a world address looks like. */
export const WORLD_ADDRESS_RE = /^[a-z2-7]{52}$/;

/** A resolved world: its verified record's value, name and owner. */
export interface World {
  readonly address: string;
  /** The world's name (the record's name). */
  readonly name: string;
  /** The owner's node id (of the record's signer). */
  readonly owner: string;
  /** The record's sequence number: a changed world record has a higher one. */
  readonly seq: number;
  readonly value: WorldRecordValue;
}

/** Where worlds come from. */
export interface WorldSource {
  /** The newest world record at `address`, or undefined when there is none. */
  world(address: string, signal?: AbortSignal): Promise<World | undefined>;
  /**
   * The verified edits of region (`rx`, `rz`) of `world` and their digest; a source without it
   * serves every chunk unedited (`NO_EDITS`).
   */
  edits?(world: World, rx: number, rz: number): Promise<RegionEdits>;
}

/** Decodes a verified `world` record found at `address`. */
export function worldOfRecord(address: string, record: SignedRecord): World {
  if (record.ns !== "world") throw new TypeError(`A ${record.ns} record is not a world record`);
  return {
    address,
    name: fromUtf8(record.name),
    owner: nodeIdOf(record.signer),
    seq: record.seq,
    value: decodeWorldRecord(record.value),
  };
}

/** Resolves the verified record at `/mote/world/<address>` (signature and key checked). */
export type WorldRecordResolver = (address: string) => Promise<SignedRecord | undefined>;

/** Options of {@linkcode RecordWorldSource}. */
export interface RecordWorldSourceOptions {
  /** How long a world is used before asking again (ms, default 15000). */
  ttl?: number;
  /** How long "no world here" is believed (ms, default 5000). */
  missTtl?: number;
  /** Most addresses remembered (default 4096). */
  maxEntries?: number;
  now?: () => number;
  /**
   * Resolves any verified record (`wedit`, `wcheck`): with it the source serves regions' player
   * edits (`region_edits.ts`), without it none.
   */
  records?: RecordResolver;
  /** Options of the region edits' cache. */
  editOptions?: RegionEditsOptions;
}

/** A {@linkcode WorldSource} over a resolver of verified records, with a bounded TTL cache. */
export class RecordWorldSource implements WorldSource {
  readonly #resolve: WorldRecordResolver;
  readonly #ttl: number;
  readonly #missTtl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { at: number; world: World | undefined }>();
  readonly #pending = new Map<string, Promise<World | undefined>>();
  readonly #edits?: RegionEditsSource;

  constructor(resolve: WorldRecordResolver, opts: RecordWorldSourceOptions = {}) {
    this.#resolve = resolve;
    if (opts.records) this.#edits = new RegionEditsSource(opts.records, opts.editOptions);
    this.#ttl = opts.ttl ?? 15_000;
    this.#missTtl = opts.missTtl ?? 5_000;
    this.#max = opts.maxEntries ?? 4096;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * One lookup serves every caller asking for the address meanwhile, so it is not tied to any
   * caller's signal: the resolver bounds it with its own timeout.
   */
  world(address: string): Promise<World | undefined> {
    if (!WORLD_ADDRESS_RE.test(address)) return Promise.resolve(undefined);
    const hit = this.#cache.get(address);
    const age = hit ? this.#now() - hit.at : Infinity;
    if (hit && age < (hit.world ? this.#ttl : this.#missTtl)) return Promise.resolve(hit.world);
    let p = this.#pending.get(address);
    if (!p) {
      p = this.#lookup(address, hit?.world).finally(() => this.#pending.delete(address));
      this.#pending.set(address, p);
    }
    if (hit?.world) {
      // Stale but known: answer now; the lookup refreshes it for later requests.
      p.catch(() => {});
      return Promise.resolve(hit.world);
    }
    return p;
  }

  /** The region's verified edits (none without a `records` resolver). */
  edits(world: World, rx: number, rz: number): Promise<RegionEdits> {
    return this.#edits?.edits(world, rx, rz) ?? Promise.resolve(NO_REGION_EDITS);
  }

  /**
   * Merges an edit batch record heard live into the region's edits, verified like a looked-up
   * one (see `RegionEditsSource.offer`); undefined when refused, not newer, or without `records`.
   */
  offerEdit(
    world: World,
    rx: number,
    rz: number,
    record: Uint8Array,
  ): Promise<OfferedEdit | undefined> {
    return this.#edits?.offer(world, rx, rz, record) ?? Promise.resolve(undefined);
  }

  async #lookup(address: string, known: World | undefined): Promise<World | undefined> {
    let world: World | undefined;
    try {
      const record = await this.#resolve(address);
      world = record ? worldOfRecord(address, record) : undefined;
    } catch (e) {
      if (!known) throw e;
    }
    if (known && (!world || world.seq < known.seq)) world = known;
    this.#cache.delete(address);
    this.#cache.set(address, { at: this.#now(), world });
    if (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return world;
  }
}
