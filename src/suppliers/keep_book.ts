/**
 * A supplier's copy of each customer's latest keep list (see `files/keep_list.ts`). Pages arrive
 * one by one; a list counts only once every page of one sequence number is here, because
 * reconciliation deletes whatever the list leaves out and a partial list would leave out too much.
 *
 * State files: `keep.<customer>` holds `{ seq, created, pages, have }`, and `keep.<customer>.<i>`
 * each signed page (kept signed, so they can be handed to scrubbers as they came).
 */
import { decode, encode } from "../encoding/cbor.ts";
import { readBytes, readMap, readUint } from "../encoding/shape.ts";
import { type KeepPage, keptShardIds, openKeepPage, type SignedPage } from "../files/keep_list.ts";
import type { NodeState } from "../node/state.ts";
import { REQUEST_WINDOW_MS } from "./messages.ts";

interface Meta {
  seq: number;
  created: number;
  pages: number;
  have: number[];
}

/** A complete list as reconciliation uses it. */
export interface CompleteList {
  seq: number;
  created: number;
  ids: Set<string>;
}

/** Raised for a page older than the list already held. */
export class StaleKeepListError extends Error {
  override name = "StaleKeepListError";
}

/** Customers' keep lists, as received. */
export class KeepBook {
  #state: NodeState;
  #locks = new Map<string, Promise<unknown>>();

  constructor(state: NodeState) {
    this.#state = state;
  }

  /**
   * Checks and stores one page from `customer` (whose signing key is `customerKey`); returns
   * whether the list it belongs to is now complete.
   */
  receive(
    customer: string,
    customerKey: Uint8Array,
    signed: SignedPage,
    now: number = Date.now(),
  ): Promise<{ seq: number; complete: boolean }> {
    const page = openKeepPage(signed, customerKey);
    if (page.owner !== customer) throw new Error("This keep list belongs to another customer");
    if (page.created > now + REQUEST_WINDOW_MS) {
      throw new Error("This keep list is dated in the future");
    }
    return this.#serial(customer, async () => {
      let meta = await this.#meta(customer);
      if (meta && page.seq < meta.seq) {
        throw new StaleKeepListError(
          `Stale keep list refused: sequence ${page.seq} is below ${meta.seq}`,
        );
      }
      if (meta && page.seq === meta.seq) {
        if (page.pages !== meta.pages || page.created !== meta.created) {
          throw new Error("This page disagrees with the other pages of its list");
        }
      } else {
        // A newer list: the older one stops counting at once (never reconcile from a mix).
        const old = meta;
        meta = { seq: page.seq, created: page.created, pages: page.pages, have: [] };
        for (let i = page.pages; i < (old?.pages ?? 0); i++) {
          await this.#state.remove(pageName(customer, i));
        }
      }
      await this.#state.write(
        pageName(customer, page.page),
        encode({ body: signed.body, sig: signed.sig }),
      );
      if (!meta.have.includes(page.page)) {
        meta.have = [...meta.have, page.page].sort((a, b) => a - b);
      }
      await this.#state.write(`keep.${customer}`, encode({ v: 1, ...meta }));
      return { seq: meta.seq, complete: meta.have.length === meta.pages };
    });
  }

  /** The customer's latest complete list, or null when none is complete. */
  async complete(customer: string, customerKey: Uint8Array): Promise<CompleteList | null> {
    const got = await this.completePages(customer, customerKey);
    if (!got) return null;
    return { seq: got.seq, created: got.created, ids: keptShardIds(got.pages) };
  }

  /**
   * The customer's latest complete list as its pages, decoded and as signed (to hand on to a
   * scrubber or a new supplier), or null when none is complete.
   */
  async completePages(
    customer: string,
    customerKey: Uint8Array,
  ): Promise<{ seq: number; created: number; pages: KeepPage[]; signed: SignedPage[] } | null> {
    const meta = await this.#meta(customer);
    if (!meta || meta.have.length !== meta.pages) return null;
    const pages: KeepPage[] = [], signed: SignedPage[] = [];
    for (let i = 0; i < meta.pages; i++) {
      const bytes = await this.#state.read(pageName(customer, i));
      if (!bytes) return null;
      const m = readMap(decode(bytes, { maxBytes: 2 << 20 }), "stored keep page", ["body", "sig"]);
      const s = {
        body: readBytes(m, "body", "stored keep page", { max: 2 << 20 }),
        sig: readBytes(m, "sig", "stored keep page", { exact: 64 }),
      };
      const page = openKeepPage(s, customerKey);
      if (page.seq !== meta.seq) return null;
      pages.push(page);
      signed.push(s);
    }
    return { seq: meta.seq, created: meta.created, pages, signed };
  }

  /** Drops a customer's list (when its contract ends). */
  async forget(customer: string): Promise<void> {
    await this.#serial(customer, async () => {
      const meta = await this.#meta(customer);
      for (let i = 0; i < (meta?.pages ?? 0); i++) await this.#state.remove(pageName(customer, i));
      await this.#state.remove(`keep.${customer}`);
    });
  }

  async #meta(customer: string): Promise<Meta | null> {
    const bytes = await this.#state.read(`keep.${customer}`);
    if (!bytes) return null;
    const what = "keep list state";
    const m = readMap(decode(bytes, { maxBytes: 4096 }), what, [
      "v",
      "seq",
      "created",
      "pages",
      "have",
    ]);
    const have = Array.isArray(m.have) ? m.have.filter((x) => Number.isSafeInteger(x)) : [];
    return {
      seq: readUint(m, "seq", what),
      created: readUint(m, "created", what),
      pages: readUint(m, "pages", what),
      have: have as number[],
    };
  }

  #serial<T>(customer: string, f: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(customer) ?? Promise.resolve();
    const run = prev.then(f, f);
    const tail = run.catch(() => {});
    this.#locks.set(customer, tail);
    tail.then(() => {
      if (this.#locks.get(customer) === tail) this.#locks.delete(customer);
    });
    return run;
  }
}

function pageName(customer: string, i: number): string {
  return `keep.${customer}.${i}`;
}
