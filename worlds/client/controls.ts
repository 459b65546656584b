// This module is browser compatible.
/**
 * Walking and flying. Keyboard and mouse: WASD (or arrows) move, the mouse looks (pointer lock
 * after a click; dragging also works where the lock is refused), Space and Shift go up and down
 * when flying, Space jumps when walking, F switches between the two. Phones: a virtual stick on
 * the left half of the screen moves, dragging on the right half looks.
 *
 * The player's position is in world metres as doubles; motion is integrated per frame with the
 * frame's duration (capped, so a stalled tab does not teleport the player).
 * @module
 */

/** Movement tuning (metres, seconds). */
export const MOVE = {
  walkSpeed: 6,
  flySpeed: 40,
  gravity: 22,
  jump: 8,
  eyeHeight: 1.7,
  /** Longest step integrated at once. */
  maxStep: 0.25,
  lookPerPixel: 0.0025,
  stickRadius: 56,
};

/** Where the player is and how they move. */
export interface PlayerState {
  x: number;
  y: number;
  z: number;
  /** Radians; 0 looks north (−z), positive turns left. */
  yaw: number;
  pitch: number;
  mode: "walk" | "fly";
  /** Metres per second, measured over the last frame. */
  vx: number;
  vy: number;
  vz: number;
}

/** Input from keys, mouse and touch, integrated into {@linkcode PlayerState} each frame. */
export class Controls {
  readonly state: PlayerState;
  readonly #keys = new Set<string>();
  readonly #stick = { x: 0, y: 0, id: -1, ox: 0, oy: 0 };
  readonly #look = { id: -1, x: 0, y: 0 };
  readonly #ac = new AbortController();
  readonly #knob: HTMLElement;
  #drag: { x: number; y: number } | undefined;
  #fall = 0;

  constructor(readonly element: HTMLElement, start: PlayerState) {
    this.state = start;
    const on = <K extends keyof HTMLElementEventMap>(
      t: EventTarget,
      type: K,
      fn: (e: HTMLElementEventMap[K]) => void,
      passive = true,
    ) => t.addEventListener(type, fn as EventListener, { signal: this.#ac.signal, passive });
    on(globalThis as unknown as EventTarget, "keydown", (e) => this.#key(e, true), false);
    on(globalThis as unknown as EventTarget, "keyup", (e) => this.#key(e, false), false);
    on(globalThis as unknown as EventTarget, "blur", () => this.#keys.clear());
    on(element, "click", () => {
      if (document.pointerLockElement !== element && !("ontouchstart" in globalThis)) {
        // Refused in some contexts (headless, iframes); dragging still looks around.
        Promise.resolve(element.requestPointerLock?.()).catch(() => {});
      }
    });
    on(element, "mousedown", (e) => (this.#drag = { x: e.clientX, y: e.clientY }));
    on(globalThis as unknown as EventTarget, "mouseup", () => (this.#drag = undefined));
    on(globalThis as unknown as EventTarget, "mousemove", (e) => {
      if (document.pointerLockElement === element) this.#turn(e.movementX, e.movementY);
      else if (this.#drag) {
        this.#turn(e.clientX - this.#drag.x, e.clientY - this.#drag.y);
        this.#drag = { x: e.clientX, y: e.clientY };
      }
    });
    on(element, "touchstart", (e) => this.#touch(e, "start"), false);
    on(element, "touchmove", (e) => this.#touch(e, "move"), false);
    on(element, "touchend", (e) => this.#touch(e, "end"), false);
    on(element, "touchcancel", (e) => this.#touch(e, "end"), false);
    this.#knob = document.createElement("div");
    Object.assign(this.#knob.style, {
      position: "fixed",
      width: "44px",
      height: "44px",
      margin: "-22px 0 0 -22px",
      borderRadius: "50%",
      background: "rgba(255,255,255,0.35)",
      border: "2px solid rgba(255,255,255,0.7)",
      display: "none",
      pointerEvents: "none",
    });
    document.body.append(this.#knob);
  }

  /**
   * Advances the player by `dt` seconds. `groundAt` gives the ground height in metres (undefined
   * where the chunk is not loaded yet: the player then keeps their height instead of falling).
   */
  update(dt: number, groundAt: (x: number, z: number) => number | undefined): void {
    const s = this.state, step = Math.min(MOVE.maxStep, Math.max(0, dt));
    if (step === 0) return;
    const k = this.#keys;
    let fwd = (k.has("KeyW") || k.has("ArrowUp") ? 1 : 0) -
      (k.has("KeyS") || k.has("ArrowDown") ? 1 : 0);
    let side = (k.has("KeyD") || k.has("ArrowRight") ? 1 : 0) -
      (k.has("KeyA") || k.has("ArrowLeft") ? 1 : 0);
    if (this.#stick.id !== -1) {
      fwd -= this.#stick.y / MOVE.stickRadius;
      side += this.#stick.x / MOVE.stickRadius;
    }
    const len = Math.hypot(fwd, side);
    if (len > 1) (fwd /= len), (side /= len);
    const speed = s.mode === "fly" ? MOVE.flySpeed : MOVE.walkSpeed;
    // Forward is −z rotated by yaw; right is +x rotated by yaw.
    const sin = Math.sin(s.yaw), cos = Math.cos(s.yaw);
    const vx = (-sin * fwd + cos * side) * speed, vz = (-cos * fwd - sin * side) * speed;
    const x0 = s.x, y0 = s.y, z0 = s.z;
    s.x += vx * step;
    s.z += vz * step;
    const ground = groundAt(s.x, s.z);
    if (s.mode === "fly") {
      const up = (k.has("Space") ? 1 : 0) - (k.has("ShiftLeft") || k.has("ShiftRight") ? 1 : 0);
      s.y += up * speed * 0.6 * step;
      if (ground !== undefined) s.y = Math.max(s.y, ground + MOVE.eyeHeight);
      this.#fall = 0;
    } else if (ground !== undefined) {
      const feet = ground + MOVE.eyeHeight;
      const standing = s.y <= feet + 0.05;
      if (standing && k.has("Space")) this.#fall = MOVE.jump;
      this.#fall -= MOVE.gravity * step;
      s.y += this.#fall * step;
      if (s.y <= feet) (s.y = feet), (this.#fall = 0);
    }
    s.vx = (s.x - x0) / step;
    s.vy = (s.y - y0) / step;
    s.vz = (s.z - z0) / step;
  }

  /** Removes every listener and the stick. */
  dispose(): void {
    this.#ac.abort();
    this.#knob.remove();
    if (document.pointerLockElement === this.element) document.exitPointerLock();
  }

  #key(e: KeyboardEvent, down: boolean): void {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    if (down && e.code === "KeyF" && !e.repeat) {
      this.state.mode = this.state.mode === "fly" ? "walk" : "fly";
    }
    if (["Space", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(e.code)) {
      e.preventDefault(); // no page scrolling
    }
    if (down) this.#keys.add(e.code);
    else this.#keys.delete(e.code);
  }

  #turn(dx: number, dy: number): void {
    const s = this.state;
    s.yaw -= dx * MOVE.lookPerPixel;
    s.pitch = Math.max(-1.55, Math.min(1.55, s.pitch - dy * MOVE.lookPerPixel));
  }

  #touch(e: TouchEvent, phase: "start" | "move" | "end"): void {
    e.preventDefault(); // no scrolling or zooming while playing
    const half = this.element.clientWidth / 2;
    for (const t of Array.from(e.changedTouches)) {
      if (phase === "start") {
        if (t.clientX < half && this.#stick.id === -1) {
          Object.assign(this.#stick, {
            id: t.identifier,
            ox: t.clientX,
            oy: t.clientY,
            x: 0,
            y: 0,
          });
          this.#showKnob(t.clientX, t.clientY);
        } else if (this.#look.id === -1) {
          Object.assign(this.#look, { id: t.identifier, x: t.clientX, y: t.clientY });
        }
      } else if (phase === "move") {
        if (t.identifier === this.#stick.id) {
          let x = t.clientX - this.#stick.ox, y = t.clientY - this.#stick.oy;
          const d = Math.hypot(x, y);
          if (d > MOVE.stickRadius) (x *= MOVE.stickRadius / d), (y *= MOVE.stickRadius / d);
          this.#stick.x = x;
          this.#stick.y = y;
          this.#showKnob(this.#stick.ox + x, this.#stick.oy + y);
        } else if (t.identifier === this.#look.id) {
          this.#turn((t.clientX - this.#look.x) * 1.5, (t.clientY - this.#look.y) * 1.5);
          this.#look.x = t.clientX;
          this.#look.y = t.clientY;
        }
      } else if (t.identifier === this.#stick.id) {
        Object.assign(this.#stick, { id: -1, x: 0, y: 0 });
        this.#knob.style.display = "none";
      } else if (t.identifier === this.#look.id) this.#look.id = -1;
    }
  }

  #showKnob(x: number, y: number): void {
    Object.assign(this.#knob.style, { display: "block", left: `${x}px`, top: `${y}px` });
  }
}
