/**
 * The owner's side of scrubbing: hiring scrubbers with signed tickets, renewing the tickets while
 * the owner is online, handing them each new keep list, and revoking them.
 *
 * - `hire(n)` publishes the revocation set first (a supplier refuses a ticket whose owner has
 *   none it can find), finds nodes announcing scrub duty, learns each one's identity (it signs a
 *   fresh nonce and its own peer id), and sends it a ticket naming that identity.
 * - Tickets are renewed in the last third of their life with a new ticket of the same length;
 *   the scrubber keeps the newer one. A ticket left to expire ends the scrubber's work, and every
 *   contract it signed ends by then too.
 * - `revoke(id)` adds the ticket to the owner's revocation set (it only grows), publishes it,
 *   and hands it to the scrubber and to every supplier at once rather than waiting for lookups.
 *
 * Saved in `scrub-tickets.cbor`: every ticket issued (newest per scrubber first), with the
 * scrubber's peer and whether it was revoked.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { randomBytes } from "../crypto/hash.ts";
import { verify } from "../crypto/sign.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { readBytes } from "../encoding/shape.ts";
import { toBase32 } from "../encoding/base32.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import type { SignedPage } from "../files/keep_list.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { encodeRecord, recordKeyOf } from "../records/record.ts";
import { scrubCid } from "../suppliers/advertise.ts";
import type { Customer } from "../suppliers/customer.ts";
import { encodeRequest } from "../suppliers/messages.ts";
import type { JobReport } from "./job.ts";
import { decodeRevocations, encodeRevocations, MAX_REVOKED, type Revoked } from "./revocation.ts";
import { HELLO_TAG, SCRUB_PROTOCOL } from "./scrubber.ts";
import { issueTicket, openTicket, type ScrubTicket } from "./ticket.ts";

const FILE = "scrub-tickets.cbor";

/** A ticket this owner issued. */
export interface IssuedTicket {
  ticket: ScrubTicket;
  /** The scrubber's libp2p peer. */
  peer: string;
  revoked: boolean;
  /** A later ticket to the same scrubber replaced this one. */
  replaced: boolean;
}

/** Caps and life of new tickets. */
export interface TicketSettings {
  /** How long the data may live unattended (ms). */
  expiry: number;
  /** Contracts a scrubber may sign under one ticket. */
  maxContracts: number;
  /** Largest quota of each (bytes). */
  maxQuota: number;
}

/** One row of `mote scrub ls`. */
export interface ScrubberRow {
  id: string;
  scrubber: string;
  peer: string;
  issued: number;
  expiry: number;
  maxContracts: number;
  maxQuota: number;
  state: "active" | "revoked" | "expired";
  /** What the scrubber reports (null when it could not be reached). */
  report: JobReport | null;
  error?: string;
}

/** Raised by {@linkcode ScrubManager.revoke} when no ticket issued matches the id given. */
export class UnknownTicketError extends RangeError {
  override name = "UnknownTicketError";
}

/** The owner's scrubbers. */
export class ScrubManager {
  #node: MoteNode;
  #state: NodeState;
  #customer: Customer;
  #issued: IssuedTicket[] = [];
  #sentSeq = new Map<string, number>();
  settings: TicketSettings;

  constructor(node: MoteNode, state: NodeState, customer: Customer, settings: TicketSettings) {
    this.#node = node;
    this.#state = state;
    this.#customer = customer;
    this.settings = settings;
  }

  /** Loads the tickets issued. */
  async load(): Promise<void> {
    const bytes = await this.#state.read(FILE);
    if (!bytes) return;
    const f = decode(bytes, { what: "scrub tickets", maxBytes: 16 << 20 }) as {
      v?: number;
      issued?: { t: Uint8Array; peer: string; revoked: boolean; replaced?: boolean }[];
    };
    if (f?.v !== 1) return;
    for (const r of f.issued ?? []) {
      try {
        this.#issued.push({
          ticket: openTicket(r.t),
          peer: r.peer,
          revoked: r.revoked,
          replaced: !!r.replaced,
        });
      } catch { /* an unreadable entry is dropped */ }
    }
  }

  async #save() {
    await this.#state.write(
      FILE,
      encode({
        v: 1,
        issued: this.#issued.map((r) => ({
          t: r.ticket.bytes,
          peer: r.peer,
          revoked: r.revoked,
          replaced: r.replaced,
        })),
      }),
    );
  }

  /** Tickets in force now (not revoked, replaced or expired). */
  active(now: number = Date.now()): IssuedTicket[] {
    return this.#issued.filter((r) => !r.revoked && !r.replaced && r.ticket.expiry > now);
  }

  /**
   * Publishes the revocation set: what this owner revoked, joined with any set already in the
   * network (another device's), without tickets expired for over a day once the set is full.
   */
  async publishRevocations(): Promise<Uint8Array> {
    const now = Date.now();
    const all = new Map<string, Revoked>();
    const found = await this.#node.resolve(recordKeyOf("revoked", this.#node.id), {
      timeout: 5_000,
    }).catch(() => undefined);
    for (const r of found ? decodeRevocations(found.record.value) : []) {
      all.set(toBase32(r.id), r);
    }
    for (const r of this.#issued.filter((r) => r.revoked)) {
      all.set(r.ticket.name, { id: r.ticket.id, expiry: r.ticket.expiry });
    }
    let list = [...all.values()];
    if (list.length > MAX_REVOKED) list = list.filter((r) => r.expiry > now - 86_400_000);
    list = list.sort((a, b) => b.expiry - a.expiry).slice(0, MAX_REVOKED);
    const { record } = await this.#node.publish(
      "revoked",
      new Uint8Array(0),
      encodeRevocations(list),
      { looked: true },
    );
    return encodeRecord(record);
  }

  async #call(peer: string, op: string, fields: Record<string, unknown>, timeout = 10_000) {
    const res = await this.#node.rpc.request(
      peerIdFromString(peer),
      SCRUB_PROTOCOL,
      encodeRequest(op, fields),
      { maxResponse: 64 * 1024, timeout },
    );
    return decode(res, { maxBytes: 64 * 1024 }) as Record<string, unknown>;
  }

  /** The identity behind a scrubber's peer: it signs our nonce together with its peer id. */
  async #hello(peer: string): Promise<{ id: string; key: Uint8Array }> {
    const nonce = randomBytes(16);
    const m = await this.#call(peer, "hello", { nonce });
    const key = readBytes(m, "key", "hello", { exact: 32 });
    const sig = readBytes(m, "sig", "hello", { exact: 64 });
    if (!verify(key, HELLO_TAG, encode({ nonce, peer }), sig)) {
      throw new Error("The scrubber's hello does not verify");
    }
    return { id: nodeIdOf(key), key };
  }

  /** Signs a ticket for a scrubber (lasting `life` ms) and hands it over. */
  async #issue(
    peer: string,
    who: { id: string; key: Uint8Array },
    life: number,
  ): Promise<IssuedTicket> {
    const now = Date.now();
    const s = this.settings;
    const ticket = issueTicket({
      id: randomBytes(16),
      owner: this.#node.id,
      ownerKey: this.#node.keys.signPublic,
      scrubber: who.id,
      scrubberKey: who.key,
      issued: now,
      expiry: now + life,
      maxContracts: s.maxContracts,
      maxQuota: s.maxQuota,
    }, this.#node.keys.signSecret);
    await this.#call(peer, "hire", { ticket: ticket.bytes }, 30_000);
    for (const r of this.#issued) if (r.ticket.scrubber === who.id) r.replaced = true;
    const row = { ticket, peer, revoked: false, replaced: false };
    this.#issued.unshift(row);
    this.#sentSeq.delete(peer);
    await this.#save();
    return row;
  }

  /**
   * Hires up to `count` more scrubbers (beyond those active), with tickets lasting `expiry` ms
   * (the settings' by default; renewals keep each ticket's own length). Returns the new tickets;
   * fewer than asked when fewer nodes offer scrub duty.
   */
  async hire(
    count: number,
    signal?: AbortSignal,
    opts: { expiry?: number } = {},
  ): Promise<IssuedTicket[]> {
    if (!Number.isInteger(count) || count < 1 || count > 16) {
      throw new RangeError(`Hire from 1 to 16 scrubbers at a time, not ${count}`);
    }
    const life = opts.expiry ?? this.settings.expiry;
    if (!Number.isSafeInteger(life) || life < 60_000) {
      throw new RangeError("A scrub ticket must last at least a minute");
    }
    await this.publishRevocations();
    const busy = new Set(this.active().map((r) => r.ticket.scrubber));
    const revoked = new Set(this.#issued.filter((r) => r.revoked).map((r) => r.ticket.scrubber));
    const self = this.#node.p2p.peerId.toString();
    const peers = new Set<string>();
    try {
      for await (
        const ev of this.#node.p2p.services.dht.findProviders(await scrubCid(), {
          signal: AbortSignal.any([AbortSignal.timeout(15_000), ...(signal ? [signal] : [])]),
        })
      ) {
        if (ev.name !== "PROVIDER") continue;
        for (const p of ev.providers) if (p.id.toString() !== self) peers.add(p.id.toString());
        if (peers.size >= 64) break;
      }
    } catch { /* timeout: use what was found */ }
    const hired: IssuedTicket[] = [];
    for (const peer of peers) {
      if (hired.length >= count || signal?.aborted) break;
      try {
        const who = await this.#hello(peer);
        if (who.id === this.#node.id || busy.has(who.id) || revoked.has(who.id)) continue;
        hired.push(await this.#issue(peer, who, life));
        busy.add(who.id);
        this.#node.log.info("hired a scrubber", {
          scrubber: who.id,
          ticket: hired.at(-1)!.ticket.name,
        });
      } catch (e) {
        this.#node.log.warn("a scrubber could not be hired", { peer, error: e });
      }
    }
    return hired;
  }

  /** Every ticket issued (not replaced), with what each scrubber reports. */
  async list(): Promise<ScrubberRow[]> {
    const now = Date.now();
    const rows = this.#issued.filter((r) => !r.replaced);
    return await Promise.all(rows.map(async (r): Promise<ScrubberRow> => {
      const t = r.ticket;
      const state = r.revoked ? "revoked" : t.expiry <= now ? "expired" : "active";
      const row: ScrubberRow = {
        id: t.name,
        scrubber: t.scrubber,
        peer: r.peer,
        issued: t.issued,
        expiry: t.expiry,
        maxContracts: t.maxContracts,
        maxQuota: t.maxQuota,
        state,
        report: null,
      };
      if (state !== "active") return row;
      try {
        const m = await this.#call(r.peer, "status", { owner: this.#node.id }, 5_000);
        row.report = m.report as JobReport;
      } catch (e) {
        row.error = (e as Error).message.slice(0, 200);
      }
      return row;
    }));
  }

  /**
   * Revokes a ticket by its id (or a unique prefix of at least 4 characters): adds it to the
   * revocation set, publishes the set and hands it to the scrubber and the suppliers.
   */
  async revoke(idOrPrefix: string): Promise<IssuedTicket> {
    const q = idOrPrefix.trim().toLowerCase();
    if (q.length < 4) throw new RangeError("Give the ticket id (at least its first 4 characters)");
    const matches = this.#issued.filter((r) => r.ticket.name.startsWith(q));
    if (matches.length === 0) {
      throw new UnknownTicketError(`No ticket ${q} was issued by this node`);
    }
    if (matches.length > 1) throw new RangeError(`${q} matches ${matches.length} tickets`);
    const row = matches[0]!;
    // Every ticket to that scrubber goes: an older, replaced one would still be valid.
    for (const r of this.#issued) if (r.ticket.scrubber === row.ticket.scrubber) r.revoked = true;
    await this.#save();
    const record = await this.publishRevocations();
    await Promise.allSettled([
      this.#call(row.peer, "revoked", { owner: this.#node.id, record }),
      ...this.#customer.hired().map((c) =>
        this.#customer.sendRevocations(c.terms.supplier, record)
      ),
    ]);
    return row;
  }

  /**
   * Upkeep while the owner is online: renews tickets in their last third, hires scrubbers up to
   * `wanted`, and hands every active scrubber the newest keep list.
   */
  async tick(wanted: number, keep?: { seq: number; pages: readonly SignedPage[] }): Promise<void> {
    const now = Date.now();
    for (const r of this.active(now)) {
      const life = r.ticket.expiry - r.ticket.issued;
      if (r.ticket.expiry - now > life / 3) continue;
      try {
        await this.#issue(r.peer, { id: r.ticket.scrubber, key: r.ticket.scrubberKey }, life);
      } catch (e) {
        this.#node.log.warn("could not renew a scrub ticket", { ticket: r.ticket.name, error: e });
      }
    }
    const short = wanted - this.active().length;
    if (short > 0) await this.hire(Math.min(short, 16)).catch(() => []);
    if (keep) {
      await Promise.allSettled(
        this.active().map(async (r) => {
          if (this.#sentSeq.get(r.peer) === keep.seq) return;
          for (const p of keep.pages) {
            await this.#call(r.peer, "keep", { owner: this.#node.id, body: p.body, sig: p.sig });
          }
          this.#sentSeq.set(r.peer, keep.seq);
        }),
      );
    }
  }
}
