/**
 * "Others: write" in the web UI, in a real browser against a real `mote start`: the Files page's
 * chmod 777 on a folder says that anyone may write and under what cap (64 MiB by default), o+w on
 * a file is refused with the node's message, the Sharing page shows the folder's cap and
 * "everyone" reading and writing, and its "Revoke write" for everyone runs `chmod o-w` (the write
 * key rotates; everyone still reads). Screenshots go to `tests/artifacts/web-ui/` (git-ignored).
 */
import type { Page } from "playwright-core";
import { assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, startMote } from "./_process.ts";

const ARTIFACTS = new URL("./artifacts/web-ui/", import.meta.url).pathname;

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

Deno.test({
  name: "the web UI gives others write with its cap, shows it, and takes it away",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const work = await Deno.makeTempDir();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    try {
      await using mote = await startMote(["--data", `${work}/data`, ...FREE_PORTS]);
      const { api } = mote.info;
      const token = (await Deno.readTextFile(`${work}/data/api-token`)).trim();
      const call = (path: string, init: RequestInit = {}) =>
        fetch(`${api}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...init.headers },
        });
      const put = async (path: string, text: string) => {
        const r = await call(`/api/v1/files${path}`, { method: "PUT", body: text });
        await r.body?.cancel();
        return r.status;
      };
      await waitFor(
        async () => (await put("/inbox/hello.txt", "write here")) === 201,
        60_000,
        "the node's storage to take a put",
        500,
      );
      mark("node up, a file stored");

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(String(e)));
        page.on("dialog", (d) => void d.accept());
        const nav = (name: string) =>
          page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();

        await t.step(
          "Files: o+w on a file is refused, chmod 777 on a folder says the cap",
          async () => {
            await page.goto(api + "/");
            await nav("Files");
            const inbox = page.locator('[data-testid="listing"] tbody tr', { hasText: "inbox" });
            await inbox.getByRole("button", { name: "Permissions of inbox" }).click();
            await page.getByText("lets anyone write files into it").waitFor();
            const chmod = page.getByTestId("chmod");
            await chmod.getByLabel("New mode").fill("777");
            await chmod.getByRole("button", { name: "Change mode" }).click();
            await page.getByText(
              "/inbox is now drwxrwxrwx. Anyone may write files into it: at most 64 MiB on each " +
                "of your suppliers.",
            ).waitFor({ timeout: 30_000 });
            await inbox.getByTestId("mode").getByText("drwxrwxrwx").waitFor();
            await shoot(page, "others-write-files");
            // A file: refused with the node's message (the mode stays).
            const r = await call("/api/v1/chmod", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ path: "/inbox/hello.txt", mode: "666" }),
            });
            assertEquals(r.status, 400);
            const { error } = await r.json();
            assertEquals(error.includes("Others may write only to folders"), true, error);
          },
        );
        mark("o+w given");

        await t.step(
          "Sharing shows the cap and everyone writing; Revoke write runs o-w",
          async () => {
            await nav("Sharing");
            const row = page.locator('[data-testid="shares"] tbody tr', { hasText: "/inbox" });
            await row.getByTestId("write-cap").getByText(
              "writes: at most 64 MiB per supplier, anyone may write",
            ).waitFor({ timeout: 30_000 });
            await row.locator("li", { hasText: "everyone" }).getByText("read, write").waitFor();
            await shoot(page, "others-write-sharing");
            await row.getByRole("button", { name: "Revoke write for everyone on /inbox" }).click();
            await page.getByText(
              "everyone can no longer write to /inbox; its write key was rotated.",
            )
              .waitFor({ timeout: 30_000 });
            await row.locator("li", { hasText: "everyone" }).getByText("read", { exact: true })
              .waitFor();
            const { shares } = await (await call("/api/v1/shares")).json();
            const s = shares.find((x: { path: string }) => x.path === "/inbox");
            assertEquals([s.public, s.othersWrite], [true, undefined]);
            const { entries } = await (await call("/api/v1/perms")).json();
            const e = entries.find((x: { name: string }) => x.name === "inbox");
            assertEquals(e.mode, 0o775);
          },
        );
        mark("o+w taken away");
        assertEquals(problems, []);
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
