/**
 * Hosted sites as a user meets them: a real `mote start` (embedded network), `mote site publish`
 * of a folder, the node's public gateway serving it in path mode and subdomain mode (checked over
 * HTTP and in Chromium, where `<address>.localhost` is its own origin), a republish seen whole,
 * `mote site ls`, and `mote site rm`.
 */
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { sleep, waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

interface Published {
  name: string;
  address: string;
  seq: number;
  files: number;
  urls: string[];
}

Deno.test({
  name: "mote site publishes a folder that every gateway form serves, updates it and removes it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    const data = `${work}/data`, site = `${work}/site`;
    try {
      await Deno.mkdir(`${site}/css`, { recursive: true });
      await Deno.writeTextFile(
        `${site}/index.html`,
        '<!doctype html><title>Blog</title><link rel="stylesheet" href="/css/a.css"><h1>First</h1>',
      );
      await Deno.writeTextFile(`${site}/css/a.css`, "h1 { color: rgb(0, 128, 128) }");
      await Deno.writeTextFile(`${site}/404.html`, "<h1>Nothing here</h1>");
      await Deno.writeTextFile(`${site}/_redirects`, "/old /  301\n/docs/* /:splat 302\n");
      const big = crypto.getRandomValues(new Uint8Array(65536));
      const video = new Uint8Array(600_000);
      for (let i = 0; i < video.length; i += big.length) {
        video.set(big.subarray(0, Math.min(big.length, video.length - i)), i);
      }
      await Deno.writeFile(`${site}/clip.webm`, video);

      await using node = await startMote(["--data", data, ...FREE_PORTS]);
      const gw = node.info.gateway;
      const cli = (...args: string[]) => mote([...args, "--data", data], 90_000);
      let pub: Published | undefined;
      await waitFor(
        async () => {
          const r = await cli("site", "publish", site, "--name", "blog", "--json");
          if (r.code !== 0) await sleep(500);
          else pub = JSON.parse(r.stdout);
          return r.code === 0;
        },
        90_000,
        "a first publish (six hired suppliers)",
      );
      const { address } = pub!;
      assertEquals(pub!.files, 4, "index, css, 404 and the clip; _redirects is not a file");
      const path = (p: string) => `${gw}/s/${address}${p}`;
      const host = `${address}.localhost:${new URL(gw).port}`;

      await t.step("path mode over HTTP", async () => {
        const r = await fetch(path("/"));
        assertEquals(r.status, 200);
        assert((await r.text()).includes("<h1>First</h1>"));
        assert(!r.headers.get("content-security-policy")!.includes("allow-same-origin"));
        // (Subdomain mode is checked in Chromium below: fetch here cannot set Host.)
        const missing = await fetch(path("/nope"));
        assertEquals(missing.status, 404);
        assertEquals(await missing.text(), "<h1>Nothing here</h1>");
        const moved = await fetch(path("/old"), { redirect: "manual" });
        assertEquals(moved.status, 301);
        await moved.body?.cancel();
        const part = await fetch(path("/clip.webm"), { headers: { range: "bytes=500000-500099" } });
        assertEquals(part.status, 206);
        assertEquals(new Uint8Array(await part.arrayBuffer()), video.subarray(500000, 500100));
        const etag = (await fetch(path("/"))).headers.get("etag")!;
        const again = await fetch(path("/"), { headers: { "if-none-match": etag } });
        assertEquals(again.status, 304);
        const bad = await fetch(`${gw}/s/${address}/a/%00/b`);
        assertEquals(bad.status, 400);
        await bad.body?.cancel();
      });

      await t.step("in Chromium, the subdomain form is the site's own origin", async () => {
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage();
          await page.goto(`http://${host}/`);
          assertEquals(await page.textContent("h1"), "First");
          assertEquals(
            // Runs in the page: the browser's own getComputedStyle (not in Deno's types).
            await page.$eval("h1", (e) => {
              const g = (globalThis as unknown as {
                getComputedStyle(x: unknown): { color: string };
              }).getComputedStyle;
              return g(e).color;
            }),
            "rgb(0, 128, 128)",
            "the stylesheet loaded from the same site",
          );
          const css = await page.goto(`http://${host}/css/a.css`);
          assertEquals(css?.headers()["content-type"], "text/css; charset=utf-8");
        } finally {
          await browser.close();
        }
      });

      await t.step("a republish is seen whole, and ls shows the new version", async () => {
        await Deno.writeTextFile(
          `${site}/index.html`,
          '<!doctype html><title>Blog</title><link rel="stylesheet" href="/css/a.css"><h1>Second</h1>',
        );
        const r = await cli("site", "publish", site, "--name", "blog", "--json");
        assertEquals(r.code, 0, r.stderr);
        const next = JSON.parse(r.stdout) as Published;
        assert(next.seq > pub!.seq, "a higher version");
        assertEquals(next.address, address, "the address stays");
        // The node's gateway looks the record up again within 15 s.
        await waitFor(
          async () => (await (await fetch(path("/"))).text()).includes("Second"),
          30_000,
          "the new version served",
        );
        const ls = await cli("site", "ls", "--json");
        const rows = JSON.parse(ls.stdout) as { name: string; seq: number; files: number }[];
        assertEquals(rows.map((x) => [x.name, x.seq, x.files]), [["blog", next.seq, 4]]);
      });

      await t.step("rm unpublishes it; bad names are refused", async () => {
        const r = await cli("site", "rm", "blog");
        assertEquals(r.code, 0, r.stderr);
        await waitFor(
          async () => {
            const res = await fetch(path("/"));
            await res.body?.cancel();
            return res.status === 404;
          },
          30_000,
          "the site gone",
        );
        const bad = await cli("site", "publish", site, "--name", "Bad_Name");
        assertEquals(bad.code, 2);
        const none = await cli("site", "rm", "never-was");
        assert(none.code !== 0 && /no site/i.test(none.stderr), none.stderr);
      });
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
