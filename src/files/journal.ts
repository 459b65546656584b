/**
 * The upload journal: what an interrupted put needs to resume under its saved data key, and what
 * makes reusing that key safe.
 *
 * A block is encrypted with AES-GCM under the version's key with its index as the nonce
 * (`crypto/block.ts`), so two different plaintexts under one key and index would break GCM. Before
 * a block is first encrypted, the SHA-256 of its plaintext is appended here and synced
 * (write-ahead); a resumed put compares every block with it and stops at the first difference,
 * and the caller starts a new version under a fresh key. Placed blocks are recorded too (their
 * shard ids), so a resume skips them.
 *
 * One entry per put in progress, found by remote path, size and mtime (only puts with an mtime
 * are journalled). On disk it is one append-only log (`_journal_codec.ts`): a synced append of
 * a record costs 0.6 to 1 ms here (BENCHMARKS.md) whatever the file's size, where rewriting the
 * whole journal for every block would grow with the upload. Appends waiting while
 * one is written go out together as one. A torn last frame is dropped (a torn `started` record
 * was never synced, so its block was never encrypted); damage before the end drops every entry,
 * since a later `started` record may be lost (a fresh key is always safe: only the resume is
 * lost). The log is compacted (temporary file, fsync, rename) on load and when dead records
 * outweigh live ones.
 *
 * Bounds: at most 64 entries (the oldest goes), none older than 7 days, at most 128 MiB of
 * records. A put that could need more (beyond about 960 GiB in 4 MiB blocks with 4+2) is not
 * journalled: it works, but cannot resume.
 */
import { blockCount } from "../crypto/block.ts";
import { randomBytes } from "../crypto/hash.ts";
import { toHex } from "../encoding/bytes.ts";
import type { Logger } from "../log/mod.ts";
import type { NodeState } from "../node/state.ts";
import { frame, joinFrames, type JournalRecord, parseLog } from "./_journal_codec.ts";
import type { BlockRef } from "./manifest.ts";

const FILE = "upload-journal.log";
const DAY = 86_400_000;

/** One put in progress. */
export interface JournalEntry {
  readonly id: string;
  /** The remote path, its parts joined by "/". */
  readonly path: string;
  readonly size: number;
  readonly mtime: number;
  /** When the entry was created (ms). */
  readonly created: number;
  /** The version's data key. */
  readonly key: Uint8Array;
  readonly blockSize: number;
  readonly k: number;
  readonly m: number;
  /** Block index → SHA-256 of the plaintext, recorded before the block was first encrypted. */
  readonly started: Map<number, Uint8Array>;
  /** Block index → where it went, once placed. */
  readonly placed: Map<number, BlockRef>;
}

/** What a new entry describes. */
export type JournalBegin = Pick<
  JournalEntry,
  "path" | "size" | "mtime" | "key" | "blockSize" | "k" | "m"
>;

/** Options of {@linkcode UploadJournal}. */
export interface UploadJournalOptions {
  log?: Logger;
  /** The clock (ms). */
  now?: () => number;
  /** Most entries kept (default 64). */
  maxEntries?: number;
  /** Age after which an entry is dropped (ms, default 7 days). */
  maxAge?: number;
  /** Most bytes of records the live entries may need (default 128 MiB). */
  maxBytes?: number;
}

type Live = JournalEntry & { bytes: number };

/** The persisted journal of puts in progress. */
export class UploadJournal {
  #state: NodeState;
  #log?: Logger;
  #now: () => number;
  #maxEntries: number;
  #maxAge: number;
  #maxBytes: number;
  #entries = new Map<string, Live>();
  #fileBytes = 0;
  /** A write failed: the file may lack records, so the next write replaces it whole. */
  #stale = false;
  #disabled = false;
  #queue: Uint8Array[] = [];
  #queueSync = false;
  #batch: Promise<void> | null = null;
  #idle: Promise<void> = Promise.resolve();

  constructor(state: NodeState, opts: UploadJournalOptions = {}) {
    this.#state = state;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#maxEntries = opts.maxEntries ?? 64;
    this.#maxAge = opts.maxAge ?? 7 * DAY;
    this.#maxBytes = opts.maxBytes ?? 128 << 20;
  }

  /** The entries, oldest first. */
  get entries(): readonly JournalEntry[] {
    return [...this.#entries.values()];
  }

  /**
   * Loads the log. Never throws: an unreadable log disables the journal (puts still work, they
   * cannot resume), a damaged one is dropped, both with a warning.
   */
  async load(): Promise<void> {
    let bytes: Uint8Array | null;
    try {
      bytes = await this.#state.read(FILE);
    } catch (e) {
      this.#disabled = true;
      this.#log?.warn("cannot read the upload journal; interrupted uploads will start again", {
        error: e,
      });
      return;
    }
    if (!bytes?.length) return;
    // The bounds keep a healthy log under about three times maxBytes (see #compactIfDue).
    const parsed = bytes.length > 4 * this.#maxBytes
      ? { records: [], torn: false, damaged: `${bytes.length} bytes is too large` }
      : parseLog(bytes);
    this.#fileBytes = bytes.length;
    if (parsed.damaged) {
      this.#log?.warn("the upload journal is damaged; interrupted uploads will start again", {
        reason: parsed.damaged,
      });
    } else for (const r of parsed.records) this.#apply(r.record, r.bytes);
    for (const e of [...this.#entries.values()]) if (this.#expired(e)) this.#entries.delete(e.id);
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#oldest()!);
    if (this.#fileBytes !== this.#liveBytes()) {
      await this.#run(() => this.#rewrite()).catch((e) =>
        this.#log?.warn("could not compact the upload journal", { error: e })
      );
    }
  }

  /** The live entry for a put of `path` with this size and mtime, if any. */
  find(path: string, size: number, mtime: number): JournalEntry | undefined {
    for (const e of this.#entries.values()) {
      if (e.path === path && e.size === size && e.mtime === mtime && !this.#expired(e)) return e;
    }
    return undefined;
  }

  /**
   * Starts an entry (durably). Other entries for the same path are dropped (their source
   * changed), then the oldest until the bounds hold. Resolves to undefined when the journal is
   * disabled or the put could need more than the whole journal's byte bound.
   */
  async begin(b: JournalBegin): Promise<JournalEntry | undefined> {
    if (this.#disabled) return undefined;
    if (b.key.length !== 32) throw new RangeError(`A data key is 32 bytes, got ${b.key.length}`);
    const need = needBytes(b);
    if (need > this.#maxBytes) return undefined;
    for (const e of [...this.#entries.values()]) {
      if (e.path === b.path || this.#expired(e)) this.#drop(e.id);
    }
    const planned = () => [...this.#entries.values()].reduce((a, e) => a + needBytes(e), 0);
    while (
      this.#entries.size >= this.#maxEntries ||
      (this.#entries.size && planned() + need > this.#maxBytes)
    ) this.#drop(this.#oldest()!);
    const id = toHex(randomBytes(8));
    const record: JournalRecord = {
      t: "begin",
      id,
      path: b.path,
      size: b.size,
      mtime: b.mtime,
      at: this.#now(),
      key: b.key,
      blockSize: b.blockSize,
      k: b.k,
      m: b.m,
    };
    const f = frame(record);
    this.#apply(record, f.length);
    try {
      await this.#append(f, true);
    } catch (e) {
      // If the record did reach the disk, its key was never used: a resume of it is harmless.
      this.#entries.delete(id);
      throw e;
    }
    return this.#entries.get(id);
  }

  /** Records, durably, that block `i` is about to be encrypted; resolves once it is synced. */
  started(id: string, i: number, hash: Uint8Array): Promise<void> {
    return this.#record({ t: "started", id, i, h: hash }, true);
  }

  /** Records that block `i` was placed (not synced: losing it only costs a re-upload). */
  placed(id: string, i: number, ref: BlockRef): Promise<void> {
    return this.#record({ t: "placed", id, i, len: ref.len, shards: [...ref.shards] }, false);
  }

  /** Drops an entry (its put finished, or its source changed). */
  async remove(id: string): Promise<void> {
    if (!this.#entries.has(id)) return;
    await this.#drop(id);
    await this.#compactIfDue();
  }

  #record(r: JournalRecord & { i: number }, sync: boolean): Promise<void> {
    if (!this.#entries.has(r.id)) {
      return Promise.reject(new Error(`Upload journal entry ${r.id} is gone`));
    }
    const f = frame(r);
    this.#apply(r, f.length);
    return this.#append(f, sync);
  }

  #apply(r: JournalRecord, bytes: number) {
    if (r.t === "begin") {
      this.#entries.set(r.id, {
        id: r.id,
        path: r.path,
        size: r.size,
        mtime: r.mtime,
        created: r.at,
        key: r.key,
        blockSize: r.blockSize,
        k: r.k,
        m: r.m,
        started: new Map(),
        placed: new Map(),
        bytes,
      });
      return;
    }
    const e = this.#entries.get(r.id);
    if (!e) return; // a record after its entry's end: nothing to apply
    if (r.t === "end") this.#entries.delete(r.id);
    else {
      // A record repeated for one block (placed again after a resume) leaves dead bytes behind.
      const map = r.t === "started" ? e.started : e.placed;
      if (!map.has(r.i)) e.bytes += bytes;
      if (r.t === "started") e.started.set(r.i, r.h);
      else e.placed.set(r.i, { len: r.len, shards: r.shards });
    }
  }

  /**
   * Forgets an entry. Its end record is neither synced nor waited for: losing it only brings a
   * stale entry back, whose key a resume then checks against the catalog and its blocks.
   */
  #drop(id: string): Promise<void> {
    this.#entries.delete(id);
    const written = this.#append(frame({ t: "end", id }), false);
    written.catch((e) => this.#log?.debug("could not record the end of an upload", { error: e }));
    return written;
  }

  #expired(e: JournalEntry): boolean {
    return this.#now() - e.created > this.#maxAge;
  }

  #oldest(): string | undefined {
    return this.#entries.keys().next().value;
  }

  #liveBytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.bytes;
    return n;
  }

  async #compactIfDue(): Promise<void> {
    const live = this.#liveBytes();
    if (this.#fileBytes - live > Math.max(live, 64 * 1024)) await this.#run(() => this.#rewrite());
  }

  /** Appends a frame; frames queued while a write is under way go out together in the next. */
  #append(f: Uint8Array, sync: boolean): Promise<void> {
    this.#queue.push(f);
    this.#queueSync ||= sync;
    return this.#batch ??= this.#run(async () => {
      const parts = this.#queue, s = this.#queueSync;
      this.#queue = [];
      this.#queueSync = false;
      this.#batch = null;
      // The entries in memory already hold these records, so a rewrite carries them.
      if (this.#stale) return await this.#rewrite();
      const bytes = joinFrames(parts);
      try {
        await this.#state.append(FILE, bytes, { sync: s });
        this.#fileBytes += bytes.length;
      } catch (e) {
        this.#stale = true;
        throw e;
      }
    });
  }

  /** Replaces the log with the live entries' records, durably. */
  async #rewrite(): Promise<void> {
    const frames: Uint8Array[] = [];
    for (const e of this.#entries.values()) {
      const own = entryFrames(e);
      e.bytes = own.reduce((a, f) => a + f.length, 0);
      for (const f of own) frames.push(f);
    }
    const bytes = joinFrames(frames);
    this.#stale = true;
    await this.#state.write(FILE, bytes, { secret: true, sync: true });
    this.#stale = false;
    this.#fileBytes = bytes.length;
  }

  /** Runs disk work one operation at a time. */
  #run(op: () => Promise<void>): Promise<void> {
    const p = this.#idle.then(op);
    this.#idle = p.catch(() => {});
    return p;
  }
}

/**
 * A generous estimate of the bytes an entry's records may take, per block: a started frame is
 * 85 bytes, a placed one about 60 plus 54 per shard id (382 bytes for 4+2).
 */
function needBytes(b: Pick<JournalEntry, "path" | "size" | "blockSize" | "k" | "m">): number {
  return 200 + 4 * b.path.length + blockCount(b.size, b.blockSize) * (160 + 64 * (b.k + b.m));
}

/** The records that rebuild an entry. */
function entryFrames(e: JournalEntry): Uint8Array[] {
  const { id } = e;
  const out = [frame({
    t: "begin",
    id,
    path: e.path,
    size: e.size,
    mtime: e.mtime,
    at: e.created,
    key: e.key,
    blockSize: e.blockSize,
    k: e.k,
    m: e.m,
  })];
  for (const [i, h] of e.started) out.push(frame({ t: "started", id, i, h }));
  for (const [i, r] of e.placed) {
    out.push(frame({ t: "placed", id, i, len: r.len, shards: [...r.shards] }));
  }
  return out;
}
