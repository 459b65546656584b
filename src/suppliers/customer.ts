/**
 * The customer side of supply: find suppliers through the DHT, check their signed offers, hire
 * them under contracts (and renew those), and store, fetch, list and delete shards with them.
 * Every shard fetched is checked against its id before it is returned.
 */
import { MAX_PAGE_BYTES, type SignedPage } from "../files/keep_list.ts";
import { checkTicketTime, type ScrubTicket } from "../scrub/ticket.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import { concat } from "../encoding/bytes.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { copyRange, encodeWithTail, findTail } from "../encoding/cbor_tail.ts";
import { readBytes } from "../encoding/shape.ts";
import { RpcError } from "../net/rpc.ts";
import { challengeIndexes, verifyMerkleProof } from "../crypto/merkle.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { decodeRecord, formatRecordKey, recordKeyOf } from "../records/record.ts";
import { servesCid, supplyCid } from "./advertise.ts";
import {
  type Contract,
  decodeContract,
  delegationTicket,
  isLive,
  type Proposal,
  proposeContract,
  proposeDelegatedContract,
} from "./contract.ts";
import { ContractBook } from "./contract_book.ts";
import {
  encodeRequest,
  FRAME_OVERHEAD,
  MAX_CHALLENGE,
  SHARD_PROTOCOL,
  signDelete,
  signList,
  signPut,
  SUPPLY_PROTOCOL,
} from "./messages.ts";
import { decodeOffer, type Offer } from "./offer.ts";

/** A supplier found in the DHT, with its verified offer. */
export interface FoundSupplier {
  id: string;
  peer: string;
  offer: Offer;
}

/** Raised when a supplier refuses, misbehaves or returns a shard that does not match its id. */
export class SupplierError extends Error {
  override name = "SupplierError";
  readonly supplier: string;
  /**
   * True when the supplier answered with a refusal (quota, contract, bad request): asking again
   * will not help. False for silence, timeouts and broken streams, which may pass.
   */
  readonly refused: boolean;
  constructor(supplier: string, message: string, refused = false) {
    super(message);
    this.supplier = supplier;
    this.refused = refused;
  }
}

/** What the customer side needs. */
export interface CustomerOptions {
  /** Computes a shard's id from its bytes, to check what suppliers return. */
  shardId: (bytes: Uint8Array) => Promise<string>;
  /** Largest shard this customer sends. */
  maxShard: number;
  /** Per-call timeout for shard calls (ms). */
  timeout: number;
  /**
   * Acting for another node under its scrub ticket (a scrubber): contracts, puts and lists are
   * signed with this node's key and carry the ticket, and the customer is the ticket's owner.
   * A function, because the owner renews tickets.
   */
  delegation?: () => ScrubTicket;
}

/** Hires suppliers and talks to them. */
export class Customer {
  readonly node: MoteNode;
  readonly contracts: ContractBook;
  readonly options: CustomerOptions;
  #peers = new Map<string, string>();
  #state: NodeState;

  constructor(node: MoteNode, state: NodeState, options: CustomerOptions) {
    this.node = node;
    this.#state = state;
    this.options = options;
    this.contracts = new ContractBook(state, "hired-contracts.cbor", "supplier");
  }

  /** The customer this side acts for: this node, or the owner of its scrub ticket. */
  get owner(): string {
    return this.options.delegation?.().owner ?? this.node.id;
  }

  /**
   * The ticket, as request fields, when acting for an owner. Named `tk`: a put's shard must be
   * the last key of its canonical map, and canonical order puts shorter keys first.
   */
  #ticketField(): { tk?: Uint8Array } {
    const t = this.options.delegation?.();
    return t ? { tk: t.bytes } : {};
  }

  /**
   * The slot under the ticket for a contract with `supplier`: the one its current delegated
   * contract uses under this ticket, else the next one free. Throws past the ticket's cap.
   */
  #slotFor(supplier: string, t: ScrubTicket): number {
    const used = new Map<string, number>();
    for (const c of this.contracts.all()) {
      const d = c.delegation;
      if (d && delegationTicket(c)?.name === t.name) used.set(c.terms.supplier, d.slot);
    }
    const mine = used.get(supplier);
    if (mine) return mine;
    const slot = Math.max(0, ...used.values()) + 1;
    if (slot > t.maxContracts) {
      throw new SupplierError(
        supplier,
        `The scrub ticket allows ${t.maxContracts} contracts, all of them used`,
        true,
      );
    }
    return slot;
  }

  /** Loads the contracts and known supplier peers. */
  async load(): Promise<void> {
    await this.contracts.load();
    const bytes = await this.#state.read("supplier-peers.cbor");
    if (bytes) {
      const f = decode(bytes, { what: "supplier peers" }) as {
        v?: number;
        peers?: [string, string][];
      };
      if (f?.v === 1) { for (const [id, peer] of f.peers ?? []) this.#peers.set(id, peer); }
    }
  }

  /** Live contracts. */
  hired(now: number = Date.now()): Contract[] {
    return this.contracts.all().filter((c) => isLive(c, now));
  }

  #contact = new Map<string, { last: number; failures: number; error?: string }>();

  /**
   * What this customer last heard from a supplier: the time of its last answer, failures since,
   * and the last error. Health is "ok" after an answer, "failing" after 1–2 failed calls in a
   * row, "unreachable" after 3 or more, and "unknown" before any call.
   */
  contactOf(
    supplier: string,
  ): { lastContact: number | null; failures: number; health: string; error?: string } {
    const c = this.#contact.get(supplier);
    if (!c) return { lastContact: null, failures: 0, health: "unknown" };
    const health = c.failures === 0 ? "ok" : c.failures < 3 ? "failing" : "unreachable";
    return {
      lastContact: c.last || null,
      failures: c.failures,
      health,
      ...(c.error ? { error: c.error } : {}),
    };
  }

  /** Every supplier whose peer this customer knows (hired or found serving it). */
  knownSuppliers(): string[] {
    return [...this.#peers.keys()];
  }

  /** The peer id serving a supplier, as its signed offer says. */
  peerOf(supplier: string): string | undefined {
    return this.#peers.get(supplier);
  }

  /** Finds suppliers announcing supply in the DHT and verifies their offers. */
  async findSuppliers(opts: { limit?: number; timeout?: number } = {}): Promise<FoundSupplier[]> {
    return await this.#providers(await supplyCid(), opts);
  }

  /**
   * Finds the suppliers that announce serving `owner` (this node by default), verifies their
   * offers and remembers their peers, so shards can be fetched with no local state (a restore).
   */
  async findServing(
    owner = this.owner,
    opts: { limit?: number; timeout?: number } = {},
  ): Promise<FoundSupplier[]> {
    const found = await this.#providers(await servesCid(owner), opts);
    for (const f of found) this.#peers.set(f.id, f.peer);
    await this.#savePeers();
    return found;
  }

  async #providers(
    cid: Awaited<ReturnType<typeof supplyCid>>,
    opts: { limit?: number; timeout?: number },
  ): Promise<FoundSupplier[]> {
    const limit = opts.limit ?? 32;
    const signal = AbortSignal.timeout(opts.timeout ?? 15_000);
    const self = this.node.p2p.peerId.toString();
    const peers = new Set<string>();
    try {
      for await (
        const ev of this.node.p2p.services.dht.findProviders(cid, { signal })
      ) {
        if (ev.name !== "PROVIDER") continue;
        for (const p of ev.providers) if (p.id.toString() !== self) peers.add(p.id.toString());
        if (peers.size >= limit) break;
      }
    } catch { /* timeout: use what was found */ }
    const found = await Promise.all(
      [...peers].map((p) => this.#offerFrom(p).catch(() => undefined)),
    );
    return found.filter((f): f is FoundSupplier => f !== undefined);
  }

  async #offerFrom(peer: string): Promise<FoundSupplier> {
    const res = await this.node.rpc.request(
      peerIdFromString(peer),
      SUPPLY_PROTOCOL,
      encodeRequest("offer", {}),
      {
        maxResponse: 4096,
        timeout: 10_000,
      },
    );
    const bytes = readBytes(decode(res) as Record<string, unknown>, "record", "offer answer", {
      max: 4096,
    });
    const rec = decodeRecord(bytes, { namespaces: this.node.namespaces });
    const id = nodeIdOf(rec.signer);
    this.node.validator.check(formatRecordKey(recordKeyOf("offer", id)), bytes);
    const offer = decodeOffer(rec.value);
    if (offer.peer !== peer) {
      throw new SupplierError(id, `The offer names peer ${offer.peer}, not ${peer}`);
    }
    return { id, peer, offer };
  }

  /**
   * Hires suppliers until `count` live contracts exist, each for `quota` bytes and `term` ms.
   * Returns the live contracts. Suppliers that refuse, and those `exclude` names (dismissed after
   * failed audits), are skipped.
   */
  async hire(
    count: number,
    quota: number,
    term: number,
    exclude: (supplier: string) => boolean = () => false,
  ): Promise<Contract[]> {
    const have = new Set(this.hired().map((c) => c.terms.supplier));
    if (have.size >= count) return this.hired();
    const offers = (await this.findSuppliers())
      .filter((s) =>
        !have.has(s.id) && !exclude(s.id) && s.offer.free >= quota &&
        s.offer.maxShard >= this.options.maxShard
      )
      .sort((a, b) => a.offer.price - b.offer.price || b.offer.free - a.offer.free);
    for (const s of offers) {
      if (have.size >= count) break;
      try {
        await this.contractWith(s, quota, term);
        have.add(s.id);
      } catch (e) {
        this.node.log.warn("a supplier refused a contract", { supplier: s.id, error: e });
      }
    }
    return this.hired();
  }

  /** Proposes (or renews) a contract with one supplier. */
  async contractWith(s: FoundSupplier, quota: number, term: number): Promise<Contract> {
    const prev = this.contracts.get(s.id) ?? await this.#currentAt(s).catch(() => undefined);
    const start = Date.now();
    const ticket = this.options.delegation?.();
    if (ticket) checkTicketTime(ticket, start);
    const terms = {
      v: 1 as const,
      customer: this.owner,
      supplier: s.id,
      quota: ticket ? Math.min(quota, ticket.maxQuota) : quota,
      start,
      // Under a ticket, contracts end by the ticket's expiry: how long the owner let its data
      // live unattended.
      expiry: ticket ? Math.min(start + term, ticket.expiry) : start + term,
      price: s.offer.price,
      seq: (prev?.terms.seq ?? -1) + 1,
    };
    const proposal: Proposal = ticket
      ? proposeDelegatedContract(
        terms,
        ticket,
        this.#slotFor(s.id, ticket),
        this.node.keys.signSecret,
      )
      : proposeContract(terms, this.node.keys.signSecret, this.node.keys.signPublic);
    const res = await this.node.rpc.request(
      peerIdFromString(s.peer),
      SUPPLY_PROTOCOL,
      encodeRequest("contract", {
        terms: { ...proposal.terms },
        ck: proposal.customerKey,
        cs: proposal.customerSig,
        ...(proposal.delegation
          ? { dt: proposal.delegation.ticket, ds: proposal.delegation.slot }
          : {}),
      }),
      { maxResponse: 4096 + 1024, timeout: 15_000 },
    );
    const contract = decodeContract(res);
    if (contract.terms.seq !== proposal.terms.seq || contract.terms.supplier !== s.id) {
      throw new SupplierError(s.id, "The supplier countersigned different terms");
    }
    this.#peers.set(s.id, s.peer);
    await this.#savePeers();
    await this.contracts.put(contract);
    return contract;
  }

  /**
   * Takes up the contract a serving supplier holds for the owner (signed by the owner or by one
   * of its scrubbers) when it is newer than the one this side knows. Returns it, live or not.
   */
  async adopt(s: FoundSupplier): Promise<Contract> {
    const c = await this.#currentAt(s);
    const mine = this.contracts.get(s.id);
    if (!mine || c.terms.seq > mine.terms.seq) await this.contracts.put(c);
    this.#peers.set(s.id, s.peer);
    return c;
  }

  /** The contract a supplier holds with this customer (after a restore, the local book is empty). */
  async #currentAt(s: FoundSupplier): Promise<Contract> {
    const res = await this.node.rpc.request(
      peerIdFromString(s.peer),
      SUPPLY_PROTOCOL,
      encodeRequest("current", { customer: this.owner }),
      { maxResponse: 4096, timeout: 10_000 },
    );
    const c = decodeContract(res);
    if (c.terms.customer !== this.owner || c.terms.supplier !== s.id) {
      throw new SupplierError(s.id, "Wrong contract");
    }
    return c;
  }

  /** Renews contracts whose remaining term is under a third of their length. */
  async renewDue(now: number = Date.now()): Promise<number> {
    let renewed = 0;
    for (const c of this.contracts.all()) {
      const len = c.terms.expiry - c.terms.start;
      if (c.terms.expiry - now > len / 3) continue;
      const peer = this.#peers.get(c.terms.supplier);
      if (!peer) continue;
      try {
        const found = await this.#offerFrom(peer);
        await this.contractWith(found, c.terms.quota, len);
        renewed++;
      } catch (e) {
        this.node.log.warn("could not renew a contract", { supplier: c.terms.supplier, error: e });
      }
    }
    return renewed;
  }

  async #call(
    supplier: string,
    body: Uint8Array | readonly Uint8Array[],
    maxResponse: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const chunks = await this.#callChunks(supplier, body, maxResponse, signal);
    return chunks.length === 1 ? chunks[0]! : concat(...chunks);
  }

  /** A shard-protocol call whose answer comes back as the chunks it arrived in (not joined). */
  #callChunks(
    supplier: string,
    body: Uint8Array | readonly Uint8Array[],
    maxResponse: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array[]> {
    const peer = this.#peers.get(supplier);
    if (!peer) throw new SupplierError(supplier, "No known peer for this supplier", true);
    return this.node.rpc.requestChunks(peerIdFromString(peer), SHARD_PROTOCOL, body, {
      maxResponse,
      timeout: this.options.timeout,
      signal,
    }).then((res) => {
      this.#contact.set(supplier, { last: Date.now(), failures: 0 });
      return res;
    }, (e) => {
      // A refusal is an answer: the supplier is there. Only silence or a broken stream counts.
      const c = this.#contact.get(supplier) ?? { last: 0, failures: 0 };
      if (e instanceof RpcError && e.kind !== "protocol") {
        this.#contact.set(supplier, { last: Date.now(), failures: 0 });
      } else {this.#contact.set(supplier, {
          ...c,
          failures: c.failures + 1,
          error: String((e as Error).message).slice(0, 200),
        });}
      throw new SupplierError(
        supplier,
        `Supplier ${supplier.slice(0, 8)}…: ${(e as Error).message}`,
        e instanceof RpcError && e.kind === "remote",
      );
    });
  }

  /** Stores one shard with one hired supplier. */
  async putShard(
    supplier: string,
    id: string,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<"stored" | "exists"> {
    const c = this.contracts.get(supplier);
    if (!c || !isLive(c)) {
      throw new SupplierError(supplier, "No live contract with this supplier", true);
    }
    const auth = {
      customer: this.owner,
      supplier,
      seq: c.terms.seq,
      id,
      size: data.length,
      ts: Date.now(),
    };
    const sig = signPut(auth, this.node.keys.signSecret);
    // The shard goes out as its own chunk after the request's head: the same bytes as
    // encodeRequest("put", { auth, sig, data }), without copying the shard into them.
    const body = encodeWithTail(
      { v: 1, op: "put", auth, sig, ...this.#ticketField() },
      "data",
      data,
    );
    const res = await this.#call(supplier, body, 1024, signal);
    return (decode(res) as { result: "stored" | "exists" }).result;
  }

  /**
   * Fetches one shard from a supplier and checks it against its id. With `into`, the shard is
   * copied from the frames it arrived in straight into `into` (which must be its exact length)
   * and a view of it is returned: one copy, where decoding a joined answer took two. `into` holds
   * whatever arrived even when the check fails, so a caller must not use it then.
   */
  async getShard(
    supplier: string,
    id: string,
    customer = this.owner,
    signal?: AbortSignal,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    const max = this.options.maxShard + FRAME_OVERHEAD;
    const res = await this.#callChunks(
      supplier,
      encodeRequest("get", { customer, id }),
      max,
      signal,
    );
    const data = shardFromAnswer(res, this.options.maxShard, into);
    if (into && data.length !== into.length) {
      // An answer, and a wrong one: asking again will not help (refused).
      throw new SupplierError(
        supplier,
        `Supplier ${
          supplier.slice(0, 8)
        }… returned ${data.length} bytes for ${id}, not ${into.length}`,
        true,
      );
    }
    if (await this.options.shardId(data) !== id) {
      throw new SupplierError(
        supplier,
        `Supplier ${supplier.slice(0, 8)}… returned a shard that does not match ${id}`,
        true,
      );
    }
    return data;
  }

  /**
   * Audits one shard: asks for `count` random leaves with their Merkle paths and checks them
   * against the shard id. True only when every leaf proves; a missing shard or a bad proof is
   * false (a supplier that cannot answer at all throws a SupplierError).
   */
  async audit(
    supplier: string,
    id: string,
    size: number,
    count = 16,
    owner = this.owner,
  ): Promise<boolean> {
    const leaves = challengeIndexes(size, Math.min(count, MAX_CHALLENGE));
    let res: Uint8Array;
    try {
      res = await this.#call(
        supplier,
        encodeRequest("prove", { customer: owner, id, leaves }),
        MAX_CHALLENGE * 6 * 1024,
      );
    } catch (e) {
      if (/No shard/.test((e as Error).message)) return false;
      throw e;
    }
    const proof = decode(res, { maxBytes: MAX_CHALLENGE * 6 * 1024 }) as {
      leaves?: unknown;
      paths?: unknown;
    };
    if (!Array.isArray(proof.leaves) || !Array.isArray(proof.paths)) return false;
    return await verifyMerkleProof(
      id,
      size,
      leaves,
      proof as { leaves: Uint8Array[]; paths: Uint8Array[] },
    );
  }

  /** Which of `ids` a supplier holds for this customer. */
  async has(supplier: string, ids: string[]): Promise<boolean[]> {
    const res = await this.#call(
      supplier,
      encodeRequest("has", { customer: this.owner, ids }),
      64 * 1024,
    );
    return (decode(res) as { has: boolean[] }).has;
  }

  /** Deletes shards from a supplier with a signed, replay-proof request. */
  async deleteShards(supplier: string, ids: string[]): Promise<number> {
    if (this.options.delegation) {
      throw new SupplierError(supplier, "A scrubber never deletes an owner's shards", true);
    }
    const c = this.contracts.get(supplier);
    if (!c) throw new SupplierError(supplier, "No contract with this supplier", true);
    const counter = Math.max(this.contracts.counter(supplier), Date.now()) + 1;
    await this.contracts.setCounter(supplier, counter);
    const req = {
      customer: this.owner,
      supplier,
      seq: c.terms.seq,
      counter,
      expiry: Date.now() + 5 * 60_000,
      ids,
    };
    const sig = signDelete(req, this.node.keys.signSecret);
    const res = await this.#call(supplier, encodeRequest("delete", { req, sig }), 1024);
    return (decode(res) as { deleted: number }).deleted;
  }

  /**
   * Sends every page of a signed keep list to a supplier; true once the supplier holds it
   * complete. A supplier already holding a newer list refuses the pages (StaleKeepListError
   * text in the SupplierError).
   */
  async sendKeepList(supplier: string, pages: readonly SignedPage[]): Promise<boolean> {
    let complete = false;
    for (const p of pages) {
      const res = await this.#call(
        supplier,
        encodeRequest("keep", { customer: this.owner, body: p.body, sig: p.sig }),
        1024,
      );
      complete = (decode(res) as { complete?: unknown }).complete === true;
    }
    return complete;
  }

  /**
   * Lists what this customer stores with a supplier, and the shards it deleted there lately
   * (`deleted`, absent from older suppliers).
   */
  async list(
    supplier: string,
  ): Promise<{ shards: [string, number, number][]; usage: number; deleted?: string[] }> {
    const req = { customer: this.owner, supplier, ts: Date.now() };
    const sig = signList(req, this.node.keys.signSecret);
    const res = await this.#call(
      supplier,
      encodeRequest("list", { req, sig, ...this.#ticketField() }),
      16 << 20,
    );
    return decode(res, { maxBytes: 16 << 20 }) as {
      shards: [string, number, number][];
      usage: number;
      deleted?: string[];
    };
  }

  /**
   * Page `page` of the owner's latest complete keep list as a supplier holds it (signed by the
   * owner; the caller checks the signature), with the list's page count.
   */
  async keepPage(supplier: string, page: number): Promise<{ page: SignedPage; pages: number }> {
    const req = { customer: this.owner, supplier, ts: Date.now() };
    const sig = signList(req, this.node.keys.signSecret);
    const res = await this.#call(
      supplier,
      encodeRequest("list", { req, sig, page, ...this.#ticketField() }),
      MAX_PAGE_BYTES + 4096,
    );
    const m = decode(res, { maxBytes: MAX_PAGE_BYTES + 4096 }) as Record<string, unknown>;
    return {
      page: {
        body: readBytes(m, "body", "keep page", { max: MAX_PAGE_BYTES }),
        sig: readBytes(m, "sig", "keep page", { exact: 64 }),
      },
      pages: typeof m.pages === "number" ? m.pages : 0,
    };
  }

  /** Hands the owner's revocation set (signed record bytes) to a supplier. */
  async sendRevocations(supplier: string, record: Uint8Array): Promise<number> {
    const res = await this.#call(
      supplier,
      encodeRequest("revoked", { customer: this.owner, record }),
      1024,
    );
    return (decode(res) as { added: number }).added;
  }

  async #savePeers(): Promise<void> {
    await this.#state.write("supplier-peers.cbor", encode({ v: 1, peers: [...this.#peers] }));
  }
}

/**
 * The shard in a get answer (`{ v: 1, data }`), from the chunks it arrived in. The canonical
 * answer is read in place and its bytes copied once, into `into` when it has room for them (a
 * view of it is returned) or into a new array; any other answer is joined and decoded the
 * general way, so what is accepted is exactly what `decode` accepts.
 */
function shardFromAnswer(
  chunks: readonly Uint8Array[],
  maxShard: number,
  into?: Uint8Array,
): Uint8Array {
  const at = findTail(chunks, { v: 1 }, "data");
  if (at && at.length <= maxShard) {
    const out = into && into.length === at.length ? into : new Uint8Array(at.length);
    copyRange(chunks, at.offset, out);
    return out;
  }
  const whole = chunks.length === 1 ? chunks[0]! : concat(...chunks);
  const answer = decode(whole, { what: "shard answer", maxBytes: maxShard + FRAME_OVERHEAD });
  const data = readBytes(answer as Record<string, unknown>, "data", "shard", { max: maxShard });
  if (into && into.length === data.length) {
    into.set(data);
    return into;
  }
  return data;
}
