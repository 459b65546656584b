/**
 * Write sharing as a user meets it: two real `mote` processes, A (with the embedded network) and
 * B (joined to it). A shares /docs with B for writing; B writes a file with
 * `mote put <local> <A>:/docs/`, A's node merges it (B's hint makes that quick) and both read it
 * back byte for byte; after A revokes B's write, B's put is refused and B still reads.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

Deno.test({
  name: "mote share --write and mote put <id>:/folder/ work end to end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const work = await Deno.makeTempDir();
    const [dataA, dataB] = [`${work}/a`, `${work}/b`];
    try {
      const doc = randomBytes(3000), note = randomBytes(60_000);
      await Deno.writeFile(`${work}/note.bin`, note);
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
      const A = (args: string[]) => mote([...args, "--data", dataA], 60_000);
      const B = (args: string[]) => mote([...args, "--data", dataB], 60_000);
      const token = (await Deno.readTextFile(`${dataA}/api-token`)).trim();
      const put = async (path: string, bytes: Uint8Array) =>
        await fetch(`${a.info.api}/api/v1/files${path}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}` },
          body: bytes as Uint8Array<ArrayBuffer>,
        }).then(async (r) => (await r.body?.cancel(), r.status));
      await waitFor(
        async () => (await put("/docs/doc.bin", doc)) === 201,
        40_000,
        "A's storage to take a put",
        500,
      );
      const idA = a.info.id, idB = b.info.id;
      mark("started, a file stored");

      await t.step("A shares /docs with B for writing", async () => {
        const [both, file] = await Promise.all([
          A(["share", "/docs", "--with", idB, "--read", "--write"]),
          A(["share", "/docs/doc.bin", "--with", idB, "--write"]),
        ]);
        assertNotEquals(both.code, 0);
        assert(both.stderr.includes("--write gives read too"), both.stderr);
        assertNotEquals(file.code, 0);
        assert(file.stderr.includes("Write sharing is for folders"), file.stderr);
        // B's identity document reaches the DHT shortly after it starts.
        let r = await A(["share", "/docs", "--with", idB, "--write", "--cap", "10MiB"]);
        await waitFor(
          async () =>
            r.code === 0 ||
            (r = await A(["share", "/docs", "--with", idB, "--write", "--cap", "10MiB"]))
                .code === 0,
          20_000,
          "B's identity to be found",
          500,
        );
        assert(r.stdout.includes("writable by 1 node(s)"), r.stdout + r.stderr);
        const ls = await A(["share", "ls"]);
        assert(ls.stdout.includes(idB.slice(0, 8)), ls.stdout);
      });
      mark("shared for writing");

      await t.step("B writes into A's folder; both read it", async () => {
        const w = await B(["put", `${work}/note.bin`, `${idA}:/docs/`]);
        assertEquals(w.code, 0, w.stderr);
        assert(w.stdout.includes("written"), w.stdout);
        await waitFor(
          async () => (await A(["get", "/docs/note.bin", `${work}/a-note.bin`])).code === 0,
          45_000,
          "A's node to merge B's file",
          1000,
        );
        assertEquals(await Deno.readFile(`${work}/a-note.bin`), note);
        const [got, outside] = await Promise.all([
          B(["get", `${idA}:/docs/note.bin`, `${work}/b-note.bin`]),
          B(["put", `${work}/note.bin`, `${idA}:/elsewhere/`]),
        ]);
        assertEquals(got.code, 0, got.stderr);
        assertEquals(await Deno.readFile(`${work}/b-note.bin`), note);
        assertNotEquals(outside.code, 0);
        assert(outside.stderr.includes("Permission denied"), outside.stderr);
      });
      mark("written and read");

      await t.step("after A revokes B's write, B's put is refused and B still reads", async () => {
        const r = await A(["share", "/docs", "--with", idB, "--write", "--revoke"]);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes("write key was rotated"), r.stdout);
        const [w, got] = await Promise.all([
          B(["put", `${work}/note.bin`, `${idA}:/docs/again.bin`]),
          B(["get", `${idA}:/docs/doc.bin`, `${work}/b-doc.bin`]),
        ]);
        assertNotEquals(w.code, 0);
        assert(w.stderr.includes("Permission denied"), w.stderr);
        assertEquals(got.code, 0, got.stderr);
        assertEquals(await Deno.readFile(`${work}/b-doc.bin`), doc);
      });
      mark("revoked");
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
