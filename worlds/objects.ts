// This module is browser compatible.
/**
 * Object kinds: the things that stand on terrain. Ids are bytes in encoded chunks, so an id never
 * changes meaning; a new kind needs a new codec version.
 * @module
 */

/** Object kind ids. */
export const ObjectKind = {
  Oak: 0,
  Birch: 1,
  Pine: 2,
  Palm: 3,
  Cactus: 4,
  Boulder: 5,
  Bush: 6,
  Rock: 7,
  Flowers: 8,
  DeadBush: 9,
} as const;
/** An object kind id. */
export type ObjectKind = typeof ObjectKind[keyof typeof ObjectKind];
/** Object kind names by id. */
export const OBJECT_KIND_NAMES: readonly string[] = Object.keys(ObjectKind).map((k) =>
  k.replace(/[A-Z]/g, (c, i) => (i ? "-" : "") + c.toLowerCase())
);
/** Object kind ids are below this. */
export const OBJECT_KIND_COUNT = OBJECT_KIND_NAMES.length;

/** Whether a kind is a tree (tall, rooted: never placed on steep ground). */
export function isTree(kind: number): boolean {
  return kind <= ObjectKind.Cactus;
}
