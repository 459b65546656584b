// This module is browser compatible.
/**
 * A small pool of mesh workers (worker.ts). The gateway serves the client as one bundle, so each
 * worker is that same bundle started as a module worker (main.ts turns into a worker when it has
 * no document). Requests go to the worker with the fewest outstanding; an aborted request is
 * answered at once and its late reply ignored (a chunk's meshing takes about a millisecond, so
 * there is nothing worth interrupting). Where workers cannot start (a strict policy, an old
 * browser) meshing runs inline on the page, which still works but spends main-thread time.
 * @module
 */
import type { ChunkKey } from "./keys.ts";
import type { ChunkMesh } from "./mesh.ts";
import type { MeshReply, MeshRequest } from "./protocol.ts";
import { handleMeshRequest } from "./worker.ts";

interface Pending {
  resolve(m: ChunkMesh): void;
  reject(e: unknown): void;
  worker: number;
}

/** Mesh workers; {@linkcode mesh} decodes and meshes one chunk. */
export class MeshWorkers {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #dead = new Set<number>();
  #next = 1;
  /** Milliseconds spent meshing, summed from the workers' own timings, and chunks meshed. */
  meshMs = 0;
  meshed = 0;
  inline = false;

  constructor(script: URL | string, count: number) {
    for (let i = 0; i < count; i++) {
      try {
        const w = new Worker(script, { type: "module", name: `mote-mesh-${i}` });
        w.onmessage = (e: MessageEvent<MeshReply>) => this.#reply(e.data);
        w.onerror = (e) => this.#crashed(i, e.message);
        this.#workers.push(w);
        this.#load.push(0);
      } catch {
        break;
      }
    }
    this.inline = this.#workers.length === 0;
  }

  /** Workers running. */
  get size(): number {
    return this.#workers.length - this.#dead.size;
  }

  /** Decodes and meshes encoded chunk `bytes`, which must hold chunk `key`. */
  mesh(key: ChunkKey, bytes: Uint8Array, { signal }: { signal: AbortSignal }): Promise<ChunkMesh> {
    signal.throwIfAborted();
    const id = this.#next++;
    const req: MeshRequest = { id, x: key.x, z: key.z, bytes };
    if (this.inline) {
      const { reply } = handleMeshRequest(req);
      return "mesh" in reply
        ? Promise.resolve(this.#count(reply))
        : Promise.reject(new Error(reply.error));
    }
    // The live worker with the fewest outstanding requests (a crashed one is never chosen).
    let worker = -1;
    for (let i = 0; i < this.#load.length; i++) {
      if (this.#dead.has(i)) continue;
      if (worker < 0 || this.#load[i]! < this.#load[worker]!) worker = i;
    }
    return new Promise<ChunkMesh>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, worker });
      this.#load[worker]!++;
      signal.addEventListener("abort", () => {
        if (this.#settle(id)) reject(signal.reason);
      }, { once: true });
      // Transfer the bytes: the page has no further use for them.
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const copy = whole ? bytes : bytes.slice();
      this.#workers[worker]!.postMessage({ ...req, bytes: copy }, [copy.buffer as ArrayBuffer]);
    });
  }

  /** Stops the workers; outstanding requests fail. */
  dispose(): void {
    for (const w of this.#workers) w.terminate();
    for (const [id, p] of [...this.#pending]) {
      if (this.#settle(id)) p.reject(new Error("Mesh workers stopped"));
    }
  }

  #count(reply: Extract<MeshReply, { mesh: ChunkMesh }>): ChunkMesh {
    this.meshMs += reply.ms;
    this.meshed++;
    return reply.mesh;
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    this.#load[p.worker]!--;
    return p;
  }

  #reply(r: MeshReply): void {
    const p = this.#settle(r.id);
    if (!p) return; // aborted meanwhile
    if ("mesh" in r) p.resolve(this.#count(r));
    else p.reject(new Error(r.error));
  }

  #crashed(worker: number, message: string): void {
    // A worker whose script failed is not asked again; with none left, mesh on the page.
    this.#dead.add(worker);
    this.#workers[worker]?.terminate();
    if (this.#dead.size === this.#workers.length) this.inline = true;
    for (const [id, p] of [...this.#pending]) {
      if (p.worker === worker && this.#settle(id)) {
        p.reject(new Error(`Mesh worker failed: ${message}`));
      }
    }
  }
}
