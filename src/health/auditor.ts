/**
 * The owner's audits: on a schedule, each hired supplier is asked for the list of shards it holds
 * for this owner, and a few of the shards it should hold are checked with storage proofs (fresh
 * random Merkle leaves; `Customer.audit`), and now and then one is read in full. No key is
 * needed for any of it: shard ids and sizes are all an auditor uses.
 *
 * - A shard missing from the list, or one whose proof fails, is queued for rebuilding elsewhere
 *   (the repair queue rebuilds it byte-identical from any k others).
 * - A supplier that does not answer is `failing`; once it has failed without a break for longer
 *   than the grace period it is `lost`: dismissed, and everything it held is queued for rebuilding.
 * - A supplier that proves a shard and then will not serve it, or that lost more than half of
 *   what one audit asked for, is `caught` and dismissed the same way.
 *
 * Dismissed suppliers are replaced by the storage service's hiring.
 */
import type { RepairEntry, RepairQueue, ShardLocator } from "../files/mod.ts";
import type { HealthBook } from "./supplier_health.ts";

/** Where a shard sits in its block. */
export interface BlockRef {
  k: number;
  m: number;
  /** The block's k + m shard ids. */
  shards: string[];
  /** This shard's index among them. */
  index: number;
}

/** What the auditor asks of a supplier (a `Customer`'s methods). */
export interface AuditClient {
  /** What the supplier holds, and the shards the owner deleted there lately (never a fault). */
  list(supplier: string): Promise<{ shards: [string, number, number][]; deleted?: string[] }>;
  audit(supplier: string, id: string, size: number, count?: number): Promise<boolean>;
  getShard(supplier: string, id: string): Promise<Uint8Array>;
  has(supplier: string, ids: string[]): Promise<boolean[]>;
}

/** Options for {@linkcode Auditor}. */
export interface AuditorOptions {
  client: AuditClient;
  locator: ShardLocator;
  repairs: RepairQueue;
  health: HealthBook;
  /** Hired suppliers now. */
  suppliers: () => string[];
  /** Every kept block by shard id (from the owner's catalog), or null before it is open. */
  blocks: () => Promise<Map<string, BlockRef> | null>;
  /** Ends the contract with a dismissed supplier. */
  dismiss: (supplier: string) => Promise<void>;
  /** How long a supplier may fail without a break before it counts as lost (ms). */
  lostAfter: number;
  /** Leaves asked per storage proof (default 16). */
  leaves?: number;
  /** Shards proved per supplier per round (default 2). */
  sample?: number;
  /**
   * Every this many rounds, one audited shard per supplier is also read in full (default 24:
   * daily at the default hourly schedule; a full read costs as much as 16 proofs of 16 leaves).
   */
  fullReadEvery?: number;
  /**
   * Learn placement from the lists: every kept shard a supplier lists is recorded as held there
   * (after the comparison, so the list never hides its own gaps). A scrubber, which never placed
   * anything itself, learns where shards are this way; the owner knows from its puts.
   */
  learn?: boolean;
  /** Suppliers audited at once (default 4). */
  parallel?: number;
  now?: () => number;
  /** Progress and findings, for logs and the event stream. */
  onEvent?: (type: string, data: Record<string, unknown>) => void;
}

/** What one round found. */
export interface AuditReport {
  round: number;
  suppliers: number;
  /** Shards checked (proofs and full reads). */
  checked: number;
  /** Shards found missing or wrong, now queued for rebuilding. */
  bad: number;
  /** Suppliers dismissed this round. */
  dismissed: string[];
  /** Bytes the audits moved (proofs and full reads, answers only). */
  bytes: number;
}

/** A storage proof's answer: the leaves (4 KiB each) with their Merkle paths (~32 B a level). */
const PROOF_BYTES_PER_LEAF = 4096 + 32 * 12;

/** Runs audit rounds over the hired suppliers. */
export class Auditor {
  readonly #o: AuditorOptions;
  #round = 0;
  #running?: Promise<AuditReport>;
  /** Totals since start. */
  readonly totals = { rounds: 0, checked: 0, bad: 0, bytes: 0, lastRound: null as number | null };

  constructor(options: AuditorOptions) {
    this.#o = options;
  }

  /** Runs one round (a round already running is joined, not doubled). */
  round(signal?: AbortSignal): Promise<AuditReport> {
    return this.#running ??= this.#runRound(signal).finally(() => (this.#running = undefined));
  }

  async #runRound(signal?: AbortSignal): Promise<AuditReport> {
    const o = this.#o;
    const round = ++this.#round;
    const report: AuditReport = {
      round,
      suppliers: 0,
      checked: 0,
      bad: 0,
      dismissed: [],
      bytes: 0,
    };
    const blocks = await o.blocks();
    const queue = [...o.suppliers()];
    report.suppliers = queue.length;
    const work = async () => {
      while (queue.length && !signal?.aborted) {
        await this.#auditOne(queue.shift()!, blocks, round, report);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.parallel ?? 4, queue.length) }, work));
    await o.locator.save();
    this.totals.rounds++;
    this.totals.checked += report.checked;
    this.totals.bad += report.bad;
    this.totals.bytes += report.bytes;
    this.totals.lastRound = (o.now ?? Date.now)();
    o.onEvent?.("audit:round", { ...report });
    return report;
  }

  async #auditOne(
    supplier: string,
    blocks: Map<string, BlockRef> | null,
    round: number,
    report: AuditReport,
  ): Promise<void> {
    const o = this.#o;
    const now = (o.now ?? Date.now)();
    const fail = async (e: unknown) => {
      if (o.health.failed(supplier, now, o.lostAfter)) {
        const since = o.health.of(supplier).failingSince!;
        await this.#dismiss(
          supplier,
          "lost",
          `no answer for ${Math.round((now - since) / 1000)} s (${(e as Error).message})`,
          blocks,
          report,
        );
      }
    };
    // What we believe it holds is read before asking: a shard placed meanwhile (a put running
    // now) is recorded only after the supplier stored it, so it cannot look missing.
    const before = new Set(o.locator.heldBy(supplier));
    let listed: Map<string, number>;
    let deleted: Set<string>;
    try {
      const l = await o.client.list(supplier);
      listed = new Map(l.shards.map(([id, size]) => [id, size]));
      deleted = new Set(Array.isArray(l.deleted) ? l.deleted : []);
    } catch (e) {
      return await fail(e);
    }
    // A shard the owner deleted is not missing, whatever an older keep list says.
    for (const id of deleted) if (before.delete(id)) o.locator.forget(id, supplier);
    o.health.answered(supplier, now);
    if (!blocks) return; // the catalog is not open yet: liveness only
    const believed = [...before].filter((id) => blocks.has(id));
    const present = believed.filter((id) => listed.has(id));
    if (o.learn) {
      for (const id of listed.keys()) {
        if (blocks.has(id) && !before.has(id)) {
          o.locator.record(id, supplier);
          present.push(id);
        }
      }
    }
    let missing = await this.#stillKept(supplier, believed.filter((id) => !listed.has(id)));
    if (missing.length) {
      try {
        const has = await o.client.has(supplier, missing);
        missing = missing.filter((_, i) => !has[i]);
      } catch (e) {
        return await fail(e);
      }
    }
    // The owner may have deleted some since our list of what it keeps was made (a scrubber's
    // keep list lags behind the owner's deletes): ask again before blaming the supplier.
    if (missing.length) missing = await this.#notDeleted(supplier, missing);
    const picks = pick(present, o.sample ?? 2);
    let bad = 0;
    for (const id of missing) {
      o.health.audited(supplier, false);
      await this.#bad(supplier, id, blocks, report);
      bad++;
    }
    const proved: string[] = [];
    for (const id of picks) {
      let ok: boolean;
      try {
        ok = await o.client.audit(supplier, id, listed.get(id)!, o.leaves ?? 16);
      } catch (e) {
        return await fail(e);
      }
      report.checked++;
      report.bytes += (o.leaves ?? 16) * PROOF_BYTES_PER_LEAF;
      if (ok) proved.push(id);
      else if ((await this.#stillKept(supplier, [id])).length === 0) continue; // deleted meanwhile
      else if ((await this.#notDeleted(supplier, [id])).length === 0) continue;
      o.health.audited(supplier, ok);
      if (!ok) {
        bad++;
        await this.#bad(supplier, id, blocks, report);
      }
    }
    let refused = false;
    if (proved.length && round % (o.fullReadEvery ?? 24) === 0) {
      const id = proved[0]!;
      report.checked++;
      // Twice before concluding: the shard may have been deleted (an old folder version) or the
      // call cut off between the two.
      // Only an answer convicts: a refusal or bytes that are not the shard. Silence (a timeout,
      // a broken stream, a busy supplier) proves nothing on a loaded machine or network; it is
      // asked again at the next full read, and a supplier that stays silent fails its other
      // audits and contacts and is counted lost in time.
      let bytes: Uint8Array | undefined;
      let kept = true, answered = false;
      for (let i = 0; i < 2 && !bytes && kept; i++) {
        bytes = await o.client.getShard(supplier, id).catch((e) => {
          // The shard client marks silence with `refused: false` (SupplierError).
          if ((e as { refused?: unknown })?.refused !== false) answered = true;
          return undefined;
        });
        if (!bytes) {
          kept = (await this.#stillKept(supplier, [id])).length > 0 &&
            (await this.#notDeleted(supplier, [id])).length > 0;
        }
      }
      if (bytes) {
        report.bytes += bytes.length;
        o.health.audited(supplier, true);
      } else if (kept && answered) {
        // It just proved it holds this shard: not serving it is a refusal, not bad luck.
        o.health.audited(supplier, false);
        refused = true;
        bad++;
        await this.#bad(supplier, id, blocks, report);
      }
    }
    o.health.auditDone(supplier, bad === 0, now);
    const asked = missing.length + picks.length;
    if (refused) {
      await this.#dismiss(
        supplier,
        "caught",
        "it proved a shard and then would not serve it",
        blocks,
        report,
      );
    } else if (bad > 0 && bad * 2 > asked) {
      await this.#dismiss(
        supplier,
        "caught",
        `${bad} of ${asked} shards audited were missing or wrong`,
        blocks,
        report,
      );
    }
  }

  /**
   * The shards of `ids` that the owner still keeps and still believes `supplier` holds: a file
   * removed or a folder updated during a round deletes shards before the catalog forgets them.
   */
  async #stillKept(supplier: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return ids;
    const fresh = await this.#o.blocks();
    return ids.filter((id) =>
      fresh?.has(id) && this.#o.locator.suppliersFor(id).includes(supplier)
    );
  }

  /** The shards of `ids` the supplier does not report as deleted by the owner (a fresh list). */
  async #notDeleted(supplier: string, ids: string[]): Promise<string[]> {
    try {
      const l = await this.#o.client.list(supplier);
      const deleted = new Set(Array.isArray(l.deleted) ? l.deleted : []);
      const gone = ids.filter((id) => deleted.has(id));
      for (const id of gone) this.#o.locator.forget(id, supplier);
      return ids.filter((id) => !deleted.has(id));
    } catch {
      return ids; // it answered a moment ago; judge on what it said then
    }
  }

  /** Queues one bad shard for rebuilding and stops believing the supplier holds it. */
  async #bad(
    supplier: string,
    id: string,
    blocks: Map<string, BlockRef>,
    report: AuditReport,
  ): Promise<void> {
    const o = this.#o;
    o.locator.forget(id, supplier);
    o.health.of(supplier).badShards++;
    report.bad++;
    const b = blocks.get(id);
    if (b) await o.repairs.add({ k: b.k, m: b.m, shards: b.shards, missing: [b.index] });
    o.onEvent?.("audit:bad-shard", { supplier, shard: id });
  }

  /** Dismisses a supplier and queues everything it held for rebuilding. */
  async #dismiss(
    supplier: string,
    state: "lost" | "caught",
    reason: string,
    blocks: Map<string, BlockRef> | null,
    report: AuditReport,
  ): Promise<void> {
    const o = this.#o;
    const now = (o.now ?? Date.now)();
    o.health.dismiss(supplier, state, reason, now);
    const entries: RepairEntry[] = [];
    for (const id of o.locator.heldBy(supplier)) {
      o.locator.forget(id, supplier);
      const b = blocks?.get(id);
      if (b) entries.push({ k: b.k, m: b.m, shards: b.shards, missing: [b.index] });
    }
    await o.repairs.addAll(entries);
    await o.dismiss(supplier);
    report.dismissed.push(supplier);
    o.onEvent?.("storage:supplier-dismissed", { supplier, state, reason, shards: entries.length });
  }
}

/** Up to `n` items chosen at random (a partial Fisher–Yates shuffle). */
function pick<T>(items: readonly T[], n: number): T[] {
  const a = [...items];
  const count = Math.min(n, a.length);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(Math.random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, count);
}
