/**
 * The node's V8 flags (`src/node/v8_flags.ts`): `deno task start` and `deno task mote` pass exactly
 * them, and under them the data path's collections (`src/files/_collect.ts`) are really asked for.
 */
import { NODE_V8_FLAGS } from "../src/node/v8_flags.ts";
import { assert, assertEquals } from "./_assert.ts";

Deno.test("the start and mote tasks run with the node's V8 flags", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  for (const task of ["start", "mote"]) {
    const words = String(config.tasks[task]).split(" ");
    assert(words.includes(NODE_V8_FLAGS), `deno task ${task}: ${config.tasks[task]}`);
    assert(words.indexOf(NODE_V8_FLAGS) < words.indexOf("mod.ts"), "flags before the script");
  }
});

Deno.test("under those flags a put's bytes ask V8 for collections; without them nothing", async () => {
  const collect = new URL("../src/files/_collect.ts", import.meta.url).href;
  // Counts the collections asked for while 256 MiB are noted as moved.
  const code = `
    let asked = 0;
    const real = globalThis.gc;
    if (real) globalThis.gc = (o) => (asked++, real(o));
    const { noteMoved, COLLECT_EVERY } = await import(${JSON.stringify(collect)});
    for (let i = 0; i < 64; i++) noteMoved(4 << 20);
    console.log(JSON.stringify({ asked, expected: (256 << 20) / COLLECT_EVERY }));
  `;
  const run = async (flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", ...flags, code],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert(out.success, "the child ran");
    return JSON.parse(new TextDecoder().decode(out.stdout).trim());
  };
  const on = await run([NODE_V8_FLAGS]);
  assertEquals(on.asked, on.expected);
  assertEquals((await run([])).asked, 0);
});
