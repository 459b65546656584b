// This module is browser compatible.
/**
 * Sky, fog and light. The sky is a dome with a vertical gradient that follows the camera; fog has
 * the horizon's colour and ends just inside the load radius, so chunks appear and leave inside the
 * fog instead of popping at the edge of the world, and the far plane sits just beyond it.
 * @module
 */
import * as THREE from "three";
import { CHUNK_SIZE } from "../chunk.ts";

/** The horizon colour (also the fog and the clear colour). */
export const HORIZON = 0xbcd6ea;
const ZENITH = 0x4a86c8;

/** Fog distances for a load radius of `radius` chunks: it is fully opaque at 95 % of the ring. */
export function fogRange(radius: number): { near: number; far: number } {
  const far = radius * CHUNK_SIZE * 0.95;
  return { near: far * 0.35, far };
}

/** Sky dome, fog and lights added to `scene`; {@linkcode dispose} frees them. */
export class Sky {
  readonly dome: THREE.Mesh<THREE.SphereGeometry, THREE.ShaderMaterial>;
  readonly sun = new THREE.DirectionalLight(0xfff4e0, 2.2);
  readonly ambient = new THREE.HemisphereLight(0xcfe4ff, 0x5a5040, 1.1);

  constructor(readonly scene: THREE.Scene, radius: number) {
    const { near, far } = fogRange(radius);
    scene.fog = new THREE.Fog(HORIZON, near, far);
    scene.background = new THREE.Color(HORIZON);
    const material = new THREE.ShaderMaterial({
      uniforms: {
        top: { value: new THREE.Color(ZENITH) },
        bottom: { value: new THREE.Color(HORIZON) },
      },
      vertexShader: `varying float h;
void main() {
  h = normalize(position).y;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}`,
      fragmentShader: `uniform vec3 top; uniform vec3 bottom; varying float h;
void main() { gl_FragColor = vec4(mix(bottom, top, pow(clamp(h, 0.0, 1.0), 0.6)), 1.0); }`,
      side: THREE.BackSide,
      depthWrite: false,
      fog: false,
    });
    // Inside the far plane whatever the radius; drawn first, behind everything.
    this.dome = new THREE.Mesh(new THREE.SphereGeometry(far * 0.9, 16, 8), material);
    this.dome.renderOrder = -1;
    this.dome.frustumCulled = false;
    this.sun.position.set(0.5, 1, 0.3).normalize();
    scene.add(this.dome, this.sun, this.sun.target, this.ambient);
  }

  /** Keeps the dome centred on the camera. */
  follow(camera: THREE.Camera): void {
    this.dome.position.copy(camera.position);
  }

  /** Removes and frees the dome and the lights. */
  dispose(): void {
    this.scene.remove(this.dome, this.sun, this.sun.target, this.ambient);
    this.dome.geometry.dispose();
    this.dome.material.dispose();
    this.sun.dispose();
    this.ambient.dispose();
    this.scene.fog = null;
  }
}
