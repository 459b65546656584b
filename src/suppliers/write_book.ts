/**
 * A supplier's side of write sharing (docs/sharing.md, "Write sharing"): `wput`, a shard sent by
 * someone holding a folder's write secret rather than by the owner.
 *
 * The request carries a write request signed with the write key (`sharing/write_request.ts`). It
 * is stored in the **owner's** space, counted against the owner's contract (the shard store's
 * quota), only when: the owner has a live contract here, the shard's id is that of the bytes,
 * and `checkWrite` accepts it against the newest write policy this supplier knows (a request
 * naming a newer policy makes it look the `wpolicy` record up first). Nonces are remembered
 * until their request expires; bytes are counted per write key against the policy's cap.
 *
 * Accepted shards are written down (`writes.<owner>` in the node state, bounded): that list is
 * the writers' addendum to the owner's keep list. Reconciliation keeps a shard it names while
 * its write key is still the folder's current one, so a writer's file survives until the owner's
 * node merges it (then the owner's keep list names it). Once the key is rotated (a writer
 * revoked) its unmerged shards are ordinary strays. The per-key byte counts are rebuilt from
 * the list at start, so a restart does not reset a cap.
 *
 * Seen nonces are written down too (`wnonces.<owner>`: write key, nonce, expiry), before the
 * shard is stored, and loaded with the owner's list: a request captured on the wire and replayed
 * after a restart (it may live up to 10 minutes) is refused as `replayed`, stores nothing and
 * counts nothing. The list is bounded: expired nonces are dropped whenever it is written, and a
 * write key holds at most its live-request quota (`MAX_LIVE_PER_KEY`) of them.
 */
import { shardId } from "../crypto/merkle.ts";
import { fromBase32 } from "../encoding/base32.ts";
import { equals, fromHex, toHex, utf8 } from "../encoding/bytes.ts";
import { decode, encode } from "../encoding/cbor.ts";
import { type Fields, readBytes } from "../encoding/shape.ts";
import type { MoteNode } from "../node/node.ts";
import type { NodeState } from "../node/state.ts";
import { decodeRecord, recordKeyOf } from "../records/record.ts";
import { SharingError } from "../sharing/errors.ts";
import type { WritePolicy } from "../sharing/write_key.ts";
import { policyOfRecord, WPOLICY_NS } from "../sharing/write_records.ts";
import {
  checkWrite,
  decodeWriteRequest,
  SeenNonces,
  WriteUsage,
} from "../sharing/write_request.ts";
import type { ShardStore } from "../store/mod.ts";
import { type Contract, isLive } from "./contract.ts";

/** Most writers' shards remembered per owner. */
export const MAX_WRITES_PER_OWNER = 65_536;
/**
 * Live (unexpired) requests one write key may have at a supplier: the nonce set is shared by
 * every key, and one key filling it would make the supplier refuse everyone else as `busy`.
 * 10 000 in 10 minutes is about 16 shards a second, sustained.
 */
export const MAX_LIVE_PER_KEY = 10_000;
/** Most folders' policies held. */
const MAX_POLICIES = 4096;
/**
 * How long a policy is trusted without looking again (ms). The owner pushes a rotated policy to
 * its suppliers at once (`wpolicy` op); this bounds how long one that missed the push accepts a
 * revoked writer's key.
 */
const POLICY_TTL = 60_000;

/** One nonce seen under a write key (hex), remembered until its request expires. */
interface Seen {
  pub: string;
  nonce: Uint8Array;
  expires: number;
}

/** One accepted writer's shard. */
interface Written {
  id: string;
  folder: string;
  /** Hex of the write public key it was accepted under. */
  pub: string;
  size: number;
}

/** What a `wput` needs of its supplier. */
export interface WriteHost {
  readonly node: MoteNode;
  readonly store: ShardStore;
  readonly contracts: { get(customer: string): Contract | undefined };
}

/** Writers' shards and the state to check them, on one supplier. */
export class WriteBook {
  readonly #state: NodeState;
  readonly #policies = new Map<string, WritePolicy>();
  readonly #fetched = new Map<string, number>();
  readonly #written = new Map<string, Written[]>();
  /** Per owner, the nonces of its writers' live requests, as written to the state. */
  readonly #nonces = new Map<string, Seen[]>();
  readonly #usage = new WriteUsage();
  readonly #seen = new SeenNonces();
  /** Per write key (hex), the expiry times of its live requests, oldest first. */
  readonly #live = new Map<string, number[]>();
  readonly #maxLive: number;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(state: NodeState, opts: { maxLivePerKey?: number } = {}) {
    this.#state = state;
    this.#maxLive = opts.maxLivePerKey ?? MAX_LIVE_PER_KEY;
  }

  /**
   * Handles a `wput` request; returns the store's answer. Throws `SharingError` on refusal, its
   * message starting with the reason (`replayed: …`), which is all that crosses the wire.
   */
  async put(host: WriteHost, req: Fields, maxShard: number): Promise<"stored" | "exists"> {
    try {
      return await this.#put(host, req, maxShard);
    } catch (e) {
      if (!(e instanceof SharingError)) throw e;
      throw new SharingError(e.reason, `${e.reason}: ${e.message}`);
    }
  }

  async #put(host: WriteHost, req: Fields, maxShard: number): Promise<"stored" | "exists"> {
    const r = decodeWriteRequest(readBytes(req, "req", "wput", { max: 512 }));
    const data = readBytes(req, "data", "wput", { max: maxShard });
    const c = host.contracts.get(r.owner);
    if (!c || !isLive(c)) {
      throw new SharingError("wrong-target", "This supplier keeps nothing for that owner");
    }
    if (data.length !== r.size) {
      throw new RangeError(`The write says ${r.size} bytes but carries ${data.length}`);
    }
    const id = await shardId(data);
    if (!equals(fromBase32(id), r.shard)) {
      throw new SharingError("bad-signature", "The shard sent is not the one the write names");
    }
    const k = `${r.owner}/${r.folder}`;
    let policy = this.#policies.get(k);
    // A newer sequence named, or a policy held for a while (the owner's push of a rotation may
    // have been missed): look the record up again.
    if (!policy || r.seq > policy.seq || Date.now() - (this.#fetched.get(k) ?? 0) > POLICY_TTL) {
      policy = await this.#fetch(host.node, r.owner, r.folder);
    }
    if (!policy) {
      throw new SharingError("unknown-policy", "No write policy of that folder was found");
    }
    await this.#load(r.owner);
    return await this.#serial(async () => {
      const now = Date.now();
      const pub = toHex(policy.writePub);
      const live = (this.#live.get(pub) ?? []).filter((t) => t >= now);
      if (live.length >= this.#maxLive) {
        throw new SharingError(
          "busy",
          `Too many live writes under this key (${this.#maxLive}); try again in a few minutes`,
        );
      }
      checkWrite(r, policy, this.#seen, this.#usage, { supplier: host.node.id, now });
      live.push(r.expires);
      this.#live.set(pub, live);
      if (this.#live.size > MAX_POLICIES) this.#prune(now);
      // Written down before the shard is stored: a restart must not make this request new again.
      // (Bounded by the live quota above: a key never holds more than `#maxLive` of them.)
      const seen = (this.#nonces.get(r.owner) ?? []).filter((x) => x.expires >= now);
      seen.push({ pub, nonce: r.nonce, expires: r.expires });
      this.#nonces.set(r.owner, seen);
      await this.#saveNonces(r.owner);
      const result = await host.store.put(r.owner, id, data);
      const list = this.#written.get(r.owner)!;
      if (!list.some((w) => w.id === id)) {
        list.push({ id, folder: r.folder, pub: toHex(policy.writePub), size: data.length });
        if (list.length > MAX_WRITES_PER_OWNER) list.shift();
        await this.#save(r.owner);
      }
      return result;
    });
  }

  /**
   * Writers' shards of `owner` to keep: those accepted under a write key that is still its
   * folder's current one (as this supplier knows it; looked up when not known yet).
   */
  async kept(node: MoteNode, owner: string): Promise<Set<string>> {
    const list = await this.#load(owner);
    const out = new Set<string>();
    for (const w of list) {
      const p = this.#policies.get(`${owner}/${w.folder}`) ??
        await this.#fetch(node, owner, w.folder);
      if (p && toHex(p.writePub) === w.pub) out.add(w.id);
    }
    return out;
  }

  /**
   * Takes a `wpolicy` record pushed by anyone (the owner's node after a rotation): kept when it
   * is valid and newer than the one held. Returns whether it was.
   */
  learn(node: MoteNode, bytes: Uint8Array): boolean {
    const rec = decodeRecord(bytes, { namespaces: node.namespaces });
    if (rec.ns !== WPOLICY_NS) throw new RangeError("Not a write policy record");
    return this.#hold(policyOfRecord(rec));
  }

  #hold(p: WritePolicy): boolean {
    const k = `${p.owner}/${p.folder}`;
    this.#fetched.set(k, Date.now());
    const held = this.#policies.get(k);
    if (held && held.seq >= p.seq) return false;
    this.#policies.delete(k);
    this.#policies.set(k, p);
    if (this.#policies.size > MAX_POLICIES) {
      const oldest = this.#policies.keys().next().value!;
      this.#policies.delete(oldest);
      this.#fetched.delete(oldest);
    }
    return true;
  }

  /** Drops keys with no live request left. */
  #prune(now: number): void {
    for (const [k, l] of this.#live) if (!l.some((t) => t >= now)) this.#live.delete(k);
  }

  /** Forgets an owner's writers' shards (its contract ended). */
  async forget(owner: string): Promise<void> {
    this.#written.delete(owner);
    this.#nonces.delete(owner);
    await this.#state.remove(`writes.${owner}`);
    await this.#state.remove(`wnonces.${owner}`);
  }

  /** The newest policy of a folder in the network, if newer than the one held. */
  async #fetch(node: MoteNode, owner: string, folder: string): Promise<WritePolicy | undefined> {
    const k = `${owner}/${folder}`;
    const r = await node.resolve(recordKeyOf(WPOLICY_NS, owner, utf8(folder)), { timeout: 5_000 })
      .catch(() => undefined);
    if (r) {
      const p = policyOfRecord(r.record);
      if (p.owner === owner && p.folder === folder) this.#hold(p);
    }
    return this.#policies.get(k);
  }

  async #load(owner: string): Promise<Written[]> {
    let list = this.#written.get(owner);
    if (list) return list;
    list = [];
    const bytes = await this.#state.read(`writes.${owner}`);
    if (bytes) {
      const rows = decode(bytes, { maxBytes: 16 << 20 }) as unknown;
      if (Array.isArray(rows)) {
        for (const x of rows.slice(-MAX_WRITES_PER_OWNER)) {
          const [id, folder, pub, size] = x as [string, string, Uint8Array, number];
          list.push({ id, folder, pub: toHex(pub), size });
          this.#usage.add(pub, size);
        }
      }
    }
    const seen = await this.#readNonces(owner);
    // Two first writes at once: keep the list the other one made.
    const again = this.#written.get(owner);
    if (again) return again;
    this.#written.set(owner, list);
    this.#remember(owner, seen);
    return list;
  }

  /** The owner's nonces written down before a restart, those still live. */
  async #readNonces(owner: string): Promise<Seen[]> {
    const bytes = await this.#state.read(`wnonces.${owner}`);
    if (!bytes) return [];
    const rows = decode(bytes, { maxBytes: 64 << 20 }) as unknown;
    const now = Date.now(), out: Seen[] = [];
    if (!Array.isArray(rows)) return out;
    for (const x of rows) {
      if (!Array.isArray(x) || x.length !== 3) continue;
      const [pub, nonce, expires] = x as [unknown, unknown, unknown];
      if (!(pub instanceof Uint8Array) || pub.length !== 32) continue;
      if (!(nonce instanceof Uint8Array) || nonce.length !== 16) continue;
      if (typeof expires !== "number" || !(expires >= now)) continue;
      out.push({ pub: toHex(pub), nonce, expires });
    }
    return out;
  }

  /** Takes loaded nonces into the nonce set and the per-key live counts. */
  #remember(owner: string, seen: Seen[]): void {
    const now = Date.now(), kept: Seen[] = [];
    for (const x of seen) {
      const live = this.#live.get(x.pub) ?? [];
      if (live.length >= this.#maxLive) continue;
      try {
        this.#seen.add(x.nonce, x.expires, now);
      } catch {
        break; // the set is full of live nonces: new requests are refused as busy anyway
      }
      live.push(x.expires);
      this.#live.set(x.pub, live);
      kept.push(x);
    }
    this.#nonces.set(owner, kept);
  }

  async #saveNonces(owner: string): Promise<void> {
    const now = Date.now();
    const seen = (this.#nonces.get(owner) ?? []).filter((x) => x.expires >= now);
    this.#nonces.set(owner, seen);
    await this.#state.write(
      `wnonces.${owner}`,
      encode(seen.map((x) => [fromHex(x.pub), x.nonce, x.expires])),
    );
  }

  async #save(owner: string): Promise<void> {
    const list = this.#written.get(owner) ?? [];
    await this.#state.write(
      `writes.${owner}`,
      encode(list.map((w) => [w.id, w.folder, fromHex(w.pub), w.size])),
    );
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(f, f);
    this.#lock = run.catch(() => {});
    return run;
  }
}
