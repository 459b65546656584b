/**
 * The record keeper: the set of signed records this node keeps alive by republishing them
 * before the DHT forgets them. It holds the node's own records and (in later layers) the records
 * of customers it serves. Before each republish it asks the DHT for a newer version, so a keeper
 * never pushes an outdated record back out. The set is bounded and persisted in the node state.
 */
import { decode, encode } from "../encoding/cbor.ts";
import { formatRecordKey, parseRecordKey, type RecordKey } from "../records/record.ts";
import { compareRecords } from "../records/order.ts";
import type { RecordValidator } from "../records/validator.ts";
import type { Logger } from "../log/mod.ts";
import type { RecordRouting } from "../net/records.ts";
import type { NodeState } from "./state.ts";

const FILE = "kept-records.cbor";

interface Kept {
  key: RecordKey;
  bytes: Uint8Array;
  own: boolean;
}

/** What the keeper needs. */
export interface KeeperInit {
  state: NodeState;
  routing: RecordRouting;
  validator: RecordValidator;
  log: Logger;
  /** Time between republish rounds (ms); each round is jittered by ±10%. */
  interval: number;
  maxKept?: number;
  /** Called after each round with counts, for metrics. */
  onRound?: (r: { records: number; stored: number }) => void;
}

/** Keeps records alive by republishing them. */
export class RecordKeeper {
  #kept = new Map<string, Kept>();
  #init: KeeperInit;
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<void>;
  #stop = new AbortController();

  constructor(init: KeeperInit) {
    this.#init = init;
  }

  /** Number of records kept. */
  get size(): number {
    return this.#kept.size;
  }

  /** Whether `dhtKey` (`/mote/...`) is kept. */
  has(dhtKey: string): boolean {
    return this.#kept.has(dhtKey);
  }

  /** The kept bytes for a key. */
  get(dhtKey: string): Uint8Array | undefined {
    return this.#kept.get(dhtKey)?.bytes;
  }

  /** Loads the persisted set. */
  async load(): Promise<void> {
    const bytes = await this.#init.state.read(FILE);
    if (!bytes) return;
    const file = decode(bytes, { what: "kept records", maxBytes: 256 << 20 }) as {
      v?: unknown;
      rows?: unknown;
    };
    if (file?.v !== 1 || !Array.isArray(file.rows)) {
      this.#init.log.warn("ignoring a kept-records file of an unknown format", {
        v: String(file?.v),
      });
      return;
    }
    const rows = file.rows;
    for (const row of rows) {
      try {
        const [ks, rec, own] = row as [string, Uint8Array, boolean];
        this.#init.validator.validate(ks, rec);
        this.#kept.set(ks, { key: parseRecordKey(ks), bytes: rec, own: own === true });
      } catch (e) {
        this.#init.log.warn("dropping an unreadable kept record", { error: e });
      }
    }
  }

  /** Adds or updates a record to keep (the better version wins); returns false when refused. */
  async keep(key: RecordKey, bytes: Uint8Array, own: boolean): Promise<boolean> {
    const ks = formatRecordKey(key);
    const rec = this.#init.validator.check(ks, bytes);
    const prev = this.#kept.get(ks);
    if (prev) {
      const old = this.#init.validator.check(ks, prev.bytes);
      if (compareRecords(rec, old) < 0) return false;
    } else if (this.#kept.size >= (this.#init.maxKept ?? 10_000)) {
      this.#init.log.warn("record keeper is full; not keeping a new record", { key: ks });
      return false;
    }
    this.#kept.set(ks, { key, bytes, own: own || (prev?.own ?? false) });
    await this.#save();
    return true;
  }

  /** Stops keeping a record. */
  async drop(dhtKey: string): Promise<void> {
    if (this.#kept.delete(dhtKey)) await this.#save();
  }

  /** Starts the periodic republish loop. */
  start(): void {
    const schedule = () => {
      const jitter = this.#init.interval * (0.9 + Math.random() * 0.2);
      this.#timer = setTimeout(() => {
        this.#running = this.republishAll().catch((e) =>
          this.#init.log.warn("republish round failed", { error: e })
        ).finally(() => {
          if (!this.#stop.signal.aborted) schedule();
        });
      }, jitter);
    };
    schedule();
  }

  /** Runs a republish round shortly, unless one is running (used when the first peer arrives). */
  republishSoon(delay = 500): void {
    if (this.#soon || this.#stop.signal.aborted) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      if (this.#busy) return;
      this.#running = this.republishAll().catch((e) =>
        this.#init.log.warn("republish round failed", { error: e })
      );
    }, delay);
  }
  #soon?: ReturnType<typeof setTimeout>;
  #busy = false;

  /** Republishes every kept record once, refreshing each from the DHT first. */
  async republishAll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#republishAll();
    } finally {
      this.#busy = false;
    }
  }

  async #republishAll(): Promise<void> {
    let stored = 0;
    const signal = this.#stop.signal;
    const timeout = Math.max(2_000, Math.min(30_000, this.#init.interval));
    for (const [ks, k] of [...this.#kept]) {
      if (signal.aborted) return;
      try {
        // Records this node signs are newest here; others' may have moved on in the DHT.
        if (!k.own) {
          const latest = await this.#init.routing.get(k.key, { signal, timeout });
          if (latest) await this.keep(k.key, latest, k.own);
        }
        const r = await this.#init.routing.put(k.key, this.#kept.get(ks)!.bytes, {
          signal,
          timeout,
        });
        stored += r.stored;
      } catch (e) {
        if (!signal.aborted) this.#init.log.debug("republish failed", { key: ks, error: e });
      }
    }
    this.#init.onRound?.({ records: this.#kept.size, stored });
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
    await this.#running?.catch(() => {});
  }

  async #save() {
    // Format version 1: { v: 1, rows: [[dht key, record bytes, own], …] }.
    const rows = [...this.#kept].map(([ks, k]) => [ks, k.bytes, k.own]);
    await this.#init.state.write(FILE, encode({ v: 1, rows }));
  }
}
