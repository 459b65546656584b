// This module is browser compatible.
/**
 * Merging edits over a chunk. Every edit of every batch that touches the chunk is applied in one
 * total order, by (edit counter, editor id, position in its batch), so the later edit wins and the
 * result does not depend on the order batches arrive in. Only each editor's latest batch counts (a
 * batch replaces that editor's earlier ones, as its record does). The merged chunk has the form of
 * a generated one, so it encodes canonically and the same chunk and batches give the same bytes on
 * every gateway and page.
 *
 * Rules, in that order for each edit:
 * - `height` sets the column's height; `raise` adds its delta, clamped to 0..4095;
 * - `material` sets the column's surface material;
 * - `place` adds the object unless the chunk already has that exact object or holds 1024;
 * - `remove` takes away that exact object (position, kind, rotation, scale) if it is there.
 *
 * Then, per column, water keeps its generated surface where it is still above the ground and is
 * gone where the ground now reaches it (biomes never change).
 * @module
 */
import { assertChunk, type Chunk, CHUNK_SIZE, type ChunkObject, compareObjects } from "./chunk.ts";
import { MAX_HEIGHT, MAX_OBJECTS, OBJECT_STEPS_PER_COLUMN } from "./chunk.ts";
import type { Edit, EditBatch } from "./edit_batch.ts";
import type { EditPair } from "./edits.ts";

/** A batch to merge: a verified batch and its world's region side (`verifyEditBatch` gives both). */
export interface MergeBatch {
  /** The world's region side in chunks. */
  readonly side: number;
  readonly batch: EditBatch;
}

interface Placed {
  readonly edit: Edit;
  readonly editor: string;
  readonly index: number;
  /** Chunk-local column (x, z) or object position, by op. */
  readonly x: number;
  readonly z: number;
}

/** The later edit, by counter, then editor id, then position in its batch. */
function order(a: Placed, b: Placed): number {
  return a.edit.seq - b.edit.seq || (a.editor < b.editor ? -1 : a.editor > b.editor ? 1 : 0) ||
    a.index - b.index;
}

/** Each editor's latest batch: the highest `seq`, ties (two versions raced) by their edits' bytes. */
function latest(batches: readonly MergeBatch[]): MergeBatch[] {
  const best = new Map<string, MergeBatch>();
  for (const m of batches) {
    const key = `${m.batch.world}/${m.batch.region}/${m.batch.editor}`;
    const had = best.get(key);
    if (!had || m.batch.seq > had.batch.seq || (m.batch.seq === had.batch.seq && tieWins(m, had))) {
      best.set(key, m);
    }
  }
  return [...best.values()];
}

function tieWins(a: MergeBatch, b: MergeBatch): boolean {
  const x = JSON.stringify(a.batch.edits), y = JSON.stringify(b.batch.edits);
  return x > y;
}

/**
 * Applies every edit of `batches` that falls in `chunk` and returns a new chunk (the input is not
 * changed). Batches must have been verified (`verifyEditBatch`); edits outside the chunk are
 * ignored, so a region's batches can be given for each of its chunks.
 */
export function applyEdits(chunk: Chunk, batches: readonly MergeBatch[]): Chunk {
  assertChunk(chunk);
  const edits: Placed[] = [];
  for (const { side, batch } of latest(batches)) {
    const [rx, rz] = batch.region;
    // The chunk's offset inside the batch's region, in chunks (outside: no edit can touch it).
    const ox = chunk.x - rx * side, oz = chunk.z - rz * side;
    if (ox < 0 || ox >= side || oz < 0 || oz >= side) continue;
    batch.edits.forEach((edit, index) => {
      const object = edit.op === "place" || edit.op === "remove";
      const unit = object ? CHUNK_SIZE * OBJECT_STEPS_PER_COLUMN : CHUNK_SIZE;
      const x = edit.x - ox * unit, z = edit.z - oz * unit;
      if (x >= 0 && x < unit && z >= 0 && z < unit) {
        edits.push({ edit, editor: batch.editor, index, x, z });
      }
    });
  }
  edits.sort(order);
  const heights = chunk.heights.slice(), materials = chunk.materials.slice();
  const objects = new Map<number, ChunkObject>();
  for (const o of chunk.objects) objects.set(objectKey(o), o);
  for (const { edit: e, x, z } of edits) {
    const i = z * CHUNK_SIZE + x;
    switch (e.op) {
      case "height":
        heights[i] = e.h;
        break;
      case "raise":
        heights[i] = Math.min(MAX_HEIGHT, Math.max(0, heights[i]! + e.d));
        break;
      case "material":
        materials[i] = e.m;
        break;
      case "place": {
        const o = { x, z, kind: e.kind, rotation: e.rotation, scale: e.scale };
        if (objects.size < MAX_OBJECTS) objects.set(objectKey(o), o);
        break;
      }
      case "remove":
        objects.delete(objectKey({ x, z, kind: e.kind, rotation: e.rotation, scale: e.scale }));
    }
  }
  const water = chunk.water.slice();
  for (let i = 0; i < water.length; i++) if (water[i]! <= heights[i]!) water[i] = 0;
  const merged: Chunk = {
    generator: chunk.generator,
    seed: chunk.seed,
    x: chunk.x,
    z: chunk.z,
    heights,
    biomes: chunk.biomes.slice(),
    materials,
    water,
    objects: [...objects.values()].sort(compareObjects),
  };
  assertChunk(merged);
  return merged;
}

/**
 * The (editor, seq) pairs of the batches of one region that {@linkcode applyEdits} uses (each
 * editor's latest): what `editsDigest` names in chunk URLs, so a URL names exactly the edits
 * merged into its bytes.
 */
export function editPairs(batches: readonly MergeBatch[]): EditPair[] {
  return latest(batches).map(({ batch }) => ({ editor: batch.editor, seq: batch.seq }));
}

/** The five bytes of an object as one number: its exact identity in a chunk. */
function objectKey(o: ChunkObject): number {
  return (((o.z * 256 + o.x) * 256 + o.kind) * 256 + o.rotation) * 256 + o.scale;
}
