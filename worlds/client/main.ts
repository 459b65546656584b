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
 * Presence: over the socket the page says where the player is (at most 5 times a second) and the
 * gateway lists the players near (`presence.ts`, drawn by `avatars.ts`, listed by the HUD); an
 * edit notice names a region's new digest and the chunks it changed, which are fetched again. With
 * no socket (HTTP only) there is no presence, and the HUD says so.
 *
 * Tests and benchmarks read `globalThis.__moteWorld`, a frozen read-only view of real counters
 * (position, chunks loaded, requested and released, frames, time to the first terrain frame).
 * @module
 */
import { CHUNK_SIZE, HEIGHT_UNITS_PER_METRE, SEA_LEVEL, wrapMetres } from "../chunk.ts";
import { Avatars } from "./avatars.ts";
import { Presence } from "./presence.ts";
import { Controls, type PlayerState } from "./controls.ts";
import { editToken, type Tool, WorldEditor } from "./edit.ts";
import { Hud } from "./hud.ts";
import { chunkOf } from "./keys.ts";
import { type ChunkMesh, meshBytes } from "./mesh.ts";
import { WorldView } from "./render.ts";
import { ChunkStreamer } from "./streamer.ts";
import { httpChunks, type Notice, SocketChunks } from "./transport.ts";
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
  // A region's digest once a notice named it: HTTP fetches use it, so no cached old bytes return.
  const regionE = new Map<string, string>();
  const side = meta.region;
  const regionId = (rx: number, rz: number) => `${rx},${rz}`;
  const transport = new SocketChunks(
    ws,
    httpChunks(
      base,
      meta.generator,
      (k) => regionE.get(regionId(Math.floor(k.x / side), Math.floor(k.z / side))) ?? meta.e,
    ),
  );
  const presence = new Presence();
  let me: string | undefined, live = false, editNotices = 0;
  const onEdits = (n: Notice) => {
    const r = n.r, c = n.c;
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isInteger)) return;
    if (typeof n.e !== "string" || !/^[0-9a-f]{64}$/.test(n.e)) return;
    const [rx, rz] = r as [number, number];
    regionE.set(regionId(rx, rz), n.e);
    editNotices++;
    if (Array.isArray(c) && c.length <= 256) {
      for (const k of c) {
        if (Array.isArray(k) && k.length === 2 && k.every(Number.isInteger)) {
          streamer.refresh(k[0], k[1]);
        }
      }
      return;
    }
    // No list: every chunk held in the region is fetched again.
    for (const [k] of [...streamer.chunks()]) {
      if (Math.floor(k.x / side) === rx && Math.floor(k.z / side) === rz) {
        streamer.refresh(k.x, k.z);
      }
    }
  };
  transport.onNotice = (n) => {
    if (n.t === "hello" && typeof n.id === "string") (me = n.id), (live = n.live === true);
    else if (n.t === "players") presence.update(n.p, performance.now());
    else if (n.t === "edits") onEdits(n);
    else if (n.t === "gone") presence.clear();
  };
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
  const avatars = new Avatars(view.scene);
  const presenceState = () => {
    if (transport.presence) return live ? "live" : "this gateway only";
    const state = transport.stats.state;
    if (state === "connecting") return "connecting…";
    if (state === "open") return "none on this gateway";
    return "none: no socket";
  };

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
    transport.sendPosition(player.x, player.y, player.z, player.yaw, now);
    const others = presence.sample(now);
    avatars.sync(others, view.origin);
    view.render(player, player.yaw, player.pitch);
    frames++;
    if (firstTerrainMs === undefined && view.size > 0) firstTerrainMs = performance.now();
    const s = streamer.stats;
    hud.setPresence(presenceState());
    if (frames % 15 === 0) {
      const px = wrapMetres(player.x), pz = wrapMetres(player.z);
      const near = others.map((o) => ({
        o,
        d: Math.hypot(wrapMetres(o.x - px), wrapMetres(o.z - pz)),
      })).sort((a, b) => a.d - b.d);
      hud.setNear(
        // A node's own player (checked by the gateway) by its node id; others by session id.
        near.slice(0, 8).map(({ o, d }) =>
          `${o.node ? `node ${o.node.slice(0, 8)}` : `player ${o.id.slice(0, 6)}`} · ${
            d.toFixed(0)
          } m`
        ),
      );
    }
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
      /** Presence: where the list comes from, this page's player id, the players and avatars. */
      presence: () => ({
        state: presenceState(),
        id: me,
        players: presence.sample(performance.now()).map((p) => ({ ...p })),
        avatars: avatars.size,
        near: [...hud.near],
      }),
      /** Edit notices received, and a region's digest once a notice named it. */
      editNotices: () => editNotices,
      regionDigest: (rx: number, rz: number) => regionE.get(regionId(rx, rz)),
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
    avatars.dispose();
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
