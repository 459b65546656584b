/**
 * The storage service of a running node: hires suppliers (in the background, retrying until
 * enough are found), renews contracts before they expire, and opens the owner's catalog (found
 * through the DHT after a restore, created otherwise). The API and CLI reach files through it.
 */
import { shardId } from "../crypto/merkle.ts";
import { Catalog } from "../catalog/mod.ts";
import { eccForSuppliers } from "../erasure/mod.ts";
import { RepairQueue, ShardLocator, UploadJournal } from "../files/mod.ts";
import { Customer, isLive, MAX_SHARD } from "../suppliers/mod.ts";
import { type MigrationStatus, Migrator } from "./migration.ts";
import { Auditor, type AuditorOptions, type BlockRef, HealthBook } from "../health/mod.ts";
import type { MoteNode } from "./node.ts";
import { ScrubManager } from "../scrub/owner.ts";
import type { NodeState } from "./state.ts";
import { LinkBook } from "./link_book.ts";
import { toBase32 } from "../encoding/base32.ts";
import { deleteShardsEverywhere } from "./links.ts";

/** Settings of the storage service. */
export interface StorageOptions {
  /** Suppliers to hire; the erasure code follows (`eccForSuppliers`). */
  supplierCount: number;
  /** Bytes asked of each supplier. */
  quota: number;
  /** Contract length (ms). */
  term: number;
  /** Plaintext block size (bytes). */
  blockSize?: number;
  /** How often to retry hiring and check renewals (ms). */
  checkEvery?: number;
  /** Wait after a migration pass with failures before the next one (ms, default 5 min). */
  migrateRetry?: number;
  /** How often the suppliers are audited (ms, default 1 h); 0 turns audits off. */
  auditInterval?: number;
  /** How long a supplier may fail without a break before it is replaced (ms, default 4 h). */
  lostAfter?: number;
  /** How much each audit round checks (see {@linkcode AuditorOptions}). */
  audit?: Pick<AuditorOptions, "sample" | "leaves" | "fullReadEvery">;
  /** Scrubbers to keep hired (default 0: only those hired by hand). */
  scrubbers?: number;
  /** Life of each scrub ticket (ms, default 90 days). */
  scrubExpiry?: number;
}

/** How often the owner takes up contracts its scrubbers signed (ms). */
const ADOPT_EVERY = 10 * 60_000;

/** State file that `key import` writes: until the catalog is found, none may be created. */
export const RESTORE_MARKER = "restore-pending";

/** Raised when storage is used before enough suppliers are hired. */
export class NotReadyError extends Error {
  override name = "NotReadyError";
}

/** Hiring, renewals and the catalog for one node. */
export class StorageService {
  readonly node: MoteNode;
  readonly customer: Customer;
  readonly locator: ShardLocator;
  readonly repairs: RepairQueue;
  /** Puts in progress, so an interrupted one resumes under its saved key. */
  readonly journal: UploadJournal;
  readonly options: StorageOptions;
  #catalog?: Catalog;
  #opening?: Promise<Catalog>;
  #timer?: ReturnType<typeof setInterval>;
  #stopped = false;
  #lastError = "";
  /** Moves stored files to the current erasure map in the background. */
  readonly migrator: Migrator;
  /** What audits and contact tell of each supplier. */
  readonly health: HealthBook = new HealthBook();
  /** Audits the suppliers on a schedule and dismisses lost or lying ones. */
  readonly auditor: Auditor;
  #auditTimer?: ReturnType<typeof setInterval>;
  #firstAudit?: ReturnType<typeof setTimeout>;
  #repaired = { shards: 0, last: null as number | null };
  /** The scrubbers this owner hired, with their tickets. */
  readonly scrubs: ScrubManager;
  /** The owner's quick links: their snapshot objects are kept, and deleted when they expire. */
  readonly links: LinkBook;
  #adoptedAt = 0;

  #state: NodeState;

  constructor(node: MoteNode, state: NodeState, options: StorageOptions) {
    this.node = node;
    this.#state = state;
    this.options = options;
    this.customer = new Customer(node, state, { shardId, maxShard: MAX_SHARD, timeout: 30_000 });
    this.locator = new ShardLocator(state);
    this.repairs = new RepairQueue(state);
    this.journal = new UploadJournal(state, { log: node.log.child("journal") });
    this.links = new LinkBook(state, {
      deleteShards: (ids) =>
        deleteShardsEverywhere(this.customer, this.locator, this.suppliers(), ids),
      inUse: async () => {
        const own = this.links.keptIds();
        const objects = await (await this.catalog()).keptObjects();
        return new Set(
          objects.filter((o) => !own.has(toBase32(o.id))).flatMap((o) => o.blocks.flat()),
        );
      },
      log: node.log.child("links"),
    });
    this.scrubs = new ScrubManager(node, state, this.customer, {
      expiry: options.scrubExpiry ?? 90 * 86_400_000,
      // Room to replace every supplier twice over, and renewals.
      maxContracts: Math.max(8, 3 * options.supplierCount),
      maxQuota: options.quota,
    });
    this.migrator = new Migrator({
      node,
      catalog: () => this.#catalog,
      map: () => this.ecc,
      // Never towards a map that the hired suppliers cannot hold: wait for hiring.
      ready: () => this.suppliers().length >= this.ecc.k + this.ecc.m,
      retryAfter: options.migrateRetry,
    });
    this.auditor = new Auditor({
      client: this.customer,
      locator: this.locator,
      repairs: this.repairs,
      health: this.health,
      suppliers: () => this.suppliers(),
      blocks: () => this.#blocks(),
      dismiss: async (supplier) => {
        await this.customer.contracts.remove(supplier);
        node.log.warn("dismissed a supplier", { ...this.health.of(supplier) });
      },
      lostAfter: options.lostAfter ?? 4 * 3600_000,
      ...options.audit,
      onEvent: (type, data) => {
        node.events.emit(type, data);
        if (type === "audit:bad-shard") node.log.warn("a shard failed its audit", data);
      },
    });
  }

  /** Every kept block by shard id, from the catalog (null before it is open). */
  async #blocks(): Promise<Map<string, BlockRef> | null> {
    if (!this.#catalog) return null;
    const map = new Map<string, BlockRef>();
    for (const o of await this.#catalog.keptObjects()) {
      for (const shards of o.blocks) {
        shards.forEach((id, index) => map.set(id, { k: o.k, m: o.m, shards, index }));
      }
    }
    return map;
  }

  /** The erasure code in use. */
  get ecc(): { k: number; m: number } {
    return eccForSuppliers(this.options.supplierCount);
  }

  /** Hired suppliers in placement order (live contracts, oldest first). */
  suppliers(): string[] {
    return this.customer.hired().sort((a, b) =>
      a.terms.start - b.terms.start || (a.terms.supplier < b.terms.supplier ? -1 : 1)
    )
      .map((c) => c.terms.supplier);
  }

  /** Loads state and starts hiring in the background. */
  async start(): Promise<void> {
    await this.customer.load();
    await this.locator.load();
    await this.repairs.load();
    await this.journal.load();
    await this.scrubs.load();
    await this.links.load();
    // One upkeep at a time: two hiring at once would both hire the same missing supplier.
    let running: Promise<void> | undefined;
    const tick = () => {
      running ??= this.#tick().catch((e) => {
        this.#lastError = (e as Error).message;
        this.node.log.debug("storage upkeep failed", { error: e });
      }).finally(() => {
        running = undefined;
        this.migrator.tick();
      });
    };
    tick();
    this.#timer = setInterval(tick, this.options.checkEvery ?? 30_000);
    const every = this.options.auditInterval ?? 3600_000;
    if (every > 0) {
      const audit = () => {
        if (this.#stopped) return;
        this.auditor.round().then(
          (r) => {
            if (r.bad || r.dismissed.length) this.node.log.info("audit round", { ...r });
            // Rebuild at once rather than at the next upkeep tick.
            if (r.bad || r.dismissed.length) tick();
          },
          (e) => this.node.log.warn("audit round failed", { error: e }),
        );
      };
      // The first round a minute after start (sooner with a shorter schedule), so health is
      // known early; then on the schedule.
      this.#firstAudit = setTimeout(audit, Math.min(every, 60_000));
      this.#auditTimer = setInterval(audit, every);
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const { supplierCount, quota, term } = this.options;
    if (this.suppliers().length < supplierCount) {
      const before = this.suppliers().length;
      await this.customer.hire(supplierCount, quota, term, (s) => this.health.isDismissed(s));
      const after = this.suppliers().length;
      if (after > before) {
        this.node.events.emit("storage:hired", { suppliers: after, wanted: supplierCount });
      }
      if (after < supplierCount) {
        this.#lastError = `${after} of ${supplierCount} suppliers hired; looking for more`;
      }
    }
    await this.customer.renewDue();
    await this.links.expireDue();
    // A cheap liveness probe (an empty `has`) keeps each supplier's last contact current.
    await Promise.allSettled(this.suppliers().map((s) => this.customer.has(s, [])));
    if (this.repairs.pendingShards > 0 && this.#catalog) {
      const placed = await this.repairs.retry({
        customer: this.customer,
        locator: this.locator,
        suppliers: this.suppliers(),
      });
      if (placed) {
        this.#repaired.shards += placed;
        this.#repaired.last = Date.now();
        this.node.events.emit("storage:repaired", { placed, waiting: this.repairs.pendingShards });
      }
    }
    if (this.suppliers().length >= supplierCount) {
      const catalog = await this.catalog().catch(() => undefined);
      if (catalog?.keepListDue) {
        const r = await catalog.publishKeepList();
        this.node.log.info("keep list published", { ...r });
        this.node.events.emit("storage:keep-list", { ...r });
      }
      await this.scrubs.tick(this.options.scrubbers ?? 0, catalog?.lastKeepList);
    }
    if (this.scrubs.active().length && Date.now() - this.#adoptedAt > ADOPT_EVERY) {
      this.#adoptedAt = Date.now();
      await this.#adopt();
    }
  }

  /**
   * Takes up the contracts the owner's scrubbers signed while it was away (hires and renewals),
   * so the owner places new files on, renews and audits the suppliers they chose.
   */
  async #adopt(): Promise<void> {
    const found = await this.customer.findServing().catch(() => []);
    for (const f of found) {
      if (this.health.isDismissed(f.id)) continue;
      const before = this.customer.contracts.get(f.id)?.terms.seq;
      const c = await this.customer.adopt(f).catch(() => undefined);
      if (c && c.terms.seq !== before && c.delegation) {
        this.node.log.info("took up a contract a scrubber signed", {
          supplier: f.id,
          expiry: c.terms.expiry,
        });
      }
    }
  }

  /** Files and folders still on an old erasure map, and what the migration is doing. */
  get migration(): MigrationStatus {
    return this.migrator.status;
  }

  /** The catalog, once enough suppliers are hired (opening it on first use). */
  catalog(): Promise<Catalog> {
    if (this.#catalog) return Promise.resolve(this.#catalog);
    const n = this.suppliers().length, { k, m } = this.ecc;
    if (n < k + m) {
      return Promise.reject(
        new NotReadyError(
          `Storage is not ready: ${n} of the ${k + m} suppliers a ${k}+${m} code needs are hired` +
            (this.#lastError ? ` (${this.#lastError})` : ""),
        ),
      );
    }
    return this.#opening ??= (async () => {
      // After a restore the local contracts are fresh; shards of the catalog may sit with the
      // suppliers that served this identity before, so learn who they are first.
      await this.customer.findServing().catch(() => []);
      const catalog = new Catalog({
        node: this.node,
        customer: this.customer,
        locator: this.locator,
        suppliers: () => this.#readers(),
        repairs: this.repairs,
        journal: this.journal,
        k,
        m,
        blockSize: this.options.blockSize,
        kept: () => this.links.kept(),
        pinned: (id) => this.links.isPinned(id),
      });
      // After `key import` a catalog must be found, never created: an empty root published while
      // the network is still out of reach would compete with the real one.
      const pending =
        new TextDecoder().decode((await this.#state.read(RESTORE_MARKER)) ?? new Uint8Array()) ===
          "pending";
      const how = await catalog.open({ create: !pending });
      if (pending) await this.#state.write(RESTORE_MARKER, new TextEncoder().encode("done"));
      this.node.log.info(
        how === "found" ? "opened the catalog found in the network" : "created a new catalog",
      );
      this.#catalog = catalog;
      return catalog;
    })().finally(() => (this.#opening = undefined));
  }

  /** Placement suppliers first, then every other supplier known to serve this identity. */
  #readers(): string[] {
    const placed = this.suppliers();
    const known = this.customer.contracts.all().map((c) => c.terms.supplier);
    return [...new Set([...placed, ...known, ...this.customer.knownSuppliers()])];
  }

  /** Hired suppliers with their contracts, for `mote suppliers`. */
  describe(): {
    supplier: string;
    peer: string | undefined;
    quota: number;
    start: number;
    expiry: number;
    live: boolean;
    lastContact: number | null;
    failures: number;
    health: string;
    lastAudit: number | null;
    lastAuditOk: boolean | null;
  }[] {
    return this.customer.contracts.all().map((c) => ({
      ...this.customer.contactOf(c.terms.supplier),
      lastAudit: this.health.of(c.terms.supplier).lastAudit,
      lastAuditOk: this.health.of(c.terms.supplier).lastAuditOk,
      supplier: c.terms.supplier,
      peer: this.customer.peerOf(c.terms.supplier),
      quota: c.terms.quota,
      start: c.terms.start,
      expiry: c.terms.expiry,
      live: isLive(c),
    }));
  }

  /**
   * Changes how many suppliers to hire. New files use the matching erasure map at once (more
   * suppliers are hired at the next upkeep tick); files already stored stay readable on the map
   * recorded in their manifests, and are moved to the new one in the background once enough
   * suppliers are hired.
   */
  setSupplierCount(count: number): { k: number; m: number } {
    if (!Number.isInteger(count) || count < 2 || count > 64) {
      throw new RangeError(`The supplier count must be a whole number from 2 to 64, got ${count}`);
    }
    this.options.supplierCount = count;
    const { k, m } = this.ecc;
    if (this.#catalog) {
      this.#catalog.options.k = k;
      this.#catalog.options.m = m;
    }
    this.migrator.changed();
    return { k, m };
  }

  /** Supplier health, the audit schedule and rebuilding, for `mote health`. */
  healthReport(): Record<string, unknown> {
    const hired = new Set(this.suppliers());
    for (const s of hired) this.health.of(s); // hired ones show before their first audit
    return {
      audit: {
        interval: this.options.auditInterval ?? 3600_000,
        lostAfter: this.options.lostAfter ?? 4 * 3600_000,
        ...this.auditor.totals,
      },
      suppliers: this.health.all().map((h) => ({ ...h, hired: hired.has(h.supplier) })),
      repair: {
        pendingShards: this.repairs.pendingShards,
        repairedShards: this.#repaired.shards,
        lastRepair: this.#repaired.last,
      },
    };
  }

  /** Stops upkeep and a migration in progress (waiting at most 10 s for it to clean up). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#auditTimer);
    clearTimeout(this.#firstAudit);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.migrator.stop(),
      new Promise((r) => (timer = setTimeout(r, 10_000))),
    ]).finally(() => clearTimeout(timer));
  }
}
