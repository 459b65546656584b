/**
 * The web UI in a real browser against a real `mote start` with its embedded network: the pages
 * show the node, its suppliers and peers; a file goes up through the Files page with visible
 * progress, comes back byte for byte (its older version too), and is deleted; a folder is
 * published as a site, served in both gateway forms, updated and unpublished. Screenshots of each
 * page (light, dark, phone width) go to `tests/artifacts/web-ui/` (git-ignored) for a person to
 * look at. The bundle's size budget is checked on a fresh build.
 */
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { randomBytes } from "../src/crypto/hash.ts";
import { webBundle } from "../src/node/web_bundle.ts";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, startMote } from "./_process.ts";

const ARTIFACTS = new URL("./artifacts/web-ui/", import.meta.url).pathname;
const BUDGET = 80 * 1024;

Deno.test("the web UI's JavaScript is built once, cached, and within 80 KiB gzipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const built: unknown[] = [];
    const first = await webBundle({ cacheDir: dir, log: (_m, f) => built.push(f) }).load();
    assertEquals(built.length, 1, "the first load builds");
    const gz = await new Response(
      new Blob([first.js as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer();
    console.log(`web UI bundle: ${first.js.length} bytes, ${gz.byteLength} gzipped`);
    assert(gz.byteLength <= BUDGET, `bundle is ${gz.byteLength} bytes gzipped, over ${BUDGET}`);
    // A restart (a new loader over the same cache) serves the cached bundle without building.
    const again = await webBundle({ cacheDir: dir, log: (_m, f) => built.push(f) }).load();
    assertEquals(built.length, 1, "the second load reads the cache");
    assertEquals(again.js, first.js);
    assertEquals(again.hash, first.hash);
    assert(first.css.length > 0, "the styles are served too");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function shoot(page: Page, name: string) {
  await page.waitForTimeout(300); // let live data settle
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

Deno.test({
  name: "the web UI shows the node and stores, returns and deletes a file in a real browser",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    try {
      await using mote = await startMote(["--data", `${work}/data`, ...FREE_PORTS]);
      const { api, gateway, id } = mote.info;
      // The UI is the API listener's alone: the public gateway serves none of it.
      for (const path of ["/ui/app.js", "/ui/style.css", "/files", "/api/v1/session"]) {
        const r = await fetch(gateway + path);
        await r.body?.cancel();
        assertEquals(r.status, 404, `gateway ${path}`);
      }
      await waitFor(
        async () => {
          const r = await fetch(`${api}/api/v1/suppliers`);
          const s = await r.json();
          return s.suppliers.filter((x: { live: boolean }) => x.live).length === 6;
        },
        60_000,
        "six hired suppliers",
      );
      const browser = await launchBrowser();
      try {
        const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(String(e)));

        await t.step("Home shows the node id, the embedded network and its suppliers", async () => {
          const res = await page.goto(api + "/");
          assertEquals(res?.status(), 200);
          const csp = res?.headers()["content-security-policy"] ?? "";
          assert(csp.includes("script-src 'self'"), csp);
          assert(csp.includes("frame-ancestors 'none'"), csp);
          assert(!csp.includes("unsafe-inline"), csp);
          await page.getByTestId("node-id").waitFor();
          assertEquals(await page.getByTestId("node-id").textContent(), id);
          await page.getByText("Embedded local network.").waitFor();
          await page.locator('[data-testid="suppliers"] tbody tr').nth(5).waitFor();
          assertEquals(await page.locator('[data-testid="suppliers"] tbody tr').count(), 6);
          await page.getByText("Connected", { exact: true }).waitFor();
          await page.getByTestId("redundancy").getByText("full").waitFor();
          assert(Number(await page.getByTestId("peer-count").textContent()) >= 1, "peers");
          await shoot(page, "home-light");
        });

        await t.step("Network lists the embedded network's peers", async () => {
          await page.getByRole("link", { name: "Network" }).click();
          await page.locator('[data-testid="peers"] tbody tr').first().waitFor();
          assert(await page.locator('[data-testid="peers"] tbody tr').count() >= 6, "peers");
          assertEquals(new URL(page.url()).pathname, "/network");
          await shoot(page, "network-light");
        });

        const first = randomBytes(9 * 1024 * 1024 + 17);
        const second = randomBytes(70_000);
        await t.step("Files uploads through the picker with live progress", async () => {
          await page.getByRole("link", { name: "Files" }).click();
          await page.getByText("Nothing stored yet.").waitFor();
          await shoot(page, "files-empty-light");
          // Record every progress value the page shows while the upload runs.
          // (In-page code as text: this file is type-checked without the DOM library.)
          await page.evaluate(`{
            const seen = (globalThis.seen = []);
            new MutationObserver(() => {
              for (const p of document.querySelectorAll("progress")) seen.push(p.value / p.max);
            }).observe(document.body, { subtree: true, childList: true, attributes: true });
          }`);
          await page.setInputFiles("#picker", {
            name: "report ü.bin",
            mimeType: "application/octet-stream",
            buffer: Buffer.from(first),
          });
          await page.locator('.uploads li[data-state="done"]').waitFor({ timeout: 60_000 });
          const seen = await page.evaluate(() =>
            (globalThis as unknown as { seen: number[] }).seen
          );
          assert(seen.some((v) => v > 0 && v < 1), `progress between 0 and 1: ${seen.join(",")}`);
          assertEquals(seen.at(-1), 1);
          await page.locator('[data-testid="listing"] tbody tr', { hasText: "report ü.bin" })
            .waitFor();
          await shoot(page, "files-light");
        });

        await t.step("Files drops a second version and downloads both back identical", async () => {
          // Drag and drop, as a user would: a DataTransfer carrying the file.
          await page.evaluate(`{
            const bytes = Uint8Array.from(atob("${
            btoa(String.fromCharCode(...second))
          }"), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "report ü.bin"));
            const zone = document.querySelector('[data-testid="drop"]');
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
          }`);
          await page.locator(".uploads li").nth(1).waitFor();
          await waitFor(
            async () => (await page.locator('.uploads li[data-state="done"]').count()) === 2,
            60_000,
            "the dropped upload to finish",
          );
          const row = page.locator('[data-testid="listing"] tbody tr', { hasText: "report ü.bin" });
          await row.getByRole("button", { name: "Versions (2)" }).click();
          await page.locator('[data-testid="versions"] tbody tr').nth(1).waitFor();
          await shoot(page, "files-versions-light");

          const [newest] = await Promise.all([
            page.waitForEvent("download"),
            row.getByRole("link", { name: "Download" }).click(),
          ]);
          assertEquals(newest.suggestedFilename(), "report ü.bin");
          assertEquals(await Deno.readFile(await newest.path()), second);
          const [older] = await Promise.all([
            page.waitForEvent("download"),
            page.locator('[data-testid="versions"] tbody tr').nth(1).getByRole("link").click(),
          ]);
          assertEquals(await Deno.readFile(await older.path()), first);
        });

        await t.step("Files restores an older version as the newest", async () => {
          page.once("dialog", (d) => void d.accept());
          await page.locator('[data-testid="versions"] tbody tr').nth(1)
            .getByRole("button", { name: "Restore" }).click();
          await page.locator('[data-testid="versions"] tbody tr').nth(2).waitFor();
          const [newest] = await Promise.all([
            page.waitForEvent("download"),
            page.locator('[data-testid="versions"] tbody tr').first().getByRole("link").click(),
          ]);
          assertEquals(await Deno.readFile(await newest.path()), first);
        });

        await t.step("Files deletes the file after a confirmation", async () => {
          page.once("dialog", (d) => void d.accept());
          await page.locator('[data-testid="listing"] tbody tr', { hasText: "report ü.bin" })
            .getByRole("button", { name: "Delete" }).click();
          await page.getByText("Nothing stored yet.").waitFor();
          const ls = await (await fetch(`${api}/api/v1/ls`)).json();
          assertEquals(ls.entries, []);
        });

        let sealedKey = "";
        await t.step("Settings downloads a sealed key backup", async () => {
          await page.getByRole("link", { name: "Settings" }).click();
          await page.getByLabel("Passphrase (optional)").fill("correct horse battery");
          await page.getByLabel("Passphrase again").fill("correct horse battery");
          await shoot(page, "settings-light");
          const [key] = await Promise.all([
            page.waitForEvent("download"),
            page.getByRole("button", { name: "Download sealed key" }).click(),
          ]);
          const text = await Deno.readTextFile(await key.path());
          assert(text.startsWith("-----BEGIN MOTE IDENTITY KEY-----"), text.slice(0, 60));
          const { importKeyFile } = await import("../src/identity/mod.ts");
          assertEquals((await importKeyFile(text, "correct horse battery")).id, id);
          sealedKey = text;
        });

        await t.step(
          "Settings saves the nickname and supply, and a restart applies them",
          async () => {
            const form = page.getByTestId("node-settings");
            await form.getByLabel("Nickname").fill("browser-test");
            await form.getByLabel(/Space this node offers/).fill("1GiB");
            await form.getByRole("button", { name: "Save" }).click();
            await page.getByText("Saved in config.json.").waitFor();
            const saved = JSON.parse(await Deno.readTextFile(`${work}/data/config.json`));
            assertEquals([saved.nickname, saved.supply], ["browser-test", "1GiB"]);
            await page.getByTestId("restart").click();
            await page.getByTestId("restarting").waitFor();
            await page.getByTestId("restarting").waitFor({ state: "detached", timeout: 60_000 });
            await page.locator(".top .who", { hasText: "browser-test" }).waitFor();
            const status = await (await fetch(`${api}/api/v1/status`)).json();
            assertEquals([status.id, status.nickname], [id, "browser-test"]);
            const settings = await (await fetch(`${api}/api/v1/settings`)).json();
            assertEquals([settings.running.supply, settings.restartNeeded], [1 << 30, false]);
            await shoot(page, "settings-saved-light");
          },
        );

        const tree = `${work}/trip`;
        const photo = randomBytes(300_000);
        await t.step("Files creates a folder and uploads a whole folder into it", async () => {
          await Deno.mkdir(`${tree}/day 1`, { recursive: true });
          await Deno.writeFile(`${tree}/day 1/photo.bin`, photo);
          await Deno.writeTextFile(`${tree}/notes.txt`, "trip notes\n");
          await page.getByRole("link", { name: "Files" }).click();
          page.once("dialog", (d) => void d.accept("albums"));
          await page.getByRole("button", { name: "New folder" }).click();
          await page.waitForURL(/\/files\/albums$/);
          await page.getByText("This folder is empty.").waitFor();
          await page.setInputFiles("#folder-picker", tree);
          await waitFor(
            async () => (await page.locator('.uploads li[data-state="done"]').count()) === 2,
            60_000,
            "the folder's two files to upload",
          );
          await page.locator('[data-testid="listing"] tbody tr', { hasText: "trip" }).waitFor();
          const got = await fetch(`${api}/api/v1/files/albums/trip/day%201/photo.bin`);
          assertEquals(new Uint8Array(await got.arrayBuffer()), photo);
          await shoot(page, "files-folder-light");
        });

        await t.step(
          "Settings imports another identity's key, then the first one back",
          async () => {
            const { exportKeyFile, generateIdentity } = await import("../src/identity/mod.ts");
            const other = generateIdentity();
            const otherText = await exportKeyFile(other, "another passphrase");
            const importKey = async (text: string, pass: string, expect: string) => {
              await page.getByRole("link", { name: "Settings" }).click();
              await page.setInputFiles("#keyfile", {
                name: "mote.key",
                mimeType: "text/plain",
                buffer: Buffer.from(text),
              });
              await page.getByLabel(/Passphrase \(if the key file/).fill(pass);
              page.once("dialog", (d) => void d.accept());
              await page.getByRole("button", { name: "Import and restart" }).click();
              await page.getByTestId("restarting").waitFor();
              await page.getByTestId("restarting").waitFor({ state: "detached", timeout: 60_000 });
              const s = await (await fetch(`${api}/api/v1/status`)).json();
              assertEquals(s.id, expect);
            };
            // A wrong passphrase changes nothing.
            await page.getByRole("link", { name: "Settings" }).click();
            await page.setInputFiles("#keyfile", {
              name: "mote.key",
              mimeType: "text/plain",
              buffer: Buffer.from(otherText),
            });
            await page.getByLabel(/Passphrase \(if the key file/).fill("not the passphrase");
            page.once("dialog", (d) => void d.accept());
            await page.getByRole("button", { name: "Import and restart" }).click();
            await page.getByText("wrong passphrase").waitFor();

            await importKey(otherText, "another passphrase", other.id);
            await page.locator("main h1").waitFor();
            const kept = [...Deno.readDirSync(`${work}/data/replaced-identities`)].map((e) =>
              e.name
            );
            assert(kept.some((n) => n.startsWith(id)), `the first key is kept: ${kept}`);
            // Back to the first identity: its files are found in the network again.
            await importKey(sealedKey, "correct horse battery", id);
            await waitFor(
              async () => (await fetch(`${api}/api/v1/files/albums/trip/notes.txt`)).status === 200,
              60_000,
              "the first identity's files to be found again",
            );
            const notes = await fetch(`${api}/api/v1/files/albums/trip/notes.txt`);
            assertEquals(await notes.text(), "trip notes\n");
          },
        );

        await t.step("Home hires two scrubbers and revokes one", async () => {
          await page.getByRole("link", { name: "Home" }).click();
          const rows = page.locator('[data-testid="scrubbers"] tbody tr');
          await page.getByText("No scrubbers:").waitFor();
          await page.getByTestId("hire-scrubbers").click();
          await page.getByText("Hired 2 scrubbers.").waitFor({ timeout: 60_000 });
          await rows.nth(1).waitFor();
          assertEquals(await rows.count(), 2);
          await page.getByTestId("unattended").waitFor();
          await shoot(page, "home-scrubbers-light");
          page.once("dialog", (d) => void d.accept());
          await rows.first().getByRole("button", { name: "Revoke" }).click();
          await page.getByText(/^Revoked the ticket of scrubber/).waitFor();
          await waitFor(async () => (await rows.count()) === 1, 10_000, "one scrubber left");
          const v = await (await fetch(`${api}/api/v1/scrub`)).json();
          assertEquals(v.tickets.map((x: { state: string }) => x.state).sort(), [
            "active",
            "revoked",
          ]);
        });

        await t.step("Sites publishes a folder, updates it and unpublishes it", async () => {
          const site = `${work}/My Site`;
          await Deno.mkdir(`${site}/css`, { recursive: true });
          const html = (h1: string) =>
            `<!doctype html><title>From the web UI</title><link rel="stylesheet" href="/css/a.css"><h1>${h1}</h1>`;
          await Deno.writeTextFile(`${site}/index.html`, html("Made in the web UI"));
          await Deno.writeTextFile(`${site}/css/a.css`, "h1 { color: rgb(0, 128, 128) }");
          const nav = page.getByRole("navigation", { name: "Main" });
          await nav.getByRole("link", { name: "Sites" }).click();
          assertEquals(new URL(page.url()).pathname, "/sites");
          await page.getByText("No sites yet.").waitFor();
          const form = page.getByTestId("publish-site");
          const name = form.getByLabel(/^Name/);
          await name.fill("Bad_Name");
          await form.getByText(/cannot be a site name/).waitFor();
          await name.fill("");
          // The folder's own name goes: "My Site/index.html" is the site's /index.html.
          await page.setInputFiles("#site-folder-picker", site);
          await page.getByTestId("site-chosen").getByText("My Site").waitFor();
          assertEquals(await name.inputValue(), "my-site", "a name suggested from the folder");
          await name.fill("web-ui");
          await form.getByRole("button", { name: "Publish" }).click();
          await page.getByTestId("published").waitFor({ timeout: 90_000 });
          assertEquals(await page.locator('.uploads li[data-state="done"]').count(), 2);
          const row = page.locator('[data-testid="sites"] tbody tr', { hasText: "web-ui" });
          await row.getByText("live", { exact: true }).waitFor();
          const { sites } = await (await fetch(`${api}/api/v1/sites`)).json() as {
            sites: { name: string; seq: number; files: number; urls: string[] }[];
          };
          const pub = sites.find((x) => x.name === "web-ui")!;
          assertEquals(pub.files, 2);
          const [sub, path] = pub.urls as [string, string];
          const served = await fetch(path);
          assertEquals(served.status, 200);
          assert((await served.text()).includes("<h1>Made in the web UI</h1>"), "path form");
          await shoot(page, "sites-light");

          // The subdomain form, opened from the row's link in a new tab (its own origin).
          const link = row.getByRole("link", { name: /^Open/ });
          assertEquals(await link.getAttribute("target"), "_blank");
          assertEquals(await link.getAttribute("rel"), "noopener");
          const [tab] = await Promise.all([context.waitForEvent("page"), link.click()]);
          await tab.waitForLoadState();
          assertEquals(tab.url(), sub);
          assertEquals(await tab.textContent("h1"), "Made in the web UI");
          await tab.close();

          // The Files page keeps the sites' folder out of its root listing.
          await page.getByRole("link", { name: "Files" }).click();
          await page.getByTestId("sites-hidden").waitFor();
          await page.locator('[data-testid="listing"] tbody tr', { hasText: "albums" }).waitFor();
          assertEquals(
            await page.locator('[data-testid="listing"] tbody tr', { hasText: ".sites" }).count(),
            0,
          );

          // Publishing again updates it; the unchanged stylesheet is not stored again.
          await Deno.writeTextFile(`${site}/index.html`, html("Updated in the web UI"));
          await nav.getByRole("link", { name: "Sites" }).click();
          await row.getByText("live", { exact: true }).waitFor();
          await name.fill("web-ui");
          await page.setInputFiles("#site-folder-picker", site);
          await form.getByRole("button", { name: "Update the site" }).click();
          await page.getByTestId("published").getByText(`version ${pub.seq + 1}`).waitFor({
            timeout: 90_000,
          });
          await page.locator(".uploads li", { hasText: "/.sites/web-ui/css/a.css" })
            .getByText("unchanged").first().waitFor();
          await waitFor(
            async () => (await (await fetch(path)).text()).includes("Updated in the web UI"),
            30_000,
            "the new version served",
          );

          page.once("dialog", (d) => void d.accept());
          await row.getByRole("button", { name: "Unpublish" }).click();
          await page.getByText(/^Unpublished web-ui; 2 files deleted/).waitFor({ timeout: 30_000 });
          await row.waitFor({ state: "detached" });
          await page.getByText("No sites yet.").waitFor();
          const after = await (await fetch(`${api}/api/v1/sites`)).json();
          assertEquals(after.sites, []);
          await waitFor(
            async () => {
              const r = await fetch(path);
              await r.body?.cancel();
              return r.status === 404;
            },
            30_000,
            "the site gone from the gateway",
          );
        });

        await t.step("screenshots in dark mode and at phone width", async () => {
          await page.emulateMedia({ colorScheme: "dark" });
          for (const p of ["", "files", "sites", "network", "settings"]) {
            await page.goto(`${api}/${p}`);
            await page.locator("main h1").waitFor();
            await shoot(page, `${p || "home"}-dark`);
          }
          const phone = await context.newPage();
          await phone.setViewportSize({ width: 390, height: 844 });
          for (const p of ["", "files", "sites", "network", "settings"]) {
            await phone.goto(`${api}/${p}`);
            await phone.locator("main h1").waitFor();
            await shoot(phone, `${p || "home"}-phone`);
          }
          await phone.close();
        });

        // While the node restarts, the page's requests find nobody listening; nothing else may fail.
        const expected =
          /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|status of 403/;
        assertEquals(
          problems.filter((p) => !expected.test(p)),
          [],
          "no console errors (a CSP violation would show here)",
        );
        await context.close();
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "with a password, the web UI asks for it, works behind it, and logs out",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir();
    const password = "a long enough password";
    try {
      await Deno.mkdir(`${work}/data`, { recursive: true });
      await Deno.writeTextFile(
        `${work}/data/config.json`,
        JSON.stringify({ apiPassword: password }),
      );
      await using mote = await startMote(["--data", `${work}/data`, ...FREE_PORTS]);
      const { api, id } = mote.info;
      const token = (await Deno.readTextFile(`${work}/data/api-token`)).trim();
      const auth = { headers: { authorization: `Bearer ${token}` } };
      await waitFor(
        async () => {
          const s = await (await fetch(`${api}/api/v1/suppliers`, auth)).json();
          return s.suppliers?.filter((x: { live: boolean }) => x.live).length === 6;
        },
        60_000,
        "six hired suppliers",
      );
      // Without a session or the token nothing is readable, not even the status.
      const bare = await fetch(`${api}/api/v1/status`);
      assertEquals(bare.status, 401);
      await bare.body?.cancel();
      // The CLI's token still works (programs on the node's machine).
      const withToken = await fetch(`${api}/api/v1/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assertEquals((await withToken.json()).id, id);

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(api + "/files");
        await page.waitForURL(/\/login$/);
        await page.getByLabel("Password").fill("not the password");
        await page.getByRole("button", { name: "Log in" }).click();
        await page.getByText("Wrong password.").waitFor();
        await page.getByLabel("Password").fill(password);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.getByTestId("node-id").waitFor();
        assertEquals(await page.getByTestId("node-id").textContent(), id);
        const cookie = (await page.context().cookies()).find((c) => c.name === "mote_session");
        assert(cookie?.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
        await shoot(page, "home-remote-light");

        // A change (token fetched with the session) goes through.
        await page.getByRole("link", { name: "Files" }).click();
        await page.setInputFiles("#picker", {
          name: "remote.txt",
          mimeType: "text/plain",
          buffer: Buffer.from("sent from afar"),
        });
        await page.locator('.uploads li[data-state="done"]').waitFor({ timeout: 60_000 });
        const got = await fetch(`${api}/api/v1/files/remote.txt`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assertEquals(await got.text(), "sent from afar");

        await page.getByRole("button", { name: "Log out" }).click();
        await page.waitForURL(/\/login$/);
        // The session it had is over on the node, not only forgotten by the browser.
        const after = await fetch(`${api}/api/v1/status`, {
          headers: { cookie: `mote_session=${cookie!.value}` },
        });
        assertEquals(after.status, 401);
        await after.body?.cancel();
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
