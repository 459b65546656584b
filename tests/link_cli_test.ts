/**
 * Quick links as a user meets them: a real `mote start` (embedded network), `mote put`, then
 * `mote link <path> --expires 1h` prints a URL on the node's public gateway; that gateway serves
 * the page (with its headers) and the link opens and reads back the exact bytes through the
 * gateway's `/shards/` route (`link_reader.ts`, as the page does); `mote link ls` lists it and
 * `mote link rm` deletes its snapshot, after which the link finds nothing.
 */
import { LINK_PAGE_CSP } from "../gateway/links.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { parseLink } from "../src/sharing/link.ts";
import { LinkOpenError, openLink, readLinkedFile } from "../src/sharing/link_reader.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sleep, waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

Deno.test({
  name: "mote link prints a URL that opens on the gateway; link ls lists it and link rm ends it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    const data = `${work}/data`;
    try {
      const bytes = randomBytes(200_000);
      await Deno.writeFile(`${work}/song.ogg`, bytes);
      await using node = await startMote(["--data", data, ...FREE_PORTS]);
      const gw = node.info.gateway;
      const cli = (...args: string[]) => mote([...args, "--data", data], 90_000);
      await waitFor(
        async () => {
          const r = await cli("put", `${work}/song.ogg`, "/music/song.ogg", "-q");
          if (r.code !== 0) await sleep(500);
          return r.code === 0;
        },
        90_000,
        "a first put (six hired suppliers)",
      );
      const made = await cli("link", "/music", "--expires", "1h", "--json");
      assertEquals(made.code, 0, made.stderr);
      const link = JSON.parse(made.stdout) as {
        id: string;
        url: string;
        files: number;
        expires: number;
      };
      assertEquals(link.files, 1);
      assert(link.url.startsWith(`${gw}/l/#`), link.url);
      assert(Math.abs(link.expires - (Date.now() + 3_600_000)) < 120_000);
      const text = await cli("link", "/music/song.ogg");
      assertEquals(text.code, 0, text.stderr);
      assert(text.stdout.includes("cannot be taken back"), text.stdout);

      await t.step("the gateway serves the page with its headers", async () => {
        const page = await fetch(`${gw}/l/`);
        assertEquals(page.status, 200);
        assertEquals(page.headers.get("content-security-policy"), LINK_PAGE_CSP);
        assertEquals(page.headers.get("referrer-policy"), "no-referrer");
        const script = /src="\.\/(link-[0-9a-f]{16}\.js)"/.exec(await page.text())?.[1];
        assert(script, "the page names its script");
        const js = await fetch(`${gw}/l/${script}`);
        assertEquals(js.status, 200);
        assert((await js.text()).length > 1000);
      });
      const cap = parseLink(link.url, { now: Date.now() });
      const opts = { base: gw };
      await t.step("the link opens through the gateway and reads the exact bytes", async () => {
        const opened = await openLink(cap, opts);
        assertEquals(opened.snapshot.files.map((f) => f.path), ["song.ogg"]);
        const parts: Uint8Array[] = [];
        for await (const p of readLinkedFile(opened, opened.snapshot.files[0]!, opts)) {
          parts.push(p);
        }
        assertEquals(new Uint8Array(parts.flatMap((p) => [...p])), bytes);
      });
      await t.step("link ls lists both links; link rm deletes one", async () => {
        const ls = await cli("link", "ls", "--json");
        assertEquals(ls.code, 0, ls.stderr);
        const rows = JSON.parse(ls.stdout) as { id: string; path: string }[];
        assertEquals(rows.map((r) => r.path).sort(), ["/music", "/music/song.ogg"]);
        const rm = await cli("link", "rm", link.id);
        assertEquals(rm.code, 0, rm.stderr);
        const after = JSON.parse((await cli("link", "ls", "--json")).stdout) as { id: string }[];
        assert(!after.some((r) => r.id === link.id));
        const again = await cli("link", "rm", link.id);
        assertEquals(again.code !== 0, true);
        assert(again.stderr.includes("No link"), again.stderr);
        const e = await assertRejects(() => openLink(cap, opts), LinkOpenError);
        assertEquals((e as LinkOpenError).reason, "missing");
      });
      await t.step("bad input is refused with a clear message", async () => {
        const missing = await cli("link", "/nothing/here");
        assert(missing.code !== 0 && missing.stderr.includes("No file or folder"), missing.stderr);
        const keys = await cli("link", "/.sharing");
        assert(keys.code !== 0 && keys.stderr.includes("never linked"), keys.stderr);
        const bad = await cli("link", "/music", "--expires", "soon");
        assert(bad.code !== 0 && bad.stderr.includes("--expires"), bad.stderr);
      });
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
