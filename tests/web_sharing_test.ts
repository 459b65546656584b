/**
 * The web UI's Sharing page and the Files page's modes in a real browser against a real
 * `mote start` with its embedded network: a group is created and given a member (a node of the
 * embedded network, once its identity document is in the DHT), a folder is shared with the group,
 * listed and revoked, then shared with that node for writing (a bad cap refused), its write
 * revoked and then its read; a public folder is read back through "Shared with me" as `<own id>:/`; a
 * quick link is made (its URL shown) and deleted; chmod and chgrp on the Files page show the new
 * mode and group. Bad input is refused with a message. Screenshots go to
 * `tests/artifacts/web-ui/` (git-ignored).
 */
import type { Page } from "playwright-core";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, startMote } from "./_process.ts";

const ARTIFACTS = new URL("./artifacts/web-ui/", import.meta.url).pathname;

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

Deno.test({
  name: "the Sharing page makes groups, shares, revokes and links; Files shows and sets modes",
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
      const { api, gateway, id } = mote.info;
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
        async () => (await put("/photos/beach.txt", "sand and sea")) === 201,
        60_000,
        "the node's storage to take a put",
        500,
      );
      assertEquals(await put("/public/hello.txt", "hello, everyone"), 201);
      // A member must be a node with an identity document: one of the embedded network's.
      const { suppliers } = await (await call("/api/v1/suppliers")).json();
      const member: string = suppliers[0].supplier;
      assert(/^[a-z2-7]{52}$/.test(member), `a node id: ${member}`);
      mark("node up, files stored");

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(String(e)));
        // Every confirmation (revoke, remove, delete) is accepted.
        page.on("dialog", (d) => void d.accept());

        await t.step("Sharing is a page of its own, no longer a slot to come", async () => {
          await page.goto(api + "/");
          await page.getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Sharing" }).click();
          await page.getByRole("heading", { name: "Sharing", level: 1 }).waitFor();
          assertEquals(new URL(page.url()).pathname, "/sharing");
          await page.getByText("You share nothing yet.").waitFor();
          assertEquals(await page.getByText("arrives with sharing").count(), 0);
        });

        await t.step("a group is created (a bad name is refused first)", async () => {
          const form = page.getByTestId("create-group");
          await form.getByLabel("New group").fill("Family Members");
          await form.getByRole("button", { name: "Create group" }).click();
          await form.getByText("cannot be a group name").waitFor();
          await form.getByLabel("New group").fill("family");
          await form.getByRole("button", { name: "Create group" }).click();
          await form.getByText("Created the group family.").waitFor();
          await page.locator('[data-group="family"]').getByText(id).waitFor();
        });

        await t.step("a member is added by node id", async () => {
          const group = page.locator('[data-group="family"]');
          await group.getByLabel("Add a member").fill("not-an-id");
          await group.getByRole("button", { name: "Add", exact: true }).click();
          await group.getByText("is not a node id").waitFor();
          // The embedded network's identity documents reach the DHT in the background: until
          // then the node answers that it found none, and the page shows it.
          await waitFor(
            async () => {
              await group.getByLabel("Add a member").fill(member);
              await group.getByRole("button", { name: "Add", exact: true }).click();
              await group.locator('[role="status"], [role="alert"]').first().waitFor({
                timeout: 30_000,
              });
              return await group.getByText(`Added ${member.slice(0, 12)}`).count() > 0;
            },
            45_000,
            "the member's identity document",
            500,
          );
          await group.getByText(member).waitFor();
          mark("group family with a member");
        });

        await t.step("a folder is shared with the group, listed, and revoked", async () => {
          const form = page.getByTestId("share-form");
          await form.getByLabel("Path").fill("/photos");
          await form.getByLabel("With").fill("someone");
          await form.getByRole("button", { name: "Share (read)" }).click();
          await form.getByText("is not a node id").waitFor();
          await form.getByLabel("With").fill("group:family");
          await form.getByRole("button", { name: "Share (read)" }).click();
          await form.getByText("Shared /photos with group:family (read).").waitFor();
          const row = page.locator('[data-testid="shares"] tbody tr', { hasText: "/photos" });
          await row.getByText("group family").waitFor();
          await shoot(page, "sharing-light");
          await row.getByRole("button", { name: "Revoke group family on /photos" }).click();
          await page.getByText("/photos is no longer shared with group family").waitFor();
          await page.getByText("You share nothing yet.").waitFor();
          const { shares } = await (await call("/api/v1/shares")).json();
          assertEquals(shares, []);
          mark("shared and revoked");
        });

        await t.step("a folder is shared for writing; write is revoked, then read", async () => {
          const form = page.getByTestId("share-form");
          await form.getByLabel("With").fill(member);
          await form.getByLabel("Also let them write (folders only)").check();
          const cap = form.getByLabel("Write cap per supplier, MiB (optional)");
          await cap.fill("0");
          await form.getByRole("button", { name: "Share (read and write)" }).click();
          await form.getByText("is not a cap").waitFor();
          await cap.fill("64");
          await form.getByRole("button", { name: "Share (read and write)" }).click();
          await form.getByText(`Shared /photos with ${member} (read and write).`)
            .waitFor({ timeout: 60_000 });
          const label = `node ${member.slice(0, 12)}…`;
          const item = page.locator('[data-testid="shares"] li', { hasText: label });
          await item.getByText("read, write", { exact: true }).waitFor();
          const { shares } = await (await call("/api/v1/shares")).json();
          assertEquals(shares[0].writers, [member]);
          await item.getByRole("button", { name: `Revoke write for ${label} on /photos` }).click();
          await page.getByText(`${label} can no longer write to /photos`)
            .waitFor({ timeout: 60_000 });
          await item.getByText("read", { exact: true }).waitFor();
          assertEquals(await item.getByRole("button", { name: "Revoke write" }).count(), 0);
          await item.getByRole("button", { name: `Revoke ${label} on /photos`, exact: true })
            .click();
          await page.getByText(`/photos is no longer shared with ${label}`)
            .waitFor({ timeout: 60_000 });
          await item.waitFor({ state: "detached" });
          // (The node may keep the folder's write key with nobody to use it: nobody is listed.)
          const after = (await (await call("/api/v1/shares")).json()).shares;
          for (const s of after) assert(![...s.readers, ...s.writers ?? []].includes(member));
          mark("shared for writing and revoked");
        });

        await t.step("a quick link is made, its URL shown, and deleted", async () => {
          const form = page.getByTestId("make-link");
          await form.getByLabel("Path").fill("/photos/beach.txt");
          await form.getByLabel("Expires after (optional)").fill("soon");
          await form.getByRole("button", { name: "Make a link" }).click();
          await form.getByText("is not an expiry").waitFor();
          await form.getByLabel("Expires after (optional)").fill("2d");
          await form.getByRole("button", { name: "Make a link" }).click();
          const url = await form.getByTestId("link-url").inputValue({ timeout: 60_000 });
          assert(url.startsWith(`${gateway}/l/#`), url);
          const row = page.locator('[data-testid="links"] tbody tr', {
            hasText: "/photos/beach.txt",
          });
          await row.waitFor();
          const { links } = await (await call("/api/v1/links")).json();
          assertEquals(links.length, 1);
          // Two days from now, give or take the time the link took to make.
          assert(Math.abs(links[0].expires - links[0].created - 2 * 86_400_000) < 60_000);
          await row.getByRole("button", { name: "Delete the link to /photos/beach.txt" }).click();
          await page.getByText("Deleted the link to /photos/beach.txt.").waitFor();
          await page.getByText("No links yet.").waitFor();
          mark("link made and deleted");
        });

        await t.step("Files shows modes, and chmod and chgrp change them", async () => {
          await page.getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Files" }).click();
          const row = page.locator('[data-testid="listing"] tbody tr', { hasText: "photos" });
          await row.getByTestId("mode").getByText("drwx------").waitFor();
          await row.getByRole("button", { name: "Permissions of photos" }).click();
          const chmod = page.getByTestId("chmod");
          await chmod.getByLabel("New mode").fill("79");
          await chmod.getByRole("button", { name: "Change mode" }).click();
          await page.locator("#h-perms").locator("..").getByRole("alert").waitFor();
          await chmod.getByLabel("New mode").fill("750");
          await chmod.getByRole("button", { name: "Change mode" }).click();
          await page.getByText("/photos is now drwxr-x---.").waitFor();
          await row.getByTestId("mode").getByText("drwxr-x---").waitFor();
          const chgrp = page.getByTestId("chgrp");
          await chgrp.getByLabel("Group").selectOption("family");
          await chgrp.getByRole("button", { name: "Change group" }).click();
          await page.getByText("/photos now belongs to family.").waitFor();
          await row.getByTestId("mode").getByText("family").waitFor();
          await shoot(page, "files-modes-light");
          // Group read through the mode: the group reads /photos again, listed on Sharing.
          const { shares } = await (await call("/api/v1/shares")).json();
          assertEquals(shares.map((s: { path: string; groups: string[] }) => [s.path, s.groups]), [
            ["/photos", ["family"]],
          ]);
        });

        await t.step("Files hides the sharing state's folder", async () => {
          await page.locator('[data-testid="listing"] tbody tr', { hasText: "public" }).waitFor();
          const names = await page.locator('[data-testid="listing"] tbody tr td:first-child')
            .allTextContents();
          assert(!names.some((n) => n.includes(".sharing")), names.join(", "));
        });

        await t.step("removing a member says it re-keys, and the group moves on", async () => {
          // The permissions card links to Sharing with the path filled in.
          await page.getByRole("link", { name: "Share it or make a quick link" }).click();
          assertEquals(new URL(page.url()).searchParams.get("path"), "/photos");
          assertEquals(await page.locator("#share-path").inputValue(), "/photos");
          assertEquals(await page.locator("#link-path").inputValue(), "/photos");
          // The group reads /photos through its mode now: revoking it here is refused with the
          // node's own advice.
          await page.locator('[data-testid="shares"] tbody tr', { hasText: "/photos" })
            .getByRole("button", { name: "Revoke group family on /photos" }).click();
          await page.getByRole("alert").getByText("through its mode: use chmod g-r or chgrp")
            .waitFor();
          const group = page.locator('[data-group="family"]');
          await group.getByText("epoch 0").waitFor();
          await group.getByRole("button", { name: `Remove ${member} from family` }).click();
          await group.getByText(
            /Removed \w+… from family; the group and what it reads were re-keyed/,
          )
            .waitFor({ timeout: 60_000 });
          await group.getByText("epoch 1").waitFor();
          assertEquals(await group.getByText(member).count(), 0);
          await page.getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Files" }).click();
          mark("member removed");
        });

        await t.step("Shared with me reads a public folder as <own id>:/", async () => {
          const row = page.locator('[data-testid="listing"] tbody tr', { hasText: "public" });
          await row.getByRole("button", { name: "Permissions of public" }).click();
          const chmod = page.getByTestId("chmod");
          await chmod.getByLabel("New mode").fill("o+rx");
          await chmod.getByRole("button", { name: "Change mode" }).click();
          await row.getByTestId("mode").getByText("drwx---r-x").waitFor();
          await page.getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Sharing" }).click();
          await page.locator('[data-testid="shares"] tbody tr', { hasText: "/public" })
            .getByText("everyone").waitFor();
          await page.getByLabel("Owner id").fill(id.slice(0, 40));
          await page.getByRole("button", { name: "Look" }).click();
          await page.getByText("is not a node id").waitFor();
          await page.getByLabel("Owner id").fill(id);
          await page.getByRole("button", { name: "Look" }).click();
          const listing = page.getByTestId("shared-listing");
          await listing.getByRole("button", { name: "Open" }).first().waitFor({ timeout: 60_000 });
          await listing.locator("tr", { hasText: "public" }).getByRole("button", { name: "Open" })
            .click();
          const file = listing.locator("tr", { hasText: "hello.txt" });
          await file.waitFor({ timeout: 60_000 });
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            file.getByRole("link", { name: "Download" }).click(),
          ]);
          const saved = await download.path();
          assertEquals(await Deno.readTextFile(saved!), "hello, everyone");
          await shoot(page, "sharing-shared-with-me-light");
          // The owner is remembered in this browser for next time.
          await page.reload();
          await page.getByRole("button", { name: id.slice(0, 12) }).waitFor();
          mark("public folder read back");
        });

        assertEquals(problems, []);
      } finally {
        await browser.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
