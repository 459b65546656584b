/**
 * A scrubber's work for one owner, one round at a time, on ciphertext only:
 *
 * 1. The ticket must still be in force and not revoked; otherwise the job ends.
 * 2. The owner's signed records are kept alive (republished by this node's record keeper).
 * 3. The owner's keep list (sent by the owner, or fetched from a supplier that holds it) says
 *    which shards exist, block by block, with their ids (Merkle roots).
 * 4. The suppliers serving the owner are found in the DHT; their contracts are taken up; each is
 *    audited like the owner audits (signed list, storage proofs, now and then a full read), and
 *    the lists teach where every shard is. A supplier silent for longer than `lostAfter`, or
 *    caught lying, is dismissed.
 * 5. Blocks with shards held by no live supplier are rebuilt from any k others (byte-identical:
 *    their ids are in the list) and placed on suppliers holding nothing of that block; suppliers
 *    are hired under the ticket when too few remain, and contracts renewed before they end.
 *
 * Several scrubbers of one owner share the work: each repair belongs to the live scrubber with
 * the lowest H(scrubber ‖ object), and the next one takes over only after `takeover` times its
 * rank has passed with the block still broken (every round drops from the queue what suppliers
 * now list, so a block already rebuilt by another is not rebuilt twice). Hiring and renewals follow the same
 * rule with the owner's id as the object.
 */
import { sha256Sync } from "../crypto/hash.ts";
import { shardId } from "../crypto/merkle.ts";
import { concat, utf8 } from "../encoding/bytes.ts";
import { toBase32 } from "../encoding/base32.ts";
import { type KeepPage, openKeepPage, type SignedPage } from "../files/keep_list.ts";
import { RepairQueue, ShardLocator } from "../files/mod.ts";
import { Auditor, type BlockRef, HealthBook } from "../health/mod.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { Customer, isLive, MAX_SHARD } from "../suppliers/mod.ts";
import type { KeepBook } from "../suppliers/keep_book.ts";
import { keepOwnerRecords } from "../suppliers/owner_records.ts";
import type { RevocationBook } from "./revocation_book.ts";
import type { JobReport } from "./report.ts";
import { checkTicketTime, type ScrubTicket } from "./ticket.ts";

export type { JobReport };

/** Settings of a scrubber's jobs. */
export interface JobOptions {
  /** How long a supplier may fail without a break before it is replaced (ms). */
  lostAfter: number;
  /** How long the next-ranked scrubber waits per rank before taking over a repair (ms). */
  takeover: number;
  /** Length of contracts signed under a ticket (ms; capped at the ticket's expiry). */
  term: number;
  /** How much each audit round checks. */
  audit?: { sample?: number; leaves?: number; fullReadEvery?: number };
}

/** Why a job stopped for good. */
export type JobEnd = "expired" | "revoked";

/** One owner's upkeep on a scrubber. */
export class ScrubJob {
  readonly owner: string;
  #ticket: ScrubTicket;
  readonly customer: Customer;
  readonly locator: ShardLocator;
  readonly repairs: RepairQueue;
  readonly health = new HealthBook();
  readonly auditor: Auditor;
  #node: MoteNode;
  #keeps: KeepBook;
  #revocations: RevocationBook;
  #o: JobOptions;
  #blocks: Map<string, BlockRef> | null = null;
  /** Block (first shard id) → kept object id, for coordination. */
  #objectOf = new Map<string, Uint8Array>();
  #wanted = 0;
  #firstSeen = new Map<string, number>();
  #sentSeq = new Map<string, number>();
  #listSeq = -1;
  #signedPages: SignedPage[] = [];
  #report: JobReport;

  constructor(
    init: {
      node: MoteNode;
      ticket: ScrubTicket;
      state: NodeState;
      keeps: KeepBook;
      revocations: RevocationBook;
    },
    options: JobOptions,
  ) {
    this.#node = init.node;
    this.owner = init.ticket.owner;
    this.#ticket = init.ticket;
    this.#keeps = init.keeps;
    this.#revocations = init.revocations;
    this.#o = options;
    this.customer = new Customer(init.node, init.state, {
      shardId,
      maxShard: MAX_SHARD,
      timeout: 30_000,
      delegation: () => this.#ticket,
    });
    this.locator = new ShardLocator(init.state);
    this.repairs = new RepairQueue();
    this.auditor = new Auditor({
      client: {
        list: async (s) => {
          const l = await this.customer.list(s);
          for (const id of l.deleted ?? []) this.#deleted.add(id);
          return l;
        },
        audit: (s, id, size, count) => this.customer.audit(s, id, size, count, this.owner),
        getShard: (s, id) => this.customer.getShard(s, id, this.owner),
        has: (s, ids) => this.customer.has(s, ids),
      },
      locator: this.locator,
      repairs: this.repairs,
      health: this.health,
      suppliers: () => this.#suppliers(),
      blocks: () => Promise.resolve(this.#blocks),
      dismiss: async (s) => {
        this.#owed++;
        await this.customer.contracts.remove(s);
        this.#node.log.warn("a scrubber dismissed a supplier", {
          owner: this.owner,
          ...this.health.of(s),
        });
      },
      lostAfter: options.lostAfter,
      learn: true,
      ...options.audit,
    });
    this.#report = {
      owner: this.owner,
      ticket: init.ticket.name,
      expiry: init.ticket.expiry,
      rounds: 0,
      lastRound: null,
      suppliers: 0,
      shards: 0,
      missing: 0,
      rebuilt: 0,
      rebuiltBytes: 0,
      contracts: 0,
      scrubbers: 1,
    };
  }

  /** The ticket in use. */
  get ticket(): ScrubTicket {
    return this.#ticket;
  }

  /** Takes a newer ticket from the owner (a renewal); older ones are ignored. */
  renew(t: ScrubTicket): boolean {
    if (t.owner !== this.owner || t.issued <= this.#ticket.issued) return false;
    this.#ticket = t;
    this.#report.ticket = t.name;
    this.#report.expiry = t.expiry;
    return true;
  }

  /** What the job has done. */
  get report(): JobReport {
    return { ...this.#report };
  }

  /** Loads saved contracts and placement hints. */
  async load(): Promise<void> {
    await this.customer.load();
    await this.locator.load();
  }

  /** Suppliers to audit: found serving, contracted, or named by a placement hint. */
  #known = new Set<string>();
  #suppliers(): string[] {
    return [...this.#known].filter((s) => !this.health.isDismissed(s));
  }

  /**
   * One round. `peers` are the live co-scrubbers' ids (this one included). Returns why the job
   * ended, when it did.
   */
  async round(peers: string[], signal?: AbortSignal): Promise<JobEnd | undefined> {
    const t = this.#ticket;
    const now = Date.now();
    try {
      checkTicketTime(t, now);
    } catch {
      return "expired";
    }
    const status = await this.#revocations.status(this.owner, t.name);
    if (status === "revoked") return "revoked";
    this.#report.scrubbers = Math.max(1, peers.length);
    // The owner's records are looked up and kept alongside the rest of the round.
    const records = keepOwnerRecords(this.#node, this.owner).catch(() => 0);
    try {
      await this.#loadList();
      // Who serves the owner now; their contracts are taken up so shards can be placed there.
      const found = await this.customer.findServing(this.owner, { timeout: 10_000 });
      // New suppliers' contracts every round; every supplier's every 10th (renewals by others).
      const fresh = this.#report.rounds % 10 === 0
        ? found
        : found.filter((f) => !this.customer.contracts.get(f.id));
      await Promise.all(fresh.map((f) => this.customer.adopt(f).catch(() => undefined)));
      for (const f of found) this.#known.add(f.id);
      for (const c of this.customer.contracts.all()) this.#known.add(c.terms.supplier);
      for (const s of this.locator.suppliers()) this.#known.add(s);
      await this.#sendList();

      const audit = await this.auditor.round(signal);
      // What the suppliers listed this round is the truth: a shard another scrubber rebuilt, or
      // one on a supplier back from a failure, is no longer waiting.
      await this.repairs.retainMissing((id) => !this.#held(id));
      this.#report.suppliers = audit.suppliers - audit.dismissed.length;
      await this.#queueUnplaced(now);
      const owned = this.#rank(peers, utf8(this.owner));
      if (owned.mine) await this.#hire(now);
      if (owned.mine) await this.customer.renewDue();
      await this.#sendList();
      await this.#repair(peers, now, signal);
      this.#report.missing = this.repairs.pendingShards;
      delete this.#report.lastError;
    } catch (e) {
      this.#report.lastError = (e as Error).message;
      this.#node.log.warn("scrub round failed", { owner: this.owner, error: e });
    } finally {
      await records;
      this.#report.rounds++;
      this.#report.lastRound = Date.now();
      await this.locator.save();
    }
    return undefined;
  }

  /** Reads the owner's latest complete keep list, fetching it from a supplier when none is held. */
  async #loadList(): Promise<void> {
    const key = this.#ticket.ownerKey;
    let got = await this.#keeps.completePages(this.owner, key);
    if (!got) {
      for (const s of this.customer.knownSuppliers()) {
        if (await this.#fetchList(s).catch(() => false)) break;
      }
      got = await this.#keeps.completePages(this.owner, key);
    }
    if (!got || got.seq === this.#listSeq) return;
    this.#listSeq = got.seq;
    this.#signedPages = got.signed;
    this.#useList(got.pages);
  }

  async #fetchList(supplier: string): Promise<boolean> {
    const first = await this.customer.keepPage(supplier, 0);
    let r = await this.#keeps.receive(this.owner, this.#ticket.ownerKey, first.page);
    for (let i = 1; i < Math.min(first.pages, 64) && !r.complete; i++) {
      const p = await this.customer.keepPage(supplier, i);
      r = await this.#keeps.receive(this.owner, this.#ticket.ownerKey, p.page);
    }
    return r.complete;
  }

  #useList(pages: KeepPage[]) {
    const blocks = new Map<string, BlockRef>();
    this.#objectOf.clear();
    let wanted = 0;
    for (const p of pages) {
      for (const o of p.objects) {
        const n = o.k + o.m;
        wanted = Math.max(wanted, n);
        for (let b = 0; b * n < o.shards.length; b++) {
          const shards = o.shards.slice(b * n, (b + 1) * n);
          shards.forEach((id, index) => blocks.set(id, { k: o.k, m: o.m, shards, index }));
          this.#objectOf.set(shards[0]!, o.id);
        }
      }
    }
    this.#blocks = blocks;
    this.#wanted = wanted;
    this.#deleted.clear(); // the suppliers' lists tell it again from the next round
    this.#report.shards = blocks.size;
  }

  /** Hands the owner's keep list on to every contracted supplier that lacks this sequence. */
  async #sendList(): Promise<void> {
    if (!this.#signedPages.length) return;
    await Promise.all(
      this.customer.hired().map(async (c) => {
        const s = c.terms.supplier;
        if (this.#sentSeq.get(s) === this.#listSeq) return;
        try {
          await this.customer.sendKeepList(s, this.#signedPages);
          this.#sentSeq.set(s, this.#listSeq);
        } catch (e) {
          // A supplier already holding a newer list has what it needs.
          if (/Stale keep list/.test((e as Error).message)) this.#sentSeq.set(s, this.#listSeq);
        }
      }),
    );
  }

  /**
   * Queues every shard that no supplier still counted on has held for the grace period
   * (`lostAfter`). A shard this scrubber has never seen listed may sit with a supplier it has
   * not found yet (just hired, or a DHT lookup that came back short), so it waits like a
   * failing supplier would; one whose holder was dismissed is queued by the audit at once.
   */
  async #queueUnplaced(now: number): Promise<void> {
    if (!this.#blocks) return;
    const done = new Set<string>();
    const entries = [];
    const seen = new Set<string>();
    for (const ref of this.#blocks.values()) {
      const key = ref.shards[0]!;
      if (done.has(key)) continue;
      done.add(key);
      const missing = ref.shards.flatMap((id, j) => {
        if (this.#held(id)) return [];
        seen.add(id);
        const since = this.#unplacedSince.get(id) ?? now;
        this.#unplacedSince.set(id, since);
        return now - since >= this.#o.lostAfter ? [j] : [];
      });
      if (missing.length) entries.push({ k: ref.k, m: ref.m, shards: ref.shards, missing });
    }
    for (const id of [...this.#unplacedSince.keys()]) {
      if (!seen.has(id)) this.#unplacedSince.delete(id);
    }
    await this.repairs.addAll(entries);
  }

  #unplacedSince = new Map<string, number>();

  /** Shards the owner deleted since its keep list was made (as suppliers' lists report). */
  #deleted = new Set<string>();

  /**
   * Whether `id` needs nothing: a supplier still counted on (not dismissed) is believed to hold
   * it, or the owner deleted it.
   */
  #held(id: string): boolean {
    return this.#deleted.has(id) ||
      this.locator.suppliersFor(id).some((s) => !this.health.isDismissed(s));
  }

  /** This scrubber's rank for `object` among the live scrubbers (0: first in line). */
  #rank(peers: string[], object: Uint8Array): { rank: number; mine: boolean } {
    const me = this.#node.id;
    const all = [...new Set([me, ...peers])];
    const score = (id: string) => toBase32(sha256Sync(concat(utf8(id), object)));
    const sorted = all.sort((a, b) => (score(a) < score(b) ? -1 : 1));
    const rank = sorted.indexOf(me);
    return { rank, mine: rank === 0 };
  }

  /** Replacements owed for suppliers this job dismissed (hired without waiting). */
  #owed = 0;
  /** Since when fewer suppliers than the code needs have been in good standing, or null. */
  #shortSince: number | null = null;

  /**
   * Hires suppliers under the ticket while fewer than the code needs are in good standing: at
   * once to replace a supplier this job dismissed, otherwise only once the shortfall has lasted
   * `lostAfter` (a supplier the DHT did not return this time is probably still there).
   */
  async #hire(now: number): Promise<void> {
    const good = this.customer.hired(now).map((c) => c.terms.supplier).filter((s) => {
      const h = this.health.of(s);
      return !this.health.isDismissed(s) && h.state === "ok";
    });
    if (this.#wanted === 0 || good.length >= this.#wanted) {
      this.#shortSince = null;
      this.#owed = 0;
      return;
    }
    this.#shortSince ??= now;
    if (this.#owed === 0 && now - this.#shortSince < this.#o.lostAfter) return;
    const before = new Set(this.customer.hired(now).map((c) => c.terms.supplier));
    // Suppliers that are failing still count as hired; ask for enough beyond them.
    const failing = before.size - good.length;
    await this.customer.hire(
      this.#wanted + failing,
      this.#ticket.maxQuota,
      this.#o.term,
      (s) => this.health.isDismissed(s),
    );
    for (const c of this.customer.hired()) {
      if (before.has(c.terms.supplier)) continue;
      this.#known.add(c.terms.supplier);
      this.#report.contracts++;
      this.#owed = Math.max(0, this.#owed - 1);
      this.#node.log.info("a scrubber hired a supplier for its owner", {
        owner: this.owner,
        supplier: c.terms.supplier,
        expiry: c.terms.expiry,
      });
    }
  }

  /** Rebuilds the blocks this scrubber is in line for (see the module comment). */
  async #repair(peers: string[], now: number, signal?: AbortSignal): Promise<void> {
    const waiting = new Set(this.repairs.entries().map(([k]) => k));
    for (const k of [...this.#firstSeen.keys()]) if (!waiting.has(k)) this.#firstSeen.delete(k);
    for (const k of waiting) if (!this.#firstSeen.has(k)) this.#firstSeen.set(k, now);
    if (!waiting.size) return;
    const targets = this.customer.hired(now).map((c) => c.terms.supplier).filter((s) =>
      !this.health.isDismissed(s) && this.health.of(s).state === "ok"
    );
    if (!targets.length) return;
    await this.repairs.retry({
      customer: this.customer,
      locator: this.locator,
      suppliers: targets,
      signal,
      spread: true,
      only: (key) => {
        const { rank } = this.#rank(peers, this.#objectOf.get(key) ?? utf8(key));
        return now - this.#firstSeen.get(key)! >= rank * this.#o.takeover;
      },
      onPlaced: (_id, _s, bytes) => {
        this.#report.rebuilt++;
        this.#report.rebuiltBytes += bytes;
      },
    });
  }

  /** Takes a keep list page from the owner. */
  async receivePage(page: SignedPage): Promise<{ seq: number; complete: boolean }> {
    openKeepPage(page, this.#ticket.ownerKey);
    return await this.#keeps.receive(this.owner, this.#ticket.ownerKey, page);
  }

  /** Whether the owner's contract with `supplier` is live in this job's book. */
  contracted(supplier: string): boolean {
    const c = this.customer.contracts.get(supplier);
    return !!c && isLive(c);
  }
}
