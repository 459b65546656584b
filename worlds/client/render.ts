// This module is browser compatible.
/**
 * The Three.js layer: turns meshed chunks into scene objects and frees them when they leave.
 *
 * Each shown chunk is one Group: the terrain mesh, a water mesh when it has water, and one
 * InstancedMesh per object kind present. Materials and object shapes are shared by all chunks;
 * a chunk owns only its geometries and instance buffers, and {@linkcode WorldView.hide} disposes
 * those explicitly (Three.js frees GPU buffers only when told). Materials, shapes and the sky are
 * disposed when the world closes.
 *
 * **Render origin.** Positions on the GPU are 32-bit floats, so chunks are placed relative to a
 * render origin (a chunk index) kept near the player and moved when the player is more than
 * {@linkcode REBASE_METRES} away. Offsets are taken modulo 2^32 chunks, so the world's wrap at the
 * limits of the chunk indices is seamless on screen too.
 * @module
 */
import * as THREE from "three";
import { CHUNK_SIZE } from "../chunk.ts";
import { OBJECT_KIND_COUNT } from "../objects.ts";
import { type ChunkKey, chunkKey, chunkOf } from "./keys.ts";
import { type ChunkMesh, GRID } from "./mesh.ts";
import { ObjectShapes } from "./objects.ts";
import { Sky } from "./sky.ts";

/** How far the player may get from the render origin before it moves (float error stays < 1 mm). */
export const REBASE_METRES = 2048;

interface Shown {
  key: ChunkKey;
  group: THREE.Group;
  mesh: ChunkMesh;
}

/** A world on a canvas: scene, camera, renderer, and the chunks shown. */
export class WorldView {
  readonly renderer: THREE.WebGLRenderer;
  readonly scene = new THREE.Scene();
  readonly camera: THREE.PerspectiveCamera;
  readonly sky: Sky;
  readonly #shapes = new ObjectShapes();
  readonly #terrain = new THREE.MeshLambertMaterial({ vertexColors: true });
  readonly #water = new THREE.MeshLambertMaterial({
    color: 0x2c6a9a,
    transparent: true,
    opacity: 0.78,
    depthWrite: false,
  });
  readonly #chunks = new Map<string, Shown>();
  #ox = 0;
  #oz = 0;

  constructor(readonly canvas: HTMLCanvasElement, radius: number) {
    // No antialiasing: software WebGL (SwiftShader) and phones pay for it on every pixel.
    this.renderer = new THREE.WebGLRenderer({
      canvas,
      antialias: false,
      powerPreference: "high-performance",
    });
    this.renderer.setPixelRatio(Math.min(globalThis.devicePixelRatio || 1, 2));
    this.camera = new THREE.PerspectiveCamera(70, 1, 0.1, (radius + 3) * CHUNK_SIZE);
    this.camera.rotation.order = "YXZ";
    this.sky = new Sky(this.scene, radius);
    this.#shapes.prepare(OBJECT_KIND_COUNT);
  }

  /** The render origin in metres (unwrapped, like the player's position). */
  get origin(): { x: number; z: number } {
    return { x: this.#ox * CHUNK_SIZE, z: this.#oz * CHUNK_SIZE };
  }

  /** Chunks on screen. */
  get size(): number {
    return this.#chunks.size;
  }

  /** Matches the drawing buffer and the camera to the canvas's CSS size. */
  resize(width: number, height: number): void {
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  /** Puts a meshed chunk in the scene (creates its GPU buffers on the next render). */
  show(key: ChunkKey, mesh: ChunkMesh): void {
    this.hide(key);
    const group = new THREE.Group();
    const t = mesh.terrain;
    const terrain = new THREE.BufferGeometry();
    terrain.setAttribute("position", new THREE.BufferAttribute(t.positions, 3));
    terrain.setAttribute("normal", new THREE.BufferAttribute(t.normals, 3));
    terrain.setAttribute("color", new THREE.BufferAttribute(t.colors, 3, true));
    terrain.setIndex(new THREE.BufferAttribute(t.indices, 1));
    const [bx, by, bz, br] = mesh.bounds;
    terrain.boundingSphere = new THREE.Sphere(new THREE.Vector3(bx, by, bz), br);
    group.add(new THREE.Mesh(terrain, this.#terrain));
    if (mesh.water) {
      const water = new THREE.BufferGeometry();
      water.setAttribute("position", new THREE.BufferAttribute(mesh.water.positions, 3));
      water.setIndex(new THREE.BufferAttribute(mesh.water.indices, 1));
      const normals = new Float32Array(mesh.water.positions.length);
      for (let i = 1; i < normals.length; i += 3) normals[i] = 1;
      water.setAttribute("normal", new THREE.BufferAttribute(normals, 3));
      water.boundingSphere = terrain.boundingSphere.clone();
      const w = new THREE.Mesh(water, this.#water);
      w.renderOrder = 1; // after opaque terrain
      group.add(w);
    }
    for (const { kind, matrices } of mesh.objects) {
      const count = matrices.length / 16;
      const inst = new THREE.InstancedMesh(
        this.#shapes.geometry(kind),
        this.#shapes.material,
        count,
      );
      inst.instanceMatrix = new THREE.InstancedBufferAttribute(matrices, 16);
      inst.computeBoundingSphere();
      group.add(inst);
    }
    // Nothing in a chunk moves: skip per-frame matrix updates.
    group.matrixAutoUpdate = false;
    this.#place(key, group);
    this.scene.add(group);
    this.#chunks.set(key.id, { key, group, mesh });
  }

  /** Removes a chunk and disposes its geometries and instance buffers. */
  hide(key: ChunkKey): void {
    const s = this.#chunks.get(key.id);
    if (!s) return;
    this.#chunks.delete(key.id);
    this.scene.remove(s.group);
    for (const child of s.group.children) {
      if (child instanceof THREE.InstancedMesh) child.dispose(); // its instance buffers only
      else if (child instanceof THREE.Mesh) child.geometry.dispose();
    }
    s.group.clear();
  }

  /**
   * Points the camera from world position `p` (metres, doubles) with `yaw` and `pitch` (radians),
   * moving the render origin when the player is far from it, then renders a frame.
   */
  render(p: { x: number; y: number; z: number }, yaw: number, pitch: number): void {
    const cx = chunkOf(p.x), cz = chunkOf(p.z);
    const dx = p.x - this.#ox * CHUNK_SIZE, dz = p.z - this.#oz * CHUNK_SIZE;
    if (Math.abs(dx) > REBASE_METRES || Math.abs(dz) > REBASE_METRES) {
      // Unwrapped, like the player's position; placement wraps the difference (see #place).
      this.#ox = cx;
      this.#oz = cz;
      for (const s of this.#chunks.values()) this.#place(s.key, s.group);
    }
    this.camera.position.set(p.x - this.#ox * CHUNK_SIZE, p.y, p.z - this.#oz * CHUNK_SIZE);
    this.camera.rotation.set(pitch, yaw, 0);
    this.sky.follow(this.camera);
    this.renderer.render(this.scene, this.camera);
  }

  /** Ground height in metres at world position (x, z), or undefined while its chunk is not shown. */
  groundAt(x: number, z: number): number | undefined {
    // Vertices stand at column centres; a point west or north of the first centre lies in the
    // strip meshed by the chunk before it.
    const cx = chunkOf(x - 0.5), cz = chunkOf(z - 0.5);
    const u = x - 0.5 - cx * CHUNK_SIZE, v = z - 0.5 - cz * CHUNK_SIZE;
    const s = this.#chunks.get(chunkKey(cx, cz).id);
    if (!s) return undefined;
    const i = Math.min(GRID - 2, Math.floor(u)), j = Math.min(GRID - 2, Math.floor(v));
    const fu = u - i, fv = v - j, g = s.mesh.ground;
    const h00 = g[j * GRID + i]!, h10 = g[j * GRID + i + 1]!;
    const h01 = g[(j + 1) * GRID + i]!, h11 = g[(j + 1) * GRID + i + 1]!;
    return (h00 * (1 - fu) + h10 * fu) * (1 - fv) + (h01 * (1 - fu) + h11 * fu) * fv;
  }

  /** The biome id of the column at world position (x, z), or undefined while not shown. */
  biomeAt(x: number, z: number): number | undefined {
    const cx = chunkOf(x), cz = chunkOf(z);
    const s = this.#chunks.get(chunkKey(cx, cz).id);
    if (!s) return undefined;
    const i = Math.floor(x) - cx * CHUNK_SIZE, j = Math.floor(z) - cz * CHUNK_SIZE;
    return s.mesh.biomes[j * CHUNK_SIZE + i];
  }

  /**
   * Distinct geometries in the scene now. Beside `renderer.info.memory.geometries` (those alive on
   * the GPU) it shows whether chunks that left freed theirs: the GPU never holds more.
   */
  sceneGeometries(): number {
    const seen = new Set<THREE.BufferGeometry>();
    this.scene.traverse((o) => {
      if (o instanceof THREE.Mesh) seen.add(o.geometry);
    });
    return seen.size;
  }

  /** Frees every chunk, the shared materials and shapes, the sky and the WebGL context. */
  dispose(): void {
    for (const s of [...this.#chunks.values()]) this.hide(s.key);
    this.#shapes.dispose();
    this.#terrain.dispose();
    this.#water.dispose();
    this.sky.dispose();
    this.renderer.dispose();
  }

  #place(key: ChunkKey, group: THREE.Group): void {
    group.position.set(
      ((key.x - this.#ox) | 0) * CHUNK_SIZE,
      0,
      ((key.z - this.#oz) | 0) * CHUNK_SIZE,
    );
    group.updateMatrix();
    group.updateMatrixWorld(true);
  }
}
