// This module is browser compatible.
/** Why a record was refused. Metrics and logs count refusals by this reason. */
export type RecordRejection =
  | "malformed"
  | "oversized"
  | "unknown-namespace"
  | "wrong-key"
  | "bad-signature"
  | "future"
  | "invalid-value"
  | "stale"
  | "over-capacity";

/** Raised when a record fails to parse, verify, fit or supersede; never half-applied. */
export class RecordError extends Error {
  override name = "RecordError";
  /** A fixed code for the refusal. */
  readonly reason: RecordRejection;
  constructor(reason: RecordRejection, message: string) {
    super(message);
    this.reason = reason;
  }
}
