// This module is browser compatible.
/**
 * Other players in the scene: one simple mesh each (a body, a head and a nose showing where it
 * looks), coloured by the player's id so the same player keeps its colour. Meshes share one
 * geometry per part and one material per colour slot; a player who leaves has its mesh removed
 * (its materials and geometries are shared, so nothing per player needs disposing), and
 * {@linkcode Avatars.dispose} frees the shared ones when the world closes.
 * @module
 */
import * as THREE from "three";
import { wrapMetres } from "../chunk.ts";
import type { ShownPlayer } from "./presence.ts";

const COLOURS = [0xe4572e, 0x29335c, 0xf3a712, 0x669bbc, 0xa8c686, 0x8e44ad, 0xd81159, 0x00a6a6];

/** The avatars of other players. */
export class Avatars {
  readonly #scene: THREE.Scene;
  readonly #body = new THREE.CylinderGeometry(0.35, 0.45, 1.4, 8);
  readonly #head = new THREE.SphereGeometry(0.3, 10, 8);
  readonly #nose = new THREE.ConeGeometry(0.12, 0.35, 6);
  readonly #materials = COLOURS.map((c) => new THREE.MeshLambertMaterial({ color: c }));
  readonly #skin = new THREE.MeshLambertMaterial({ color: 0xf1d3b3 });
  readonly #shown = new Map<string, THREE.Group>();

  constructor(scene: THREE.Scene) {
    this.#scene = scene;
    this.#nose.rotateX(-Math.PI / 2); // points along −z, the way a heading of 0 looks
  }

  /** Avatars in the scene. */
  get size(): number {
    return this.#shown.size;
  }

  /**
   * Shows `players` where they are (their eyes at y; `origin` is the render origin in metres,
   * so positions are placed relative to it like the chunks), and removes those not listed.
   */
  sync(players: readonly ShownPlayer[], origin: { x: number; z: number }): void {
    const seen = new Set<string>();
    for (const p of players) {
      seen.add(p.id);
      let g = this.#shown.get(p.id);
      if (!g) {
        g = this.#make(p.id);
        this.#shown.set(p.id, g);
        this.#scene.add(g);
      }
      // The world wraps: place the player the short way round from the origin.
      // y is the player's eye (the camera): the head is drawn there.
      g.position.set(wrapMetres(p.x - origin.x), p.y - 1.65, wrapMetres(p.z - origin.z));
      g.rotation.y = p.heading;
    }
    for (const [id, g] of this.#shown) {
      if (!seen.has(id)) this.#scene.remove(g), this.#shown.delete(id);
    }
  }

  /** Removes every avatar and frees the shared geometries and materials. */
  dispose(): void {
    this.sync([], { x: 0, z: 0 });
    for (const g of [this.#body, this.#head, this.#nose]) g.dispose();
    for (const m of [...this.#materials, this.#skin]) m.dispose();
  }

  #make(id: string): THREE.Group {
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
    const colour = this.#materials[(h >>> 0) % this.#materials.length]!;
    const g = new THREE.Group();
    const body = new THREE.Mesh(this.#body, colour);
    body.position.y = 0.7;
    const head = new THREE.Mesh(this.#head, this.#skin);
    head.position.y = 1.65;
    const nose = new THREE.Mesh(this.#nose, colour);
    nose.position.set(0, 1.65, -0.35);
    g.add(body, head, nose);
    g.name = `player ${id}`;
    return g;
  }
}
