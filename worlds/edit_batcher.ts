// This module is browser compatible.
/**
 * The editor's side of publishing: {@linkcode EditBatcher} collects one editor's edits in one
 * region and hands out a batch to sign and publish at most once a second (issue 7), on an
 * injected clock. Each batch is the editor's whole contribution to the region (it replaces the
 * previous one), so the batcher keeps every edit made so far, bounded by the batch limits, and
 * compacts what a later edit of the same editor makes irrelevant: a `height` drops this editor's
 * earlier `height` and `raise` of that column, a `material` its earlier `material` there.
 *
 * Counters are Lamport clocks: each new edit gets one more than the highest counter this editor
 * has made or {@linkcode EditBatcher.observe}d in the region, so an edit made after seeing
 * another's edit orders after it.
 * @module
 */
import {
  assertEditBatch,
  type Edit,
  type EditBatch,
  editWireBytes,
  MAX_EDIT_BATCH_BYTES,
  MAX_EDITS,
} from "./edit_batch.ts";

/** An edit as made by the player, before it gets its counter. */
export type NewEdit = Edit extends infer E ? E extends Edit ? Omit<E, "seq"> : never : never;

/** Options of {@linkcode EditBatcher}. */
export interface EditBatcherOptions {
  /** The world's address. */
  world: string;
  region: readonly [number, number];
  /** The editor's node id. */
  editor: string;
  /** The world's region side in chunks (to refuse edits outside the region at once). */
  side: number;
  /** The clock, in ms. */
  now: () => number;
  /** Least time between two batches (ms, default 1000). */
  interval?: number;
  /** The editor's last published batch in this region, to continue from. */
  previous?: EditBatch;
}

// Bytes of a batch value besides its edits: the map's keys, world and editor ids, region, seq.
const ENVELOPE_BYTES = 200;

/** Collects edits and yields a batch at most once per `interval`. */
export class EditBatcher {
  readonly #o: EditBatcherOptions;
  readonly #interval: number;
  #edits: Edit[];
  #bytes: number;
  #clock: number;
  #dirty = false;
  #last = -Infinity;

  constructor(opts: EditBatcherOptions) {
    this.#o = opts;
    this.#interval = opts.interval ?? 1000;
    const p = opts.previous;
    if (
      p && (p.world !== opts.world || p.editor !== opts.editor || p.region[0] !== opts.region[0] ||
        p.region[1] !== opts.region[1])
    ) {
      throw new RangeError(
        `The previous batch is ${p.editor}'s for region (${p.region}) of ${p.world}, not ` +
          `${opts.editor}'s for region (${opts.region}) of ${opts.world}`,
      );
    }
    this.#edits = [...(p?.edits ?? [])];
    this.#bytes = this.#edits.reduce((n, e) => n + editWireBytes(e), 0);
    this.#clock = opts.previous?.seq ?? 0;
  }

  /** The highest counter made or seen. */
  get clock(): number {
    return this.#clock;
  }

  /** How many edits the next batch holds. */
  get size(): number {
    return this.#edits.length;
  }

  /** Notes a counter seen in another editor's batch of the region, so new edits order after it. */
  observe(seq: number): void {
    if (Number.isSafeInteger(seq) && seq > this.#clock) this.#clock = seq;
  }

  /**
   * Adds an edit with the next counter and returns it; throws a RangeError for an edit outside the
   * region or out of range, or when the region's batch is full (nothing is added then).
   */
  add(edit: NewEdit): Edit {
    const e = { ...edit, seq: this.#clock + 1 } as Edit;
    const { world, region, editor, side } = this.#o;
    assertEditBatch(
      { v: 1, world, region: [region[0], region[1]], editor, seq: e.seq, edits: [e] },
      side,
    );
    const kept = this.#edits.filter((old) => !supersedes(e, old));
    const bytes = this.#bytes - this.#sizeOf(this.#edits, kept) + editWireBytes(e);
    if (kept.length >= MAX_EDITS || bytes + ENVELOPE_BYTES > MAX_EDIT_BATCH_BYTES) {
      throw new RangeError(
        `Cannot add an edit: the batch for region (${region}) is full (${kept.length} edits, ` +
          `${bytes} bytes; limits ${MAX_EDITS} and ${MAX_EDIT_BATCH_BYTES - ENVELOPE_BYTES})`,
      );
    }
    kept.push(e);
    this.#edits = kept;
    this.#bytes = bytes;
    this.#clock = e.seq;
    this.#dirty = true;
    return e;
  }

  /** When {@linkcode take} will next give a batch (ms), or undefined with nothing new. */
  nextAt(): number | undefined {
    return this.#dirty ? Math.max(this.#last + this.#interval, this.#o.now()) : undefined;
  }

  /** The batch to sign and publish now, if there are new edits and the interval has passed. */
  take(): EditBatch | undefined {
    const now = this.#o.now();
    if (!this.#dirty || now < this.#last + this.#interval) return undefined;
    this.#dirty = false;
    this.#last = now;
    const { world, region, editor } = this.#o;
    return {
      v: 1,
      world,
      region: [region[0], region[1]],
      editor,
      seq: this.#clock,
      edits: [...this.#edits],
    };
  }

  #sizeOf(all: Edit[], kept: Edit[]): number {
    if (all.length === kept.length) return 0;
    const keep = new Set(kept);
    return all.filter((e) => !keep.has(e)).reduce((n, e) => n + editWireBytes(e), 0);
  }
}

/** Whether `later` (by the same editor) makes `earlier` irrelevant to every merge. */
function supersedes(later: Edit, earlier: Edit): boolean {
  if (later.x !== earlier.x || later.z !== earlier.z) return false;
  if (later.op === "height") return earlier.op === "height" || earlier.op === "raise";
  return later.op === "material" && earlier.op === "material";
}
