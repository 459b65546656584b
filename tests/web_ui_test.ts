/**
 * The web UI in a real browser against a real `mote start` with its embedded network: the pages
 * show the node, its suppliers and peers; a file goes up through the Files page with visible
 * progress, comes back byte for byte (its older version too), and is deleted. Screenshots of each
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
        });

        await t.step("screenshots in dark mode and at phone width", async () => {
          await page.emulateMedia({ colorScheme: "dark" });
          for (const p of ["", "files", "network", "settings"]) {
            await page.goto(`${api}/${p}`);
            await page.locator("main h1").waitFor();
            await shoot(page, `${p || "home"}-dark`);
          }
          const phone = await context.newPage();
          await phone.setViewportSize({ width: 390, height: 844 });
          for (const p of ["", "files", "network", "settings"]) {
            await phone.goto(`${api}/${p}`);
            await phone.locator("main h1").waitFor();
            await shoot(phone, `${p || "home"}-phone`);
          }
          await phone.close();
        });

        assertEquals(problems, [], "no console errors (a CSP violation would show here)");
        await context.close();
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
