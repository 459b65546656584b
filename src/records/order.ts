// This module is browser compatible.
/**
 * Which of two records for the same key wins. A higher sequence number always wins. When two
 * devices of one identity publish the same sequence number with different contents, a fixed rule
 * breaks the tie so every node converges on the same record: the later timestamp wins, then the
 * lexicographically smaller signature.
 */
import { compare, equals } from "../encoding/bytes.ts";

/** The fields the order looks at. */
export interface Ordered {
  readonly seq: number;
  readonly ts: number;
  readonly sig: Uint8Array;
}

/** Positive when `a` wins over `b`, negative when `b` wins, zero when they are the same record. */
export function compareRecords(a: Ordered, b: Ordered): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  if (equals(a.sig, b.sig)) return 0;
  if (a.ts !== b.ts) return a.ts - b.ts;
  return compare(b.sig, a.sig);
}

/** Whether two records share a sequence number but differ (two devices raced). */
export function isConflict(a: Ordered, b: Ordered): boolean {
  return a.seq === b.seq && !equals(a.sig, b.sig);
}
