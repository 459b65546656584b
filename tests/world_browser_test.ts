/**
 * The generator's determinism across engines: worlds/mod.ts bundled for the browser
 * (`deno bundle --platform browser`) generates the known-answer chunks in real Chromium, on the
 * page and in a module Web Worker (where the world client will generate), and the SHA-256 of each
 * encoded chunk (WebCrypto in the page) equals Deno's and the stored vector. The page also decodes
 * a chunk Deno encoded and encodes it back to the same bytes.
 */
import { encodeChunk, generateChunk } from "../worlds/mod.ts";
import { assertEquals } from "./_assert.ts";
import { launchBrowser } from "./_browser.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const VECTORS = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/world_chunks.json", import.meta.url)),
) as { chunks: { seed: number; x: number; z: number; sha256: string }[] };
const POINTS = VECTORS.chunks.map(({ seed, x, z }) => [seed, x, z]);

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bundles worlds/mod.ts the way the project builds browser code (see src/node/web_bundle.ts). */
async function bundle(dir: string): Promise<Uint8Array> {
  const out = `${dir}/worlds.js`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--config",
      `${ROOT}deno.json`,
      "--output",
      out,
      `${ROOT}worlds/mod.ts`,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  assertEquals(r.code, 0, `deno bundle failed: ${new TextDecoder().decode(r.stderr)}`);
  return await Deno.readFile(out);
}

// Runs on the page and in the worker (as source text), so both compute hashes the same way.
const HASHES = `async function hashes(W, points) {
  const out = [];
  for (const [seed, x, z] of points) {
    const bytes = W.encodeChunk(W.generateChunk({ seed }, x, z));
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    out.push([...d].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>worlds</title><script type="module">
import * as W from "/worlds.js";
${HASHES}
globalThis.onPage = (points) => hashes(W, points);
globalThis.inWorker = (points) => new Promise((resolve, reject) => {
  const worker = new Worker("/worker.js", { type: "module" });
  worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
  worker.onerror = (e) => { worker.terminate(); reject(new Error(e.message)); };
  worker.postMessage(points);
});
globalThis.roundTrip = async () => {
  const bytes = new Uint8Array(await (await fetch("/chunk.bin")).arrayBuffer());
  const again = W.encodeChunk(W.decodeChunk(bytes));
  return again.length === bytes.length && again.every((b, i) => b === bytes[i]);
};
globalThis.ready = true;
</script>`;

const WORKER = `import * as W from "/worlds.js";
${HASHES}
self.onmessage = async (e) => self.postMessage(await hashes(W, e.data));`;

Deno.test({
  name: "Chromium generates the same chunk bytes as Deno, on the page and in a Web Worker",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const expected = [];
    for (const [seed, x, z] of POINTS) {
      expected.push(await sha256Hex(encodeChunk(generateChunk({ seed: seed! }, x!, z!))));
    }
    assertEquals(expected, VECTORS.chunks.map((c) => c.sha256), "Deno agrees with the vectors");
    const dir = await Deno.makeTempDir();
    const sample = encodeChunk(generateChunk({ seed: 7 }, -56, -168));
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
    try {
      const js = await bundle(dir);
      const files: Record<string, [string, BodyInit]> = {
        "/": ["text/html", PAGE],
        "/worlds.js": ["text/javascript", js as Uint8Array<ArrayBuffer>],
        "/worker.js": ["text/javascript", WORKER],
        "/chunk.bin": ["application/octet-stream", sample as Uint8Array<ArrayBuffer>],
      };
      server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
        const file = files[new URL(req.url).pathname];
        if (!file) return new Response("not found", { status: 404 });
        return new Response(file[1], { headers: { "content-type": file[0] } });
      });
      browser = await launchBrowser();
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForFunction("globalThis.ready === true", undefined, { timeout: 15_000 });
      const onPage = await page.evaluate(`onPage(${JSON.stringify(POINTS)})`);
      assertEquals(onPage, expected, "hashes computed on the page");
      const inWorker = await page.evaluate(`inWorker(${JSON.stringify(POINTS)})`);
      assertEquals(inWorker, expected, "hashes computed in a Web Worker");
      assertEquals(await page.evaluate("roundTrip()"), true, "the page re-encodes Deno's chunk");
      assertEquals(problems, [], "no errors on the page");
    } finally {
      await browser?.close();
      await server?.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
