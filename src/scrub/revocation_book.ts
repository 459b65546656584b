/**
 * What a supplier or scrubber knows of each owner's revoked scrub tickets: the union of every
 * revocation set it has seen (so an older set replayed later cannot un-revoke anything), and when
 * it last found the owner's set in the network. A ticket's status is `valid` only when a set was
 * found recently and does not list it; with no set found it is `unknown`, which callers treat as
 * a refusal. Persisted in `revocations.cbor` (at most {@linkcode MAX_OWNERS} owners).
 */
import { toBase32 } from "../encoding/base32.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { formatRecordKey, recordKeyOf } from "../records/record.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { decodeRevocations, MAX_REVOKED } from "./revocation.ts";

const FILE = "revocations.cbor";
/** Owners remembered at most. */
export const MAX_OWNERS = 4096;
/** How long a found set counts as current for shard puts (contracts always look again). */
export const FRESH_MS = 10 * 60_000;

/** A ticket's standing with its owner's revocation set. */
export type TicketStatus = "valid" | "revoked" | "unknown";

interface OwnerRow {
  /** Revoked ticket ids (base32) with their expiry. */
  revoked: Map<string, number>;
  /** When a set was last found, ms (0: never). */
  found: number;
}

/** Revocation sets seen, per owner. */
export class RevocationBook {
  #node: MoteNode;
  #state?: NodeState;
  #rows = new Map<string, OwnerRow>();
  #loaded = false;

  constructor(node: MoteNode, state?: NodeState) {
    this.#node = node;
    this.#state = state;
  }

  async #load() {
    if (this.#loaded) return;
    this.#loaded = true;
    const bytes = await this.#state?.read(FILE);
    if (!bytes) return;
    const f = decode(bytes, { what: "revocations", maxBytes: 64 << 20 }) as {
      v?: number;
      owners?: [string, [string, number][]][];
    };
    if (f?.v !== 1) return;
    for (const [owner, list] of f.owners ?? []) {
      this.#rows.set(owner, { revoked: new Map(list), found: 0 });
    }
  }

  async #save() {
    await this.#state?.write(
      FILE,
      encode({ v: 1, owners: [...this.#rows].map(([o, r]) => [o, [...r.revoked]]) }),
    );
  }

  /**
   * Takes in an owner's revocation record (signed record bytes, checked by the node's validator):
   * merges its tickets into what is known and keeps the record alive. Returns how many tickets it
   * newly revoked.
   */
  async apply(owner: string, bytes: Uint8Array, now: number = Date.now()): Promise<number> {
    await this.#load();
    const key = recordKeyOf("revoked", owner);
    const record = this.#node.validator.check(formatRecordKey(key), bytes);
    const row = this.#row(owner);
    let added = 0;
    for (const r of decodeRevocations(record.value)) {
      const name = toBase32(r.id);
      if (!row.revoked.has(name)) added++;
      row.revoked.set(name, r.expiry);
    }
    // Expired tickets are invalid either way; forgetting them keeps the row bounded.
    if (row.revoked.size > MAX_REVOKED * 2) {
      for (const [id, expiry] of row.revoked) if (expiry < now) row.revoked.delete(id);
    }
    row.found = now;
    await this.#node.keeper.keep(key, bytes, false).catch(() => false);
    if (added) await this.#save();
    return added;
  }

  /**
   * Looks the owner's set up in the network (and the kept copy) and merges it. False when none
   * can be found.
   */
  async refresh(owner: string, timeout = 10_000): Promise<boolean> {
    const r = await this.#node.resolve(recordKeyOf("revoked", owner), { timeout }).catch(() =>
      undefined
    );
    if (!r) return false;
    await this.apply(owner, r.bytes);
    return true;
  }

  /**
   * The status of ticket `id` (base32) of `owner`. The set is looked up again when `fresh` is
   * asked for or the last lookup is older than {@linkcode FRESH_MS}.
   */
  async status(
    owner: string,
    id: string,
    opts: { fresh?: boolean; now?: number } = {},
  ): Promise<TicketStatus> {
    await this.#load();
    const now = opts.now ?? Date.now();
    const row = this.#rows.get(owner);
    if (row?.revoked.has(id)) return "revoked";
    if (opts.fresh || !row || now - row.found > FRESH_MS) await this.refresh(owner);
    const after = this.#rows.get(owner);
    if (after?.revoked.has(id)) return "revoked";
    return after && after.found > 0 ? "valid" : "unknown";
  }

  /** Whether `id` is known to be revoked (no lookup). */
  isRevoked(owner: string, id: string): boolean {
    return this.#rows.get(owner)?.revoked.has(id) ?? false;
  }

  #row(owner: string): OwnerRow {
    let row = this.#rows.get(owner);
    if (!row) {
      if (this.#rows.size >= MAX_OWNERS) {
        // Forget the owner seen longest ago (found least recently).
        let oldest: string | undefined, at = Infinity;
        for (const [o, r] of this.#rows) if (r.found < at) [oldest, at] = [o, r.found];
        if (oldest) this.#rows.delete(oldest);
      }
      row = { revoked: new Map(), found: 0 };
      this.#rows.set(owner, row);
    }
    return row;
  }
}
