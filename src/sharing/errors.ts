// This module is browser compatible.
/** Why a sharing operation was refused. Callers branch on this; logs count refusals by it. */
export type SharingRefusal =
  | "not-member"
  | "not-owner"
  | "bad-wrap"
  | "stale-epoch"
  | "no-grant"
  | "bad-signature"
  | "wrong-target"
  | "stale-policy"
  | "unknown-policy"
  | "replayed"
  | "expired"
  | "bad-expiry"
  | "over-cap"
  | "busy"
  | "unknown-id"
  | "no-owner"
  | "nothing-shared"
  | "denied"
  | "revoked";

/** Raised when a grant, group, write request or link is refused; nothing is half-applied. */
export class SharingError extends Error {
  /** Always `"SharingError"`. */
  override name = "SharingError";
  /** A fixed code for the refusal. */
  readonly reason: SharingRefusal;
  constructor(reason: SharingRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}
