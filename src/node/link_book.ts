/**
 * The owner's quick links (`mote link`): for each, where its snapshot object is (shard ids and
 * size; never its key, which only the printed URL carries), what it covers, and when it expires.
 * Kept in the node state (`links.cbor`), so a restart still deletes an expired link and still
 * lists the snapshot objects on the keep list (suppliers would otherwise drop them as strays).
 *
 * A link also pins the stored file versions it shows: they stay on the keep list and the catalog
 * does not delete their shards (`CatalogOptions.pinned`) when the owner removes, prunes or
 * migrates them, so the link keeps showing its snapshot.
 *
 * Expiry: {@linkcode LinkBook.expireDue} (called from the storage upkeep) deletes an expired
 * link's shards with the owner's signed deletes (its snapshot object, and the pinned versions
 * that neither the catalog nor another link still uses); the entry goes only once every delete
 * went through, so a supplier unreachable at that moment is asked again at the next upkeep.
 */
import { fromBase32, toBase32 } from "../encoding/base32.ts";
import { decode, encode } from "../encoding/cbor.ts";
import type { KeptObject } from "../files/keep_list.ts";
import type { Logger } from "../log/mod.ts";
import type { NodeState } from "./state.ts";

const FILE = "links.cbor";
/** Most links one owner keeps (each costs a few shards and a line of state). */
export const MAX_LINKS = 10_000;
/** Largest link book (its pins list shard ids; a link's pins are at most its snapshot's size). */
const MAX_BOOK_BYTES = 64 << 20;

/** One link as the owner's node remembers it. */
export interface LinkEntry {
  /** A short id for `mote link rm` (12 hex characters). */
  id: string;
  /** The linked path in the owner's catalog. */
  path: string;
  created: number;
  /** When the node deletes it (ms), if ever. */
  expires?: number;
  /** Files and bytes it covers. */
  files: number;
  bytes: number;
  /** The snapshot object: its plaintext size and shard ids (k = 1: each a full copy). */
  size: number;
  shards: string[];
  /** The stored file versions it shows (their codes and shard ids per block), kept while it lives. */
  pins?: Pin[];
}

/** A pinned stored object: its code and shard ids per block. */
export interface Pin {
  k: number;
  m: number;
  blocks: string[][];
}

/** Raised when `mote link rm` names no link. */
export class LinkNotFoundError extends Error {
  override name = "LinkNotFoundError";
}

/** Options of {@linkcode LinkBook}. */
export interface LinkBookOptions {
  /** Deletes shards from every supplier that may hold them; throws when one could not be asked. */
  deleteShards: (ids: string[]) => Promise<void>;
  /**
   * The shard ids the catalog still uses (objects other than the links' own), asked when a link
   * with pins ends: pinned shards still in use stay.
   */
  inUse?: () => Promise<Set<string>>;
  log?: Logger;
}

/** The owner's links, persisted. */
export class LinkBook {
  readonly #state: NodeState;
  readonly #opts: LinkBookOptions;
  #links = new Map<string, LinkEntry>();
  /** Pinned shard ids, with how many links pin each. */
  #pinned = new Map<string, number>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(state: NodeState, opts: LinkBookOptions) {
    this.#state = state;
    this.#opts = opts;
  }

  async load(): Promise<void> {
    const bytes = await this.#state.read(FILE);
    if (!bytes) return;
    const f = decode(bytes, { what: "link book", maxBytes: MAX_BOOK_BYTES }) as {
      v?: number;
      links?: LinkEntry[];
    };
    if (f?.v !== 1 || !Array.isArray(f.links)) throw new Error(`${FILE} is not a link book`);
    for (const l of f.links) this.#put(l);
  }

  /** Whether a link pins this shard (the catalog must not delete it). */
  isPinned(id: string): boolean {
    return this.#pinned.has(id);
  }

  #put(l: LinkEntry): void {
    this.#links.set(l.id, l);
    for (const id of pinnedIds(l)) this.#pinned.set(id, (this.#pinned.get(id) ?? 0) + 1);
  }

  #drop(l: LinkEntry): void {
    this.#links.delete(l.id);
    for (const id of pinnedIds(l)) {
      const n = (this.#pinned.get(id) ?? 1) - 1;
      if (n > 0) this.#pinned.set(id, n);
      else this.#pinned.delete(id);
    }
  }

  /** The shards to delete when `l` ends: its snapshot, and its pins nobody else uses. */
  async #toDelete(l: LinkEntry): Promise<string[]> {
    const pins = pinnedIds(l).filter((id) => this.#pinned.get(id) === 1);
    if (pins.length === 0) return [...l.shards];
    const used = await (this.#opts.inUse?.() ?? Promise.resolve(null));
    // Without a way to ask the catalog, pinned shards are left: a stray is better than a hole.
    return [...l.shards, ...(used ? pins.filter((id) => !used.has(id)) : [])];
  }

  /** The links, newest first. */
  list(): LinkEntry[] {
    return [...this.#links.values()].sort((a, b) => b.created - a.created);
  }

  /** The snapshot objects, for the keep list (id: the first shard id's bytes). */
  kept(): KeptObject[] {
    const out = new Map<string, KeptObject>();
    for (const l of this.#links.values()) {
      out.set(l.shards[0]!, {
        id: fromBase32(l.shards[0]!),
        k: 1,
        m: l.shards.length - 1,
        blocks: [[...l.shards]],
      });
      // A version two links show is listed once.
      for (const p of l.pins ?? []) {
        const first = p.blocks[0]![0]!;
        if (!out.has(first)) {
          out.set(first, {
            id: fromBase32(first),
            k: p.k,
            m: p.m,
            blocks: p.blocks.map((b) => [...b]),
          });
        }
      }
    }
    return [...out.values()];
  }

  /** The ids {@linkcode kept} gives its objects (to tell them from the catalog's own). */
  keptIds(): Set<string> {
    return new Set(this.kept().map((o) => toBase32(o.id)));
  }

  /** Records a new link (its shards are already stored). */
  add(entry: LinkEntry): Promise<void> {
    return this.#serial(async () => {
      if (this.#links.size >= MAX_LINKS) {
        throw new RangeError(`At most ${MAX_LINKS} links; remove some with: mote link rm <id>`);
      }
      this.#put(entry);
      try {
        await this.#save();
      } catch (e) {
        this.#drop(entry);
        throw e;
      }
    });
  }

  /** Deletes a link's snapshot object and forgets it. */
  remove(id: string): Promise<LinkEntry> {
    return this.#serial(async () => {
      const l = this.#links.get(id);
      if (!l) throw new LinkNotFoundError(`No link ${id.slice(0, 40)}; see: mote link ls`);
      await this.#opts.deleteShards(await this.#toDelete(l));
      this.#drop(l);
      await this.#save();
      return l;
    });
  }

  /** Deletes the links expired by `now`; returns how many went. A failed delete is retried later. */
  expireDue(now: number = Date.now()): Promise<number> {
    return this.#serial(async () => {
      let gone = 0;
      for (const l of [...this.#links.values()]) {
        if (l.expires === undefined || l.expires > now) continue;
        try {
          await this.#opts.deleteShards(await this.#toDelete(l));
        } catch (e) {
          this.#opts.log?.warn("could not delete an expired link yet", { id: l.id, error: e });
          continue;
        }
        this.#drop(l);
        gone++;
        this.#opts.log?.info("deleted an expired link", { id: l.id, path: l.path });
      }
      if (gone) await this.#save();
      return gone;
    });
  }

  async #save(): Promise<void> {
    const bytes = encode({ v: 1, links: [...this.#links.values()] });
    // A book too large to load again would lose every link's expiry: refuse the change instead.
    if (bytes.length > MAX_BOOK_BYTES) {
      throw new RangeError("The link book is full: remove some links with: mote link rm <id>");
    }
    await this.#state.write(FILE, bytes);
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(f, f);
    this.#lock = run.catch(() => {});
    return run;
  }
}

function pinnedIds(l: LinkEntry): string[] {
  return [...new Set((l.pins ?? []).flatMap((p) => p.blocks.flat()))];
}
