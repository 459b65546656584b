// This module is browser compatible.
/**
 * The heads-up display: where you are (metres, chunk, region), the biome underfoot, the mode,
 * streaming counters, and who is near: the players the gateway lists in this region and the ones
 * around it ({@linkcode Hud.setNear}), under a line saying where that list comes from
 * ({@linkcode Hud.setPresence}): every gateway (live), this gateway only, or nowhere (no socket:
 * then nobody is listed, rather than anyone made up).
 * Text is set with textContent (never HTML), and the DOM is touched a few times a second, not
 * every frame, so the HUD costs no layout work in most frames.
 * @module
 */
import { BIOME_NAMES } from "../biomes.ts";
import { CHUNK_SIZE } from "../chunk.ts";
import { chunkOf } from "./keys.ts";

/** What the HUD shows each refresh. */
export interface HudInfo {
  x: number;
  y: number;
  z: number;
  mode: "walk" | "fly";
  biome: number | undefined;
  loaded: number;
  jobs: number;
  fps: number;
}

/** Region indices of a chunk for a region side of `side` chunks (floor division). */
export function regionOf(chunk: number, side: number): number {
  return Math.floor(chunk / side);
}

function box(style: Partial<CSSStyleDeclaration>): HTMLDivElement {
  const d = document.createElement("div");
  Object.assign(d.style, {
    position: "fixed",
    padding: "6px 10px",
    background: "rgba(10,20,30,0.55)",
    color: "#eef4f8",
    font: "12px/1.45 ui-monospace, Menlo, Consolas, monospace",
    borderRadius: "6px",
    pointerEvents: "none",
    whiteSpace: "pre",
    ...style,
  });
  return d;
}

/** The HUD's DOM; {@linkcode update} refreshes at most `hz` times a second. */
export class Hud {
  readonly #where = box({ left: "8px", top: "8px" });
  readonly #near = box({ right: "8px", top: "8px", minWidth: "9em" });
  readonly #help = box({ left: "8px", bottom: "8px" });
  #last = -Infinity;
  #names: readonly string[] = [];
  #presence = "connecting…";

  constructor(
    parent: HTMLElement,
    readonly title: string,
    readonly regionSide: number,
    readonly hz = 4,
  ) {
    const touch = "ontouchstart" in globalThis;
    this.#help.textContent = touch
      ? "left: move · right: look"
      : "click to look · WASD move · Space/Shift up/down · F fly/walk";
    parent.append(this.#where, this.#near, this.#help);
    this.#render();
  }

  /** Sets who is near (one line per player), shown only when they changed. */
  setNear(names: readonly string[]): void {
    if (names.length === this.#names.length && names.every((n, i) => n === this.#names[i])) return;
    this.#names = names;
    this.#render();
  }

  /** Says where the list comes from (for example "live" or "no presence: no socket"). */
  setPresence(state: string): void {
    if (state === this.#presence) return;
    this.#presence = state;
    this.#render();
  }

  /** Where the list comes from, as shown. */
  get presence(): string {
    return this.#presence;
  }

  #render(): void {
    const names = this.#names;
    this.#near.textContent = `who is near · ${this.#presence}\n` +
      (names.length ? names.join("\n") : "nobody near");
  }

  /** Who is listed as near. */
  get near(): readonly string[] {
    return this.#names;
  }

  /** Refreshes the text if 1/hz seconds passed since the last refresh (`now` in ms). */
  update(now: number, i: HudInfo): void {
    if (now - this.#last < 1000 / this.hz) return;
    this.#last = now;
    const cx = chunkOf(i.x), cz = chunkOf(i.z);
    const biome = i.biome === undefined ? "…" : BIOME_NAMES[i.biome] ?? "?";
    this.#where.textContent = [
      this.title,
      `x ${i.x.toFixed(1)}  y ${i.y.toFixed(1)}  z ${i.z.toFixed(1)}`,
      `chunk ${cx | 0}, ${cz | 0}  (${CHUNK_SIZE} m)`,
      `region ${regionOf(cx, this.regionSide)}, ${
        regionOf(cz, this.regionSide)
      }  (${this.regionSide} chunks)`,
      `${biome} · ${i.mode}`,
      `${i.loaded} chunks · ${i.jobs} loading · ${i.fps.toFixed(0)} fps`,
    ].join("\n");
  }

  /** Removes the HUD. */
  dispose(): void {
    this.#where.remove();
    this.#near.remove();
    this.#help.remove();
  }
}
