// This module is browser compatible.
/**
 * The world client's entry, served by the gateway as `/w/<address>/client.js` on the page
 * `/w/<address>/`. It reads the world from `./meta`, streams chunks over `./ws` (HTTP
 * `./c/<generator>/<x>/<z>` as the fallback), meshes them in workers started from this same
 * bundle, and runs the render loop: input → streamer update → this frame's chunk work (within
 * its time budget) → render → HUD.
 *
 * Page parameters: `?r=<radius in chunks>` (2..12, default 6) and `?x=&z=` (start, metres).
 *
 * Served by the player's own node on its UI origin, the page can also edit (`edit.ts`): it asks
 * that origin for the API token, and the node signs and publishes the edits.
 *
 * Tests and benchmarks read `globalThis.__moteWorld`, a frozen read-only view of real counters
 * (position, chunks loaded, requested and released, frames, time to the first terrain frame).
 * @module
 */
import { CHUNK_SIZE, HEIGHT_UNITS_PER_METRE, SEA_LEVEL } from "../chunk.ts";
import { Controls, type PlayerState } from "./controls.ts";
import { editToken, type Tool, WorldEditor } from "./edit.ts";
import { Hud } from "./hud.ts";
import { chunkOf } from "./keys.ts";
import { type ChunkMesh, meshBytes } from "./mesh.ts";
import { WorldView } from "./render.ts";
import { ChunkStreamer } from "./streamer.ts";
import { httpChunks, SocketChunks } from "./transport.ts";
import { inWorker, serveMeshRequests, type WorkerScope } from "./worker.ts";
import { MeshWorkers } from "./workers.ts";

/** The world as `./meta` describes it (the fields the client uses). */
export interface WorldMeta {
  address: string;
  name: string;
  seed: number;
  generator: string;
  /** Region side in chunks. */
  region: number;
  title: string | null;
  /** The edits digest for chunk URLs (`?e=`), when the gateway gives one. */
  e?: string;
}

/** A chunk the player walked into, and whether it was requested and shown before. */
export interface Entered {
  x: number;
  z: number;
  at: number;
  requestedAt: number | undefined;
  shown: boolean;
}

const META_TIMEOUT_MS = 15_000;
const MAX_ENTERED = 256;

if (inWorker()) serveMeshRequests(globalThis as unknown as WorkerScope);
else if (typeof document !== "undefined") {
  start().catch((e) => fail(e instanceof Error ? e.message : String(e)));
}

async function loadMeta(): Promise<WorldMeta> {
  const url = new URL("meta", location.href);
  const res = await fetch(url, { signal: AbortSignal.timeout(META_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`Cannot load this world: ${url.pathname} answered ${res.status}`);
  const m = await res.json() as Partial<WorldMeta>;
  if (
    typeof m.address !== "string" || !Number.isInteger(m.seed) ||
    typeof m.generator !== "string" || !Number.isInteger(m.region) || (m.region ?? 0) < 1
  ) {
    throw new Error("Cannot load this world: ./meta lacks address, seed, generator or region");
  }
  return m as WorldMeta;
}

function param(name: string, lo: number, hi: number, fallback: number): number {
  const v = Number(new URLSearchParams(location.search).get(name) ?? NaN);
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}

async function start(): Promise<void> {
  // Milestones in ms since navigation start, for the benchmark's breakdown of the first frame.
  const timings: Record<string, number> = { script: performance.now() };
  const mark = (name: string) => (timings[name] ??= performance.now());
  const meta = await loadMeta();
  mark("meta");
  const radius = Math.round(param("r", 2, 12, 6));
  const root = document.getElementById("world") ?? document.body;
  document.title = `${meta.title || meta.name} · Mote world`;
  Object.assign(document.body.style, { margin: "0", overflow: "hidden", background: "#bcd6ea" });
  const canvas = document.createElement("canvas");
  Object.assign(canvas.style, {
    display: "block",
    width: "100vw",
    height: "100vh",
    touchAction: "none",
  });
  root.append(canvas);

  const base = new URL(".", location.href);
  const ws = new URL("ws", base);
  ws.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const transport = new SocketChunks(ws, httpChunks(base, meta.generator, meta.e));
  const cores = navigator.hardwareConcurrency || 2;
  const workers = new MeshWorkers(new URL(import.meta.url), Math.max(1, Math.min(3, cores - 1)));
  const streamer = new ChunkStreamer<ChunkMesh>({
    fetchChunk: async (key, opts) => {
      const bytes = await transport.fetchChunk(key, opts);
      mark("firstChunk");
      return bytes;
    },
    decode: async (key, bytes, opts) => {
      const mesh = await workers.mesh(key, bytes, opts);
      mark("firstMesh");
      return mesh;
    },
    sizeOf: meshBytes,
    show: (key, mesh) => {
      view.show(key, mesh);
      mark("firstShow");
    },
    hide: (key) => view.hide(key),
    now: () => performance.now(),
    onError: (key, e) => console.warn(`chunk ${key.x},${key.z}:`, e),
  }, { radius });

  const player: PlayerState = {
    x: param("x", -1e12, 1e12, CHUNK_SIZE / 2),
    y: 100,
    z: param("z", -1e12, 1e12, CHUNK_SIZE / 2),
    yaw: 0,
    pitch: -0.3,
    mode: "fly",
    vx: 0,
    vy: 0,
    vz: 0,
  };
  // Ask for the first chunks now, so fetching and meshing (workers are starting too) overlap the
  // WebGL context's creation, which takes hundreds of milliseconds with software rendering.
  streamer.update({ x: player.x, z: player.z });
  mark("firstRequest");

  const view = new WorldView(canvas, radius);
  const resize = () => view.resize(canvas.clientWidth, canvas.clientHeight);
  resize();
  addEventListener("resize", resize);
  mark("webgl");
  const controls = new Controls(canvas, player);
  const hud = new Hud(document.body, meta.title || meta.name, meta.region);

  // Edit mode only where this origin hands out the API token: the player's own node's UI, whose
  // page says so (a gateway's page is never asked for a token, so it sees no failed request).
  let editor: WorldEditor | undefined;
  const editable = root.dataset.edit === "1";
  (editable ? editToken() : Promise.resolve(undefined)).then((token) => {
    if (!token) return;
    editor = new WorldEditor(
      {
        address: meta.address,
        generator: meta.generator,
        side: meta.region,
        groundAt: (x, z) => view.groundAt(x, z),
        eye: () => {
          const cp = Math.cos(player.pitch);
          return {
            x: player.x,
            y: player.y,
            z: player.z,
            dx: -Math.sin(player.yaw) * cp,
            dy: Math.sin(player.pitch),
            dz: -Math.cos(player.yaw) * cp,
          };
        },
        refresh: (x, z) => streamer.refresh(x, z),
      },
      token,
      document.body,
    );
  });

  let frames = 0, firstTerrainMs: number | undefined, settled = false, last = performance.now();
  let fps = 0, lastChunk = "";
  const entered: Entered[] = [];
  const groundAt = (x: number, z: number) => view.groundAt(x, z);
  const loop = (now: number) => {
    const dt = (now - last) / 1000;
    last = now;
    fps = fps * 0.9 + (dt > 0 ? 1 / dt : 0) * 0.1;
    controls.update(dt, groundAt);
    if (!settled) {
      // Start a little above the ground (or the sea) once the first chunk is there.
      const g = groundAt(player.x, player.z);
      if (g !== undefined) {
        player.y = Math.max(g, SEA_LEVEL / HEIGHT_UNITS_PER_METRE) + 24;
        settled = true;
      }
    }
    streamer.update({ x: player.x, z: player.z }, { x: player.vx, z: player.vz });
    streamer.frame();
    const cx = chunkOf(player.x) | 0, cz = chunkOf(player.z) | 0, id = `${cx},${cz}`;
    if (id !== lastChunk) {
      lastChunk = id;
      entered.push({
        x: cx,
        z: cz,
        at: now,
        requestedAt: streamer.requestedAt(cx, cz),
        shown: streamer.isShown(cx, cz),
      });
      if (entered.length > MAX_ENTERED) entered.shift();
    }
    view.render(player, player.yaw, player.pitch);
    frames++;
    if (firstTerrainMs === undefined && view.size > 0) firstTerrainMs = performance.now();
    const s = streamer.stats;
    hud.update(now, {
      x: player.x,
      y: player.y,
      z: player.z,
      mode: player.mode,
      biome: view.biomeAt(player.x, player.z),
      loaded: view.size,
      jobs: s.jobs,
      fps,
    });
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);

  // A read-only view of real counters for tests and benchmarks.
  Object.defineProperty(globalThis, "__moteWorld", {
    value: Object.freeze({
      meta: Object.freeze({ ...meta }),
      radius,
      get position() {
        return { x: player.x, y: player.y, z: player.z, yaw: player.yaw, mode: player.mode };
      },
      loaded: () => view.size,
      requested: () => streamer.stats.requested,
      released: () => streamer.stats.released,
      get frames() {
        return frames;
      },
      get firstTerrainMs() {
        return firstTerrainMs;
      },
      requestedAt: (x: number, z: number) => streamer.requestedAt(x, z),
      isShown: (x: number, z: number) => streamer.isShown(x, z),
      groundAt: (x: number, z: number) => view.groundAt(x, z),
      entered: () => entered.map((e) => ({ ...e })),
      /** Edit mode: undefined on a page that cannot edit. */
      editing: () => editor ? { tool: editor.tool, applied: editor.applied } : undefined,
      /** Applies `tool` at world point (x, z) (tests); false when it could not. */
      edit: (tool: Tool, x: number, z: number) => {
        if (!editor) return Promise.resolve(false);
        editor.select(tool);
        return editor.apply({ x, z });
      },
      timings: () => ({ ...timings, firstTerrainFrame: firstTerrainMs }),
      stats: () => ({
        ...streamer.stats,
        transport: { ...transport.stats },
        workers: workers.size,
        meshMs: workers.meshMs,
        meshed: workers.meshed,
        geometries: view.renderer.info.memory.geometries,
        sceneGeometries: view.sceneGeometries(),
        near: [...hud.near],
      }),
    }),
    enumerable: false,
    configurable: false,
    writable: false,
  });
  addEventListener("pagehide", () => {
    streamer.close();
    transport.close();
    workers.dispose();
    controls.dispose();
    editor?.dispose();
    hud.dispose();
    view.dispose();
  });
}

function fail(message: string): void {
  const d = document.createElement("div");
  Object.assign(d.style, { font: "16px system-ui, sans-serif", padding: "2em", color: "#a00" });
  d.textContent = message;
  (document.getElementById("world") ?? document.body).append(d);
  console.error(message);
}
