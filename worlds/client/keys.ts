// This module is browser compatible.
/**
 * Chunk keys: a chunk's coordinates as a typed value. The `id` is a map key only (never parsed
 * back): the coordinates travel beside it, so nothing splits strings to recover them.
 * @module
 */
import { CHUNK_SIZE } from "../chunk.ts";

/** A chunk's coordinates (signed 32-bit chunk indices) and its map key. */
export interface ChunkKey {
  readonly x: number;
  readonly z: number;
  /** A unique map key for (x, z); opaque, not for parsing. */
  readonly id: string;
}

/** Wraps any integer into a signed 32-bit chunk index (the world wraps at 2^32 chunks). */
export function wrapChunkIndex(v: number): number {
  return v | 0;
}

/** The key of chunk (x, z); coordinates are wrapped to signed 32-bit indices. */
export function chunkKey(x: number, z: number): ChunkKey {
  if (!Number.isFinite(x) || !Number.isFinite(z)) {
    throw new RangeError(`Chunk coordinates must be finite numbers, got (${x}, ${z})`);
  }
  const cx = wrapChunkIndex(Math.floor(x)), cz = wrapChunkIndex(Math.floor(z));
  return { x: cx, z: cz, id: `${cx},${cz}` };
}

/** The chunk index holding world coordinate `metres` (a column is 1 m, a chunk 32 columns). */
export function chunkOf(metres: number): number {
  return Math.floor(metres / CHUNK_SIZE);
}
