/**
 * Resume as a user meets it, with real `mote` processes: an upload over the HTTP API (with an
 * mtime) is cut off by killing the node outright (SIGKILL: nothing is flushed on the way out);
 * after a restart, `mote put` of the same file sends only what was missing and says so, and the
 * file reads back intact. A file that changed meanwhile (same size and mtime) is refused with
 * 409, and the CLI sends it again in full, as a new version.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, type Started, startMote } from "./_process.ts";

const MiB = 1 << 20;

async function sixSuppliers(data: string[]) {
  await waitFor(
    async () => {
      const r = await mote(["suppliers", "--json", ...data]);
      return r.code === 0 &&
        JSON.parse(r.stdout).suppliers.filter((s: { live: boolean }) => s.live).length >= 6;
    },
    60_000,
    "six hired suppliers",
  );
}

/**
 * PUTs `file` with its mtime but sends only the first `part` bytes, waits until the node reports
 * `placed` bytes stored (its progress events), then cuts the upload off: by killing the node, or
 * by the client going away.
 */
async function interruptUpload(
  node: Started,
  dataDir: string,
  file: string,
  remote: string,
  sizes: { part: number; placed: number },
  how: "kill the node" | "drop the connection",
) {
  const token = (await Deno.readTextFile(`${dataDir}/api-token`)).trim();
  const auth = { authorization: `Bearer ${token}` };
  const bytes = await Deno.readFile(file);
  const mtime = (await Deno.stat(file)).mtime!.getTime();
  const events = await fetch(`${node.info.api}/api/v1/events`, { headers: auth });
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent >= sizes.part) return await new Promise(() => {}); // a stalled client
      const chunk = bytes.subarray(sent, Math.min(sizes.part, sent + MiB));
      sent += chunk.length;
      c.enqueue(chunk);
    },
  });
  const ctl = new AbortController();
  const upload = fetch(`${node.info.api}/api/v1/files${remote}`, {
    method: "PUT",
    headers: { ...auth, "x-mote-size": String(bytes.length), "x-mote-mtime": String(mtime) },
    body,
    signal: ctl.signal,
  }).then(() => "answered", () => "cut off");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "", stored = 0;
  const end = Date.now() + 60_000;
  while (stored < sizes.placed && Date.now() < end) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    for (const m of text.matchAll(/event: put:progress\ndata: (.*)\n/g)) {
      stored = Math.max(stored, JSON.parse(m[1]!).bytes);
    }
    text = text.slice(text.lastIndexOf("\n\n") + 1);
  }
  assert(stored >= sizes.placed, `the node stored ${stored} bytes before the cut`);
  if (how === "kill the node") await node.signal("SIGKILL");
  else ctl.abort();
  await reader.cancel().catch(() => {});
  assertEquals(await upload, "cut off");
}

/** A direct PUT of `file` with its mtime; returns the status and the answer. */
async function putDirect(node: Started, dataDir: string, file: string, remote: string) {
  const token = (await Deno.readTextFile(`${dataDir}/api-token`)).trim();
  const res = await fetch(`${node.info.api}/api/v1/files${remote}`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${token}`,
      "x-mote-mtime": String((await Deno.stat(file)).mtime!.getTime()),
    },
    body: await Deno.readFile(file),
  });
  return { status: res.status, body: await res.json() };
}

/** Writes new random bytes of the same size into `file`, keeping its mtime. */
async function changeKeepingMtime(file: string): Promise<Uint8Array> {
  const { mtime, size } = await Deno.stat(file);
  const bytes = randomBytes(size);
  await Deno.writeFile(file, bytes);
  await Deno.utime(file, mtime!, mtime!);
  // Same path, size and mtime: the saved entry matches, so only the content can tell.
  assertEquals((await Deno.stat(file)).mtime!.getTime(), mtime!.getTime());
  return bytes;
}

Deno.test({
  name: "an upload cut off by killing the node resumes after a restart; a changed file starts over",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    const dataDir = `${work}/data`, data = ["--data", dataDir];
    try {
      const v = randomBytes(48 * MiB);
      await Deno.writeFile(`${work}/f.bin`, v);
      {
        const node = await startMote([...data, ...FREE_PORTS]);
        try {
          await sixSuppliers(data);
          const sizes = { part: 32 * MiB, placed: 16 * MiB };
          await interruptUpload(node, dataDir, `${work}/f.bin`, "/f.bin", sizes, "kill the node");
        } finally {
          await node.signal("SIGKILL");
        }
      }
      await using node = await startMote([...data, ...FREE_PORTS]);
      await sixSuppliers(data);

      await t.step("mote put of the same file sends only what was missing", async () => {
        const r = await mote(["put", `${work}/f.bin`, "/f.bin", "-q", ...data], 120_000);
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.startsWith("1 file stored, 0 unchanged, 48 MiB uploaded"), r.stdout);
        const m = /Resumed: ([\d.]+) MiB was already stored by an interrupted put\./.exec(r.stdout);
        assert(m && Number(m[1]) >= 16 && Number(m[1]) < 48, r.stdout);
        const versions = JSON.parse((await mote(["versions", "/f.bin", "--json", ...data])).stdout);
        assertEquals(versions.length, 1);
        assertEquals((await mote(["get", "/f.bin", `${work}/back.bin`, "-q", ...data])).code, 0);
        assertEquals(await Deno.readFile(`${work}/back.bin`), v);
      });

      const g = `${work}/g.bin`, sizes = { part: 12 * MiB, placed: 4 * MiB };
      await Deno.writeFile(g, randomBytes(16 * MiB));

      await t.step(
        "the API answers 409 for a file that changed since its upload began",
        async () => {
          await interruptUpload(node, dataDir, g, "/g.bin", sizes, "drop the connection");
          await changeKeepingMtime(g);
          const r = await putDirect(node, dataDir, g, "/g.bin");
          assertEquals(r.status, 409);
          assert(/source changed/.test(r.body.error), r.body.error);
          // The saved state is gone: sending it again stores it, with nothing resumed.
          const again = await putDirect(node, dataDir, g, "/g.bin");
          assertEquals([again.status, again.body.resumed], [201, 0]);
        },
      );

      await t.step("mote put sends such a file again in full, as a new version", async () => {
        await interruptUpload(node, dataDir, g, "/g.bin", sizes, "drop the connection");
        const changed = await changeKeepingMtime(g);
        const r = await mote(["put", g, "/g.bin", "--json", ...data], 120_000);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(JSON.parse(r.stdout)[0].resumed, 0);
        const versions = JSON.parse((await mote(["versions", "/g.bin", "--json", ...data])).stdout);
        assertEquals(versions.length, 2);
        assertEquals((await mote(["get", "/g.bin", `${work}/g2.bin`, "-q", ...data])).code, 0);
        assertEquals(await Deno.readFile(`${work}/g2.bin`), changed);
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
