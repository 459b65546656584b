/**
 * The world client's time to the first rendered frame, through a real node's public gateway.
 *
 * A `mote start` process, a world from `mote world create --seed 16`, and Debian's Chromium
 * (headless, WebGL on SwiftShader: software rendering on the CPU, so frame rates are a floor,
 * not what a GPU gives). One warm-up load builds the node's client bundle; then each run opens the
 * world page in a fresh browser context (empty HTTP cache) and reads `__moteWorld`:
 *
 * - **first terrain frame**: `performance.now()` (ms since navigation start) at the first frame
 *   that drew at least one chunk;
 * - **ring full**: when every chunk of the load radius (default 6: π·6² ≈ 113) was on screen;
 * - **frames per second** while flying straight for `--fly` seconds, and chunks crossed.
 *
 * `deno run -A bench/world_client.ts [--runs 5] [--radius 6] [--fly 4]`
 */
import { parseArgs } from "node:util";
import { launchBrowser } from "../tests/_browser.ts";
import { startWorldNode } from "../tests/_world_page.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    radius: { type: "string", default: "6" },
    fly: { type: "string", default: "4" },
  },
});
const runs = Number(values.runs), radius = Number(values.radius), fly = Number(values.fly);

interface Hook {
  firstTerrainMs?: number;
  frames: number;
  loaded(): number;
  entered(): unknown[];
  timings(): Record<string, number>;
  stats(): {
    maxFrameMs: number;
    recentFrameMs: number[];
    meshMs: number;
    meshed: number;
    busyFrames: number;
  };
}
declare const __moteWorld: Hook;

// Chunk centres within the radius of the start (16, 16), as the streamer counts them.
let ring = 0;
for (let z = -radius - 1; z <= radius; z++) {
  for (let x = -radius - 1; x <= radius; x++) {
    if (Math.hypot(x + 0.5 - 0.5, z + 0.5 - 0.5) <= radius) ring++;
  }
}

await using world = await startWorldNode(16);
const browser = await launchBrowser();
const url = `${world.url}?r=${radius}`;
const rows: {
  first: number;
  full: number;
  fps: number;
  crossed: number;
  maxFrameMs: number;
  p95FrameMs: number;
  meshMs: number;
}[] = [];
try {
  for (let i = -1; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => __moteWorld.firstTerrainMs !== undefined, undefined, {
      timeout: 60_000,
    });
    const first = await page.evaluate(() => __moteWorld.firstTerrainMs!);
    await page.waitForFunction((n) => __moteWorld.loaded() >= n, ring, { timeout: 60_000 });
    const full = await page.evaluate(() => performance.now());
    const f0 = await page.evaluate(() => __moteWorld.frames);
    await page.keyboard.down("KeyW");
    await page.waitForTimeout(fly * 1000);
    await page.keyboard.up("KeyW");
    const f1 = await page.evaluate(() => __moteWorld.frames);
    const crossed = (await page.evaluate(() => __moteWorld.entered().length)) - 1;
    const timings = await page.evaluate(() => __moteWorld.timings());
    const stats = await page.evaluate(() => __moteWorld.stats());
    await context.close();
    if (i < 0) {
      console.log(`warm-up (builds the bundle): first terrain frame ${first.toFixed(0)} ms`);
      continue;
    }
    const meshMs = stats.meshMs / Math.max(1, stats.meshed);
    const recent = stats.recentFrameMs;
    const p95FrameMs = recent[Math.min(recent.length - 1, Math.floor(recent.length * 0.95))] ?? 0;
    const p50FrameMs = recent[recent.length >> 1] ?? 0;
    rows.push({
      first,
      full,
      fps: (f1 - f0) / fly,
      crossed,
      maxFrameMs: stats.maxFrameMs,
      p95FrameMs,
      meshMs,
    });
    const steps = Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v)}`).join(", ");
    const fps = ((f1 - f0) / fly).toFixed(1);
    console.log(
      `run ${i + 1}: first terrain frame ${first.toFixed(0)} ms, ring of ${ring} full at ` +
        `${full.toFixed(0)} ms, ${fps} fps flying, ${crossed} chunks crossed; chunk work per ` +
        `frame p50 ${p50FrameMs.toFixed(2)} / p95 ${p95FrameMs.toFixed(2)} / max ` +
        `${stats.maxFrameMs.toFixed(1)} ms over ${stats.busyFrames} busy frames; meshing ${
          meshMs.toFixed(2)
        } ms a ` +
        `chunk in workers\n  milestones (ms): ${steps}`,
    );
  }
} finally {
  await browser.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const range = (xs: number[], d = 0) =>
  `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)} (median ${med(xs).toFixed(d)})`;
console.log(
  `\nfirst terrain frame ms: ${range(rows.map((r) => r.first))}\n` +
    `ring full ms: ${range(rows.map((r) => r.full))}\n` +
    `fps flying (SwiftShader): ${range(rows.map((r) => r.fps), 1)}\n` +
    `main-thread chunk work per busy frame, p95 ms: ${range(rows.map((r) => r.p95FrameMs), 2)}, ` +
    `longest: ${range(rows.map((r) => r.maxFrameMs), 1)}\n` +
    `meshing per chunk in a worker ms: ${range(rows.map((r) => r.meshMs), 2)}`,
);
