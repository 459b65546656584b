// This module is browser compatible.
/** The shard store's domain errors: the conditions a caller is expected to catch. */

/** Raised by `put` when the bytes do not hash to the shard id they were offered under. */
export class ShardIdMismatchError extends Error {
  override name = "ShardIdMismatchError";
  constructor(
    /** The id the caller gave. */
    readonly expected: string,
    /** The id the bytes actually have. */
    readonly actual: string,
  ) {
    super(`Cannot store shard ${expected}: its bytes have the id ${actual}`);
  }
}

/**
 * Raised by `get` when a stored shard no longer matches its id (bit rot, tampering, a lost file
 * under a surviving record). The bytes are never returned; delete the shard and fetch it again.
 */
export class ShardCorruptError extends Error {
  override name = "ShardCorruptError";
  constructor(
    readonly customer: string,
    readonly id: string,
    /** What was found instead, for logs. */
    readonly detail: string,
  ) {
    super(`Shard ${id} of customer ${customer} is corrupt: ${detail}`);
  }
}

/** Raised by `put` when storing the shard would take a customer over its quota. */
export class QuotaExceededError extends Error {
  override name = "QuotaExceededError";
  constructor(
    readonly customer: string,
    /** Bytes the customer has stored (or has being stored) now. */
    readonly used: number,
    /** Size of the refused shard in bytes. */
    readonly size: number,
    /** The customer's quota in bytes. */
    readonly quota: number,
  ) {
    super(
      `Cannot store a ${size}-byte shard for customer ${customer}: it would use ${
        used + size
      } bytes of a ${quota}-byte quota (${used} bytes in use)`,
    );
  }
}
