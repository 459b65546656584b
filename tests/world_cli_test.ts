/**
 * Worlds as a user meets them: a real `mote start` (embedded network), `mote world create`
 * printing the world's URL, `mote world ls`, `mote world grant` and `revoke`, and the node's
 * gateway serving that URL: the meta, a chunk, the client page (strict CSP, no inline script) and
 * its bundle; then the web UI's Worlds page in Chromium lists it, creates another, and grants a
 * region and ends the grant; the world page edits on the UI origin, and ending that grant has the
 * node sign the region's checkpoint while the edit stays.
 */
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { sleep, waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";
import { decodeChunk, encodeChunk, generateChunk, GENERATOR_ID } from "../worlds/mod.ts";

Deno.test({
  name: "mote world create prints a URL the node's gateway serves, and mote world ls lists it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const data = await Deno.makeTempDir();
    try {
      await using node = await startMote(["--data", data, ...FREE_PORTS]);
      const cli = (...args: string[]) => mote([...args, "--data", data], 30_000);

      const bad = await cli("world", "create", "--name", "Not_A_Name");
      assertEquals(bad.code, 2, bad.stderr);
      assert(bad.stderr.includes("world name"), bad.stderr);
      const badSeed = await cli("world", "create", "--name", "ok", "--seed", "-1");
      assert(badSeed.code !== 0 && badSeed.stderr.includes("--seed"), badSeed.stderr);

      let created: { stdout: string } | undefined;
      await waitFor(
        async () => {
          const r = await cli("world", "create", "--name", "valley", "--seed", "77");
          if (r.code !== 0) {
            // Storage needs its suppliers hired first (the embedded network starts with the node).
            assert(r.stderr.includes("not ready"), r.stderr);
            await sleep(500);
          } else created = r;
          return r.code === 0;
        },
        45_000,
        "a world created once storage is ready",
      );
      const out = created!.stdout;
      assert(out.includes("Created world valley: seed 77, terrain-v1"), out);
      const url = /^\s+(http:\/\/\S+\/w\/[a-z2-7]{52}\/)$/m.exec(out)?.[1];
      assert(url, `a world URL in:\n${out}`);
      assert(url.startsWith(node.info.gateway), "on this node's gateway");
      const address = /\/w\/([a-z2-7]{52})\//.exec(url)![1]!;

      await t.step("the same name again is refused", async () => {
        const r = await cli("world", "create", "--name", "valley");
        assertEquals(r.code, 1);
        assert(r.stderr.includes("already have a world named valley"), r.stderr);
      });

      await t.step("mote world ls lists it", async () => {
        const r = await cli("world", "ls");
        assertEquals(r.code, 0, r.stderr);
        assert(/valley\s+77\s+terrain-v1\s+8\s+0\s+\d+/.test(r.stdout), r.stdout);
        assert(r.stdout.includes(url), r.stdout);
        const j = await cli("world", "ls", "--json");
        const rows = JSON.parse(j.stdout) as { name: string; address: string; seed: number }[];
        assertEquals(rows.map((w) => [w.name, w.address, w.seed]), [["valley", address, 77]]);
      });

      await t.step("mote world grant republishes the record with the grant", async () => {
        const grantee = "a".repeat(52);
        const bad = await cli("world", "grant", "valley", "--region", "0;0", "--to", grantee);
        assertEquals(bad.code, 2, bad.stderr);
        assert(bad.stderr.includes("--region"), bad.stderr);
        const none = await cli("world", "grant", "nowhere", "--region", "0,0", "--to", grantee);
        assertEquals(none.code, 1);
        assert(none.stderr.includes("no world named nowhere"), none.stderr);
        const before = Date.now();
        const r = await cli("world", "grant", "valley", "--region", "1,-2", "--to", grantee);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes(`Granted region (1, -2) of valley to ${grantee}`), r.stdout);
        const again = await cli(
          "world",
          "grant",
          "valley",
          "--region",
          "1,-2",
          "--to",
          grantee,
          "--expires",
          "7d",
        );
        assertEquals(again.code, 0, again.stderr);
        const ls = await cli("world", "ls");
        assert(/valley\s+77\s+terrain-v1\s+8\s+1\s+\d+/.test(ls.stdout), ls.stdout);
        assert(new RegExp(`valley\\s+1,-2\\s+${grantee}`).test(ls.stdout), ls.stdout);
        const rows = JSON.parse((await cli("world", "ls", "--json")).stdout) as {
          grants: { rx: number; rz: number; grantee: string; expiry: number }[];
        }[];
        const [g] = rows[0]!.grants;
        assertEquals([rows[0]!.grants.length, g!.rx, g!.rz, g!.grantee], [1, 1, -2, grantee]);
        const week = 7 * 24 * 3600_000;
        assert(g!.expiry >= before + week && g!.expiry <= Date.now() + week, "replaced: 7 days");
      });

      await t.step("mote world revoke ends a grant now and keeps it listed, ended", async () => {
        const grantee = "a".repeat(52);
        const bad = await cli("world", "revoke", "valley", "--region", "1,-2", "--from", "me");
        assertEquals(bad.code, 2, bad.stderr);
        assert(bad.stderr.includes("--from"), bad.stderr);
        const none = await cli("world", "revoke", "valley", "--region", "5,5", "--from", grantee);
        assertEquals(none.code, 1);
        assert(none.stderr.includes("has no grant of region (5, 5)"), none.stderr);
        const before = Date.now();
        const r = await cli("world", "revoke", "valley", "--region", "1,-2", "--from", grantee);
        assertEquals(r.code, 0, r.stderr);
        assert(
          r.stdout.includes(`Ended the grant of region (1, -2) of valley to ${grantee}`),
          r.stdout,
        );
        const rows = JSON.parse((await cli("world", "ls", "--json")).stdout) as {
          grants: { grantee: string; expiry: number; ended: boolean }[];
        }[];
        const [g] = rows[0]!.grants;
        assertEquals([rows[0]!.grants.length, g!.grantee, g!.ended], [1, grantee, true]);
        assert(g!.expiry >= before && g!.expiry <= Date.now(), "its expiry is now");
        const ls = await cli("world", "ls");
        assert(
          new RegExp(`valley\\s+1,-2\\s+${grantee}\\s+\\S+ \\S+\\s+ended`).test(ls.stdout),
          ls.stdout,
        );
        // Again: nothing to end, answered as it is.
        const again = await cli("world", "revoke", "valley", "--region", "1,-2", "--from", grantee);
        assertEquals(again.code, 0, again.stderr);
        const token = (await Deno.readTextFile(`${data}/api-token`)).trim();
        const del = (path: string) =>
          fetch(`${node.info.api}/api/v1/worlds/${path}`, {
            method: "DELETE",
            headers: { authorization: `Bearer ${token}` },
          });
        for (
          const [path, status, message] of [
            [`valley/grants/1.5/0/${grantee}`, 400, '"rx" must be a signed 32-bit integer'],
            [`valley/grants/0/-0/${grantee}`, 400, '"rz" must be a signed 32-bit integer'],
            ["valley/grants/0/0/nobody", 400, "is not a node id"],
            [`nowhere/grants/0/0/${grantee}`, 404, "no world named nowhere"],
          ] as const
        ) {
          const res = await del(path);
          const e = (await res.json()).error as string;
          assertEquals(res.status, status, e);
          assert(e.includes(message), `${e} mentions ${message}`);
        }
      });

      await t.step("the printed URL serves meta, chunks, the page and its bundle", async () => {
        const meta = await fetch(`${url}meta`);
        assertEquals(meta.status, 200);
        const m = await meta.json();
        assertEquals([m.address, m.name, m.owner, m.seed], [address, "valley", node.info.id, 77]);
        const chunk = await fetch(`${url}c/${GENERATOR_ID}/-4/9?e=${m.e}`);
        assertEquals(chunk.status, 200);
        assertEquals(await chunk.bytes(), encodeChunk(generateChunk({ seed: 77 }, -4, 9)));

        const page = await fetch(url);
        assertEquals(page.status, 200);
        const html = await page.text();
        const csp = page.headers.get("content-security-policy")!;
        assert(csp.includes("script-src 'self'") && csp.includes("worker-src 'self' blob:"), csp);
        assert(!csp.includes("unsafe-eval") && !/script-src[^;]*unsafe-inline/.test(csp), csp);
        const src = /<script type="module" src="(\.\/client\.js\?v=[0-9a-f]{16})"><\/script>/
          .exec(html)?.[1];
        assert(src, html);
        assert(!/<script(?![^>]*\ssrc=)/.test(html), "no inline script");
        const js = await fetch(new URL(src, url));
        assertEquals(js.status, 200);
        assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
        assertEquals(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
        assert((await js.text()).length > 1000, "a real bundle");
        const none = await fetch(`${node.info.gateway}/w/${"b".repeat(52)}/`);
        assertEquals(none.status, 404);
        await none.body?.cancel();
      });

      await t.step("the API refuses bad bodies and calls without the token", async (t) => {
        const token = (await Deno.readTextFile(`${data}/api-token`)).trim();
        const post = (body: string, auth = true) =>
          fetch(`${node.info.api}/api/v1/worlds`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...(auth ? { authorization: `Bearer ${token}` } : {}),
            },
            body,
          });
        const cases: [string, string, string][] = [
          ["not JSON", "{", "Body must be JSON"],
          ["no name", "{}", "is not a world name"],
          ["a bad name", '{"name":"-x"}', "is not a world name"],
          ["a seed over u32", '{"name":"x","seed":4294967296}', '"seed" must be an integer'],
          ["a fractional region", '{"name":"x","region":1.5}', '"region" must be an integer'],
          ["a long title", JSON.stringify({ name: "x", title: "t".repeat(201) }), '"title"'],
          ["an unknown field", '{"name":"x","owner":"me"}', 'Unexpected field "owner"'],
        ];
        for (const [what, body, message] of cases) {
          await t.step(what, async () => {
            const r = await post(body);
            const e = (await r.json()).error as string;
            assertEquals(r.status, 400, e);
            assert(e.includes(message), `${e} mentions ${message}`);
          });
        }
        const noToken = await post('{"name":"sneaky"}', false);
        assert(noToken.status === 401 || noToken.status === 403, `got ${noToken.status}`);
        await noToken.body?.cancel();
      });

      await t.step("the web UI's Worlds page lists, creates, grants and ends grants", async () => {
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage();
          await page.goto(`${node.info.api}/worlds`);
          const row = page.locator('[data-testid="worlds"] tbody tr', { hasText: "valley" });
          await row.waitFor({ timeout: 15_000 });
          assertEquals(await row.getByRole("link", { name: /Open/ }).getAttribute("href"), url);
          await page.fill("#world-name", "Bad Name");
          await page.getByRole("button", { name: "Create world" }).click();
          await page.getByText("cannot be a world name").waitFor();
          await page.fill("#world-name", "hills");
          await page.fill("#world-seed", "5");
          await page.getByRole("button", { name: "Create world" }).click();
          await page.locator('[data-testid="world-created"]').waitFor({ timeout: 20_000 });
          await page.locator('[data-testid="worlds"] tbody tr', { hasText: "hills" }).waitFor();

          // Grants: valley's ended grant is listed; grant a region, see it, end it.
          await page.selectOption("#grants-world", "valley");
          const grants = page.getByTestId("grants");
          const old = grants.locator(`tr[data-grantee="${"a".repeat(52)}"]`);
          await old.getByText("ended", { exact: true }).waitFor();
          assertEquals(await old.getByRole("button").count(), 0, "an ended grant cannot be ended");
          const form = page.getByTestId("grant-region");
          const grantee = "b".repeat(52);
          await page.fill("#grant-rx", "2");
          await page.fill("#grant-rz", "-3");
          await page.fill("#grant-grantee", "not-a-node");
          await form.getByRole("button", { name: /Grant region/ }).click();
          await form.getByText("only the letters a–z and the digits 2–7").waitFor();
          await page.fill("#grant-expires", "yesterday");
          await form.getByText("Say how long").waitFor();
          await page.fill("#grant-expires", "7d");
          await page.fill("#grant-grantee", grantee.toUpperCase()); // ids are lower-cased
          // The node's own refusals are shown as it said them.
          await page.route(
            "**/api/v1/worlds/valley/grants",
            (route) =>
              route.fulfill({
                status: 400,
                json: { error: "World valley already has 256 grants" },
              }),
          );
          await form.getByRole("button", { name: /Grant region/ }).click();
          await form.getByRole("alert").getByText("World valley already has 256 grants").waitFor();
          await page.unroute("**/api/v1/worlds/valley/grants");
          await form.getByRole("button", { name: /Grant region/ }).click();
          await page.getByTestId("granted").waitFor({ timeout: 20_000 });
          const made = grants.locator(`tr[data-grantee="${grantee}"]`);
          await made.getByText("active", { exact: true }).waitFor();
          assert((await made.textContent())!.includes("(2, -3)"), "the region is listed");
          page.once("dialog", (d) => void d.accept());
          await made.getByRole("button", { name: /End now/ }).click();
          await page.getByTestId("grant-ended").waitFor({ timeout: 20_000 });
          await made.getByText("ended", { exact: true }).waitFor();
          assertEquals(await made.getByRole("button").count(), 0);
        } finally {
          await browser.close();
        }
        const r = await cli("world", "ls", "--json");
        const worlds = JSON.parse(r.stdout) as {
          name: string;
          seed: number;
          grants: { rx: number; rz: number; grantee: string; ended: boolean }[];
        }[];
        assertEquals(worlds.map((w) => `${w.name}:${w.seed}`), ["hills:5", "valley:77"]);
        const made = worlds[1]!.grants.find((g) => g.grantee === "b".repeat(52));
        assertEquals([made?.rx, made?.rz, made?.ended], [2, -3, true], "granted, then ended");
      });

      await t.step(
        "the world page edits on the node's own UI origin, not on its gateway",
        async () => {
          const g = await cli("world", "grant", "valley", "--region", "0,0", "--to", node.info.id);
          assertEquals(g.code, 0, g.stderr);
          type Hook = {
            loaded(): number;
            editing(): { tool: string; applied: number } | undefined;
            edit(tool: string, x: number, z: number): Promise<boolean>;
          };
          const browser = await launchBrowser();
          try {
            const page = await browser.newPage();
            await page.goto(`${url}?r=2`);
            await page.waitForFunction(
              () => {
                const w = (globalThis as unknown as { __moteWorld?: Hook }).__moteWorld;
                return w !== undefined && w.loaded() > 0;
              },
              null,
              { timeout: 60_000 },
            );
            await sleep(1_500); // time for the token request to fail
            assertEquals(
              await page.evaluate(() =>
                (globalThis as unknown as { __moteWorld: Hook }).__moteWorld.editing() === undefined
              ),
              true,
            );
            assertEquals(await page.locator('[data-testid="edit-tools"]').count(), 0);

            const before = (await (await fetch(`${url}r/0/0`)).json()).e as string;
            await page.goto(`${node.info.api}/w/${address}/?r=2`);
            await page.locator('[data-testid="edit-tools"]').waitFor({ timeout: 60_000 });
            // The node's world source may hold the record from before the grant for 15 s.
            let ok = false;
            for (let i = 0; i < 30 && !ok; i++) {
              ok = await page.evaluate(() =>
                (globalThis as unknown as { __moteWorld: Hook }).__moteWorld.edit(
                  "raise",
                  16.5,
                  16.5,
                )
              );
              if (!ok) await sleep(1_000);
            }
            assert(ok, "the page's edit was signed and published by the node");
            const after = (await (await fetch(`${url}r/0/0`)).json()) as {
              e: string;
              editors: { editor: string }[];
            };
            assertNotEquals(after.e, before);
            assertEquals(after.editors.map((e) => e.editor), [node.info.id]);
            const chunk = await fetch(`${url}c/${GENERATOR_ID}/0/0?e=${after.e}`);
            const heights = decodeChunk(await chunk.bytes()).heights;
            const generated = generateChunk({ seed: 77 }, 0, 0).heights;
            assertEquals(heights[16 * 32 + 16], generated[16 * 32 + 16]! + 32, "raised 2 m");
          } finally {
            await browser.close();
          }
        },
      );

      await t.step(
        "ending the node's own grant: the node signs the region's checkpoint, the edit stays",
        async () => {
          const id = node.info.id;
          const before = (await (await fetch(`${url}r/0/0`)).json()) as { e: string };
          const r = await cli("world", "revoke", "valley", "--region", "0,0", "--from", id);
          assertEquals(r.code, 0, r.stderr);
          type Row = { name: string; grants: { grantee: string; checkpointed: boolean }[] };
          let rows: Row[] = [];
          // On the embedded network the node looks 2 s after a grant ends, then every 5 s.
          await waitFor(
            async () => {
              rows = JSON.parse((await cli("world", "ls", "--json")).stdout) as Row[];
              const valley = rows.find((w) => w.name === "valley")!;
              return valley.grants.some((g) => g.grantee === id && g.checkpointed);
            },
            45_000,
            "the node's checkpoint of region (0, 0)",
          ).catch((e) => {
            throw new Error(`${e.message}: ${JSON.stringify(rows)}`);
          });
          const ls = await cli("world", "ls");
          assert(
            new RegExp(`valley\\s+0,0\\s+${id}.*ended, checkpointed`).test(ls.stdout),
            ls.stdout,
          );
          const after = (await (await fetch(`${url}r/0/0`)).json()) as { e: string };
          assertEquals(after.e, before.e, "the edit made under the grant is still merged");
        },
      );
    } finally {
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },
});
