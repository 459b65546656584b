/**
 * An upload interrupted with Ctrl-C changes nothing: the previous version stays the newest and
 * reads back intact, and running the same command again completes the new version, resuming it
 * (what the node had stored before the Ctrl-C is not sent again).
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

Deno.test({
  name: "Ctrl-C during mote put leaves the catalog as it was, and the put can simply be run again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      await using node = await startMote(["--data", `${work}/data`, ...FREE_PORTS]);
      const data = ["--data", `${work}/data`];
      await waitFor(
        async () => {
          const r = await mote(["suppliers", "--json", ...data]);
          return r.code === 0 && JSON.parse(r.stdout).suppliers.length >= 6;
        },
        30_000,
        "six hired suppliers",
      );
      // Large enough that the first progress line (after 2 s) comes well before the end.
      const v1 = randomBytes(1 << 20), v2 = randomBytes(192 << 20);
      await Deno.writeFile(`${work}/f.bin`, v1);
      assertEquals((await mote(["put", `${work}/f.bin`, "/f.bin", "-q", ...data])).code, 0);

      await Deno.writeFile(`${work}/f.bin`, v2);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MOD, "put", `${work}/f.bin`, "/f.bin", ...data],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      // Interrupt once the node reports some blocks stored (its progress events) and the first
      // progress line shows the upload under way.
      const token = (await Deno.readTextFile(`${work}/data/api-token`)).trim();
      const events = await fetch(`${node.info.api}/api/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const progress = events.body!.pipeThrough(new TextDecoderStream()).getReader();
      const until = Date.now() + 60_000;
      for (let text = "", stored = 0; stored < 8 << 20 && Date.now() < until;) {
        const { value, done } = await progress.read();
        if (done) break;
        text = (text + value).slice(-4096);
        for (const m of text.matchAll(/event: put:progress\ndata: (.*)\n/g)) {
          stored = Math.max(stored, JSON.parse(m[1]!).bytes);
        }
      }
      await progress.cancel();
      const reader = child.stderr.getReader();
      let err = "";
      const deadline = Date.now() + 30_000;
      while (!/\d+%/.test(err) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        err += new TextDecoder().decode(value);
      }
      child.kill("SIGINT");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        err += new TextDecoder().decode(value);
      }
      const { code } = await child.status;
      await child.stdout.cancel();
      assertEquals(code, 1, err);
      assert(err.includes("Cancelled"), err);

      const versions = JSON.parse((await mote(["versions", "/f.bin", "--json", ...data])).stdout);
      assertEquals(versions.length, 1, "the interrupted upload added no version");
      assertEquals((await mote(["get", "/f.bin", `${work}/back.bin`, "-q", ...data])).code, 0);
      assertEquals(await Deno.readFile(`${work}/back.bin`), v1);

      const again = await mote(["put", `${work}/f.bin`, "/f.bin", "-q", ...data], 120_000);
      assertEquals(again.code, 0, again.stderr);
      assert(/Resumed: [\d.]+ MiB was already stored/.test(again.stdout), again.stdout);
      assertEquals(
        JSON.parse((await mote(["versions", "/f.bin", "--json", ...data])).stdout).length,
        2,
      );
      assertEquals((await mote(["get", "/f.bin", `${work}/back2.bin`, "-q", ...data])).code, 0);
      assertEquals(await Deno.readFile(`${work}/back2.bin`), v2);
      assert(node.info.pid > 0);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
