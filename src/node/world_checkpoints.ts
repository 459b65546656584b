/**
 * Region checkpoints, signed by the world's owner when grants end. While the owner's node runs it
 * looks over its worlds (a minute apart, and soon after a revocation) for grants whose expiry has
 * passed, expired or revoked, that no checkpoint of their region covers yet, and signs the
 * region's `wcheck` record (`worlds/checkpoint.ts`): for every grantee whose grant there has
 * ended, the batch it is held to (editor, seq, SHA-256 of the record), and the region's highest
 * counter. Gateways enforce it: from then on that editor's only accepted batch is the listed one,
 * so nothing it signs later is merged, not even with a backdated time.
 *
 * The record is kept and republished by this node and listed in the catalog under
 * `/.worlds/.checks/<key hash>`, so the keep record names it and the owner's suppliers keep it
 * alive while the owner is offline. A grant that ends while the owner is offline is covered the
 * next time the owner's node runs (its first pass comes shortly after start); until then gateways
 * refuse the grantee's batches only by their own time (`ts` after the grant's expiry).
 *
 * A grant is checkpointed `settle` after it ends (30 s), so a batch signed just before has time
 * to spread through the DHT. A grantee whose batch the lookup cannot find holds its region back
 * until `missGrace` (10 minutes) after its grant ended, then is held to none: a DHT lookup can
 * miss for a moment, and listing no batch would refuse edits it made in time.
 */
import { WORLDS_FOLDER } from "../catalog/mod.ts";
import type { Catalog } from "../catalog/mod.ts";
import { equals, utf8 } from "../encoding/bytes.ts";
import {
  decodeRecord,
  formatRecordKey,
  recordKeyOf,
  type SignedRecord,
} from "../records/record.ts";
import {
  type AcceptedBatch,
  checkpointKey,
  type RegionCheckpoint,
  signCheckpoint,
  type VerifiedCheckpoint,
  verifyCheckpoint,
} from "../../worlds/checkpoint.ts";
import {
  editBatchKey,
  EditRefusedError,
  type EditWorld,
  type VerifiedEditBatch,
  verifyEditBatch,
} from "../../worlds/edit_record.ts";
import { decodeWorldRecord, WORLD_NAME_RE, worldAddress } from "../../worlds/record.ts";
import type { MoteNode } from "./node.ts";
import { NotReadyError } from "./storage.ts";

/** The catalog folder whose subfolders name the owner's checkpoint record keys (by hash). */
export const CHECKS_FOLDER = `${WORLDS_FOLDER}/.checks`;

/** What a lookup of one grantee's batch found. */
export type BatchLookup =
  | { readonly found: "ok"; readonly batch: VerifiedEditBatch }
  /** A record was found and refused (signed after its grant ended, say): the editor has none. */
  | { readonly found: "refused" }
  /** Nothing found: perhaps there is none, perhaps the lookup missed it. */
  | { readonly found: "missing" };

/** What {@linkcode planCheckpoint} needs to know about one region. */
export interface RegionState {
  readonly world: string;
  readonly rx: number;
  readonly rz: number;
  /** Each grantee of the region and the end of its latest grant there (ms). */
  readonly ends: ReadonlyMap<string, number>;
  /** The region's current checkpoint, if any. */
  readonly previous?: VerifiedCheckpoint;
  /** What the lookup of each grantee's batch found (verified against `previous`). */
  readonly found: ReadonlyMap<string, BatchLookup>;
  readonly now: number;
  /** How long a grantee whose batch was not found holds the region back (ms). */
  readonly missGrace: number;
}

/** Editors whose grants in the region ended after the region's checkpoint (or with none). */
export function uncovered(
  ends: ReadonlyMap<string, number>,
  previous: { ts: number } | undefined,
  before: number,
): string[] {
  return [...ends].filter(([, end]) => end <= before && (!previous || previous.ts < end))
    .map(([editor]) => editor).sort();
}

/**
 * The checkpoint to sign for a region, or the editors it waits for. Every grantee whose grant has
 * ended is listed with the batch it is held to: the previous checkpoint's entry when that already
 * held it (its grant ended before), else the batch found now (none when its latest record was
 * refused, or when nothing was found `missGrace` after its grant ended; sooner, it waits).
 * Grantees whose grant is still running are not listed. `maxSeq` is the highest counter seen.
 */
export function planCheckpoint(
  s: RegionState,
): { checkpoint: RegionCheckpoint; waiting: [] } | { checkpoint?: undefined; waiting: string[] } {
  const accepted: AcceptedBatch[] = [];
  const waiting: string[] = [];
  let maxSeq = s.previous?.maxSeq ?? 0;
  for (const f of s.found.values()) if (f.found === "ok") maxSeq = Math.max(maxSeq, f.batch.seq);
  for (const [editor, end] of [...s.ends].sort(([a], [b]) => a < b ? -1 : 1)) {
    if (end > s.now) continue; // still granted: not held to anything yet
    if (s.previous && s.previous.ts >= end) {
      const listed = s.previous.accepted.find((a) => a.editor === editor);
      if (listed) accepted.push(listed);
      continue;
    }
    const f = s.found.get(editor) ?? { found: "missing" };
    if (f.found === "ok") {
      accepted.push({ editor, seq: f.batch.seq, hash: f.batch.hash });
    } else if (f.found === "missing" && s.now - end < s.missGrace) waiting.push(editor);
  }
  if (waiting.length > 0) return { waiting };
  for (const a of accepted) maxSeq = Math.max(maxSeq, a.seq);
  return {
    checkpoint: { v: 1, world: s.world, region: [s.rx, s.rz], accepted, maxSeq },
    waiting: [],
  };
}

/** The time (ms) of the checkpoint of region (`rx`, `rz`) of `address` this node keeps, if any. */
export function keptCheckpointTime(
  node: MoteNode,
  address: string,
  rx: number,
  rz: number,
): number | undefined {
  const bytes = node.keeper.get(formatRecordKey(checkpointKey(address, rx, rz, node.id)));
  if (!bytes) return undefined;
  try {
    return decodeRecord(bytes, { namespaces: node.namespaces }).ts;
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode WorldCheckpointer}. */
export interface WorldCheckpointerOptions {
  node: MoteNode;
  /** The owner's catalog (its `/.worlds` lists the worlds; rejects while storage is not ready). */
  catalog: () => Promise<Catalog>;
  /** Time between passes (ms, default 60 s). */
  interval?: number;
  /** Delay of the first pass after `start` (ms, default 10 s). */
  firstPass?: number;
  /** How long after a grant ends its checkpoint waits (ms, default 30 s). */
  settle?: number;
  /** How long a grantee whose batch cannot be found holds its region back (ms, default 10 min). */
  missGrace?: number;
  /** Timeout of each record lookup (ms, default 6 s). */
  lookupTimeout?: number;
  now?: () => number;
}

/** One checkpoint signed by a pass. */
export interface SignedCheckpoint {
  world: string;
  address: string;
  rx: number;
  rz: number;
  seq: number;
  /** The record key (`/mote/wcheck/<hash>`). */
  key: string;
  accepted: { editor: string; seq: number }[];
  maxSeq: number;
}

/** Signs region checkpoints for the owner's worlds when their grants end. */
export class WorldCheckpointer {
  readonly #o: WorldCheckpointerOptions;
  readonly #now: () => number;
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<SignedCheckpoint[]>;
  #stopped = false;
  /** Checkpoint keys listed in the catalog by this process. */
  readonly #listed = new Set<string>();

  constructor(opts: WorldCheckpointerOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Runs a first pass shortly, then one every `interval`. */
  start(): void {
    this.#schedule(this.#o.firstPass ?? 10_000);
  }

  /** Stops the passes (and waits for one in progress). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }

  /** Runs a pass soon (after a revocation), `settle` from now at the latest. */
  soon(delay = 0): void {
    if (this.#stopped) return;
    this.#schedule(Math.max(delay, this.#o.settle ?? 30_000) + 50);
  }

  #schedule(ms: number) {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.pass().catch((error) => {
        // Storage still hiring at start-up is not a failure: the next pass looks again.
        const log = this.#o.node.log;
        if (error instanceof NotReadyError) log.debug("checkpoint pass waits for storage");
        else log.warn("checkpoint pass failed", { error });
      }).finally(() => this.#schedule(this.#o.interval ?? 60_000));
    }, ms);
  }

  /**
   * Looks over every world of the owner now and signs the checkpoints due; answers them. One pass
   * at a time (a call during one runs another after it).
   */
  pass(): Promise<SignedCheckpoint[]> {
    if (this.#running) return this.#running.catch(() => {}).then(() => this.pass());
    const p = this.#pass().finally(() => (this.#running = undefined));
    this.#running = p;
    return p;
  }

  async #pass(): Promise<SignedCheckpoint[]> {
    const { node } = this.#o;
    const catalog = await this.#o.catalog();
    const names = (await catalog.list(`/${WORLDS_FOLDER}`).catch(() => []))
      .filter((e) => e.type === "folder" && WORLD_NAME_RE.test(e.name)).map((e) => e.name);
    const out: SignedCheckpoint[] = [];
    for (const name of names) {
      if (this.#stopped) break;
      const record = await this.#newest(recordKeyOf("world", node.id, utf8(name)));
      if (!record) continue;
      const world: EditWorld = {
        address: worldAddress(node.id, name),
        owner: node.id,
        value: decodeWorldRecord(record.value),
      };
      const regions = new Map<string, { rx: number; rz: number; ends: Map<string, number> }>();
      for (const g of world.value.grants) {
        const id = `${g.rx},${g.rz}`;
        const r = regions.get(id) ?? { rx: g.rx, rz: g.rz, ends: new Map() };
        r.ends.set(g.grantee, Math.max(r.ends.get(g.grantee) ?? 0, g.expiry));
        regions.set(id, r);
      }
      for (const r of regions.values()) {
        try {
          const signed = await this.#region(name, world, r.rx, r.rz, r.ends, catalog);
          if (signed) out.push(signed);
        } catch (error) {
          node.log.warn("could not checkpoint a region", {
            world: name,
            rx: r.rx,
            rz: r.rz,
            error,
          });
        }
      }
    }
    return out;
  }

  /** Lists a checkpoint in the catalog (once per process), so the keep record names it. */
  async #list(catalog: Catalog, key: ReturnType<typeof checkpointKey>): Promise<void> {
    const ks = formatRecordKey(key);
    if (this.#listed.has(ks)) return;
    await catalog.mkdir(`/${CHECKS_FOLDER}/${key.hash}`);
    this.#listed.add(ks);
  }

  /**
   * The newest copy of one of this node's own records: the better of its kept copy and the
   * network's (another device of the same identity may have signed a newer one), which it then
   * keeps (a node whose state was lost finds its checkpoints once, not every pass).
   */
  async #newest(key: ReturnType<typeof recordKeyOf>): Promise<SignedRecord | undefined> {
    const { node } = this.#o;
    const found = await node.resolve(key, { timeout: this.#o.lookupTimeout ?? 6_000 })
      .catch(() => undefined);
    const kept = node.keeper.get(formatRecordKey(key));
    if (found) {
      if (!kept || !equals(kept, found.bytes)) {
        await node.keeper.keep(key, found.bytes, true).catch(() => false);
      }
      return found.record;
    }
    return kept ? decodeRecord(kept, { namespaces: node.namespaces }) : undefined;
  }

  async #region(
    name: string,
    world: EditWorld,
    rx: number,
    rz: number,
    ends: Map<string, number>,
    catalog: Catalog,
  ): Promise<SignedCheckpoint | undefined> {
    const { node } = this.#o;
    const now = this.#now();
    const settle = this.#o.settle ?? 30_000;
    const key = checkpointKey(world.address, rx, rz, node.id);
    const ks = formatRecordKey(key);
    // Cheap first: the kept copy says whether anything ended since it was signed.
    const keptTs = keptCheckpointTime(node, world.address, rx, rz);
    if (keptTs !== undefined) await this.#list(catalog, key);
    if (
      uncovered(ends, keptTs === undefined ? undefined : { ts: keptTs }, now - settle).length === 0
    ) {
      return undefined;
    }
    let previous: (VerifiedCheckpoint & { seq: number }) | undefined;
    const prevRecord = await this.#newest(key);
    if (prevRecord) {
      try {
        previous = { ...verifyCheckpoint(prevRecord, world, now), seq: prevRecord.seq };
      } catch (error) {
        node.log.warn("ignoring an unreadable region checkpoint", { key: ks, error });
      }
    }
    if (uncovered(ends, previous, now - settle).length === 0) return undefined;
    const timeout = this.#o.lookupTimeout ?? 6_000;
    const editors = [...ends.keys()];
    const found = new Map<string, BatchLookup>();
    for (let i = 0; i < editors.length; i += 8) {
      await Promise.all(
        editors.slice(i, i + 8).map(async (editor) => {
          const r = await node.resolve(editBatchKey(world.address, rx, rz, editor), { timeout })
            .catch(() => undefined);
          if (!r) {
            found.set(editor, { found: "missing" });
            return;
          }
          try {
            found.set(editor, {
              found: "ok",
              batch: verifyEditBatch(r.bytes, world, now, previous),
            });
          } catch (error) {
            if (!(error instanceof EditRefusedError)) throw error;
            node.log.info("a grantee's batch is refused; it is held to none", {
              world: name,
              rx,
              rz,
              editor,
              reason: error.reason,
            });
            found.set(editor, { found: "refused" });
          }
        }),
      );
    }
    const plan = planCheckpoint({
      world: world.address,
      rx,
      rz,
      ends,
      ...(previous ? { previous } : {}),
      found,
      now,
      missGrace: this.#o.missGrace ?? 600_000,
    });
    if (!plan.checkpoint) {
      node.log.info("a region's checkpoint waits for grantees' batches", {
        world: name,
        rx,
        rz,
        waiting: plan.waiting,
      });
      return undefined;
    }
    const seq = Math.max(previous?.seq ?? -1, node.memory.get(ks)?.seq ?? -1) + 1;
    const record = signCheckpoint(node.keys, plan.checkpoint, { seq, ts: now });
    await node.publishRecord(record);
    node.log.info("signed a region checkpoint", {
      world: name,
      rx,
      rz,
      seq,
      accepted: plan.checkpoint.accepted.length,
    });
    await this.#list(catalog, key);
    return {
      world: name,
      address: world.address,
      rx,
      rz,
      seq,
      key: ks,
      accepted: plan.checkpoint.accepted.map((a) => ({ editor: a.editor, seq: a.seq })),
      maxSeq: plan.checkpoint.maxSeq,
    };
  }
}
