/**
 * The datastore behind libp2p and its DHT. kad-dht keeps every record for a fixed 48 hours and
 * has no caps of its own, so this wrapper adds what Mote needs for records stored on behalf of
 * others: a configurable lifetime (after which a record that nobody republished is forgotten;
 * tests shrink it to seconds) and caps on records stored in total and per signer. Records this
 * node keeps itself (its own, and later those of customers it serves) are exempt from the caps.
 */
import { Libp2pRecord } from "@libp2p/record";
import { MemoryDatastore } from "datastore-core";
import { Key } from "interface-datastore";
import { toHex } from "../encoding/bytes.ts";
import { decode } from "../encoding/cbor.ts";
import { RecordError } from "../records/errors.ts";

/** kad-dht stores records under `<datastorePrefix>/record/…`; Mote uses the default prefix. */
const RECORD_PREFIX = "/dht/record/";

/** Limits for {@linkcode DhtRecordStore}. */
export interface DhtStoreInit {
  /** How long a record stored for others lives without a republish (ms). */
  lifetime: number;
  /** Most records stored in total. */
  maxRecords: number;
  /** Most records stored per signer. */
  maxPerSigner: number;
  /** Keys (the DHT key strings, `/mote/...`) that are exempt from caps. */
  exempt?: (dhtKey: string) => boolean;
  /** Told of every record refused for capacity (for metrics). */
  onRefuse?: (err: RecordError) => void;
  now?: () => number;
}

interface Meta {
  storedAt: number;
  signer: string;
  dhtKey: string;
  /** Held for this node itself (kept), so outside the caps. */
  exempt: boolean;
}

/** A memory datastore whose DHT records expire and are capped. */
export class DhtRecordStore extends MemoryDatastore {
  #meta = new Map<string, Meta>();
  #perSigner = new Map<string, number>();
  #forOthers = 0;
  #init: DhtStoreInit;
  #now: () => number;

  constructor(init: DhtStoreInit) {
    super();
    this.#init = init;
    this.#now = init.now ?? Date.now;
  }

  /** Number of DHT records held. */
  get recordCount(): number {
    return this.#meta.size;
  }

  override put(key: Key, val: Uint8Array): Key | Promise<Key> {
    const ks = key.toString();
    if (!ks.startsWith(RECORD_PREFIX)) return super.put(key, val);
    const info = inspect(val);
    const prev = this.#meta.get(ks);
    const exempt = this.#init.exempt?.(info.dhtKey) ?? false;
    if (!prev && !exempt) {
      if (this.#forOthers >= this.#init.maxRecords) {
        throw this.#refuse(`This node stores at most ${this.#init.maxRecords} records for others`);
      }
      if ((this.#perSigner.get(info.signer) ?? 0) >= this.#init.maxPerSigner) {
        throw this.#refuse(
          `This node stores at most ${this.#init.maxPerSigner} records per signer`,
        );
      }
    }
    if (prev) this.#forget(ks, prev);
    this.#meta.set(ks, { storedAt: this.#now(), ...info, exempt });
    if (!exempt) {
      this.#forOthers++;
      this.#perSigner.set(info.signer, (this.#perSigner.get(info.signer) ?? 0) + 1);
    }
    return super.put(key, val);
  }

  override get(key: Key): Uint8Array | Promise<Uint8Array> {
    this.#expire(key.toString());
    return super.get(key);
  }

  override has(key: Key): boolean | Promise<boolean> {
    this.#expire(key.toString());
    return super.has(key);
  }

  override delete(key: Key): void | Promise<void> {
    const ks = key.toString();
    const m = this.#meta.get(ks);
    if (m) this.#forget(ks, m);
    return super.delete(key);
  }

  /** Drops every record past its lifetime; returns how many were dropped. */
  sweep(): number {
    let n = 0;
    for (const ks of [...this.#meta.keys()]) if (this.#expire(ks)) n++;
    return n;
  }

  #expire(ks: string): boolean {
    const m = this.#meta.get(ks);
    if (!m || this.#now() - m.storedAt <= this.#init.lifetime) return false;
    if (this.#init.exempt?.(m.dhtKey)) return false;
    this.#forget(ks, m);
    super.delete(new Key(ks));
    return true;
  }

  #refuse(message: string): RecordError {
    const e = new RecordError("over-capacity", message);
    this.#init.onRefuse?.(e);
    return e;
  }

  #forget(ks: string, m: Meta) {
    this.#meta.delete(ks);
    if (m.exempt) return;
    this.#forOthers--;
    const n = (this.#perSigner.get(m.signer) ?? 1) - 1;
    if (n <= 0) this.#perSigner.delete(m.signer);
    else this.#perSigner.set(m.signer, n);
  }
}

function inspect(val: Uint8Array): { signer: string; dhtKey: string } {
  const rec = Libp2pRecord.deserialize(val);
  const dhtKey = new TextDecoder().decode(rec.key);
  try {
    const m = decode(rec.value, { maxBytes: 1 << 17 }) as { signer?: unknown };
    if (m && m.signer instanceof Uint8Array) return { signer: toHex(m.signer), dhtKey };
  } catch {
    // Not a Mote record (kad-dht's own namespaces): count it under one shared bucket.
  }
  return { signer: "-", dhtKey };
}
