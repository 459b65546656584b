/**
 * The Sharing page's "Shared with me" as another user meets it: two real `mote` processes, A (with
 * the embedded network) and B (joined to it). A shares /drop with B for writing and /docs for
 * reading; in B's web UI, Chromium looks A up, opens `<A>:/drop`, downloads A's file byte for
 * byte, sends a file into it (which A's node merges into its folder), and is refused with the
 * node's message when sending into /docs, which it may only read.
 */
import { Buffer } from "node:buffer";
import { assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, startMote } from "./_process.ts";

Deno.test({
  name: "another node browses, downloads and writes what is shared with it in its web UI",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const work = await Deno.makeTempDir();
    const [dataA, dataB] = [`${work}/a`, `${work}/b`];
    try {
      await using a = await startMote(["--data", dataA, ...FREE_PORTS]);
      const boot = a.info.addresses.find((x) => !x.includes("/ws"))!;
      await using b = await startMote([
        "--data",
        dataB,
        ...FREE_PORTS,
        "--no-devnet",
        "--bootstrap",
        boot,
      ]);
      const idA = a.info.id, idB = b.info.id;
      const tokenA = (await Deno.readTextFile(`${dataA}/api-token`)).trim();
      const callA = (path: string, init: RequestInit = {}) =>
        fetch(`${a.info.api}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${tokenA}`, ...init.headers },
        });
      const status = async (r: Promise<Response>) => {
        const res = await r;
        await res.body?.cancel();
        return res.status;
      };
      const put = (path: string, text: string) =>
        status(callA(`/api/v1/files${path}`, { method: "PUT", body: text }));
      await waitFor(
        async () => (await put("/drop/from-a.txt", "written by A")) === 201,
        60_000,
        "A's storage to take a put",
        500,
      );
      assertEquals(await put("/docs/readme.txt", "read only"), 201);
      const share = (path: string, write: boolean) =>
        status(callA("/api/v1/shares", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ path, with: idB, ...(write ? { write: true } : {}) }),
        }));
      // B's identity document reaches the DHT shortly after it starts.
      await waitFor(async () => (await share("/drop", true)) === 200, 30_000, "B's identity", 500);
      assertEquals(await share("/docs", false), 200);
      mark("A shares /drop (write) and /docs (read) with B");

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(String(e)));
        const listing = page.getByTestId("shared-listing");

        await t.step("B looks A up and downloads A's file", async () => {
          await page.goto(`${b.info.api}/sharing`);
          await page.getByLabel("Owner id").fill(idA);
          await page.getByRole("button", { name: "Look" }).click();
          await listing.locator("tr", { hasText: "docs" }).waitFor({ timeout: 60_000 });
          await listing.locator("tr", { hasText: "drop" }).getByRole("button", { name: "Open" })
            .click();
          const file = listing.locator("tr", { hasText: "from-a.txt" });
          await file.waitFor({ timeout: 60_000 });
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            file.getByRole("link", { name: "Download" }).click(),
          ]);
          assertEquals(await Deno.readTextFile((await download.path())!), "written by A");
          mark("B read A's file");
        });

        await t.step("B sends a file into /drop and A's node merges it", async () => {
          await page.setInputFiles("#send-here", {
            name: "from-b.txt",
            mimeType: "text/plain",
            buffer: Buffer.from("written by B"),
          });
          await page.getByTestId("sent").getByText("Sent 1 file to /drop.")
            .waitFor({ timeout: 60_000 });
          mark("B sent its file");
          // The owner's node merges writers' files every 30 s.
          await waitFor(
            async () => {
              const r = await callA("/api/v1/ls/drop");
              const { entries } = await r.json();
              return entries.some((e: { name: string }) => e.name === "from-b.txt");
            },
            90_000,
            "A to merge B's file",
            1000,
          );
          const got = await callA("/api/v1/files/drop/from-b.txt");
          assertEquals(await got.text(), "written by B");
          mark("A merged it");
        });

        await t.step(
          "B is refused, with the node's message, in a folder it only reads",
          async () => {
            await page.getByRole("navigation", { name: "Shared folder" })
              .getByRole("button", { name: /:\/$/ }).click();
            await listing.locator("tr", { hasText: "docs" }).getByRole("button", { name: "Open" })
              .click();
            await listing.locator("tr", { hasText: "readme.txt" }).waitFor({ timeout: 60_000 });
            await page.setInputFiles("#send-here", {
              name: "sneaky.txt",
              mimeType: "text/plain",
              buffer: Buffer.from("not allowed"),
            });
            await page.getByTestId("send-here").getByRole("alert")
              .getByText("Permission denied").waitFor({ timeout: 60_000 });
            const { entries } = await (await callA("/api/v1/ls/docs")).json();
            assertEquals(entries.map((e: { name: string }) => e.name), ["readme.txt"]);
          },
        );

        assertEquals(problems, []);
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
