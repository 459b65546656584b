/**
 * In a real browser, a page on the public gateway's origin cannot use the node API: it can read
 * nothing, and neither simple requests, preflighted requests, form posts nor event streams get
 * through. The page runs with its CSP bypassed, so only the API's own defences are tested (the
 * worst case: a hosted site with a permissive policy). A page on the API's own origin with the
 * token succeeds, showing the test can tell the difference. The same holds for the token itself:
 * `GET /api/v1/session` answers it to the web UI's own origin only.
 */
import { loadConfig } from "../src/config/mod.ts";
import { createLogger, memorySink } from "../src/log/mod.ts";
import { runNode } from "../src/node/run.ts";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";

Deno.test({
  name: "a page served by the public gateway cannot call the node API",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { config } = await loadConfig({
      dataDir: dir,
      flags: { port: 0, gatewayPort: 0, p2pPort: 0, devnet: false },
      env: {},
    });
    const running = await runNode(
      dir,
      config,
      createLogger({ level: "error", sinks: [memorySink()] }),
    );
    const browser = await launchBrowser();
    try {
      const { api, gateway } = running.info;
      const token = (await Deno.readTextFile(`${dir}/api-token`)).trim();
      const context = await browser.newContext({ bypassCSP: true });
      const page = await context.newPage();
      await page.goto(gateway + "/");
      assertEquals(new URL(page.url()).origin, gateway);
      const outcome = await page.evaluate(async ({ api, token }) => {
        const tryIt = async (f: () => Promise<Response>) => {
          try {
            const r = await f();
            return {
              type: r.type,
              status: r.status,
              body: r.type === "opaque" ? "" : await r.text(),
            };
          } catch (e) {
            return { error: String(e) };
          }
        };
        const events = await new Promise<string>((resolve) => {
          const es = new EventSource(api + "/api/v1/events");
          es.onmessage = () => resolve("message");
          es.addEventListener("status", () => resolve("status event read"));
          es.onerror = () => {
            es.close();
            resolve("error");
          };
          setTimeout(() => resolve("timeout"), 3000);
        });
        return {
          read: await tryIt(() => fetch(api + "/api/v1/status")),
          session: await tryIt(() => fetch(api + "/api/v1/session")),
          sessionNoCors: await tryIt(() => fetch(api + "/api/v1/session", { mode: "no-cors" })),
          simplePost: await tryIt(() =>
            fetch(api + "/api/v1/stop", { method: "POST", mode: "no-cors", body: "{}" })
          ),
          // Even a page that somehow learnt the token cannot use it: the preflight is refused.
          withToken: await tryIt(() =>
            fetch(api + "/api/v1/stop", {
              method: "POST",
              headers: { authorization: `Bearer ${token}` },
            })
          ),
          events,
        };
      }, { api, token });

      assert(
        "error" in outcome.read,
        `reading the API from the gateway origin must fail: ${JSON.stringify(outcome.read)}`,
      );
      assert(
        "error" in outcome.session,
        `the gateway's origin must not get the token: ${JSON.stringify(outcome.session)}`,
      );
      assertEquals(outcome.sessionNoCors.type, "opaque", "a no-cors read gives nothing to read");
      assert(!JSON.stringify(outcome).includes(token), "the token appears nowhere on the page");
      assertEquals(
        outcome.simplePost.type,
        "opaque",
        "a no-cors request gives the page nothing to read",
      );
      assert(
        "error" in outcome.withToken,
        `a preflighted call must be refused: ${JSON.stringify(outcome.withToken)}`,
      );
      assertEquals(outcome.events, "error", "the event stream must not be readable cross-origin");
      // A classic cross-site form post (no JavaScript needed) is refused too.
      await page.setContent(
        `<form id="f" method="post" action="${api}/api/v1/stop"><input name="x" value="1"><button id="go">go</button></form>`,
      );
      await Promise.all([
        page.waitForNavigation({ timeout: 5_000 }).catch(() => {}),
        page.click("#go"),
      ]);
      await page.waitForTimeout(500);
      const formText = await page.textContent("body").catch(() => "");
      assert(
        formText?.includes("may not call the node API") || formText?.includes("refused"),
        `form post answer: ${formText}`,
      );
      // The node is still up: none of that reached it.
      const st = await fetch(api + "/api/v1/status");
      assertEquals(st.status, 200);
      assertEquals((await st.json()).id, running.node.id);

      // Positive control: the API's own origin, with the token, is allowed.
      const own = await context.newPage();
      await own.goto(api + "/");
      const allowed = await own.evaluate(async () => {
        const { token } = await (await fetch("/api/v1/session")).json();
        const r = await fetch("/api/v1/identity/publish", {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        return { token, status: r.status };
      });
      assertEquals(allowed, { token, status: 200 }, "the UI's origin gets the token and uses it");
      // Outside a browser: without Sec-Fetch-Site, or with any value but same-origin, no token.
      for (const site of [undefined, "none", "same-site", "cross-site"]) {
        const r = await fetch(api + "/api/v1/session", {
          headers: site ? { "sec-fetch-site": site } : {},
        });
        assertEquals(r.status, 403, `Sec-Fetch-Site ${site}`);
        assert(!(await r.text()).includes(token));
      }
      await context.close();
    } finally {
      await browser.close();
      await running.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
