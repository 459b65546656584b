/**
 * Storage as a user meets it: real `mote` processes with the embedded network. A folder goes in
 * and comes back identical, unchanged files are skipped, versions and removal work, the HTTP
 * API refuses bad requests clearly, and a second data dir with only the exported key restores
 * everything through the first node's network.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

async function writeTree(root: string) {
  await Deno.mkdir(`${root}/sub/deep ü`, { recursive: true });
  await Deno.writeFile(`${root}/big.bin`, randomBytes(5 * 1024 * 1024 + 3));
  await Deno.writeTextFile(`${root}/sub/small.txt`, "small file\n");
  await Deno.writeTextFile(`${root}/sub/deep ü/ünïcode name.txt`, "ünïcode\n");
  await Deno.writeFile(`${root}/empty`, new Uint8Array(0));
  // A small site: files too big to inline, packed together rather than sharded one by one.
  await Deno.mkdir(`${root}/site`);
  for (let i = 0; i < 40; i++) {
    await Deno.writeFile(`${root}/site/page-${i}.html`, randomBytes(2000 + i * 97));
  }
}

async function sameTree(a: string, b: string) {
  for await (const e of Deno.readDir(a)) {
    if (e.isDirectory) await sameTree(`${a}/${e.name}`, `${b}/${e.name}`);
    else {assertEquals(
        await Deno.readFile(`${b}/${e.name}`),
        await Deno.readFile(`${a}/${e.name}`),
        `${a}/${e.name}`,
      );}
  }
}

Deno.test({
  name: "mote put, get, ls, versions, rm and restore work end to end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    const [dataA, dataB, src] = [`${work}/a`, `${work}/b`, `${work}/src`];
    try {
      await writeTree(src);
      await using a = await startMote(["--data", dataA, ...FREE_PORTS, "--audit-interval", "1s"]);
      await waitFor(
        async () => {
          const r = await mote(["suppliers", "--json", "--data", dataA]);
          return r.code === 0 &&
            JSON.parse(r.stdout).suppliers.filter((s: { live: boolean }) => s.live).length === 6;
        },
        30_000,
        "six hired suppliers",
      );

      await t.step("a folder goes in, and a second put skips what did not change", async () => {
        const first = await mote(["put", src, "/backup", "--json", "--data", dataA]);
        assertEquals(first.code, 0, first.stderr);
        assertEquals(
          JSON.parse(first.stdout).filter((r: { skipped: boolean }) => !r.skipped).length,
          44,
        );
        const again = await mote(["put", src, "/backup", "--json", "--data", dataA]);
        assertEquals(JSON.parse(again.stdout).every((r: { skipped: boolean }) => r.skipped), true);
        await Deno.writeTextFile(`${src}/sub/small.txt`, "changed!!!\n");
        const changed = await mote(["put", src, "/backup", "--json", "--data", dataA]);
        assertEquals(
          JSON.parse(changed.stdout).filter((r: { skipped: boolean }) => !r.skipped).map((
            r: { path: string },
          ) => r.path),
          ["/backup/sub/small.txt"],
        );
      });

      await t.step("mote health shows every supplier audited, and nothing to rebuild", async () => {
        type Health = {
          audit: { interval: number; rounds: number; checked: number };
          suppliers: { state: string; hired: boolean; lastAuditOk: boolean | null }[];
          repair: { pendingShards: number };
        };
        let h: Health | undefined;
        await waitFor(
          async () => {
            h = JSON.parse((await mote(["health", "--json", "--data", dataA])).stdout) as Health;
            const hired = h.suppliers.filter((s) => s.hired);
            return hired.length === 6 && hired.every((s) => s.lastAuditOk === true);
          },
          30_000,
          "an audit of every hired supplier",
        );
        assertEquals(h!.audit.interval, 1000);
        assert(h!.audit.checked > 0, "shards were checked");
        assertEquals(h!.repair.pendingShards, 0);
        const text = await mote(["health", "--data", dataA]);
        assertEquals(text.code, 0, text.stderr);
        assert(text.stdout.startsWith("Audits every 1s"), text.stdout);
        assert(text.stdout.includes("Fully redundant"), text.stdout);
      });

      await t.step("ls, versions and get show and return exactly what was stored", async () => {
        const ls = JSON.parse((await mote(["ls", "/backup", "--json", "--data", dataA])).stdout);
        assertEquals(ls.map((e: { name: string }) => e.name), ["big.bin", "empty", "site", "sub"]);
        const packed = JSON.parse(
          (await mote(["versions", "/backup/site/page-7.html", "--json", "--data", dataA])).stdout,
        );
        assertEquals(packed[0].stored, "packed");
        const r = await fetch(`${a.info.api}/api/v1/files/backup/site/page-7.html`, {
          headers: { range: "bytes=100-199" },
        });
        assertEquals(r.status, 206);
        assertEquals(
          new Uint8Array(await r.arrayBuffer()),
          (await Deno.readFile(`${src}/site/page-7.html`)).subarray(100, 200),
        );
        const versions = JSON.parse(
          (await mote(["versions", "/backup/sub/small.txt", "--json", "--data", dataA])).stdout,
        );
        assertEquals(versions.length, 2);
        const got = await mote(["get", "/backup", `${work}/out`, "-q", "--data", dataA]);
        assertEquals(got.code, 0, got.stderr);
        await sameTree(src, `${work}/out`);
        const old = await mote([
          "get",
          "/backup/sub/small.txt",
          `${work}/old.txt`,
          "--version",
          "1",
          "-q",
          "--data",
          dataA,
        ]);
        assertEquals(old.code, 0, old.stderr);
        assertEquals(await Deno.readTextFile(`${work}/old.txt`), "small file\n");
      });

      await t.step("the HTTP API refuses bad requests with clear statuses", async () => {
        const token = (await Deno.readTextFile(`${dataA}/api-token`)).trim();
        const h = { authorization: `Bearer ${token}` };
        const api = a.info.api;
        const put = (path: string, headers: Record<string, string> = {}) =>
          fetch(`${api}/api/v1/files/${path}`, {
            method: "PUT",
            headers: { ...h, ...headers },
            body: "x",
          });
        assertEquals(
          await put("x.txt", { "content-length": "" }).then((r) => (r.body?.cancel(), r.status)),
          201,
        );
        for (const bad of ["..%2f..%2fetc%2fpasswd", "a/..%2fb", "a%00b", "%zz"]) {
          const r = await put(bad);
          assertEquals(r.status, 400, bad);
          await r.body?.cancel();
        }
        const missing = await fetch(`${api}/api/v1/files/backup/nope.bin`);
        assertEquals(missing.status, 404);
        await missing.body?.cancel();
        const r416 = await fetch(`${api}/api/v1/files/backup/big.bin`, {
          headers: { range: "bytes=99999999-" },
        });
        assertEquals(r416.status, 416);
        await r416.body?.cancel();
        const r206 = await fetch(`${api}/api/v1/files/backup/big.bin`, {
          headers: { range: "bytes=10-19" },
        });
        assertEquals(r206.status, 206);
        assertEquals((await r206.arrayBuffer()).byteLength, 10);
        const batch = (body: BodyInit) =>
          fetch(`${api}/api/v1/batch/backup`, { method: "POST", headers: h, body }).then(
            async (r) => (await r.body?.cancel(), r.status),
          );
        assertEquals(await batch("not a form"), 400);
        const mismatched = new FormData();
        mismatched.set("meta", JSON.stringify([{ name: "a" }, { name: "b" }]));
        mismatched.append("file", new Blob(["x"]));
        assertEquals(await batch(mismatched), 400);
        const traversal = new FormData();
        traversal.set("meta", JSON.stringify([{ name: ".." }]));
        traversal.append("file", new Blob(["x".repeat(2000)]));
        assertEquals(await batch(traversal), 400);
        const huge = new FormData();
        huge.set("meta", JSON.stringify([{ name: "h" }]));
        huge.append("file", new Blob([new Uint8Array(21 << 20)]));
        assertEquals(await batch(huge), 413);
        const noToken = await fetch(`${api}/api/v1/files/x.txt`, { method: "DELETE" });
        assertEquals(noToken.status, 401);
        await noToken.body?.cancel();
      });

      await t.step("rm removes a file", async () => {
        assertEquals((await mote(["rm", "/backup/empty", "--data", dataA])).code, 0);
        const ls = JSON.parse((await mote(["ls", "/backup", "--json", "--data", dataA])).stdout);
        assertEquals(ls.map((e: { name: string }) => e.name), ["big.bin", "site", "sub"]);
        const gone = await mote(["get", "/backup/empty", `${work}/e`, "--data", dataA]);
        assertEquals(gone.code, 1);
        assert(gone.stderr.includes("404"), gone.stderr);
      });

      await t.step(
        "mote suppliers --count 4 moves stored files to 2+2 in the background",
        async () => {
          const set = await mote(["suppliers", "--count", "4", "--data", dataA]);
          assertEquals(set.code, 0, set.stderr);
          assert(set.stdout.includes("New files use 2+2 now"), set.stdout);
          await waitFor(
            async () => {
              const m = JSON.parse((await mote(["suppliers", "--json", "--data", dataA])).stdout)
                .migration;
              return m.code === "2+2" && m.state === "idle" && m.files === 0 && m.folders === 0;
            },
            60_000,
            "the migration to 2+2",
          );
          const shown = await mote(["suppliers", "--data", dataA]);
          assert(shown.stdout.startsWith("New files use 2+2 over 4 suppliers"), shown.stdout);
          assert(!shown.stdout.includes("Migrating"), shown.stdout);
          const log = await Deno.readTextFile(`${dataA}/logs/mote.log`);
          assert(
            /erasure map migration pass finished code=2\+2 files=[1-9]/.test(log),
            "no pass in the log",
          );
          const got = await mote([
            "get",
            "/backup/big.bin",
            `${work}/big.bin`,
            "-q",
            "--data",
            dataA,
          ]);
          assertEquals(got.code, 0, got.stderr);
          assertEquals(
            await Deno.readFile(`${work}/big.bin`),
            await Deno.readFile(`${src}/big.bin`),
          );
        },
      );

      await t.step("a fresh data dir with only the key file restores every file", async () => {
        assertEquals((await mote(["key", "export", `${work}/me.key`, "--data", dataA])).code, 0);
        const boot = a.info.addresses.find((x) => !x.includes("/ws"))!;
        const r = await mote(
          [
            "restore",
            "--key",
            `${work}/me.key`,
            "--to",
            `${work}/restored`,
            "--bootstrap",
            boot,
            "-q",
            ...FREE_PORTS,
            "--data",
            dataB,
          ],
          120_000,
        );
        assertEquals(r.code, 0, r.stderr + r.stdout);
        assert(r.stdout.includes("Found the catalog"), r.stdout);
        await Deno.remove(`${src}/empty`);
        await sameTree(src, `${work}/restored/backup`);
        assertEquals((await mote(["id", "--data", dataB])).stdout.trim(), a.info.id);
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
