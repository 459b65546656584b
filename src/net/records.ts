/**
 * Putting and getting signed records through the DHT. `get` gathers every answer the query
 * finds, lets the validator refuse bad or stale ones, and returns the best; `put` stores locally
 * and on the closest peers and reports how many peers accepted it.
 */
import { formatRecordKey, type RecordKey } from "../records/record.ts";
import type { RecordValidator } from "../records/validator.ts";
import { utf8 } from "../encoding/bytes.ts";
import { MessageType, type QueryEvent } from "@libp2p/kad-dht";
import type { P2P } from "./p2p.ts";

/** Result of a DHT put. */
export interface PutResult {
  /** Peers that stored the record. */
  stored: number;
  /** Peers that refused or failed. */
  failed: number;
}

/** DHT record access. */
export class RecordRouting {
  #p2p: P2P;
  #validator: RecordValidator;

  constructor(p2p: P2P, validator: RecordValidator) {
    this.#p2p = p2p;
    this.#validator = validator;
  }

  /** Stores record bytes under `key` locally and on the closest peers. */
  async put(
    key: RecordKey,
    bytes: Uint8Array,
    opts: { signal?: AbortSignal; timeout?: number } = {},
  ): Promise<PutResult> {
    const ks = formatRecordKey(key);
    this.#validator.validate(ks, bytes);
    // With no peers a Kademlia query only waits out its timeout; the caller keeps the record and
    // republishes it once peers appear.
    if (this.#p2p.getPeers().length === 0) return { stored: 0, failed: 0 };
    const signal = withTimeout(opts.signal, opts.timeout ?? 30_000);
    let stored = 0, failed = 0;
    try {
      for await (const ev of this.#p2p.services.dht.put(utf8(ks), bytes, { signal })) {
        if (ev.name === "PEER_RESPONSE" && ev.messageType === MessageType.PUT_VALUE) stored++;
        else if (ev.name === "QUERY_ERROR") failed++;
      }
    } catch (e) {
      // No peers at all, or the timeout: the record is still stored locally and will be
      // republished; report what happened rather than fail the caller.
      if (stored === 0 && !signal.aborted && !/no peers/i.test(String(e))) throw e;
    }
    return { stored, failed };
  }

  /**
   * Finds the best valid record for `key` in the DHT (including this node's own store). Copies
   * stream in as the query meets them (this node's own first): once a few are in, or a moment
   * after the first from a peer, the best of them is the answer, and a query that runs out of
   * time answers with the best it has, so a slow or dead peer on the query's path costs at most
   * the timeout, never the copies already found.
   */
  async get(
    key: RecordKey,
    opts: { signal?: AbortSignal; timeout?: number } = {},
  ): Promise<Uint8Array | undefined> {
    if (this.#p2p.getPeers().length === 0) return undefined;
    const ks = formatRecordKey(key);
    // kad-dht's `get` runs on to every close peer and yields only then (a timeout loses every
    // copy found); its `getMany` yields each copy as it comes, so a lookup costs milliseconds
    // rather than the whole query (records converge through republishing).
    const enough = new AbortController();
    const signal = AbortSignal.any([
      withTimeout(opts.signal, opts.timeout ?? 15_000),
      enough.signal,
    ]);
    const self = this.#p2p.peerId;
    const found: Uint8Array[] = [];
    let settle: ReturnType<typeof setTimeout> | undefined;
    let fromPeer = false;
    try {
      for await (const ev of this.#values(utf8(ks), signal)) {
        if (ev.name !== "VALUE") continue;
        found.push(ev.value);
        if (found.length >= QUORUM) break;
        // This node's own copy may be stale, so it alone settles later; but where no peer holds
        // one (the node is the last keeper, or peers have not caught up) it is still the answer
        // within a couple of seconds, not at the query's timeout.
        if (!fromPeer && !self.equals(ev.from)) {
          fromPeer = true;
          clearTimeout(settle);
          settle = setTimeout(() => enough.abort(), SETTLE_MS);
        } else settle ??= setTimeout(() => enough.abort(), OWN_SETTLE_MS);
      }
    } catch (e) {
      if (found.length === 0 && !signal.aborted && !/not found|no peers/i.test(String(e))) throw e;
    } finally {
      clearTimeout(settle);
    }
    if (found.length === 0) return undefined;
    try {
      return found[this.#validator.select(ks, found)];
    } catch {
      return undefined;
    }
  }

  /** kad-dht's `getMany` (copies as they come), or its `get` if a version lacks it. */
  #values(
    key: Uint8Array,
    signal: AbortSignal,
  ): AsyncIterable<QueryEvent> {
    const dht = this.#p2p.services.dht as unknown as {
      contentFetching?: {
        getMany(k: Uint8Array, o: { signal: AbortSignal }): AsyncIterable<QueryEvent>;
      };
    };
    return dht.contentFetching?.getMany
      ? dht.contentFetching.getMany(key, { signal })
      : this.#p2p.services.dht.get(key, { signal });
  }
}

/** Copies of a record after which a lookup stops. */
const QUORUM = 3;
/** How long a lookup waits for more copies after the first (ms). */
const SETTLE_MS = 400;
/** How long a lookup waits for a peer's copy when only this node's own has come. */
const OWN_SETTLE_MS = 2_000;

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  return signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}
