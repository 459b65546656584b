/**
 * Write sharing as a user meets it: two real `mote` processes, A (with the embedded network) and
 * B (joined to it). A shares /docs with B for writing; B writes a file with
 * `mote put <local> <A>:/docs/`, A's node merges it (B's hint makes that quick) and both read it
 * back byte for byte; after A revokes B's write, B's put is refused and B still reads.
 *
 * Then "others: write": `mote chmod 777 /inbox --cap 2MiB` says who may write and under what cap;
 * B, named nowhere for /inbox, writes with `mote put <local> <A>:/inbox/`, A's node merges it and
 * both read it back; `mote chmod 755 /inbox` takes write away (B's next put is refused, B still
 * reads). o+w on a file, o+w without o+r, and a cap without o+w are refused with clear errors.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

Deno.test({
  name: "mote share --write, chmod o+w --cap and mote put <id>:/folder/ work end to end",
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

      // "Others: write": a folder anyone may write to, under a cap.
      assertEquals(await put("/inbox/doc.bin", doc), 201);
      await t.step("chmod refuses o+w on a file, without o+r, and a cap without o+w", async () => {
        const [file, drop, cap] = await Promise.all([
          A(["chmod", "666", "/inbox/doc.bin"]),
          A(["chmod", "773", "/inbox"]),
          A(["chmod", "755", "/inbox", "--cap", "1MiB"]),
        ]);
        assertNotEquals(file.code, 0);
        assert(file.stderr.includes("Others may write only to folders"), file.stderr);
        assertNotEquals(drop.code, 0);
        assert(drop.stderr.includes("drop box (write without read)"), drop.stderr);
        assertNotEquals(cap.code, 0);
        assert(cap.stderr.includes("--cap goes with a mode that gives others write"), cap.stderr);
        const bad = await A(["chmod", "777", "/inbox", "--cap", "lots"]);
        assertNotEquals(bad.code, 0);
        assert(bad.stderr.includes("--cap"), bad.stderr);
      });

      await t.step("chmod 777 --cap says that anyone may write, and under what cap", async () => {
        const r = await A(["chmod", "777", "/inbox", "--cap", "2MiB"]);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes("/inbox: rwxrwxrwx"), r.stdout);
        assert(r.stdout.includes("Anyone may write files into /inbox: at most 2"), r.stdout);
        assert(r.stdout.includes("on each of your suppliers"), r.stdout);
        const ls = await A(["share", "ls"]);
        assert(/\/inbox .*everyone.*2(\.0)? MiB/.test(ls.stdout), ls.stdout);
      });
      mark("others may write");

      await t.step(
        "B, named nowhere for /inbox, writes into A's folder; both read it",
        async () => {
          // A's share record reaches B through the DHT: try until B finds /inbox writable.
          let w = await B(["put", `${work}/note.bin`, `${idA}:/inbox/`]);
          await waitFor(
            async () =>
              w.code === 0 ||
              (w = await B(["put", `${work}/note.bin`, `${idA}:/inbox/`])).code === 0,
            30_000,
            "B to write into A's /inbox",
            1000,
          );
          assert(w.stdout.includes("written"), w.stdout);
          await waitFor(
            async () => (await A(["get", "/inbox/note.bin", `${work}/a-inbox.bin`])).code === 0,
            45_000,
            "A's node to merge B's file",
            1000,
          );
          assertEquals(await Deno.readFile(`${work}/a-inbox.bin`), note);
          const got = await B(["get", `${idA}:/inbox/note.bin`, `${work}/b-inbox.bin`]);
          assertEquals(got.code, 0, got.stderr);
          assertEquals(await Deno.readFile(`${work}/b-inbox.bin`), note);
        },
      );
      mark("written and read");

      await t.step("chmod 755 takes write away: B's put is refused, B still reads", async () => {
        const r = await A(["chmod", "755", "/inbox"]);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes("Others may no longer write to /inbox"), r.stdout);
        const [w, got] = await Promise.all([
          B(["put", `${work}/note.bin`, `${idA}:/inbox/again.bin`]),
          B(["get", `${idA}:/inbox/doc.bin`, `${work}/b-inbox-doc.bin`]),
        ]);
        assertNotEquals(w.code, 0);
        assert(w.stderr.includes("Permission denied"), w.stderr);
        assertEquals(got.code, 0, got.stderr);
        assertEquals(await Deno.readFile(`${work}/b-inbox-doc.bin`), doc);
      });
      mark("write taken away");
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
