/**
 * The supplier service: sells space under signed contracts and keeps customers' shards.
 *
 * It publishes a signed offer, announces itself (and each customer it serves) as a DHT provider,
 * countersigns acceptable contract proposals, and serves the shard protocol: `put` (only under a
 * live contract, within quota, signed by the customer, id checked against the bytes), `get` and
 * `has` (knowing a shard's id is the capability to fetch its ciphertext, within rate limits),
 * `delete` (signed, replay-proof), `list` (signed by the customer), and `keep` (a page of the
 * customer's signed keep list). Expired contracts keep their shards for a grace period, then the
 * shards are deleted.
 *
 * Reconciliation removes strays: a customer's shard that its latest complete keep list leaves
 * out, and that was stored more than `strayGrace` before that list was made. Measuring the grace
 * against the list's own time (not the supplier's clock) means an owner who uploads and goes
 * offline before publishing a new list loses nothing, and shards of an upload still in flight
 * (stored after the list was made) are never strays.
 */
import { merkleProof } from "../crypto/merkle.ts";
import { encodeRecord } from "../records/record.ts";
import { keepOwnerRecords } from "./owner_records.ts";
import { MAX_PAGE_BYTES } from "../files/keep_list.ts";
import { encode } from "../encoding/cbor.ts";
import { encodeWithTail } from "../encoding/cbor_tail.ts";
import { readBytes, readString, readUint } from "../encoding/shape.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import type { ShardStore } from "../store/mod.ts";
import { servesCid, supplyCid } from "./advertise.ts";
import {
  type Contract,
  ContractError,
  countersignContract,
  decodeTerms,
  encodeContract,
  isLive,
} from "./contract.ts";
import { ContractBook } from "./contract_book.ts";
import { KeepBook } from "./keep_book.ts";
import { WriteBook } from "./write_book.ts";
import { Tombstones } from "./tombstones.ts";
import {
  decodeRequest,
  FRAME_OVERHEAD,
  MAX_CHALLENGE,
  MAX_IDS,
  readDelete,
  readList,
  readPutAuth,
  readSig,
  REQUEST_WINDOW_MS,
  SHARD_PROTOCOL,
  SUPPLY_PROTOCOL,
  verifyDelete,
  verifyList,
  verifyPut,
} from "./messages.ts";
import { encodeOffer, type Offer } from "./offer.ts";
import { checkTicketTime, openTicket, type ScrubTicket, TicketError } from "../scrub/ticket.ts";
import { RevocationBook } from "../scrub/revocation_book.ts";
import { equals } from "../encoding/bytes.ts";
import { MAX_TICKET_BYTES } from "../scrub/ticket.ts";

/** Settings of a supplier. */
export interface SupplierOptions {
  /** Bytes offered. */
  capacity: number;
  /** Price per GiB per 30 days, micro-units. */
  price: number;
  /** Largest shard accepted. */
  maxShard: number;
  /** Longest contract term accepted (ms). */
  maxTerm: number;
  /** How long shards of an expired contract are kept (ms). */
  grace: number;
  /** How long before a keep list's creation a shard it leaves out must be stored (ms). */
  strayGrace: number;
  /**
   * How often every stored shard is read back and checked against its id (ms; 0: never). A
   * corrupt copy is deleted, so the owner's next audit finds it missing and has it rebuilt.
   */
  selfCheckEvery?: number;
}

/**
 * The largest shard: a whole default block (4 MiB) with its 16-byte GCM tag, with room to spare,
 * because a 1+1 code stores each block as one data shard.
 */
export const MAX_SHARD = (4 << 20) + 4096;

/**
 * Default settings: shards up to 4 MiB (and a little), terms up to 90 days, 7 days of grace after a contract
 * ends, 24 hours before a shard left out of the keep list counts as a stray.
 */
export const SUPPLIER_DEFAULTS: Omit<SupplierOptions, "capacity"> = {
  price: 0,
  maxShard: MAX_SHARD,
  maxTerm: 90 * 24 * 3600 * 1000,
  grace: 7 * 24 * 3600 * 1000,
  strayGrace: 24 * 3600 * 1000,
};

/** A running supplier. */
export class Supplier {
  readonly node: MoteNode;
  readonly store: ShardStore;
  readonly options: SupplierOptions;
  readonly contracts: ContractBook;
  readonly keeps: KeepBook;
  /** Customers' revoked scrub tickets, checked before anything is done under a ticket. */
  readonly revocations: RevocationBook;
  /** Shards customers deleted lately, for their scrubbers. */
  readonly tombstones: Tombstones;
  /** Shards written by holders of an owner's folder write keys (`write_book.ts`). */
  readonly writes: WriteBook;
  #timer?: ReturnType<typeof setInterval>;

  constructor(node: MoteNode, store: ShardStore, state: NodeState, options: SupplierOptions) {
    this.node = node;
    this.store = store;
    this.options = options;
    this.contracts = new ContractBook(state, "supplied-contracts.cbor");
    this.keeps = new KeepBook(state);
    this.revocations = new RevocationBook(node, state);
    this.tombstones = new Tombstones(state);
    this.writes = new WriteBook(state);
  }

  /** Bytes promised under live contracts. */
  promised(now: number = Date.now()): number {
    return this.contracts.all().filter((c) => isLive(c, now)).reduce(
      (s, c) => s + c.terms.quota,
      0,
    );
  }

  /** The current offer. */
  offer(): Offer {
    const free = Math.max(0, this.options.capacity - this.promised());
    return {
      v: 1,
      capacity: this.options.capacity,
      free,
      price: this.options.price,
      maxShard: this.options.maxShard,
      peer: this.node.p2p.peerId.toString(),
    };
  }

  /** Registers the protocols, publishes the offer and announces itself. */
  async start(): Promise<void> {
    await this.contracts.load();
    const limits = { maxResponse: this.options.maxShard + FRAME_OVERHEAD, timeout: 60_000 };
    await this.node.rpc.handle(SUPPLY_PROTOCOL, (req, ctx) => this.#supply(req, ctx.peer), {
      ...limits,
      maxRequest: 4096,
    });
    await this.node.rpc.handle(SHARD_PROTOCOL, (req) => this.#shard(req), {
      ...limits,
      maxRequest: this.options.maxShard + FRAME_OVERHEAD,
    });
    this.announce().catch((e) => this.node.log.warn("could not announce supply yet", { error: e }));
    // Expired contracts past their grace period lose their shards, and strays are removed;
    // checked hourly (and at start).
    this.#timer = setInterval(
      () => this.expire().then(() => this.reconcile()).catch(() => {}),
      Math.min(this.options.grace, 3_600_000),
    );
    // Customers' records are refreshed at the node's republish pace (hourly by default).
    const every = Math.max(1_000, Math.min(this.node.options.republishInterval, 3_600_000));
    this.#keepTimer = setInterval(() => this.keepCustomerRecords().catch(() => {}), every);
    const check = this.options.selfCheckEvery ?? 24 * 3600_000;
    if (check > 0) {
      this.#checkTimer = setInterval(() => {
        this.#checking ??= this.selfCheck().catch((e) => {
          this.node.log.warn("self-check failed", { error: e });
          return 0;
        }).finally(() => (this.#checking = undefined));
      }, check);
    }
    await this.expire();
  }

  #checkTimer?: ReturnType<typeof setInterval>;
  #checking?: Promise<number>;

  async #corrupt(customer: string, id: string): Promise<boolean> {
    try {
      await this.store.get(customer, id);
      return false;
    } catch (e) {
      if ((e as Error).name === "ShardCorruptError") return true;
      throw e;
    }
  }

  /**
   * Reads every stored shard back and checks it against its id (the store checks on every
   * read); deletes the corrupt ones (bit rot, a damaged disk) so they read as missing rather than
   * wrong. Returns how many were deleted.
   */
  async selfCheck(signal?: AbortSignal): Promise<number> {
    let removed = 0;
    for await (const customer of this.store.customers()) {
      for await (const s of this.store.list(customer)) {
        if (signal?.aborted) return removed;
        try {
          await this.store.get(customer, s.id);
        } catch (e) {
          if ((e as Error).name !== "ShardCorruptError") throw e;
          await this.store.delete(customer, s.id);
          removed++;
          this.node.log.warn("deleted a corrupt shard", { customer, shard: s.id });
        }
      }
    }
    return removed;
  }

  #offerRecord?: Uint8Array;

  /** Signs and publishes the current offer; returns the record bytes. */
  async refreshOffer(): Promise<Uint8Array> {
    const { record } = await this.node.publish(
      "offer",
      new Uint8Array(0),
      encodeOffer(this.offer()),
    );
    return this.#offerRecord = encodeRecord(record);
  }

  /** Publishes the offer record and the provider announcements. */
  async announce(): Promise<void> {
    await this.refreshOffer();
    const dht = this.node.p2p.services.dht;
    const cids = [
      await supplyCid(),
      ...await Promise.all(this.contracts.customers().map(servesCid)),
    ];
    for (const cid of cids) {
      for await (const _ of dht.provide(cid, { signal: AbortSignal.timeout(30_000) })) {
        /* drain */
      }
    }
  }

  /** Stops the timers (the node's Rpc stops with the node). */
  stop(): void {
    clearInterval(this.#checkTimer);
    clearInterval(this.#timer);
    clearInterval(this.#keepTimer);
  }

  #keepTimer?: ReturnType<typeof setInterval>;

  /**
   * Keeps the signed records of every customer with a live contract alive: its identity
   * document, catalog root, keep list, and the folder records the keep list names. They are
   * republished by this node's record keeper, so they outlive the owner's absence.
   */
  async keepCustomerRecords(): Promise<number> {
    let kept = 0;
    for (const c of this.contracts.all().filter((c) => isLive(c))) {
      kept += await keepOwnerRecords(this.node, c.terms.customer);
    }
    return kept;
  }

  /** Deletes the shards of contracts expired longer than the grace period. */
  async expire(now: number = Date.now()): Promise<number> {
    let removed = 0;
    for (const c of this.contracts.all()) {
      if (now < c.terms.expiry + this.options.grace) continue;
      for await (const s of this.store.list(c.terms.customer)) {
        if (await this.store.delete(c.terms.customer, s.id)) removed++;
      }
      await this.contracts.remove(c.terms.customer);
      await this.keeps.forget(c.terms.customer);
      await this.writes.forget(c.terms.customer);
      this.node.log.info("contract ended; shards deleted", { customer: c.terms.customer, removed });
    }
    return removed;
  }

  /**
   * Removes strays: shards a customer's latest complete keep list leaves out that were stored
   * more than `strayGrace` before the list was made. Customers without a complete list are left
   * alone. Only `customer` when given (its list just completed). Returns how many shards were
   * removed.
   */
  async reconcile(customer?: string): Promise<number> {
    let removed = 0;
    const contracts = this.contracts.all().filter((c) =>
      !customer || c.terms.customer === customer
    );
    for (const c of contracts) {
      const customer = c.terms.customer;
      const list = await this.keeps.complete(customer, c.customerKey).catch((e) => {
        this.node.log.warn("unreadable keep list; not reconciling", { customer, error: e });
        return null;
      });
      if (!list) continue;
      const cutoff = list.created - this.options.strayGrace;
      // Writers' shards under a folder's current write key are kept until the owner merges them.
      const written = await this.writes.kept(this.node, customer);
      const strays: string[] = [];
      for await (const s of this.store.list(customer)) {
        if (s.storedAt < cutoff && !list.ids.has(s.id) && !written.has(s.id)) strays.push(s.id);
      }
      for (const id of strays) if (await this.store.delete(customer, id)) removed++;
      if (strays.length) {
        this.node.log.info("strays removed", { customer, removed: strays.length, list: list.seq });
        this.node.events.emit("supplier:reconciled", { customer, removed: strays.length });
      }
    }
    return removed;
  }

  async #supply(bytes: Uint8Array, _peer: string): Promise<Uint8Array> {
    const req = decodeRequest(bytes, 4096);
    if (req.op === "offer") {
      return encode({ v: 1, record: this.#offerRecord ?? await this.refreshOffer() });
    }
    if (req.op === "current") {
      // The current contract with a customer (signed by both, so harmless to hand out): a
      // customer restoring on a new machine learns its sequence number and renews above it.
      const c = this.contracts.get(readString(req, "customer", "current", 52));
      if (!c) throw new Error("No contract with that customer");
      return encodeContract(c);
    }
    if (req.op === "contract") {
      const terms = decodeTerms(req.terms);
      const delegated = "dt" in req;
      const proposal = {
        terms,
        customerKey: readBytes(req, "ck", "proposal", { exact: 32 }),
        customerSig: readBytes(req, "cs", "proposal", { exact: 64 }),
        ...(delegated
          ? {
            delegation: {
              ticket: readBytes(req, "dt", "proposal", { max: MAX_TICKET_BYTES }),
              slot: readUint(req, "ds", "proposal"),
            },
          }
          : {}),
      };
      this.#acceptable(terms);
      // A scrubber signing for its owner: the ticket must be in force and, by the owner's
      // newest revocation set (looked up now), not revoked.
      if (delegated) await this.#ticketValid(openTicket(proposal.delegation!.ticket), true);
      const contract = countersignContract(
        proposal,
        this.node.keys.signSecret,
        this.node.keys.signPublic,
      );
      const isNew = !this.contracts.get(terms.customer);
      await this.contracts.put(contract);
      if (isNew) {
        servesCid(terms.customer).then(async (cid) => {
          for await (
            const _ of this.node.p2p.services.dht.provide(cid, {
              signal: AbortSignal.timeout(30_000),
            })
          ) {
            // drain
          }
        }).catch(() => {});
      }
      this.refreshOffer().catch(() => {}); // free space changed
      this.node.events.emit("supplier:contract", {
        customer: terms.customer,
        quota: terms.quota,
        expiry: terms.expiry,
      });
      return encodeContract(contract);
    }
    throw new Error(`Unknown supply operation "${String(req.op).slice(0, 20)}"`);
  }

  #acceptable(t: Contract["terms"]) {
    const now = Date.now();
    if (t.supplier !== this.node.id) {
      throw new ContractError("This proposal names another supplier");
    }
    if (Math.abs(t.start - now) > REQUEST_WINDOW_MS) {
      throw new ContractError("A contract must start now");
    }
    if (t.expiry - t.start > this.options.maxTerm) {
      throw new ContractError(
        `Terms longer than ${Math.round(this.options.maxTerm / 86_400_000)} days are refused`,
      );
    }
    if (t.price < this.options.price) {
      throw new ContractError(`The price is below this supplier's ${this.options.price}`);
    }
    const current = this.contracts.get(t.customer);
    if (current && t.seq <= current.terms.seq) {
      throw new ContractError(
        `A contract with sequence ${current.terms.seq} already exists; propose a higher one`,
      );
    }
    const others = this.promised(now) - (current && isLive(current, now) ? current.terms.quota : 0);
    if (others + t.quota > this.options.capacity) {
      throw new ContractError(
        `Not enough space: ${t.quota} bytes asked, ${
          Math.max(0, this.options.capacity - others)
        } free`,
      );
    }
  }

  async #shard(bytes: Uint8Array): Promise<Uint8Array | readonly Uint8Array[]> {
    const req = decodeRequest(bytes, this.options.maxShard + FRAME_OVERHEAD);
    const now = Date.now();
    switch (req.op) {
      case "put": {
        const auth = readPutAuth(req.auth);
        const data = readBytes(req, "data", "put", { max: this.options.maxShard });
        const c = this.#contractFor(auth.customer, now);
        if (auth.supplier !== this.node.id) {
          throw new Error("This put is addressed to another supplier");
        }
        if (Math.abs(auth.ts - now) > REQUEST_WINDOW_MS) {
          throw new Error("This put is too old or from the future");
        }
        if (auth.size !== data.length) {
          throw new Error(`The put says ${auth.size} bytes but carries ${data.length}`);
        }
        // Under a scrub ticket the scrubber signs, and may store only what the owner's keep
        // list names: a scrubber rebuilds shards, it never adds data.
        const ticket = "tk" in req ? await this.#ticketFor(req, c) : undefined;
        if (!verifyPut(auth, readSig(req), ticket?.scrubberKey ?? c.customerKey)) {
          throw new Error("The put's signature does not verify");
        }
        if (ticket) {
          if ((await this.tombstones.of(auth.customer, now)).includes(auth.id)) {
            throw new Error("The owner deleted that shard; it is not stored again");
          }
          const list = await this.keeps.complete(auth.customer, c.customerKey);
          if (!list?.ids.has(auth.id)) {
            throw new Error("Under a scrub ticket only shards on the owner's keep list are stored");
          }
        }
        let r = await this.store.put(auth.customer, auth.id, data);
        // A customer sends a shard it placed here before to replace a copy an audit found bad:
        // check the stored copy, and put the good one in place of a corrupt one.
        if (r === "exists" && await this.#corrupt(auth.customer, auth.id)) {
          await this.store.delete(auth.customer, auth.id);
          r = await this.store.put(auth.customer, auth.id, data);
          this.node.log.warn("replaced a corrupt shard", { customer: auth.customer, id: auth.id });
        }
        return encode({ v: 1, result: r });
      }
      case "wput": {
        // A writer's shard for an owner's shared folder, signed with the folder's write key.
        const result = await this.writes.put(this, req, this.options.maxShard);
        return encode({ v: 1, result });
      }
      case "wpolicy": {
        // An owner's rotated write policy (a signed record; anyone may relay it).
        const learned = this.writes.learn(
          this.node,
          readBytes(req, "record", "wpolicy", { max: 1024 }),
        );
        return encode({ v: 1, learned });
      }
      case "get": {
        const customer = readString(req, "customer", "get", 52);
        const id = readString(req, "id", "get", 52);
        const data = await this.#read(customer, id);
        // The shard goes out after the answer's head as it is: encode() would copy it.
        return encodeWithTail({ v: 1 }, "data", data);
      }
      case "has": {
        const customer = readString(req, "customer", "has", 52);
        if (!Array.isArray(req.ids) || req.ids.length > MAX_IDS) {
          throw new Error(`"ids" must list at most ${MAX_IDS}`);
        }
        const ids = req.ids.map((x, i) => readString({ [i]: x }, String(i), "has.ids", 52));
        return encode({
          v: 1,
          has: await Promise.all(ids.map((id) => this.store.has(customer, id))),
        });
      }
      case "delete": {
        const d = readDelete(req.req);
        const c = this.contracts.get(d.customer);
        if (!c) throw new Error("No contract with that customer");
        if (d.supplier !== this.node.id) {
          throw new Error("This delete is addressed to another supplier");
        }
        if (d.expiry < now) throw new Error("This delete request has expired");
        if (!verifyDelete(d, readSig(req), c.customerKey)) {
          throw new Error("The delete's signature does not verify");
        }
        if (d.counter <= this.contracts.counter(d.customer)) {
          throw new Error(
            `Replayed delete refused: counter ${d.counter} is not above ${
              this.contracts.counter(d.customer)
            }`,
          );
        }
        await this.contracts.setCounter(d.customer, d.counter);
        let deleted = 0;
        for (const id of d.ids) if (await this.store.delete(d.customer, id)) deleted++;
        await this.tombstones.add(d.customer, d.ids, now);
        return encode({ v: 1, deleted });
      }
      case "prove": {
        // A storage proof: the challenged leaves with their Merkle paths, checkable by anyone
        // who knows the shard id and size, without the data or any key.
        const customer = readString(req, "customer", "prove", 52);
        const id = readString(req, "id", "prove", 52);
        if (!Array.isArray(req.leaves) || req.leaves.length > MAX_CHALLENGE) {
          throw new Error(`"leaves" must list at most ${MAX_CHALLENGE} indexes`);
        }
        const data = await this.#read(customer, id);
        const proof = await merkleProof(data, req.leaves as number[]);
        return encode({ v: 1, leaves: proof.leaves, paths: proof.paths });
      }
      case "keep": {
        // A page of the customer's keep list. Signed by the customer, so anyone may relay it;
        // only a customer with a contract here has a list kept.
        const customer = readString(req, "customer", "keep", 52);
        const c = this.contracts.get(customer);
        if (!c) throw new Error("No contract with that customer");
        const r = await this.keeps.receive(customer, c.customerKey, {
          body: readBytes(req, "body", "keep", { max: MAX_PAGE_BYTES }),
          sig: readSig(req),
        }, now);
        if (r.complete) this.reconcile(customer).catch(() => {});
        return encode({ v: 1, ...r });
      }
      case "revoked": {
        // The owner's revocation set (a signed record; anyone may relay it).
        const customer = readString(req, "customer", "revoked", 52);
        const added = await this.revocations.apply(
          customer,
          readBytes(req, "record", "revoked", { max: 64 * 1024 }),
        );
        return encode({ v: 1, added });
      }
      case "list": {
        const l = readList(req.req);
        const c = this.contracts.get(l.customer);
        if (!c) throw new Error("No contract with that customer");
        if (l.supplier !== this.node.id || Math.abs(l.ts - now) > REQUEST_WINDOW_MS) {
          throw new Error("Stale or misaddressed list request");
        }
        const ticket = "tk" in req ? await this.#ticketFor(req, c) : undefined;
        if (!verifyList(l, readSig(req), ticket?.scrubberKey ?? c.customerKey)) {
          throw new Error("The list request's signature does not verify");
        }
        if ("page" in req) {
          // A scrubber catching up on the owner's keep list (signed by the owner, as it came).
          const got = await this.keeps.completePages(l.customer, c.customerKey);
          const page = got?.signed[readUint(req, "page", "list")];
          if (!got || !page) throw new Error("No complete keep list from that customer here");
          return encode({ v: 1, body: page.body, sig: page.sig, pages: got.signed.length });
        }
        const shards = [];
        for await (const s of this.store.list(l.customer)) shards.push([s.id, s.size, s.storedAt]);
        return encode({
          v: 1,
          shards,
          usage: await this.store.usage(l.customer),
          // What the owner deleted lately: a scrubber whose keep list predates the deletes must
          // neither rebuild those shards nor count them against this supplier.
          deleted: await this.tombstones.of(l.customer, now),
        });
      }
    }
    throw new Error(`Unknown shard operation "${String(req.op).slice(0, 20)}"`);
  }

  /**
   * A stored shard for `get` and `prove`. A copy gone bad on disk is deleted and reported as
   * missing, so an audit counts one bad shard (and it is rebuilt) rather than a silent supplier.
   */
  async #read(customer: string, id: string): Promise<Uint8Array> {
    let data: Uint8Array | null;
    try {
      data = await this.store.get(customer, id);
    } catch (e) {
      if ((e as Error).name !== "ShardCorruptError") throw e;
      await this.store.delete(customer, id);
      this.node.log.warn("deleted a corrupt shard", { customer, shard: id });
      data = null;
    }
    if (!data) throw new Error(`No shard ${id} for that customer here`);
    return data;
  }

  /** The scrub ticket a request carries, checked against the customer's contract. */
  async #ticketFor(req: Record<string, unknown>, c: Contract): Promise<ScrubTicket> {
    const t = openTicket(readBytes(req, "tk", "request", { max: MAX_TICKET_BYTES }));
    if (t.owner !== c.terms.customer || !equals(t.ownerKey, c.customerKey)) {
      throw new TicketError("The scrub ticket belongs to another customer");
    }
    await this.#ticketValid(t, false);
    return t;
  }

  /** Throws unless a ticket is in force and its owner's revocation set is known and omits it. */
  async #ticketValid(t: ScrubTicket, fresh: boolean): Promise<void> {
    checkTicketTime(t);
    const status = await this.revocations.status(t.owner, t.name, { fresh });
    if (status === "revoked") throw new TicketError(`The scrub ticket ${t.name} was revoked`);
    if (status === "unknown") {
      throw new TicketError(
        "The owner's revocation set cannot be found, so the scrub ticket's status is unknown",
      );
    }
  }

  #contractFor(customer: string, now: number): Contract {
    const c = this.contracts.get(customer);
    if (!c) throw new ContractError("No contract with that customer: hire this supplier first");
    if (!isLive(c, now)) {
      throw new ContractError("The contract with that customer has expired: renew it");
    }
    return c;
  }

  /** The quota a customer has here (for the shard store). */
  quotaOf(customer: string): number | undefined {
    const c = this.contracts.get(customer);
    return c && isLive(c) ? c.terms.quota : 0;
  }
}
