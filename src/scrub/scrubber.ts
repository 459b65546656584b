/**
 * Scrub duty (`--scrub`): a node that keeps other owners' data whole while they are offline,
 * without being able to read it. It announces itself in the DHT (`mote/scrub/v1`), takes scrub
 * tickets from owners over `/mote/scrub/1.0.0`, and runs one {@linkcode ScrubJob} per owner on a
 * schedule. For each owner it also announces `mote/scrubs/v1/<owner>`, so the owner's scrubbers
 * find each other and share the work (see `job.ts`).
 *
 * Operations (canonical CBOR `{ v: 1, op, … }`):
 * - `hello { nonce }`: this node's signing key and its signature over the nonce and its peer id,
 *   so an owner knows which identity it is about to name in a ticket.
 * - `hire { ticket }`: start (or renew) work for the ticket's owner. The ticket must name this
 *   node, be in force, and not be revoked by the owner's revocation set, which must be findable.
 * - `keep { owner, body, sig }`: a page of the owner's signed keep list.
 * - `status { owner }`: this scrubber's ticket and report for the owner (co-scrubbers check each
 *   other's tickets with it; the owner's `mote scrub ls` shows it).
 * - `revoked { owner, record }`: the owner's revocation set, handed on at once.
 *
 * State: `scrub-owners.cbor` lists the tickets held; each owner's contracts and placement hints
 * live in `stateFor(owner)`; keep lists and revocation sets in the node's state. Nothing a
 * scrubber holds can decrypt anything: tickets carry no keys, keep lists only shard ids.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { decode, encode } from "../encoding/cbor.ts";
import { sign } from "../crypto/sign.ts";
import { readBytes, readString } from "../encoding/shape.ts";
import { MAX_PAGE_BYTES } from "../files/keep_list.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { scrubCid, scrubsCid } from "../suppliers/advertise.ts";
import { KeepBook } from "../suppliers/keep_book.ts";
import { decodeRequest, encodeRequest } from "../suppliers/messages.ts";
import { type JobOptions, type JobReport, ScrubJob } from "./job.ts";
import { RevocationBook } from "./revocation_book.ts";
import { checkTicketTime, MAX_TICKET_BYTES, openTicket, type ScrubTicket } from "./ticket.ts";

/** The scrub protocol. */
export const SCRUB_PROTOCOL = "/mote/scrub/1.0.0";
/** What a scrubber signs to prove which identity runs behind its peer id. */
export const HELLO_TAG = "scrub-hello/v1";
const OWNERS_FILE = "scrub-owners.cbor";

/** Settings of scrub duty. */
export interface ScrubberOptions extends JobOptions {
  /** Time between rounds per owner (ms). */
  interval: number;
  /** Most owners worked for at once. */
  maxOwners: number;
  /** Where one owner's contracts and placement hints are kept. */
  stateFor: (owner: string) => NodeState;
}

/** Defaults: hourly rounds, 4 h before a supplier is lost, 10 min per rank before a takeover. */
export const SCRUBBER_DEFAULTS: Omit<ScrubberOptions, "stateFor"> = {
  interval: 3_600_000,
  lostAfter: 4 * 3_600_000,
  takeover: 10 * 60_000,
  term: 30 * 24 * 3_600_000,
  maxOwners: 64,
};

/** A node's scrub duty. */
export class Scrubber {
  readonly node: MoteNode;
  readonly options: ScrubberOptions;
  readonly revocations: RevocationBook;
  readonly keeps: KeepBook;
  #state: NodeState;
  #jobs = new Map<string, ScrubJob>();
  #timer?: ReturnType<typeof setInterval>;
  #running?: Promise<void>;
  #stop = new AbortController();

  constructor(node: MoteNode, state: NodeState, options: ScrubberOptions) {
    this.node = node;
    this.#state = state;
    this.options = options;
    this.revocations = new RevocationBook(node, state);
    this.keeps = new KeepBook(state);
  }

  /** The jobs, by owner. */
  get jobs(): ReadonlyMap<string, ScrubJob> {
    return this.#jobs;
  }

  /** Loads the tickets held, registers the protocol, announces duty and starts the rounds. */
  async start(): Promise<void> {
    const bytes = await this.#state.read(OWNERS_FILE);
    if (bytes) {
      const f = decode(bytes, { what: "scrub owners", maxBytes: 4 << 20 }) as {
        v?: number;
        tickets?: Uint8Array[];
      };
      for (const b of f?.v === 1 ? f.tickets ?? [] : []) {
        try {
          await this.#addJob(openTicket(b));
        } catch (e) {
          this.node.log.warn("dropped an unreadable scrub ticket", { error: e });
        }
      }
    }
    await this.node.rpc.handle(SCRUB_PROTOCOL, (req) => this.#handle(req), {
      maxRequest: MAX_PAGE_BYTES + 8192,
      maxResponse: 64 * 1024,
      timeout: 30_000,
    });
    this.announce().catch((e) => this.node.log.warn("could not announce scrub duty", { error: e }));
    this.#timer = setInterval(() => void this.tick(), this.options.interval);
  }

  /** Stops the rounds (waiting at most 10 s for one in progress). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stop.abort();
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#running, new Promise((r) => (t = setTimeout(r, 10_000)))]);
    clearTimeout(t);
  }

  /** Announces scrub duty and each owner served. */
  async announce(): Promise<void> {
    await this.#provide(await scrubCid());
    for (const owner of this.#jobs.keys()) await this.#provide(await scrubsCid(owner));
  }

  async #provide(cid: Awaited<ReturnType<typeof scrubCid>>) {
    const signal = AbortSignal.timeout(30_000);
    for await (const _ of this.node.p2p.services.dht.provide(cid, { signal })) { /* drain */ }
  }

  /** Runs one round for every owner (a round in progress is joined, not doubled). */
  tick(): Promise<void> {
    return this.#running ??= this.#roundAll().finally(() => (this.#running = undefined));
  }

  async #roundAll(): Promise<void> {
    for (const [owner, job] of [...this.#jobs]) {
      if (this.#stop.signal.aborted) return;
      const peers = await this.#peers(owner).catch(() => [this.node.id]);
      const end = await job.round(peers, this.#stop.signal);
      if (end) {
        this.node.log.info("scrub job ended", { owner, ticket: job.ticket.name, why: end });
        this.#jobs.delete(owner);
        await this.#save();
        await this.keeps.forget(owner);
      }
    }
  }

  /** The owner's live scrubbers: those announcing it that answer with a valid ticket. */
  async #peers(owner: string): Promise<string[]> {
    const cid = await scrubsCid(owner);
    const self = this.node.p2p.peerId.toString();
    const peers = new Set<string>();
    try {
      for await (
        const ev of this.node.p2p.services.dht.findProviders(cid, {
          signal: AbortSignal.timeout(10_000),
        })
      ) {
        if (ev.name !== "PROVIDER") continue;
        for (const p of ev.providers) if (p.id.toString() !== self) peers.add(p.id.toString());
        if (peers.size >= 16) break;
      }
    } catch { /* timeout: use what was found */ }
    const ids = await Promise.all([...peers].map(async (peer) => {
      try {
        const res = await this.node.rpc.request(
          peerIdFromString(peer),
          SCRUB_PROTOCOL,
          encodeRequest("status", { owner }),
          { maxResponse: 64 * 1024, timeout: 5_000 },
        );
        const t = openTicket(
          readBytes(decode(res) as Record<string, unknown>, "ticket", "status", {
            max: MAX_TICKET_BYTES,
          }),
        );
        checkTicketTime(t);
        if (t.owner !== owner || this.revocations.isRevoked(owner, t.name)) return undefined;
        return t.scrubber;
      } catch {
        return undefined;
      }
    }));
    return [this.node.id, ...ids.filter((x): x is string => !!x)];
  }

  /** Reports of every job (for status pages). */
  reports(): JobReport[] {
    return [...this.#jobs.values()].map((j) => j.report);
  }

  /** Takes a ticket: starts a job, or renews the ticket of one. */
  async accept(t: ScrubTicket): Promise<"started" | "renewed" | "unchanged"> {
    if (t.scrubber !== this.node.id) throw new Error("This ticket names another scrubber");
    checkTicketTime(t);
    const status = await this.revocations.status(t.owner, t.name, { fresh: true });
    if (status === "revoked") throw new Error("This ticket was revoked by its owner");
    if (status === "unknown") {
      throw new Error("The owner's revocation set cannot be found: publish it first");
    }
    const job = this.#jobs.get(t.owner);
    if (job) {
      const renewed = job.renew(t);
      if (renewed) await this.#save();
      return renewed ? "renewed" : "unchanged";
    }
    if (this.#jobs.size >= this.options.maxOwners) {
      throw new Error(`This scrubber works for ${this.options.maxOwners} owners already`);
    }
    await this.#addJob(t);
    await this.#save();
    scrubsCid(t.owner).then((cid) => this.#provide(cid)).catch(() => {});
    this.node.log.info("took a scrub ticket", { owner: t.owner, ticket: t.name, expiry: t.expiry });
    return "started";
  }

  async #addJob(t: ScrubTicket) {
    const job = new ScrubJob({
      node: this.node,
      ticket: t,
      state: this.options.stateFor(t.owner),
      keeps: this.keeps,
      revocations: this.revocations,
    }, this.options);
    await job.load();
    this.#jobs.set(t.owner, job);
  }

  async #save() {
    await this.#state.write(
      OWNERS_FILE,
      encode({ v: 1, tickets: [...this.#jobs.values()].map((j) => j.ticket.bytes) }),
    );
  }

  async #handle(bytes: Uint8Array): Promise<Uint8Array> {
    const req = decodeRequest(bytes, MAX_PAGE_BYTES + 8192);
    switch (req.op) {
      case "hello": {
        const nonce = readBytes(req, "nonce", "hello", { exact: 16 });
        const peer = this.node.p2p.peerId.toString();
        return encode({
          v: 1,
          key: this.node.keys.signPublic,
          sig: sign(this.node.keys.signSecret, HELLO_TAG, encode({ nonce, peer })),
        });
      }
      case "hire": {
        const t = openTicket(readBytes(req, "ticket", "hire", { max: MAX_TICKET_BYTES }));
        return encode({ v: 1, result: await this.accept(t) });
      }
      case "keep": {
        const job = this.#job(readString(req, "owner", "keep", 52));
        const r = await job.receivePage({
          body: readBytes(req, "body", "keep", { max: MAX_PAGE_BYTES }),
          sig: readBytes(req, "sig", "keep", { exact: 64 }),
        });
        return encode({ v: 1, ...r });
      }
      case "status": {
        const job = this.#job(readString(req, "owner", "status", 52));
        return encode({ v: 1, ticket: job.ticket.bytes, report: { ...job.report } });
      }
      case "revoked": {
        const owner = readString(req, "owner", "revoked", 52);
        const added = await this.revocations.apply(
          owner,
          readBytes(req, "record", "revoked", { max: 64 * 1024 }),
        );
        const job = this.#jobs.get(owner);
        if (job && this.revocations.isRevoked(owner, job.ticket.name)) {
          this.#jobs.delete(owner);
          await this.#save();
          await this.keeps.forget(owner);
          this.node.log.info("scrub ticket revoked by its owner", {
            owner,
            ticket: job.ticket.name,
          });
        }
        return encode({ v: 1, added });
      }
    }
    throw new Error(`Unknown scrub operation "${String(req.op).slice(0, 20)}"`);
  }

  #job(owner: string): ScrubJob {
    const job = this.#jobs.get(owner);
    if (!job) throw new Error("No scrub ticket from that owner here");
    return job;
  }
}
