/**
 * Live presence and edits in real browsers on two real nodes (`mote start`): V runs the embedded
 * network, owns a world and grants region (0, 0) to A, which joined it (`--bootstrap`) and opens
 * the editing page on its own UI origin; V's gateway serves the visitor. Two pages in Chromium
 * (SwiftShader), one on each node, in region (0, 0): each shows the other's avatar and lists it as
 * near; a column raised on A's page is raised on V's page without a reload; with A's node stopped,
 * a fresh page on V still shows the raised column (V's network holds the signed batch).
 */
import type { Browser, Page } from "playwright-core";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { sleep } from "./_harness.ts";
import { FREE_PORTS, mote, type Started, startMote } from "./_process.ts";

interface Hook {
  loaded(): number;
  groundAt(x: number, z: number): number | undefined;
  editing(): { tool: string; applied: number } | undefined;
  edit(tool: string, x: number, z: number): Promise<boolean>;
  editNotices(): number;
  presence(): {
    state: string;
    id?: string;
    players: { id: string; x: number; z: number; node?: string }[];
    avatars: number;
    near: string[];
  };
}

const world = (page: Page) =>
  page.evaluate(() => {
    const w = (globalThis as unknown as { __moteWorld?: Hook }).__moteWorld;
    if (!w) return undefined;
    return { loaded: w.loaded(), presence: w.presence(), notices: w.editNotices() };
  });

const groundAt = (page: Page, x: number, z: number) =>
  page.evaluate(
    ([x, z]) =>
      (globalThis as unknown as { __moteWorld?: Hook }).__moteWorld?.groundAt(x!, z!) ?? null,
    [x, z],
  ).then((h) => h ?? undefined);

/** Polls `cond` every 250 ms until it holds (bounded). */
async function until<T>(cond: () => Promise<T | undefined | false>, ms: number, what: string) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

const EDIT_X = 100.5, EDIT_Z = 112.5;

Deno.test({
  name: "two pages on two nodes see each other's avatar, and an edit on one appears on the other",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const dv = await Deno.makeTempDir(), da = await Deno.makeTempDir();
    let v: Started | undefined, a: Started | undefined, browser: Browser | undefined;
    try {
      v = await startMote(["--data", dv, ...FREE_PORTS]);
      const gateway = v.info.gateway;
      const boot = v.info.addresses.find((s) =>
        s.startsWith("/ip4/127.0.0.1/tcp/") && !s.includes("/ws")
      );
      assert(boot, `V listens on loopback TCP: ${v.info.addresses}`);
      a = await startMote(["--data", da, ...FREE_PORTS, "--bootstrap", boot]);
      mark("both nodes started");
      let address = "";
      for (let i = 0;; i++) {
        const r = await mote(
          ["world", "create", "--name", "live", "--seed", "31", "--data", dv],
          30_000,
        );
        if (r.code === 0) {
          address = /\/w\/([a-z2-7]{52})\//.exec(r.stdout)![1]!;
          break;
        }
        if (!r.stderr.includes("not ready") || i > 120) throw new Error(r.stderr);
        await sleep(500);
      }
      const g = await mote([
        "world",
        "grant",
        "live",
        "--region",
        "0,0",
        "--to",
        a.info.id,
        "--data",
        dv,
      ]);
      assertEquals(g.code, 0, g.stderr);
      mark("world created and granted");

      browser = await launchBrowser();
      const open = async (url: string) => {
        const ctx = await browser!.newContext({ viewport: { width: 480, height: 320 } });
        const page = await ctx.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(String(e)));
        await page.goto(url);
        return { page, errors };
      };
      // A's page edits (its own node's UI origin); V's page only explores, 20 m away.
      const pa = await open(`${a.info.api}/w/${address}/?r=2&x=100&z=100`);
      // V would build the same client bundle again: give it A's (it keeps built bundles by hash).
      await until(() => world(pa.page), 60_000, "A's page running");
      await Deno.mkdir(`${dv}/web`, { recursive: true });
      for await (const f of Deno.readDir(`${da}/web`)) {
        if (/^world-[0-9a-f]+\.js$/.test(f.name)) {
          await Deno.copyFile(`${da}/web/${f.name}`, `${dv}/web/${f.name}`);
        }
      }
      const pv = await open(`${gateway}/w/${address}/?r=2&x=120&z=100`);

      await t.step("each page shows the other's avatar and lists it as near", async () => {
        const both = await until(
          async () => {
            const [wa, wv] = [await world(pa.page), await world(pv.page)];
            if (!wa?.presence.id || !wv?.presence.id) return false;
            const aSeesV = wa.presence.players.some((p) => p.id === wv.presence.id);
            const vSeesA = wv.presence.players.some((p) => p.id === wa.presence.id);
            return aSeesV && vSeesA && wa.presence.avatars > 0 && wv.presence.avatars > 0 &&
              wa.presence.near.length > 0 && wv.presence.near.length > 0 && { wa, wv };
          },
          60_000,
          "both players on both pages",
        );
        mark("presence both ways");
        assertEquals(both.wa.presence.state, "live");
        assertEquals(both.wv.presence.state, "live");
        const seen = both.wv.presence.players.find((p) => p.id === both.wa.presence.id)!;
        assert(
          Math.abs(seen.x - 100) < 5 && Math.abs(seen.z - 100) < 5,
          `A at ${seen.x}, ${seen.z}`,
        );
        // A's page is its node's own: V's gateway shows A's node id once A's identity vouches for
        // the peer that relayed it; V's visitor stays an anonymous player on A's page.
        const vouched = await until(
          async () => {
            const wv = (await world(pv.page))!;
            const seenA = wv.presence.players.find((p) => p.id === both.wa.presence.id);
            return seenA?.node === a!.info.id &&
              wv.presence.near.some((n) => n.startsWith("node "));
          },
          20_000,
          "A's player shown as node A's own on V's page",
        );
        assert(vouched);
        const onA = (await world(pa.page))!.presence.players.find((p) =>
          p.id === both.wv.presence.id
        );
        assertEquals(onA?.node, undefined, "V's visitor is anonymous");
      });

      let raised = 0;
      await t.step("a column raised on A's page rises on V's page without a reload", async () => {
        const before = await until(
          () => groundAt(pv.page, EDIT_X, EDIT_Z),
          30_000,
          "V shows the column",
        );
        await pa.page.waitForFunction(
          () =>
            (globalThis as unknown as { __moteWorld: Hook }).__moteWorld.editing() !== undefined,
          null,
          { timeout: 30_000 },
        );
        let ok = false;
        for (let i = 0; i < 20 && !ok; i++) {
          ok = await pa.page.evaluate(
            ([x, z]) =>
              (globalThis as unknown as { __moteWorld: Hook }).__moteWorld.edit("raise", x!, z!),
            [EDIT_X, EDIT_Z],
          );
          if (!ok) await sleep(1_000);
        }
        assert(ok, "A's node signed and published the edit");
        mark("edited on A");
        raised = await until(
          async () => {
            const h = await groundAt(pv.page, EDIT_X, EDIT_Z);
            return h !== undefined && h > before + 1.5 && h;
          },
          30_000,
          "the raised column on V's page",
        );
        mark("seen on V");
        assert((await world(pv.page))!.notices > 0, "V's page was told by its gateway");
      });

      await t.step("with A's node stopped, a new page on V still shows the edit", async () => {
        await pa.page.context().close();
        assertEquals(await a!.signal("SIGTERM"), 0);
        a = undefined;
        const again = await open(`${gateway}/w/${address}/?r=2&x=120&z=100`);
        const h = await until(() => groundAt(again.page, EDIT_X, EDIT_Z), 30_000, "the column");
        assert(Math.abs(h - raised) < 0.01, `${h} m, as raised (${raised} m)`);
        mark("still there without A");
        assertEquals([...pv.errors, ...again.errors], [], "no errors on V's pages");
      });
    } finally {
      await browser?.close();
      if (a) await a[Symbol.asyncDispose]();
      if (v) await v[Symbol.asyncDispose]();
      await Deno.remove(da, { recursive: true }).catch(() => {});
      await Deno.remove(dv, { recursive: true }).catch(() => {});
    }
  },
});
