// This module is browser compatible.
/**
 * Editing in the world page, only where it is safe: the page served by the player's **own node**
 * on its UI origin (`http://127.0.0.1:<api port>/w/<address>/`), where `GET /api/v1/session` gives
 * the API token to same-origin script. That page is marked `data-edit="1"` (a hint: only the
 * token grants anything); a gateway's page is not, never asks, and explores without editing. The
 * token never reaches a gateway's origin.
 *
 * Tools (keys 1–5 or the toolbar): look, raise, lower, place a boulder, remove the object under
 * the crosshair. `E` (or a click with a tool, when the pointer is not locked) applies the tool at
 * the point under the crosshair: a ray from the camera marched against the shown terrain. The
 * edit goes to `POST /api/v1/worlds/<address>/edits` (the node signs and publishes it); then the
 * page polls `./r/<rx>/<rz>` until the region's digest changes and refreshes the affected chunks.
 * @module
 */
import { CHUNK_SIZE, OBJECT_STEPS_PER_COLUMN } from "../chunk.ts";
import { decodeChunk } from "../codec.ts";

/** The editing tools. */
export const TOOLS = ["look", "raise", "lower", "place", "remove"] as const;
/** One tool. */
export type Tool = typeof TOOLS[number];

/** What the editor needs from the page. */
export interface EditHost {
  address: string;
  generator: string;
  /** Region side in chunks. */
  side: number;
  /** Ground height (m) at world (x, z), or undefined where no chunk is shown. */
  groundAt(x: number, z: number): number | undefined;
  /** The camera: position (m) and view direction (unit vector). */
  eye(): { x: number; y: number; z: number; dx: number; dy: number; dz: number };
  /** Forget chunk (x, z) so it is fetched again. */
  refresh(x: number, z: number): void;
}

/** The API token when this page is served by the player's own node, else undefined. */
export async function editToken(): Promise<string | undefined> {
  try {
    const r = await fetch("/api/v1/session", { signal: AbortSignal.timeout(5_000) });
    if (!r.ok) return undefined;
    const t = (await r.json() as { token?: unknown }).token;
    return typeof t === "string" && t.length > 0 ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The first terrain point along the view ray (within `reach` m), or undefined. */
export function pick(
  host: Pick<EditHost, "groundAt" | "eye">,
  reach = 160,
): { x: number; z: number } | undefined {
  const e = host.eye();
  for (let t = 0.5; t <= reach; t += 0.25) {
    const x = e.x + e.dx * t, y = e.y + e.dy * t, z = e.z + e.dz * t;
    const g = host.groundAt(x, z);
    if (g !== undefined && y <= g) return { x, z };
  }
  return undefined;
}

/** The page's editor: tool state, the toolbar, and applying edits. */
export class WorldEditor {
  readonly #host: EditHost;
  readonly #token: string;
  readonly #bar: HTMLDivElement;
  readonly #status: HTMLSpanElement;
  #tool: Tool = "look";
  #busy = false;
  /** Edits applied, for tests. */
  applied = 0;
  readonly #keys = (ev: KeyboardEvent) => {
    const i = Number(ev.key) - 1;
    if (i >= 0 && i < TOOLS.length) this.select(TOOLS[i]!);
    else if (ev.key === "e" || ev.key === "E") void this.apply();
  };

  constructor(host: EditHost, token: string, parent: HTMLElement) {
    this.#host = host;
    this.#token = token;
    const bar = document.createElement("div");
    bar.dataset.testid = "edit-tools";
    Object.assign(bar.style, {
      position: "fixed",
      bottom: "12px",
      left: "50%",
      transform: "translateX(-50%)",
      display: "flex",
      gap: "6px",
      font: "13px system-ui, sans-serif",
      background: "rgba(0,0,0,0.45)",
      color: "#fff",
      padding: "6px 8px",
      borderRadius: "6px",
    });
    TOOLS.forEach((t, i) => {
      const b = document.createElement("button");
      b.textContent = `${i + 1} ${t}`;
      b.dataset.tool = t;
      b.addEventListener("click", (ev) => {
        ev.stopPropagation();
        this.select(t);
      });
      bar.append(b);
    });
    this.#status = document.createElement("span");
    this.#status.textContent = "editing: E applies at the crosshair";
    bar.append(this.#status);
    const cross = document.createElement("div");
    Object.assign(cross.style, {
      position: "fixed",
      left: "50%",
      top: "50%",
      width: "8px",
      height: "8px",
      margin: "-4px 0 0 -4px",
      border: "1px solid #fff",
      borderRadius: "50%",
      pointerEvents: "none",
    });
    parent.append(bar, cross);
    this.#bar = bar;
    addEventListener("keydown", this.#keys);
    this.select("look");
  }

  get tool(): Tool {
    return this.#tool;
  }

  select(t: Tool): void {
    this.#tool = t;
    for (const b of this.#bar.querySelectorAll("button")) {
      b.style.fontWeight = b.dataset.tool === t ? "bold" : "normal";
    }
  }

  /** Applies the current tool under the crosshair (or at world point `at`). */
  async apply(at?: { x: number; z: number }): Promise<boolean> {
    if (this.#tool === "look" || this.#busy) return false;
    const p = at ?? pick(this.#host);
    if (!p) return this.#say("nothing under the crosshair"), false;
    this.#busy = true;
    try {
      return await this.#edit(p);
    } catch (e) {
      this.#say(e instanceof Error ? e.message : String(e));
      return false;
    } finally {
      this.#busy = false;
    }
  }

  async #edit(p: { x: number; z: number }): Promise<boolean> {
    const { side, address } = this.#host;
    const col = Math.floor(p.x), row = Math.floor(p.z);
    const cx = Math.floor(col / CHUNK_SIZE), cz = Math.floor(row / CHUNK_SIZE);
    const rx = Math.floor(cx / side), rz = Math.floor(cz / side);
    const lx = col - rx * side * CHUNK_SIZE, lz = row - rz * side * CHUNK_SIZE;
    const steps = OBJECT_STEPS_PER_COLUMN;
    let edits: Record<string, unknown>[];
    switch (this.#tool) {
      case "raise":
      case "lower":
        edits = [{ op: "raise", x: lx, z: lz, d: this.#tool === "raise" ? 32 : -32 }];
        break;
      case "place":
        edits = [{
          op: "place",
          x: lx * steps + steps / 2,
          z: lz * steps + steps / 2,
          kind: 5,
          rotation: 0,
          scale: 64,
        }];
        break;
      default: {
        const o = await this.#objectNear(p, cx, cz);
        if (!o) return this.#say("no object there"), false;
        const ox = (cx - rx * side) * CHUNK_SIZE * steps + o.x;
        const oz = (cz - rz * side) * CHUNK_SIZE * steps + o.z;
        edits = [{
          op: "remove",
          x: ox,
          z: oz,
          kind: o.kind,
          rotation: o.rotation,
          scale: o.scale,
        }];
      }
    }
    const before = await this.#digest(rx, rz);
    this.#say(`signing ${this.#tool} at ${col}, ${row}…`);
    const res = await fetch(`/api/v1/worlds/${address}/edits`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mote-token": this.#token },
      body: JSON.stringify({ region: [rx, rz], edits }),
    });
    if (!res.ok) {
      const msg = ((await res.json().catch(() => ({}))) as { error?: string }).error;
      throw new Error(`Edit refused (${res.status}): ${msg ?? res.statusText}`);
    }
    // Wait (bounded) for this node's gateway routes to see the new batch, then refetch.
    const until = performance.now() + 15_000;
    while (performance.now() < until && (await this.#digest(rx, rz)) === before) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const lcx = col - cx * CHUNK_SIZE, lcz = row - cz * CHUNK_SIZE;
    for (let dz = -1; dz <= 1; dz++) {
      for (let dx = -1; dx <= 1; dx++) {
        // Neighbours too when the column is on a border (their edge vertices use it).
        const near = (dx === 0 || (dx < 0 ? lcx === 0 : lcx === CHUNK_SIZE - 1)) &&
          (dz === 0 || (dz < 0 ? lcz === 0 : lcz === CHUNK_SIZE - 1));
        if (near) this.#host.refresh(cx + dx, cz + dz);
      }
    }
    this.applied++;
    this.#say(`${this.#tool} at ${col}, ${row}: published`);
    return true;
  }

  async #digest(rx: number, rz: number): Promise<string> {
    const r = await fetch(`./r/${rx}/${rz}`, { cache: "no-store" });
    return ((await r.json()) as { e: string }).e;
  }

  /** The object of chunk (cx, cz) nearest to `p` within 1.5 m. */
  async #objectNear(p: { x: number; z: number }, cx: number, cz: number) {
    const r = await fetch(`./c/${this.#host.generator}/${cx}/${cz}`, { cache: "no-store" });
    const chunk = decodeChunk(new Uint8Array(await r.arrayBuffer()));
    const steps = OBJECT_STEPS_PER_COLUMN;
    let best: (typeof chunk.objects)[number] | undefined, bestD = 1.5;
    for (const o of chunk.objects) {
      const ox = cx * CHUNK_SIZE + o.x / steps + 0.5 / steps;
      const oz = cz * CHUNK_SIZE + o.z / steps + 0.5 / steps;
      const d = Math.hypot(ox - p.x, oz - p.z);
      if (d < bestD) (best = o), (bestD = d);
    }
    return best;
  }

  #say(text: string): void {
    this.#status.textContent = text;
  }

  dispose(): void {
    removeEventListener("keydown", this.#keys);
    this.#bar.remove();
  }
}
