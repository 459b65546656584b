// This module is browser compatible.
/**
 * The ecc maps: how many data (k) and parity (m) shards a block is split into, by the number of
 * suppliers available to hold one shard each.
 * @module
 */

/** One erasure-coding layout: k data shards and m parity shards, any k of the k + m decode. */
export interface EccMap {
  /** Data shards. */
  readonly k: number;
  /** Parity shards: up to m shards (or suppliers) may be lost. */
  readonly m: number;
}

/**
 * The supported maps, smallest first. Parity is about a third of data at small sizes (a lost
 * supplier is a larger share of few) and a quarter to a third at large ones.
 */
export const ECC_MAPS: readonly EccMap[] = Object.freeze([
  { k: 1, m: 1 },
  { k: 2, m: 2 },
  { k: 4, m: 2 },
  { k: 7, m: 3 },
  { k: 10, m: 4 },
  { k: 13, m: 5 },
  { k: 18, m: 8 },
  { k: 48, m: 16 },
].map((e) => Object.freeze(e)));

/**
 * The largest listed map whose k + m fits `suppliers`: 2 → 1+1, 4 → 2+2, 6 → 4+2, 10 → 7+3,
 * 14 → 10+4, 18 → 13+5, 26 → 18+8, 64 or more → 48+16; counts in between round down (5 → 2+2).
 *
 * @throws {RangeError} when `suppliers` is not an integer of at least 2.
 */
export function eccForSuppliers(suppliers: number): EccMap {
  if (!Number.isSafeInteger(suppliers) || suppliers < 2) {
    throw new RangeError(
      `Cannot choose an ecc map: need an integer count of at least 2 suppliers, got ${suppliers}`,
    );
  }
  let best = ECC_MAPS[0]!;
  for (const map of ECC_MAPS) if (map.k + map.m <= suppliers) best = map;
  return best;
}
