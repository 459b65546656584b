// This module is browser compatible.
/**
 * What the codec and its arenas share: the parity plan and the plan that rebuilds lost shards.
 * @module
 */
import type { Engine, Plan } from "./_engine.ts";
import { cauchyMatrix, decodeRows } from "./matrix.ts";

/** A codec's fixed parts. */
export interface CodecCore {
  readonly k: number;
  readonly m: number;
  readonly engine: Engine;
  /** The n × k Cauchy encoding matrix. */
  readonly matrix: Uint8Array;
  /** The parity rows (the matrix below the identity), prepared for the engine. */
  readonly parityPlan: Plan;
  /** Recent rebuild plans by loss pattern, most recent last. */
  readonly plans: Map<string, { plan: Plan; sources: number[] }>;
}

/**
 * Rebuild plans kept per codec. A reader that lost the same suppliers decodes block after block
 * with one pattern; for 48+16 with 16 data shards lost, building the plan (inverting 48 × 48 and
 * the tables) took about as long as decoding 4 KiB shards with it.
 */
const PLAN_CACHE = 16;

/** Builds the fixed parts of a k + m codec on `engine`. */
export function createCore(k: number, m: number, engine: Engine): CodecCore {
  const matrix = cauchyMatrix(k, m);
  const parityPlan = engine.prepare(matrix.subarray(k * k), m, k);
  return { k, m, engine, matrix, parityPlan, plans: new Map() };
}

/**
 * The plan that rebuilds shards `targets` from the first k of `available` (ascending indices).
 * Taking the lowest indices prefers data shards, whose identity rows make the inversion
 * cheapest, and matches ISA-L's examples.
 */
export function rebuildPlan(
  core: CodecCore,
  available: readonly number[],
  targets: readonly number[],
): { plan: Plan; sources: number[] } {
  const sources = available.slice(0, core.k);
  const key = `${sources}/${targets}`;
  let hit = core.plans.get(key);
  if (hit) core.plans.delete(key); // re-inserted below as the most recent
  else {
    const rows = decodeRows(core.matrix, core.k, sources, targets);
    hit = { plan: core.engine.prepare(rows, targets.length, core.k), sources };
    if (core.plans.size >= PLAN_CACHE) core.plans.delete(core.plans.keys().next().value!);
  }
  core.plans.set(key, hit);
  return hit;
}
