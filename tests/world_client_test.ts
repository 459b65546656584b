/**
 * The world client in Chromium with WebGL (SwiftShader), through a real node's public gateway: a
 * `mote start` process, a world made by `mote world create --seed 16`, and the URL it printed, so
 * the page, client.js (worlds/client/main.ts as the node bundles it), meta, the chunk WebSocket
 * and the chunk URLs are the gateway's own routes. The test flies in a straight line for six
 * seconds and checks that chunks ahead were requested (and shown) before the player reached them,
 * that chunks left behind were released (and freed their GPU geometry), that chunks came over the
 * WebSocket, and that a screenshot shows terrain rather than a blank canvas; then it switches to
 * walking (F) and checks that the player lands on the ground and walks at walking speed; and on a
 * phone-sized touch page that starts beyond the world's wrap (terrain on screen there), the virtual
 * stick moves the player and a drag turns the view.
 */
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { lowerHalfStats, startWorldNode } from "./_world_page.ts";

const SEED = 16; // land around the start and northwards (the flight's direction)
const ARTIFACTS = new URL("./artifacts/world-client/", import.meta.url).pathname;

interface Hook {
  position: { x: number; y: number; z: number; yaw: number; mode: string };
  frames: number;
  firstTerrainMs?: number;
  loaded(): number;
  requested(): number;
  released(): number;
  isShown(x: number, z: number): boolean;
  groundAt(x: number, z: number): number | undefined;
  requestedAt(x: number, z: number): number | undefined;
  entered(): { x: number; z: number; at: number; requestedAt?: number; shown: boolean }[];
  stats(): Record<string, unknown> & {
    transport: { viaSocket: number; viaHttp: number };
    near: string[];
  };
}
declare const __moteWorld: Hook;

Deno.test({
  name:
    "world client: flying straight ahead loads chunks before they are reached, releases those left behind, and draws terrain",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    await using world = await startWorldNode(SEED);
    const tNode = performance.now();
    const url = world.url;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      await page.goto(`${url}?r=3`);
      await page.waitForFunction(() => __moteWorld.firstTerrainMs !== undefined, undefined, {
        timeout: 30_000,
      });
      const first = await page.evaluate(() => __moteWorld.firstTerrainMs!);
      // Let the starting ring fill (π·3² ≈ 28 chunks) before moving.
      await page.waitForFunction(() => __moteWorld.loaded() >= 20, undefined, { timeout: 20_000 });
      const start = await page.evaluate(() => __moteWorld.position);

      // Fly north (the start faces −z) for six seconds by holding W.
      await page.keyboard.down("KeyW");
      await page.waitForTimeout(6_000);
      await page.keyboard.up("KeyW");
      const end = await page.evaluate(() => __moteWorld.position);
      const travelled = start.z - end.z;
      assert(travelled > 5 * 32, `flew ${travelled.toFixed(0)} m north (over 5 chunks)`);

      const entered = await page.evaluate(() => __moteWorld.entered());
      const crossed = entered.slice(1);
      assert(crossed.length >= 5, `crossed ${crossed.length} chunk borders`);
      for (const e of crossed) {
        assert(
          e.requestedAt !== undefined && e.requestedAt < e.at,
          `chunk (${e.x}, ${e.z}) requested ${e.requestedAt} before it was entered at ${e.at}`,
        );
      }
      const shownOnEntry = crossed.filter((e) => e.shown).length;
      assert(
        shownOnEntry >= crossed.length - 1,
        `${shownOnEntry}/${crossed.length} shown on entry`,
      );
      const leadMs = crossed.map((e) => e.at - e.requestedAt!).sort((a, b) => a - b);

      // Far chunks (the start is now > radius + 2 behind) were released and their meshes removed.
      const released = await page.evaluate(() => __moteWorld.released());
      assert(released > 0, "chunks were released");
      const startChunk = { x: Math.floor(start.x / 32), z: Math.floor(start.z / 32) };
      assertEquals(
        await page.evaluate(([x, z]) => __moteWorld.isShown(x!, z!), [startChunk.x, startChunk.z]),
        false,
        "the starting chunk is no longer shown",
      );
      const stats = await page.evaluate(() => __moteWorld.stats());
      assert((stats.maxJobs as number) <= 6, `job limit kept: ${stats.maxJobs}`);
      assert(stats.transport.viaSocket > 0, "chunks came over the WebSocket");
      assertEquals(stats.near, [], "nobody else is in this world, so nobody is listed near");
      // Released chunks (25 or so, each with a terrain geometry) freed their GPU geometry: the GPU
      // holds no more than the scene uses, plus the 10 shared object shapes, which stay uploaded
      // while no chunk in the scene has that kind.
      const gpu = stats.geometries as number, scene = stats.sceneGeometries as number;
      assert(gpu > 0 && gpu <= scene + 10, `${gpu} geometries on the GPU, ${scene} in the scene`);
      assert(released > 10, "enough released chunks that a leak would show");

      // The screenshot shows terrain: many colours and real contrast in the lower half.
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const png = await page.screenshot({ path: `${ARTIFACTS}flight.png` });
      const px = await lowerHalfStats(page, png);
      assert(px.colours >= 40, `lower half has ${px.colours} colours`);
      assert(px.lumaStdDev >= 6, `lower half luminance varies (σ ${px.lumaStdDev.toFixed(1)})`);
      assert(px.topShare < 0.5, `no single colour dominates (${(px.topShare * 100).toFixed(0)} %)`);
      assertEquals(problems, [], "no errors on the page");
      // F: walking. The player falls to the ground and stays on it (eyes 1.7 m up) while walking.
      await page.keyboard.press("KeyF");
      const onGround = () => {
        const p = __moteWorld.position, g = __moteWorld.groundAt(p.x, p.z);
        return p.mode === "walk" && g !== undefined && Math.abs(p.y - (g + 1.7)) < 0.05;
      };
      await page.waitForFunction(onGround, undefined, { timeout: 15_000 });
      const before = await page.evaluate(() => __moteWorld.position);
      await page.keyboard.down("KeyW");
      await page.waitForTimeout(1_500);
      await page.keyboard.up("KeyW");
      const walked = before.z - (await page.evaluate(() => __moteWorld.position)).z;
      // 6 m/s for 1.5 s, plus at most one frame's step (0.25 s) around the key events: walking,
      // not flying (which would cover 60 m).
      assert(walked > 1 && walked <= 6 * 1.75 + 1, `walked ${walked.toFixed(1)} m at 6 m/s`);
      await page.waitForFunction(onGround, undefined, { timeout: 5_000 });

      const frames = await page.evaluate(() => __moteWorld.frames);
      await page.close();

      // A phone: touch the left half and push the stick up to walk forward; drag on the right
      // half to look around. Touches are sent through the DevTools protocol as a phone's would be.
      const phone = await browser.newContext({
        viewport: { width: 390, height: 700 },
        hasTouch: true,
        isMobile: true,
      });
      const tp = await phone.newPage();
      tp.on("pageerror", (e) => problems.push(String(e)));
      // Start 20 chunks past the world's wrap (chunk z = −2^31 − 20, which is chunk 2^31 − 20):
      // positions stay unwrapped, chunk indices and the render origin's offsets wrap.
      const wrapZ = -2147483648 * 32;
      await tp.goto(`${url}?r=2&z=${wrapZ - 20 * 32 + 16}`);
      await tp.waitForFunction(() => __moteWorld.firstTerrainMs !== undefined, undefined, {
        timeout: 30_000,
      });
      const cdp = await phone.newCDPSession(tp);
      type TouchType = "touchStart" | "touchMove" | "touchEnd";
      const touch = (type: TouchType, points: { x: number; y: number; id: number }[]) =>
        cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points });
      const p0 = await tp.evaluate(() => __moteWorld.position);
      await touch("touchStart", [{ x: 90, y: 560, id: 1 }]);
      await touch("touchMove", [{ x: 90, y: 480, id: 1 }]); // stick fully forward
      await tp.waitForTimeout(1_500);
      await touch("touchEnd", []);
      const p1 = await tp.evaluate(() => __moteWorld.position);
      assert(p0.z - p1.z > 20, `the stick flew ${(p0.z - p1.z).toFixed(1)} m forward`);
      const here = Math.floor(p1.z / 32) | 0; // the wrapped chunk index under the player
      assert(here > 2147483600, `chunk ${here} is across the wrap`);
      await tp.waitForFunction((z) => __moteWorld.isShown(0, z), here, { timeout: 10_000 });
      const phonePx = await lowerHalfStats(tp, await tp.screenshot());
      assert(
        phonePx.colours >= 40 && phonePx.topShare < 0.5,
        `terrain across the wrap: ${JSON.stringify(phonePx)}`,
      );
      await touch("touchStart", [{ x: 300, y: 300, id: 2 }]);
      await touch("touchMove", [{ x: 200, y: 300, id: 2 }]);
      await touch("touchEnd", []);
      const p2 = await tp.evaluate(() => __moteWorld.position);
      assert(p2.yaw - p1.yaw > 0.2, `dragging left turned the view left by ${p2.yaw - p1.yaw} rad`);
      await phone.close();
      assertEquals(problems, [], "no errors on the phone page");

      console.log(
        `first terrain frame ${first.toFixed(0)} ms; ${crossed.length} chunks crossed, requested ` +
          `${leadMs[0]!.toFixed(0)}-${leadMs.at(-1)!.toFixed(0)} ms before entry, ` +
          `${shownOnEntry} shown on entry; ${released} released; walked ${walked.toFixed(1)} m; ` +
          `${frames} frames; touch stick ${(p0.z - p1.z).toFixed(1)} m; ` +
          `socket ${stats.transport.viaSocket} / http ${stats.transport.viaHttp}; ` +
          `geometries ${gpu} on the GPU, ${scene} in the scene; ` +
          `pixels ${JSON.stringify(px)}; node and world ${((tNode - t0) / 1000).toFixed(1)} s, ` +
          `browser part ${((performance.now() - tNode) / 1000).toFixed(1)} s`,
      );
    } finally {
      await browser.close();
    }
  },
});
