/**
 * A node's contracts, persisted in its state: one current contract per counterparty (a renewal
 * replaces it), plus the last delete counter used or seen with that party.
 */
import { decode, encode } from "../encoding/cbor.ts";
import type { NodeState } from "../node/state.ts";
import { type Contract, decodeContract, encodeContract } from "./contract.ts";

/** Contracts keyed by the other party's node id. */
export class ContractBook {
  #state: NodeState;
  #file: string;
  #side: "customer" | "supplier";
  #contracts = new Map<string, Contract>();
  #counters = new Map<string, number>();

  /** `side`: which party of each contract is the *other* one (the map key). */
  constructor(state: NodeState, file: string, side: "customer" | "supplier" = "customer") {
    this.#state = state;
    this.#file = file;
    this.#side = side;
  }

  /** Loads the persisted book (format version 1). Unreadable entries are dropped. */
  async load(): Promise<void> {
    const bytes = await this.#state.read(this.#file);
    if (!bytes) return;
    const f = decode(bytes, { what: "contract book", maxBytes: 64 << 20 }) as {
      v?: number;
      contracts?: Uint8Array[];
      counters?: [string, number][];
    };
    if (f?.v !== 1) throw new TypeError(`Unknown contract book format ${String(f?.v)}`);
    for (const b of f.contracts ?? []) {
      try {
        const c = decodeContract(b);
        this.#contracts.set(c.terms[this.#side], c);
      } catch { /* a damaged entry is dropped; the counterparty still holds its copy */ }
    }
    for (const [k, n] of f.counters ?? []) this.#counters.set(k, n);
  }

  /** The contract with `party`, if any. */
  get(party: string): Contract | undefined {
    return this.#contracts.get(party);
  }

  /** Every contract. */
  all(): Contract[] {
    return [...this.#contracts.values()];
  }

  /** The other parties. */
  customers(): string[] {
    return [...this.#contracts.keys()];
  }

  /** Stores (or replaces) a contract and saves the book. */
  async put(c: Contract): Promise<void> {
    this.#contracts.set(c.terms[this.#side], c);
    await this.#save();
  }

  /** Forgets the contract with `party`. */
  async remove(party: string): Promise<void> {
    this.#contracts.delete(party);
    this.#counters.delete(party);
    await this.#save();
  }

  /** The last delete counter with `party` (0 when none). */
  counter(party: string): number {
    return this.#counters.get(party) ?? 0;
  }

  /** Records a new delete counter and saves the book before the delete is acted on. */
  async setCounter(party: string, n: number): Promise<void> {
    this.#counters.set(party, n);
    await this.#save();
  }

  async #save(): Promise<void> {
    await this.#state.write(
      this.#file,
      encode({ v: 1, contracts: this.all().map(encodeContract), counters: [...this.#counters] }),
    );
  }
}
