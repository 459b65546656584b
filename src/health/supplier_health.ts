/**
 * What the owner's node knows of each hired supplier's health, from audits and contact: when it
 * last answered, when it started failing, its audits (storage proofs and full reads) and the
 * shards it lost or served wrong. A supplier is `lost` once it has failed without a break for
 * longer than the grace period (so a reboot costs nothing), and `caught` when it answered but
 * proved it does not hold or will not serve what it was paid to keep; both are dismissed and
 * replaced. Kept in memory: after a restart the grace period starts over, which only delays a
 * rebuild.
 */

/** A supplier's state as the owner sees it. */
export type SupplierState = "ok" | "failing" | "lost" | "caught";

/** One supplier's record. */
export interface SupplierHealth {
  supplier: string;
  state: SupplierState;
  /** Last answer of any kind (ms), or null. */
  lastContact: number | null;
  /** When the current run of failures began (ms), or null while it answers. */
  failingSince: number | null;
  /** Last audit (ms), whatever its result, or null. */
  lastAudit: number | null;
  /** Whether the last audit proved everything it asked for. */
  lastAuditOk: boolean | null;
  /** Audited shards in all (storage proofs and full reads). */
  audits: number;
  /** Audited shards it could not prove or serve. */
  auditFailures: number;
  /** Shards found missing or wrong on it (and queued for rebuilding elsewhere). */
  badShards: number;
  /** Why it was dismissed, when it was. */
  reason?: string;
}

/** Per-supplier health records. */
export class HealthBook {
  #rows = new Map<string, SupplierHealth>();
  /** Dismissed suppliers are remembered (bounded) so they are not hired again at once. */
  #dismissed = new Map<string, { at: number; reason: string }>();
  static readonly MAX_DISMISSED = 256;

  /** The record of `supplier`, created on first use. */
  of(supplier: string): SupplierHealth {
    let r = this.#rows.get(supplier);
    if (!r) {
      r = {
        supplier,
        state: "ok",
        lastContact: null,
        failingSince: null,
        lastAudit: null,
        lastAuditOk: null,
        audits: 0,
        auditFailures: 0,
        badShards: 0,
      };
      this.#rows.set(supplier, r);
    }
    return r;
  }

  /** Notes an answer: the failure run (if any) ends. */
  answered(supplier: string, now: number): void {
    const r = this.of(supplier);
    r.lastContact = now;
    r.failingSince = null;
    if (r.state === "failing") r.state = "ok";
  }

  /**
   * Notes a failed call. Returns true when the supplier has now failed for longer than `grace`
   * without a break (it is then `lost`).
   */
  failed(supplier: string, now: number, grace: number): boolean {
    const r = this.of(supplier);
    r.failingSince ??= now;
    if (r.state === "ok") r.state = "failing";
    if (now - r.failingSince >= grace) {
      r.state = "lost";
      return true;
    }
    return false;
  }

  /** Notes one audited shard's result. */
  audited(supplier: string, ok: boolean): void {
    const r = this.of(supplier);
    r.audits++;
    if (!ok) r.auditFailures++;
  }

  /** Notes the end of a supplier's audit: `ok` when every shard asked for proved. */
  auditDone(supplier: string, ok: boolean, now: number): void {
    const r = this.of(supplier);
    r.lastAudit = now;
    r.lastAuditOk = ok;
  }

  /** Marks a supplier as dismissed (`lost` or `caught`). */
  dismiss(supplier: string, state: "lost" | "caught", reason: string, now: number): void {
    const r = this.of(supplier);
    r.state = state;
    r.reason = reason;
    this.#dismissed.set(supplier, { at: now, reason });
    while (this.#dismissed.size > HealthBook.MAX_DISMISSED) {
      this.#dismissed.delete(this.#dismissed.keys().next().value!);
    }
  }

  /** Whether a supplier was dismissed (so it is not hired again). */
  isDismissed(supplier: string): boolean {
    return this.#dismissed.has(supplier);
  }

  /** Every record, in supplier order. */
  all(): SupplierHealth[] {
    return [...this.#rows.values()].sort((a, b) => (a.supplier < b.supplier ? -1 : 1));
  }
}
