/**
 * The world client in Chromium with WebGL (SwiftShader): open a world, fly in a straight line for
 * several seconds, and check that chunks ahead were requested (and shown) before the player reached
 * them, that chunks left behind were released, and that a screenshot shows terrain rather than a
 * blank canvas.
 *
 * The page, `client.js` (worlds/client/main.ts bundled as the gateway bundles it), `meta`, the
 * chunk URLs and the WebSocket follow the gateway's world routes exactly
 * (`/w/<address>/…`); this file serves them from a local server over real generated chunks.
 */
import { encodeChunk, generateChunk, GENERATOR_ID } from "../worlds/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { bundleWorldClient, lowerHalfStats } from "./_world_page.ts";

const ADDRESS = "a".repeat(52);
const SEED = 16; // land around the start and northwards (the flight's direction)
const ARTIFACTS = new URL("./artifacts/world-client/", import.meta.url).pathname;

/** A local stand-in for the gateway's world routes (same paths, same forms). */
function serveWorld(js: Uint8Array) {
  const counts = { http: 0, socket: 0, wants: 0, cancels: 0 };
  const chunk = (x: number, z: number) => encodeChunk(generateChunk({ seed: SEED }, x, z));
  const base = `/w/${ADDRESS}/`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === base) {
      return new Response(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>t</title>` +
          `<script type="module" src="./client.js?v=1"></script></head>` +
          `<body><div id="world" data-address="${ADDRESS}"></div></body></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      );
    }
    if (url.pathname === base + "client.js") {
      return new Response(js as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "text/javascript; charset=utf-8" },
      });
    }
    if (url.pathname === base + "meta") {
      return Response.json({
        address: ADDRESS,
        name: "test",
        owner: "o",
        seed: SEED,
        generator: GENERATOR_ID,
        region: 8,
        title: "Test world",
        grants: [],
        seq: 1,
      });
    }
    const m = url.pathname.match(/^\/w\/[a-z2-7]{52}\/c\/([a-z0-9.-]+)\/(-?\d+)\/(-?\d+)$/);
    if (m) {
      counts.http++;
      return new Response(chunk(Number(m[2]), Number(m[3])) as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/octet-stream" },
      });
    }
    if (url.pathname === base + "ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const queue: [number, number][] = [];
      let pumping = false;
      const pump = async () => {
        if (pumping) return;
        pumping = true;
        while (queue.length && socket.readyState === WebSocket.OPEN) {
          const [x, z] = queue.shift()!;
          socket.send(chunk(x, z));
          counts.socket++;
          await new Promise((r) => setTimeout(r, 0));
        }
        pumping = false;
      };
      socket.onmessage = (e) => {
        const msg = JSON.parse(e.data as string) as { t: string; c: [number, number][] };
        assert(msg.c.length <= 64, "at most 64 chunks a message");
        if (msg.t === "want") counts.wants++, queue.push(...msg.c);
        if (msg.t === "cancel") {
          counts.cancels++;
          for (const [x, z] of msg.c) {
            const i = queue.findIndex(([a, b]) => a === x && b === z);
            if (i >= 0) queue.splice(i, 1);
          }
        }
        void pump();
      };
      return response;
    }
    return new Response("not found", { status: 404 });
  });
  return { server, counts, url: `http://127.0.0.1:${server.addr.port}${base}` };
}

interface Hook {
  position: { x: number; y: number; z: number };
  frames: number;
  firstTerrainMs?: number;
  loaded(): number;
  requested(): number;
  released(): number;
  isShown(x: number, z: number): boolean;
  requestedAt(x: number, z: number): number | undefined;
  entered(): { x: number; z: number; at: number; requestedAt?: number; shown: boolean }[];
  stats(): Record<string, unknown> & { transport: { viaSocket: number; viaHttp: number } };
}
declare const __moteWorld: Hook;

Deno.test({
  name:
    "world client: flying straight ahead loads chunks before they are reached, releases those left behind, and draws terrain",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    const js = await bundleWorldClient();
    const { server, counts, url } = serveWorld(js);
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
      assert(counts.socket > 0 && counts.wants > 0, "the server saw wants and sent chunks");

      // The screenshot shows terrain: many colours and real contrast in the lower half.
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const png = await page.screenshot({ path: `${ARTIFACTS}flight.png` });
      const px = await lowerHalfStats(page, png);
      assert(px.colours >= 40, `lower half has ${px.colours} colours`);
      assert(px.lumaStdDev >= 6, `lower half luminance varies (σ ${px.lumaStdDev.toFixed(1)})`);
      assert(px.topShare < 0.5, `no single colour dominates (${(px.topShare * 100).toFixed(0)} %)`);
      assertEquals(problems, [], "no errors on the page");
      const frames = await page.evaluate(() => __moteWorld.frames);
      console.log(
        `first terrain frame ${first.toFixed(0)} ms; ${crossed.length} chunks crossed, requested ` +
          `${leadMs[0]!.toFixed(0)}-${leadMs.at(-1)!.toFixed(0)} ms before entry, ` +
          `${shownOnEntry} shown on entry; ${released} released; ${frames} frames; ` +
          `socket ${stats.transport.viaSocket} / http ${stats.transport.viaHttp}; ` +
          `pixels ${JSON.stringify(px)}; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
