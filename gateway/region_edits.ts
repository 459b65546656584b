// This module is browser compatible.
/**
 * A region's player edits as a gateway serves them: for region (`rx`, `rz`) of a world, the edit
 * batch record of every grantee the world record lists for exactly that region (key
 * H(world, region, grantee) in `wedit`) and the owner's checkpoint (`wcheck`), each resolved
 * through the same verified-record lookup the world came from (a node's DHT, the edge's seeds),
 * then checked with `verifyCheckpoint` / `verifyEditBatch`. A refused batch is logged and left
 * out: it is never merged. The answer is the verified batches and their digest,
 * `editsDigest(editPairs(batches))`, the `e` of the region's chunk URLs.
 *
 * Answers are kept for `ttl` (3 s) per (world, world version, region), at most `maxEntries`
 * regions; one lookup serves everyone asking meanwhile, and a region seen before is answered at
 * once while it is looked up again. A lookup never rolls an editor back: a batch once verified is
 * kept unless a newer one from that editor replaces it (while the world record is unchanged).
 * @module
 */
import type { SignedRecord } from "../src/records/record.ts";
import { checkpointKey, type VerifiedCheckpoint, verifyCheckpoint } from "../worlds/checkpoint.ts";
import {
  checkpointAllows,
  editBatchKey,
  type VerifiedEditBatch,
  verifyEditBatch,
} from "../worlds/edit_record.ts";
import { editsDigest, NO_EDITS } from "../worlds/edits.ts";
import { editPairs } from "../worlds/merge.ts";
import type { World } from "./world_source.ts";

/** A region's verified edits and the digest naming them. */
export interface RegionEdits {
  /** `editsDigest(editPairs(batches))`: `NO_EDITS` for none. */
  readonly e: string;
  readonly batches: readonly VerifiedEditBatch[];
}

/** No edits. */
export const NO_REGION_EDITS: RegionEdits = { e: NO_EDITS, batches: [] };

/** Resolves the verified record at `/mote/<ns>/<hash>` (signature and key checked), or none. */
export type RecordResolver = (ns: string, hash: string) => Promise<SignedRecord | undefined>;

/** Options of {@linkcode RegionEditsSource}. */
export interface RegionEditsOptions {
  /** How long a region's answer is used before asking again (ms, default 3000). */
  ttl?: number;
  /** Most regions remembered (default 4096). */
  maxEntries?: number;
  /** Most grantees of one region looked up (default 64; the rest are ignored and logged). */
  maxEditors?: number;
  now?: () => number;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

interface Entry {
  at: number;
  seq: number;
  edits: RegionEdits;
  checkpoint?: VerifiedCheckpoint;
}

/** A batch merged by {@linkcode RegionEditsSource.offer}: the region's edits now, and what it replaced. */
export interface OfferedEdit {
  readonly edits: RegionEdits;
  readonly batch: VerifiedEditBatch;
  readonly previous?: VerifiedEditBatch;
}

/** Regions' edits over a resolver of verified records, cached briefly and bounded. */
export class RegionEditsSource {
  readonly #resolve: RecordResolver;
  readonly #ttl: number;
  readonly #max: number;
  readonly #maxEditors: number;
  readonly #now: () => number;
  readonly #log?: RegionEditsOptions["log"];
  readonly #cache = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<RegionEdits>>();

  constructor(resolve: RecordResolver, opts: RegionEditsOptions = {}) {
    this.#resolve = resolve;
    this.#ttl = opts.ttl ?? 3_000;
    this.#max = opts.maxEntries ?? 4096;
    this.#maxEditors = opts.maxEditors ?? 64;
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log;
  }

  /** The verified edits of region (`rx`, `rz`) of `world` (none when nobody has a grant there). */
  edits(world: World, rx: number, rz: number): Promise<RegionEdits> {
    const granted = world.value.grants.some((g) => g.rx === rx && g.rz === rz);
    if (!granted) return Promise.resolve(NO_REGION_EDITS);
    const key = `${world.address}/${rx}/${rz}`;
    const hit = this.#cache.get(key);
    const known = hit && hit.seq === world.seq ? hit : undefined;
    if (known && this.#now() - known.at < this.#ttl) return Promise.resolve(known.edits);
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#lookup(key, world, rx, rz, known?.edits).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    if (known) {
      p.catch(() => {});
      return Promise.resolve(known.edits);
    }
    return p;
  }

  /**
   * Merges an edit batch record heard live (announced on the region's topic) into the region's
   * edits, verified exactly as a looked-up one (grant, region, the region's checkpoint as last
   * found). Answers the new edits, or undefined when the batch is refused (logged) or is not newer
   * than the editor's batch already known.
   */
  async offer(
    world: World,
    rx: number,
    rz: number,
    record: Uint8Array,
  ): Promise<OfferedEdit | undefined> {
    const key = `${world.address}/${rx}/${rz}`;
    const of = (e: Entry | undefined) => e && e.seq === world.seq ? e : undefined;
    const editorOf = (e: Entry | undefined, id: string) =>
      of(e)?.edits.batches.find((b) => b.editor === id);
    const before = this.#cache.get(key);
    // Know the region first (its other editors and checkpoint): usually cached already. The
    // lookup may find this very batch in the DHT: that is still news to whoever was told `before`.
    await this.edits(world, rx, rz);
    const entry = of(this.#cache.get(key));
    let batch: VerifiedEditBatch;
    try {
      batch = verifyEditBatch(record, world, this.#now(), entry?.checkpoint);
    } catch (error) {
      this.#log?.("refused an edit batch", { address: world.address, rx, rz, error });
      return undefined;
    }
    const [brx, brz] = batch.batch.region;
    if (brx !== rx || brz !== rz) return undefined;
    const previous = editorOf(before, batch.editor);
    if (previous && previous.seq >= batch.seq) return undefined;
    const known = entry?.edits.batches ?? [];
    const found = known.find((b) => b.editor === batch.editor);
    if (found && found.seq > batch.seq) return undefined; // a newer one is known already
    if (found && found.seq === batch.seq) {
      return { edits: entry!.edits, batch: found, ...(previous ? { previous } : {}) };
    }
    const batches = [...known.filter((b) => b.editor !== batch.editor), batch];
    const edits: RegionEdits = { e: await editsDigest(editPairs(batches)), batches };
    // A lookup that finished meanwhile may have stored a newer answer.
    const theirs = editorOf(this.#cache.get(key), batch.editor);
    if (theirs && theirs.seq >= batch.seq) return undefined;
    this.#cache.delete(key);
    this.#cache.set(key, {
      at: entry?.at ?? this.#now(),
      seq: world.seq,
      edits,
      ...(entry?.checkpoint ? { checkpoint: entry.checkpoint } : {}),
    });
    return { edits, batch, ...(previous ? { previous } : {}) };
  }

  async #lookup(
    key: string,
    world: World,
    rx: number,
    rz: number,
    known: RegionEdits | undefined,
  ): Promise<RegionEdits> {
    const now = this.#now();
    const where = { address: world.address, rx, rz };
    let editors = [
      ...new Set(
        world.value.grants.filter((g) => g.rx === rx && g.rz === rz).map((g) => g.grantee),
      ),
    ];
    if (editors.length > this.#maxEditors) {
      this.#log?.("a region lists more grantees than are looked up", {
        ...where,
        grantees: editors.length,
      });
      editors = editors.slice(0, this.#maxEditors);
    }
    const get = (ns: string, hash: string) =>
      this.#resolve(ns, hash).catch((error) => {
        this.#log?.("an edit record lookup failed", { ...where, ns, hash, error });
        return undefined;
      });
    // The checkpoint and the batches are looked up together (one wait, not two); batches are
    // verified once the checkpoint is known.
    const cpLookup = get("wcheck", checkpointKey(world.address, rx, rz, world.owner).hash);
    const records: (SignedRecord | undefined)[] = [];
    // Eight lookups at a time: each may wait for the DHT or a seed.
    for (let i = 0; i < editors.length; i += 8) {
      records.push(
        ...await Promise.all(
          editors.slice(i, i + 8).map((ed) =>
            get("wedit", editBatchKey(world.address, rx, rz, ed).hash)
          ),
        ),
      );
    }
    const cpRecord = await cpLookup;
    let checkpoint: VerifiedCheckpoint | undefined;
    if (cpRecord) {
      try {
        checkpoint = verifyCheckpoint(cpRecord, world, now);
      } catch (error) {
        this.#log?.("refused a region checkpoint", { ...where, error });
      }
    }
    // A checkpoint once found is not forgotten because a lookup missed it (a newer one wins).
    const latest = this.#cache.get(key);
    const seen = latest?.checkpoint;
    if (seen && (!checkpoint || checkpoint.ts < seen.ts)) checkpoint = seen;
    const found: VerifiedEditBatch[] = [];
    records.forEach((r, i) => {
      if (!r) return;
      try {
        found.push(verifyEditBatch(r, world, now, checkpoint));
      } catch (error) {
        this.#log?.("refused an edit batch", { ...where, editor: editors[i], error });
      }
    });
    // Never roll an editor back to an older batch (or to none) because one lookup missed it,
    // including one merged live (`offer`) while this lookup ran; but a batch the region's
    // checkpoint does not accept goes, whenever it was verified.
    const merged = latest && latest.seq === world.seq ? latest.edits.batches : known?.batches;
    for (const old of merged ?? []) {
      if (checkpoint && !checkpointAllows(checkpoint, world, old)) continue;
      const i = found.findIndex((b) => b.editor === old.editor);
      if (i < 0) found.push(old);
      else if (found[i]!.seq < old.seq) found[i] = old;
    }
    const edits: RegionEdits = found.length === 0
      ? NO_REGION_EDITS
      : { e: await editsDigest(editPairs(found)), batches: found };
    this.#cache.delete(key);
    this.#cache.set(key, {
      at: this.#now(),
      seq: world.seq,
      edits,
      ...(checkpoint ? { checkpoint } : {}),
    });
    if (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return edits;
  }
}
