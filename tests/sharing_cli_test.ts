/**
 * Sharing as a user meets it: two real `mote` processes, A (with the embedded network) and B
 * (joined to it). A stores files, makes a group with B in it, gives the group read on /photos
 * through chgrp and chmod, and shares /docs with B; `ls -l` shows modes and groups; B lists and
 * fetches A's shares as `<A>:/…` byte for byte, is refused outside them, and after A revokes
 * /docs is refused there as revoked. The HTTP API refuses bad input with clear statuses.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

Deno.test({
  name: "mote chmod, chgrp, group, share, ls -l and get <id>:/ work end to end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const mark = (what: string) =>
      console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
    const work = await Deno.makeTempDir();
    const [dataA, dataB] = [`${work}/a`, `${work}/b`];
    try {
      const photo = randomBytes(200_000), doc = randomBytes(3000), secret = randomBytes(100);
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
      const api = async (node: typeof a, path: string, init: RequestInit = {}) => {
        const data = node === a ? dataA : dataB;
        const token = (await Deno.readTextFile(`${data}/api-token`)).trim();
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${token}`);
        if (typeof init.body === "string") headers.set("content-type", "application/json");
        return await fetch(`${node.info.api}${path}`, { ...init, headers });
      };
      const put = async (path: string, bytes: Uint8Array) =>
        await api(a, `/api/v1/files${path}`, {
          method: "PUT",
          body: bytes as Uint8Array<ArrayBuffer>,
        }).then(async (r) => (
          await r.body?.cancel(), r.status
        ));
      await waitFor(
        async () => (await put("/photos/photo.bin", photo)) === 201,
        40_000,
        "A's storage to take a put",
        500,
      );
      assertEquals(await put("/docs/doc.bin", doc), 201);
      assertEquals(await put("/secret/s.bin", secret), 201);
      const idB = b.info.id, idA = a.info.id;
      mark("started, files stored");

      await t.step("A makes a group, sets modes and shares", async () => {
        const [created, shared, chmod] = await Promise.all([
          A(["group", "create", "family"]),
          A(["share", "/docs", "--with", idB, "--read"]),
          A(["chmod", "750", "/photos"]),
        ]);
        assertEquals([created.code, shared.code], [0, 0], created.stderr + shared.stderr);
        assertEquals(chmod.stdout.trim(), "/photos: rwxr-x---", chmod.stderr);
        const [added, chgrp] = await Promise.all([
          // B's identity document reaches the DHT shortly after it starts.
          waitFor(
            async () => (await A(["group", "add", "family", idB])).code === 0,
            20_000,
            "B's identity to be found",
            500,
          ),
          A(["chgrp", "family", "/photos"]),
        ]);
        void added;
        assertEquals(chgrp.stdout.trim(), "/photos: group family", chgrp.stderr);
        const ls = await A(["ls", "-l", "/"]);
        assertEquals(ls.code, 0, ls.stderr);
        const line = ls.stdout.split("\n").find((l) => l.endsWith("photos/"))!;
        assert(/^drwxr-x---\s+\S+\s+family\s/.test(line), ls.stdout);
        // Stored before the chmod, photo.bin took the folder's mode then (0700 gives 0600).
        const files = (await (await api(a, "/api/v1/perms/photos")).json()).entries;
        assertEquals([files[0].name, files[0].mode, files[0].group], [
          "photo.bin",
          0o600,
          "family",
        ]);
        const { shares } = await (await api(a, "/api/v1/shares")).json();
        assertEquals(
          shares.map((s: { path: string; readers: string[]; groups: string[] }) => [
            s.path,
            s.readers,
            s.groups,
          ]),
          [["/docs", [idB], []], ["/photos", [], ["family"]]],
        );
      });
      mark("shared");

      await t.step("B reads A's shares as <id>:/… and nothing else", async () => {
        const [root, got, dir] = await Promise.all([
          B(["ls", `${idA}:/`]),
          B(["get", `${idA}:/photos/photo.bin`, `${work}/out.bin`]),
          B(["get", `${idA}:/docs`, `${work}/docs`]),
        ]);
        assertEquals(dir.code, 0, dir.stderr);
        assertEquals(await Deno.readFile(`${work}/docs/doc.bin`), doc);
        assertEquals(root.code, 0, root.stderr);
        assert(/^docs\/\s/m.test(root.stdout) && /^photos\/\s/m.test(root.stdout), root.stdout);
        assertEquals(got.code, 0, got.stderr);
        assertEquals(await Deno.readFile(`${work}/out.bin`), photo);
        const docs = await api(b, `/api/v1/shared/${idA}/files/docs/doc.bin`);
        assertEquals(new Uint8Array(await docs.arrayBuffer()), doc);
        const lsl = (await (await api(b, `/api/v1/shared/${idA}/ls/photos`)).json()).entries;
        assertEquals([lsl[0].mode, lsl[0].group], [0o600, "family"]);
        const denied = await api(b, `/api/v1/shared/${idA}/files/secret/s.bin`);
        assertEquals(denied.status, 403);
        assert((await denied.json()).error.startsWith("Permission denied"));
        const groups = await (await api(b, "/api/v1/groups")).json();
        assertEquals(groups.memberOf.map((g: { name: string }) => g.name), ["family"]);
      });
      mark("read");

      await t.step("after A revokes /docs, B is refused there as revoked", async () => {
        const r = await A(["share", "/docs", "--with", idB, "--revoke"]);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes("cannot be unread"), r.stdout);
        const after = await api(b, `/api/v1/shared/${idA}/ls/docs`);
        assertEquals(after.status, 403);
        assert((await after.json()).error.includes("revoked"));
        const still = await api(b, `/api/v1/shared/${idA}/files/photos/photo.bin`);
        assertEquals(new Uint8Array(await still.arrayBuffer()), photo);
      });
      mark("revoked");

      await t.step("the sharing routes refuse bad input with clear statuses", async () => {
        const post = (path: string, body: unknown) =>
          api(a, path, { method: "POST", body: JSON.stringify(body) })
            .then(async (r) => (await r.body?.cancel(), r.status));
        assertEquals(await post("/api/v1/chmod", { path: "/photos" }), 400);
        assertEquals(await post("/api/v1/chmod", { path: "/photos", mode: "799" }), 400);
        assertEquals(await post("/api/v1/chmod", { path: "/nothing", mode: "700" }), 404);
        assertEquals(await post("/api/v1/shares", { path: "/docs", with: "nobody" }), 400);
        assertEquals(await post("/api/v1/shares", { path: "/.sharing", with: idB }), 400);
        assertEquals(await post("/api/v1/groups", { name: "Bad Name" }), 400);
        assertEquals(
          await post("/api/v1/groups/family/members", { id: "c".repeat(52) }),
          404,
          "an id with no identity document",
        );
        const bad = await api(b, `/api/v1/shared/${"d".repeat(52)}`);
        assertEquals([bad.status, (await bad.json()).error.includes("No node")], [404, true]);
      });
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
