// This module is browser compatible.
/**
 * The mesh worker: decodes chunks (worlds/codec) and meshes them (mesh.ts) off the main thread,
 * answering with transferable buffers. It checks that the bytes are the chunk that was asked for,
 * so a confused or hostile server cannot put one chunk's terrain in another's place.
 * The gateway serves one bundle (`client.js`, built from main.ts), so the page starts that same
 * bundle as a module worker and main.ts calls {@linkcode serveMeshRequests} when it finds itself
 * without a `document`. The worker scope is typed by hand (two members) rather than with the
 * `webworker` lib, which cannot be checked together with the DOM lib the page needs.
 * @module
 */
import { decodeChunk } from "../codec.ts";
import { meshBuffers, meshChunk } from "./mesh.ts";
import type { MeshReply, MeshRequest } from "./protocol.ts";

/** Handles one request; exported so the page can run it inline when workers are unavailable. */
export function handleMeshRequest(req: MeshRequest): { reply: MeshReply; transfer: ArrayBuffer[] } {
  const t0 = performance.now();
  try {
    const chunk = decodeChunk(req.bytes);
    if (chunk.x !== req.x || chunk.z !== req.z) {
      throw new RangeError(
        `Chunk (${req.x}, ${req.z}) was asked for but the bytes hold (${chunk.x}, ${chunk.z})`,
      );
    }
    const mesh = meshChunk(chunk);
    return { reply: { id: req.id, mesh, ms: performance.now() - t0 }, transfer: meshBuffers(mesh) };
  } catch (e) {
    return {
      reply: { id: req.id, error: e instanceof Error ? e.message : String(e) },
      transfer: [],
    };
  }
}

/** The two members of a dedicated worker's global scope used here. */
export interface WorkerScope {
  onmessage: ((e: MessageEvent<MeshRequest>) => void) | null;
  postMessage(message: MeshReply, transfer: ArrayBuffer[]): void;
}

/** Whether this code runs in a worker (no `document`, but messages). */
export function inWorker(): boolean {
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
  return typeof g.document === "undefined" && typeof g.WorkerGlobalScope === "function";
}

/** Answers mesh requests posted to this worker. */
export function serveMeshRequests(scope: WorkerScope): void {
  scope.onmessage = (e) => {
    const { reply, transfer } = handleMeshRequest(e.data);
    scope.postMessage(reply, transfer);
  };
}
