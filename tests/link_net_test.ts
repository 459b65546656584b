/**
 * Quick links end to end on real nodes: an owner with 6 suppliers links a file and a folder
 * (stored, inline and packed files), makes a link that expires and one it removes, then stores a
 * new version of the linked file, prunes the linked one (the link pins its shards) and switches
 * off. Another node's public gateway, served over real HTTP with every request logged, and an
 * edge gateway (`createEdgeApp`, seeded with node gateways) serve `/l/`; Chromium opens the links
 * there and downloads the exact bytes (the snapshot's, not the later version). A wrong key, a
 * damaged fragment, an expired link and a removed one each show their own message; the owner's
 * node deleted the expired link's shards itself; every supplier's keep list names the live
 * links' snapshot objects; and no request the gateway saw carries the fragment.
 */
import { createEdgeApp } from "../gateway/edge.ts";
import { LINK_PAGE_CSP } from "../gateway/links.ts";
import { createPublicApp } from "../gateway/mod.ts";
import { randomBytes, sha256 } from "../src/crypto/hash.ts";
import { toHex, utf8 } from "../src/encoding/bytes.ts";
import type { MoteNode } from "../src/node/node.ts";
import { createLink } from "../src/node/links.ts";
import { nodeRecordSource } from "../src/node/run.ts";
import { NodeShardSource } from "../src/node/shard_source.ts";
import { linkPageBundle } from "../src/node/web_bundle.ts";
import { decodeCapability, encodeCapability } from "../src/sharing/link.ts";
import type { Supplier } from "../src/suppliers/mod.ts";
import type { Browser, Page } from "playwright-core";
import { assert, assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { chunks, startOwner, startSupplier } from "./_storage_net.ts";

type Handler = (req: Request) => Response | Promise<Response>;

/** Serves `handler` on 127.0.0.1 (a port the system picks), logging every request as received. */
function serve(handler: Handler, log: string[]) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    log.push(`${req.method} ${req.url} ${JSON.stringify([...req.headers])}`);
    return handler(req);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

const hex = async (b: Uint8Array) => toHex(await sha256(b));

/** The page's status once it settled: state, reason and text. */
async function settled(page: Page): Promise<{ state: string; reason: string; text: string }> {
  await page.waitForSelector("#status[data-state=ready], #status[data-state=error]", {
    timeout: 90_000,
  });
  const [state, reason, text] = await Promise.all([
    page.getAttribute("#status", "data-state"),
    page.getAttribute("#status", "data-reason"),
    page.textContent("#status"),
  ]);
  return { state: state ?? "", reason: reason ?? "", text: text ?? "" };
}

/** Clicks the download button of `path` and answers the downloaded file's hash. */
async function download(page: Page, path: string): Promise<string> {
  const failed = page.waitForSelector("#status[data-state=error]", { timeout: 120_000 })
    .then(async () => {
      throw new Error(`The download of ${path} failed: ${await page.textContent("#status")}`);
    });
  failed.catch(() => {});
  const [d] = await Promise.race([
    Promise.all([
      page.waitForEvent("download", { timeout: 120_000 }),
      page.click(`button[data-path="${path}"]`),
    ]),
    failed,
  ]);
  assertEquals(d.suggestedFilename(), path.split("/").pop());
  return await hex(await Deno.readFile((await d.path())!));
}

Deno.test({
  name: "a quick link opens in the browser on any gateway, with the owner offline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8, { republishInterval: 2_000 });
    const [ownerNode, visitor, ...rest] = cluster.nodes;
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    const servers: Deno.HttpServer[] = [];
    const cacheDir = await Deno.makeTempDir();
    let browser: Browser | undefined;
    try {
      // The page's bundle builds (a `deno bundle` subprocess) while the network starts.
      const assets = linkPageBundle({ cacheDir });
      const built = assets.load();
      built.catch(() => {});
      const { storage, catalog } = await startOwner(ownerNode!, { blockSize: 64 * 1024 });
      const photo = randomBytes(150_000); // 3 blocks of 64 KiB
      await catalog.put("/photo.jpg", chunks(photo), photo.length);
      const report = randomBytes(100_000);
      await catalog.put("/docs/report.pdf", chunks(report), report.length);
      const note = utf8("a note kept inline");
      await catalog.put("/docs/note.txt", chunks(note), note.length);
      const css = utf8("body{color:#333}".repeat(200)); // 3.2 KB: packed
      await catalog.putBatch("/docs/site", [{ name: "style.css", bytes: css }]);

      const gateway = "http://gateway.invalid"; // replaced below by where the page is opened
      const fileLink = await createLink(storage, "/photo.jpg", { gateway });
      const folderLink = await createLink(storage, "/docs", { gateway });
      assertEquals(folderLink.link.files, 3);
      const expiring = await createLink(storage, "/photo.jpg", {
        gateway,
        // Long enough that its shards are surely stored before it runs out on a loaded machine.
        expires: Date.now() + 10_000,
      });
      const expiringHeld = await heldAnywhere(suppliers, ownerNode!.id, expiring.link.shards);
      const removed = await createLink(storage, "/docs/note.txt", { gateway });

      await t.step("link rm deletes the snapshot's shards from the suppliers", async () => {
        await storage.links.remove(removed.link.id);
        assertEquals(await heldAnywhere(suppliers, ownerNode!.id, removed.link.shards), 0);
      });
      await t.step("the owner's node deletes an expired link's shards itself", async () => {
        assert(expiringHeld > 0, "the expiring link's shards were stored");
        // The book forgets the link once every supplier answered the deletes.
        await waitFor(
          async () =>
            !storage.links.list().some((l) => l.id === expiring.link.id) &&
            await heldAnywhere(suppliers, ownerNode!.id, expiring.link.shards) === 0,
          60_000,
          "the expired link's shards to be deleted",
        );
      });

      // A later version of the linked file: links are snapshots, it must not show through.
      const photo2 = randomBytes(150_000);
      await catalog.put("/photo.jpg", chunks(photo2), photo2.length);
      // Pruning the linked version leaves its shards: the link pins them.
      assertEquals(await catalog.prune("/photo.jpg", 1), 1);
      await t.step("every supplier's keep list names the snapshot objects", async () => {
        await catalog.publishKeepList();
        for (const s of suppliers) {
          const c = s.contracts.all().find((c) => c.terms.customer === ownerNode!.id)!;
          const list = await s.keeps.complete(ownerNode!.id, c.customerKey);
          assert(list, "a complete keep list");
          for (const l of [fileLink, folderLink]) {
            assert(l.link.shards.every((id) => list.ids.has(id)), "the link's shards are kept");
          }
          assert(!removed.link.shards.some((id) => list.ids.has(id)), "a removed link is not");
        }
      });
      await storage.stop();
      await ownerNode!.stop();
      browser = await launchBrowser();

      await built;
      const visitorLog: string[] = [];
      const gw = serve(gatewayOf(visitor!, null, assets), visitorLog);
      const seeds = [gw, ...suppliers.slice(0, 2).map((s) => serve(gatewayOf(s.node, s), []))];
      servers.push(...seeds.map((s) => s.server));
      const edgeLog: string[] = [];
      const edge = serve(
        createEdgeApp({ seeds: seeds.map((s) => s.url), linkPage: assets }).fetch,
        edgeLog,
      );
      servers.push(edge.server);
      const at = (base: string, url: string) => base + url.slice(gateway.length);
      const context = await browser.newContext({ acceptDownloads: true });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));

      await t.step("a file link downloads the linked version's exact bytes", async () => {
        const res = await page.goto(at(gw.url, fileLink.url));
        assertEquals(res?.headers()["content-security-policy"], LINK_PAGE_CSP);
        assertEquals(res?.headers()["referrer-policy"], "no-referrer");
        const s = await settled(page);
        assertEquals([s.state, s.reason], ["ready", ""], s.text);
        assertEquals(await download(page, "photo.jpg"), await hex(photo));
      });
      await t.step("a folder link lists and downloads each file", async () => {
        await page.goto(at(gw.url, folderLink.url));
        assertEquals((await settled(page)).state, "ready");
        const listed = await page.locator("button[data-path]").evaluateAll((b) =>
          b.map((x) => x.getAttribute("data-path"))
        );
        assertEquals(listed.sort(), ["note.txt", "report.pdf", "site/style.css"]);
        assertEquals(await download(page, "report.pdf"), await hex(report));
        assertEquals(await download(page, "note.txt"), await hex(note));
        assertEquals(await download(page, "site/style.css"), await hex(css));
      });
      await t.step("a wrong key, a damaged link, an expired and a removed one say so", async () => {
        const cap = decodeCapability(fileLink.url.split("#")[1]!);
        const key = cap.key.slice();
        key[0]! ^= 1;
        const cases: [string, string][] = [
          [`${gw.url}/l/#${encodeCapability({ ...cap, key })}`, "wrong-key"],
          [`${gw.url}/l/#${fileLink.url.split("#")[1]!.slice(0, 40)}`, "damaged"],
          [at(gw.url, expiring.url), "expired"],
          [at(gw.url, removed.url), "missing"],
        ];
        for (const [url, reason] of cases) {
          await page.goto("about:blank");
          await page.goto(url);
          const s = await settled(page);
          assertEquals([s.state, s.reason], ["error", reason], s.text);
          assert(s.text.length > 20, `a message for people: ${s.text}`);
        }
      });
      await t.step("the edge entry serves the page and the shards it reads", async () => {
        await page.goto(at(edge.url, folderLink.url));
        assertEquals((await settled(page)).state, "ready");
        assertEquals(await download(page, "report.pdf"), await hex(report));
      });
      await t.step("no request the gateways saw carries a fragment or a key", () => {
        const secrets = [fileLink, folderLink, expiring, removed].flatMap((l) => {
          const frag = l.url.split("#")[1]!;
          return [frag, frag.slice(0, 24), toHex(decodeCapability(frag).key)];
        });
        for (const line of [...visitorLog, ...edgeLog]) {
          assert(!line.includes("#"), `a request carried a fragment: ${line.slice(0, 200)}`);
          for (const s of secrets) assert(!line.includes(s), `a request leaked the link: ${line}`);
        }
        const paths = visitorLog.map((l) => new URL(l.split(" ")[1]!).pathname);
        assert(paths.includes("/l/") && paths.some((p) => p.startsWith("/shards/")));
        assert(
          paths.every((p) => /^\/(l\/(link-[0-9a-f]{16}\.js)?|shards\/[a-z2-7]{52})$/.test(p)),
        );
      });
      assertEquals(errors, []);
      await context.close();
    } finally {
      await browser?.close();
      await Promise.all(servers.map((s) => s.shutdown()));
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});

/** A node's public gateway as `mote start` builds it (sites left out), with the link page. */
function gatewayOf(
  node: MoteNode,
  supplier: Supplier | null,
  linkPage?: ReturnType<typeof linkPageBundle>,
): Handler {
  const app = createPublicApp({
    info: () => ({ id: node.id, version: "test" }),
    records: nodeRecordSource(node),
    shards: new NodeShardSource(node, { supplier }),
    ...(linkPage ? { linkPage } : {}),
  });
  return (req) => app.fetch(req);
}

/** How many of `ids` the suppliers still hold for `owner`, counting each copy. */
async function heldAnywhere(suppliers: Supplier[], owner: string, ids: string[]) {
  let n = 0;
  for (const s of suppliers) {
    for (const id of new Set(ids)) if (await s.store.has(owner, id)) n++;
  }
  return n;
}
