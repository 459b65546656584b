// This module is browser compatible.
/**
 * Signed records for the edge gateway, over HTTP from node gateways (`GET <seed>/records/…`).
 * A seed is trusted for nothing: every answer is decoded and verified (`decodeRecord`: shape,
 * signature, namespace rules) against the key it was asked for, which is recomputed from the
 * record's own signer and name, so a seed can neither forge a record nor pass off another key's.
 *
 * What a seed can still do is hold back the newest version (answer an old one, or none). So the
 * seeds are asked in a fresh random order, the first two answers are compared and the highest
 * sequence wins (records' own order: sequence, then time, then signature), and the best version
 * ever seen for a key is remembered in the cache: a lower one is never served after it. The
 * answer is used for `ttl` (15 s) before the seeds are asked again.
 * @module
 */
import type { Storage } from "unstorage";
import { FOLDER_NAMESPACE, KEEP_NAMESPACE, ROOT_NAMESPACE } from "../src/catalog/records.ts";
import { equals, fromBase64, toBase64 } from "../src/encoding/bytes.ts";
import { IDENTITY_NAMESPACE } from "../src/identity/document.ts";
import { type Namespaces, namespaces as namespaceTable } from "../src/records/namespace.ts";
import { compareRecords } from "../src/records/order.ts";
import { decodeRecord, MAX_RECORD_BYTES, type SignedRecord } from "../src/records/record.ts";
import { REVOKED_NAMESPACE } from "../src/scrub/revocation.ts";
import { SITE_NAMESPACE } from "../src/sites/record.ts";
import { WORLD_NAMESPACE } from "../worlds/record.ts";
import { EDIT_NAMESPACE } from "../worlds/edit_record.ts";
import { CHECKPOINT_NAMESPACE } from "../worlds/checkpoint.ts";
import { OFFER_NAMESPACE } from "../src/suppliers/offer.ts";
import { deadline, readBody, shuffle } from "./_edge_http.ts";
import { HttpError } from "./errors.ts";
import type { RecordSource } from "./public.ts";

/** The namespaces a node knows, so the edge verifies what a node would. */
export const EDGE_NAMESPACES: Namespaces = namespaceTable(
  IDENTITY_NAMESPACE,
  OFFER_NAMESPACE,
  FOLDER_NAMESPACE,
  ROOT_NAMESPACE,
  KEEP_NAMESPACE,
  REVOKED_NAMESPACE,
  SITE_NAMESPACE,
  WORLD_NAMESPACE,
  EDIT_NAMESPACE,
  CHECKPOINT_NAMESPACE,
);

/** Options of {@linkcode HttpRecordSource}. */
export interface HttpRecordSourceOptions {
  /** Node gateway base URLs, without a trailing slash. */
  seeds: readonly string[];
  cache: Storage;
  fetch: typeof fetch;
  /** How long an answer is used before the seeds are asked again (ms, default 15000). */
  ttl?: number;
  /** Time for one seed's answer (ms, default 12000: a node may search its DHT for 10 s). */
  timeout?: number;
  /** Answers compared (default 2). */
  answers?: number;
  namespaces?: Namespaces;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** A verified record and its bytes. */
export interface Resolved {
  record: SignedRecord;
  bytes: Uint8Array;
}

/** What the cache holds per key: when the seeds were last asked, and the best version seen. */
interface Entry {
  at: number;
  rec?: string;
}

/** Records from node gateways over HTTP, verified, never rolled back. */
export class HttpRecordSource implements RecordSource {
  readonly #o:
    & Required<Omit<HttpRecordSourceOptions, "log">>
    & Pick<HttpRecordSourceOptions, "log">;
  readonly #pending = new Map<string, Promise<Resolved | undefined>>();
  /** Decoded records by cache key, so a cache hit is not verified again. */
  readonly #decoded = new Map<string, Resolved>();

  constructor(opts: HttpRecordSourceOptions) {
    if (opts.seeds.length === 0) throw new RangeError("The edge gateway needs at least one seed");
    this.#o = {
      ttl: 15_000,
      timeout: 12_000,
      answers: 2,
      namespaces: EDGE_NAMESPACES,
      ...opts,
    };
  }

  async record(ns: string, hash: string): Promise<{ bytes: Uint8Array; seq: number } | undefined> {
    const r = await this.resolve(ns, hash);
    return r && { bytes: r.bytes, seq: r.record.seq };
  }

  /** The best record at `/mote/<ns>/<hash>`, or undefined when the seeds know none. */
  resolve(ns: string, hash: string): Promise<Resolved | undefined> {
    if (!this.#o.namespaces.has(ns)) return Promise.resolve(undefined);
    const key = `record:${ns}:${hash}`;
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#resolve(key, ns, hash).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    return p;
  }

  async #resolve(key: string, ns: string, hash: string): Promise<Resolved | undefined> {
    const entry = await this.#o.cache.getItem<Entry>(key).catch(() => null);
    const known = entry?.rec ? this.#decode(key, ns, hash, fromBase64(entry.rec)) : undefined;
    const now = Date.now();
    // Fresh, unless its record turned out damaged.
    if (entry && now - entry.at < this.#o.ttl && (known || !entry.rec)) return known;

    const { answers, answered } = await this.#ask(ns, hash);
    if (answered === 0) {
      // Every seed failed: the best version already verified is still a valid answer.
      if (known) return known;
      throw new HttpError(502, `No seed gateway answered for /mote/${ns}/${hash}`);
    }
    let best = known;
    for (const a of answers) {
      if (!best || compareRecords(a.record, best.record) > 0) best = a;
    }
    if (known && answers.some((a) => compareRecords(a.record, known.record) < 0)) {
      this.#o.log?.("a seed answered an older record than one seen before", {
        key: `/mote/${ns}/${hash}`,
        seen: known.record.seq,
      });
    }
    const next: Entry = best ? { at: now, rec: toBase64(best.bytes) } : { at: now };
    await this.#o.cache.setItem(key, next).catch((error) =>
      this.#o.log?.("could not cache a record", { key, error })
    );
    if (best) this.#remember(key, best);
    return best;
  }

  /**
   * Asks the seeds in a random order, `answers` at a time, until that many have answered (a
   * verified record, or 404); a seed that fails or answers something invalid is replaced by
   * the next one.
   */
  async #ask(ns: string, hash: string): Promise<{ answers: Resolved[]; answered: number }> {
    const order = shuffle(this.#o.seeds);
    const want = Math.min(this.#o.answers, order.length);
    const stop = new AbortController();
    const answers: Resolved[] = [];
    let answered = 0, next = 0;
    const one = async (): Promise<void> => {
      while (answered < want && next < order.length) {
        const seed = order[next++]!;
        try {
          const r = await this.#askOne(seed, ns, hash, stop.signal);
          if (answered >= want) return;
          answered++;
          if (r) answers.push(r);
          if (answered >= want) stop.abort();
          return;
        } catch (error) {
          if (!stop.signal.aborted) {
            this.#o.log?.("a seed gave no valid record answer", { seed, ns, hash, error });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: want }, one));
    return { answers, answered };
  }

  async #askOne(
    seed: string,
    ns: string,
    hash: string,
    stop: AbortSignal,
  ): Promise<Resolved | undefined> {
    const res = await this.#o.fetch(`${seed}/records/${ns}/${hash}`, {
      signal: deadline(this.#o.timeout, stop),
      headers: { accept: "application/cbor" },
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${seed} answered ${res.status}`);
    }
    const bytes = await readBody(res, MAX_RECORD_BYTES);
    // Verifies the signature and that the signer and name give exactly this key.
    const record = decodeRecord(bytes, { namespaces: this.#o.namespaces, key: { ns, hash } });
    return { record, bytes };
  }

  #decode(key: string, ns: string, hash: string, bytes: Uint8Array): Resolved | undefined {
    const hit = this.#decoded.get(key);
    if (hit && equals(hit.bytes, bytes)) return hit;
    try {
      const r = {
        record: decodeRecord(bytes, { namespaces: this.#o.namespaces, key: { ns, hash } }),
        bytes,
      };
      this.#remember(key, r);
      return r;
    } catch {
      return undefined; // a damaged cache entry: ask the seeds as if it were not there
    }
  }

  #remember(key: string, r: Resolved): void {
    this.#decoded.delete(key);
    this.#decoded.set(key, r);
    if (this.#decoded.size > 1024) this.#decoded.delete(this.#decoded.keys().next().value!);
  }
}
