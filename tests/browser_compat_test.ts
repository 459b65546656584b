/**
 * Modules marked "This module is browser compatible." are type-checked without Deno's types
 * (deno.browser.json: DOM and ES libraries only), so a stray `Deno.*` cannot slip into code that
 * the browser UI, the world client and edge gateways will import.
 */
import { assert, assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function markedFiles(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(ROOT + dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await markedFiles(path, out);
    else if (e.name.endsWith(".ts")) {
      const head = (await Deno.readTextFile(ROOT + path)).slice(0, 200);
      if (head.includes("This module is browser compatible.")) out.push(path);
    }
  }
  return out;
}

Deno.test("deno.browser.json uses the same pinned imports as deno.json", async () => {
  const main = JSON.parse(await Deno.readTextFile(ROOT + "deno.json"));
  const browser = JSON.parse(await Deno.readTextFile(ROOT + "deno.browser.json"));
  assertEquals(browser.imports, main.imports, "copy deno.json's imports into deno.browser.json");
});

Deno.test("browser-compatible modules type-check without Deno's types", async () => {
  const files = [...await markedFiles("src"), ...await markedFiles("gateway")];
  assert(files.length >= 10, `expected the marked modules, found ${files.length}`);
  // The public gateway also runs at the edge (gateway/edge.ts, which `deno task check:edge`
  // checks with everything it imports): these must stay marked (and so checked).
  for (
    const f of [
      "gateway/public.ts",
      "gateway/sites.ts",
      "gateway/site_source.ts",
      "gateway/shards.ts",
      "gateway/edge.ts",
      "gateway/edge_reader.ts",
      "gateway/edge_records.ts",
      "gateway/edge_cache.ts",
      "src/files/get.ts",
    ]
  ) {
    assert(files.includes(f), `${f} lost its "This module is browser compatible." line`);
  }
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", "deno.browser.json", ...files],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assertEquals(
    r.code,
    0,
    err.split("\n").filter((l) => /ERROR|error/.test(l)).slice(0, 10).join("\n"),
  );
});
