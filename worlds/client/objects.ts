// This module is browser compatible.
/**
 * Low-poly shapes for object kinds (trees, cacti, boulders, bushes, rocks, flowers…), one merged
 * BufferGeometry per kind with vertex colours, drawn as InstancedMesh (one draw call per kind per
 * chunk). Shapes are built once per page and shared by every chunk, so they are disposed when the
 * world closes, not when a chunk leaves (a chunk frees only its instance buffers). Every shape stays
 * within `MAX_SHAPE_EXTENT` (mesh.ts) of its origin, which the worker's object bounds assume.
 * @module
 */
import * as THREE from "three";
import { ObjectKind as K } from "../objects.ts";

type Part = [geometry: THREE.BufferGeometry, y: number, rgb: number, xz?: [number, number]];

const BARK = 0x6b4a2f, BIRCH_BARK = 0xd8d4c6, LEAF = 0x3f7f35, LEAF_LIGHT = 0x6fae45;
const NEEDLE = 0x2f5e3a, PALM = 0x5a9a3a, CACTUS = 0x4f8a45, STONE = 0x8a8680;

function parts(kind: number): Part[] {
  const cyl = (r: number, h: number) => new THREE.CylinderGeometry(r * 0.8, r, h, 6);
  switch (kind) {
    case K.Oak:
      return [[cyl(0.3, 3), 1.5, BARK], [new THREE.IcosahedronGeometry(2.2, 0), 4.2, LEAF]];
    case K.Birch:
      return [[cyl(0.2, 4.5), 2.25, BIRCH_BARK], [
        new THREE.IcosahedronGeometry(1.5, 0),
        5,
        LEAF_LIGHT,
      ]];
    case K.Pine:
      return [[cyl(0.25, 2.5), 1.25, BARK], [new THREE.ConeGeometry(1.8, 6, 7), 5, NEEDLE]];
    case K.Palm:
      return [[cyl(0.2, 5.5), 2.75, BARK], [new THREE.ConeGeometry(2.2, 0.8, 6), 5.7, PALM]];
    case K.Cactus:
      return [[cyl(0.32, 2.6), 1.3, CACTUS], [cyl(0.18, 1), 1.7, CACTUS, [0.55, 0]]];
    case K.Boulder:
      return [[new THREE.DodecahedronGeometry(1.3, 0), 0.6, STONE]];
    case K.Bush:
      return [[new THREE.IcosahedronGeometry(0.75, 0), 0.45, LEAF]];
    case K.Rock:
      return [[new THREE.DodecahedronGeometry(0.45, 0), 0.15, STONE]];
    case K.Flowers:
      return [[new THREE.IcosahedronGeometry(0.22, 0), 0.2, 0xe0a0c8], [
        new THREE.IcosahedronGeometry(0.18, 0),
        0.2,
        0xf0d060,
        [0.35, 0.2],
      ]];
    default: // dead bush
      return [[new THREE.ConeGeometry(0.5, 0.9, 5), 0.45, 0x8a6a40]];
  }
}

/** One kind's shape: the parts merged into a single non-indexed geometry with colours. */
export function kindGeometry(kind: number): THREE.BufferGeometry {
  const pos: number[] = [], nor: number[] = [], col: number[] = [];
  const c = new THREE.Color();
  for (const [g, y, rgb, xz] of parts(kind)) {
    const flat = g.index ? g.toNonIndexed() : g;
    if (flat !== g) g.dispose();
    flat.translate(xz?.[0] ?? 0, y, xz?.[1] ?? 0);
    const p = flat.getAttribute("position"), n = flat.getAttribute("normal");
    c.setHex(rgb, THREE.SRGBColorSpace);
    for (let i = 0; i < p.count; i++) {
      pos.push(p.getX(i), p.getY(i), p.getZ(i));
      nor.push(n.getX(i), n.getY(i), n.getZ(i));
      col.push(c.r, c.g, c.b);
    }
    flat.dispose();
  }
  const out = new THREE.BufferGeometry();
  out.setAttribute("position", new THREE.Float32BufferAttribute(pos, 3));
  out.setAttribute("normal", new THREE.Float32BufferAttribute(nor, 3));
  out.setAttribute("color", new THREE.Float32BufferAttribute(col, 3));
  out.computeBoundingSphere();
  return out;
}

/** The shared shapes and material of every kind; {@linkcode dispose} when the world closes. */
export class ObjectShapes {
  readonly material = new THREE.MeshLambertMaterial({ vertexColors: true, flatShading: true });
  readonly #geometries = new Map<number, THREE.BufferGeometry>();

  /** Builds every kind's shape now (at start-up), so showing a chunk never has to. */
  prepare(kinds: number): void {
    for (let k = 0; k < kinds; k++) this.geometry(k);
  }

  /** The shape of `kind`, built on first use. */
  geometry(kind: number): THREE.BufferGeometry {
    let g = this.#geometries.get(kind);
    if (!g) this.#geometries.set(kind, g = kindGeometry(kind));
    return g;
  }

  /** Frees every shape and the material. */
  dispose(): void {
    for (const g of this.#geometries.values()) g.dispose();
    this.#geometries.clear();
    this.material.dispose();
  }
}
