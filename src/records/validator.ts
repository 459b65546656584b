// This module is browser compatible.
/**
 * The record validator every node runs on every record it receives (DHT puts, DHT get answers,
 * HTTP fetches): full verification plus the rule that a lower or tie-losing version than the best
 * one accepted for that key is refused.
 */
import { sha256Sync } from "../crypto/hash.ts";
import { toHex } from "../encoding/bytes.ts";
import { RecordError } from "./errors.ts";
import type { Namespaces } from "./namespace.ts";
import { compareRecords } from "./order.ts";
import { decodeRecord, formatRecordKey, parseRecordKey, type SignedRecord } from "./record.ts";
import type { SeqMemory } from "./seq_memory.ts";

/** What the validator is built from. */
export interface ValidatorInit {
  namespaces: Namespaces;
  memory: SeqMemory;
  /** Called when two different records share a sequence number (two devices raced). */
  onConflict?: (key: string, record: SignedRecord) => void;
  /** Called with every refusal (for metrics). */
  onReject?: (err: RecordError) => void;
  now?: () => number;
}

/** Validates records against a key and remembers the best version per key. */
export interface RecordValidator {
  /** Verifies `bytes` as the record at `key`; throws {@linkcode RecordError} if refused. */
  validate(key: string | Uint8Array, bytes: Uint8Array): SignedRecord;
  /** Verifies without touching the memory (for dry checks). */
  check(key: string | Uint8Array, bytes: Uint8Array): SignedRecord;
  /** Index of the best of several candidate encodings for one key (invalid ones lose). */
  select(key: string | Uint8Array, candidates: Uint8Array[]): number;
}

/** Builds a {@linkcode RecordValidator}. */
export function createRecordValidator(init: ValidatorInit): RecordValidator {
  const now = init.now ?? Date.now;
  const warned = new Map<string, number>();
  // One resolve meets the same record bytes several times (kad-dht validates each answer, then
  // selects, then the node picks and validates again), and an Ed25519 verify costs ~0.6 ms here
  // (BENCHMARKS.md). Remember verified records by a hash of their *whole* bytes, so a changed
  // copy can never hit the cache. Verification does not depend on time except the "future"
  // check, which a record can only leave as time passes.
  const verified = new Map<string, SignedRecord>();
  function check(key: string | Uint8Array, bytes: Uint8Array): SignedRecord {
    let k;
    try {
      k = parseRecordKey(key);
    } catch (e) {
      throw new RecordError("wrong-key", (e as Error).message);
    }
    const memo = `${k.ns}/${k.hash}/${toHex(sha256Sync(bytes))}`;
    const hit = verified.get(memo);
    if (hit) return hit;
    const r = decodeRecord(bytes, { namespaces: init.namespaces, key: k, now: now() });
    verified.set(memo, r);
    if (verified.size > 4096) verified.delete(verified.keys().next().value!);
    return r;
  }
  return {
    check(key, bytes) {
      try {
        return check(key, bytes);
      } catch (e) {
        if (e instanceof RecordError) init.onReject?.(e);
        throw e;
      }
    },
    validate(key, bytes) {
      try {
        const r = check(key, bytes);
        const ks = formatRecordKey(parseRecordKey(key));
        const verdict = init.memory.offer(ks, r);
        // Two versions with one sequence number: warn once per key and sequence, whichever
        // version arrived first (republishing re-offers the loser, which must not spam).
        if (
          (verdict === "conflict-won" || verdict === "conflict-lost") && warned.get(ks) !== r.seq
        ) {
          warned.delete(ks);
          warned.set(ks, r.seq);
          if (warned.size > 1000) warned.delete(warned.keys().next().value!);
          init.onConflict?.(ks, r);
        }
        if (verdict === "stale" || verdict === "conflict-lost") {
          const best = init.memory.get(ks)!;
          throw new RecordError(
            "stale",
            verdict === "stale"
              ? `Record ${ks} at sequence ${r.seq} is older than the accepted sequence ${best.seq}`
              : `Record ${ks} at sequence ${r.seq} loses the tie-break against the accepted version`,
          );
        }
        return r;
      } catch (e) {
        if (e instanceof RecordError) init.onReject?.(e);
        throw e;
      }
    },
    select(key, candidates) {
      let best = -1;
      let bestRec: SignedRecord | undefined;
      candidates.forEach((bytes, i) => {
        let r: SignedRecord;
        try {
          r = check(key, bytes);
        } catch {
          return;
        }
        if (!bestRec || compareRecords(r, bestRec) > 0) {
          best = i;
          bestRec = r;
        }
      });
      if (best < 0) throw new RecordError("malformed", "No valid record among the candidates");
      return best;
    },
  };
}
