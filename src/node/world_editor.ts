/**
 * The player's own node makes edits: `POST /api/v1/worlds/<address>/edits` (token-protected)
 * hands it edits for one region; the node checks that the world grants this node that region
 * (403 otherwise), adds them to its {@linkcode EditBatcher} for the region (Lamport counters,
 * compaction, at most one batch a second), signs the whole batch with its own key
 * (`signEditBatch`: a key never leaves its node) and publishes the `wedit` record. The record's
 * key is listed under `/.worlds/.edits/<key hash>` in the catalog, so it goes on the keep record
 * and the node's suppliers keep the batch alive with the editor offline.
 */
import type { EditResult, NewEditInput } from "../../gateway/world_api.ts";
import { HttpError } from "../../gateway/errors.ts";
import type { WorldSource } from "../../gateway/world_source.ts";
import { WORLDS_FOLDER } from "../catalog/mod.ts";
import type { Catalog } from "../catalog/mod.ts";
import { EditBatcher, type NewEdit } from "../../worlds/edit_batcher.ts";
import type { EditBatch } from "../../worlds/edit_batch.ts";
import { decodeEditBatch } from "../../worlds/edit_codec.ts";
import { editBatchKey, signEditBatch } from "../../worlds/edit_record.ts";
import { decodeRecord, encodeRecord, formatRecordKey } from "../records/record.ts";
import type { MoteNode } from "./node.ts";

/** The catalog folder whose subfolders name the node's edit batch record keys (by hash). */
export const EDITS_FOLDER = `${WORLDS_FOLDER}/.edits`;
/** Most regions one node keeps a batcher for (the oldest is dropped; it restarts from its record). */
const MAX_REGIONS = 256;

interface RegionState {
  batcher: EditBatcher;
  /** Publications in order: each waits for the batcher's next slot. */
  chain: Promise<unknown>;
  listed: boolean;
}

/** Options of {@linkcode WorldEditor}. */
export interface WorldEditorOptions {
  node: MoteNode;
  /** The node's worlds (verified records; also other editors' counters to order after). */
  worlds: WorldSource;
  catalog: () => Promise<Catalog>;
  /**
   * Tells players in the region at once (the gateway's live hub: gossip to other gateways and
   * this node's own sockets), given the published record's bytes. Not awaited.
   */
  announce?: (address: string, rx: number, rz: number, record: Uint8Array) => Promise<void>;
  now?: () => number;
}

/** This node's edits, one batcher per region. */
export class WorldEditor {
  readonly #o: WorldEditorOptions;
  readonly #now: () => number;
  readonly #regions = new Map<string, Promise<RegionState>>();

  constructor(opts: WorldEditorOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Adds `edits` to region (`rx`, `rz`) of world `address`; resolves once they are published. */
  async edit(
    address: string,
    rx: number,
    rz: number,
    edits: readonly NewEditInput[],
  ): Promise<EditResult> {
    const { node } = this.#o;
    const world = await this.#o.worlds.world(address);
    if (!world) throw new HttpError(404, `No world at ${address}`);
    const granted = world.value.grants.some((g) =>
      g.rx === rx && g.rz === rz && g.grantee === node.id && g.expiry > this.#now()
    );
    if (!granted) {
      throw new HttpError(
        403,
        `This node (${node.id}) has no current grant for region (${rx}, ${rz}) of world ${address}`,
      );
    }
    const id = `${address}/${rx}/${rz}`;
    let state = this.#regions.get(id);
    if (!state) {
      state = this.#open(address, rx, rz, world.value.region);
      this.#regions.set(id, state);
      state.catch(() => this.#regions.delete(id));
      if (this.#regions.size > MAX_REGIONS) {
        this.#regions.delete(this.#regions.keys().next().value!);
      }
    }
    const s = await state;
    // Order after everything seen in the region (Lamport): other editors' published counters.
    const seen = await this.#o.worlds.edits?.(world, rx, rz).catch(() => undefined);
    for (const b of seen?.batches ?? []) s.batcher.observe(b.seq);
    const before = s.batcher.size;
    try {
      for (const e of edits) s.batcher.add(e as NewEdit);
    } catch (e) {
      if (e instanceof RangeError) {
        throw new HttpError(400, `${e.message} (edits before it were kept: ${before} then)`);
      }
      throw e;
    }
    const published = s.chain.then(() => this.#publishDue(s, address, rx, rz));
    s.chain = published.catch(() => {});
    return await published;
  }

  async #open(address: string, rx: number, rz: number, side: number): Promise<RegionState> {
    const { node } = this.#o;
    const key = editBatchKey(address, rx, rz, node.id);
    let previous: EditBatch | undefined;
    // Our own batch: the kept copy when this node published it, else the network's.
    const kept = node.keeper.get(formatRecordKey(key));
    const bytes = kept ??
      (await node.resolve(key, { timeout: 4_000 }).catch(() => undefined))?.bytes;
    if (bytes) {
      previous = decodeEditBatch(decodeRecord(bytes, { namespaces: node.namespaces }).value);
    }
    const batcher = new EditBatcher({
      world: address,
      region: [rx, rz],
      editor: node.id,
      side,
      now: this.#now,
      ...(previous ? { previous } : {}),
    });
    return { batcher, chain: Promise.resolve(), listed: false };
  }

  async #publishDue(s: RegionState, address: string, rx: number, rz: number): Promise<EditResult> {
    const { node } = this.#o;
    const key = editBatchKey(address, rx, rz, node.id);
    const at = s.batcher.nextAt();
    if (at !== undefined && at > this.#now()) {
      await new Promise((r) => setTimeout(r, at - this.#now()));
    }
    const batch = s.batcher.take();
    if (batch) {
      const record = signEditBatch(node.keys, batch);
      await node.publishRecord(record);
      this.#o.announce?.(address, rx, rz, encodeRecord(record)).catch((error) =>
        node.log.warn("could not announce an edit batch", { key, error })
      );
      if (!s.listed) {
        // On the keep record (through the catalog), so suppliers keep the batch alive. Catalog
        // writes reach suppliers and can take seconds: the answer does not wait for it.
        s.listed = true;
        this.#o.catalog().then((c) => c.mkdir(`/${EDITS_FOLDER}/${key.hash}`)).catch((error) => {
          s.listed = false; // the next publication tries again
          node.log.warn("could not list an edit batch on the keep record", { key, error });
        });
      }
    }
    return {
      world: address,
      region: [rx, rz],
      editor: node.id,
      seq: s.batcher.clock,
      edits: s.batcher.size,
      key: formatRecordKey(key),
    };
  }
}
