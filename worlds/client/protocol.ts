// This module is browser compatible.
/**
 * Messages between the page and the mesh workers. A request carries one encoded chunk (its buffer
 * transferred, not copied); the reply carries the mesh's buffers back the same way.
 * @module
 */
import type { ChunkMesh } from "./mesh.ts";

/** Page → worker: decode and mesh chunk (x, z). */
export interface MeshRequest {
  readonly id: number;
  readonly x: number;
  readonly z: number;
  readonly bytes: Uint8Array;
}

/** Worker → page: the mesh, or why there is none. */
export type MeshReply =
  | { readonly id: number; readonly mesh: ChunkMesh; readonly ms: number }
  | { readonly id: number; readonly error: string };
