/**
 * Scrubbers as a user meets them: a real `mote start` with the embedded network (whose nodes all
 * offer scrub duty), driven through `mote scrub hire|ls|revoke` and the HTTP API. Tickets are
 * issued, the scrubbers report rounds over the owner's data, a revoked ticket shows as revoked,
 * fewer scrubbers than asked is said plainly, and bad input is refused with clear messages.
 */
import { assert, assertEquals } from "./_assert.ts";
import { sleep, waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, startMote } from "./_process.ts";

interface Row {
  id: string;
  scrubber: string;
  state: string;
  expiry: number;
  report: { rounds: number; shards: number; lastRound: number | null } | null;
}
interface View {
  tickets: Row[];
  settings: { expiry: number; maxContracts: number; maxQuota: number };
  wanted: number;
}

const DAY = 86_400_000;

Deno.test({
  name: "mote scrub hires scrubbers that report rounds, lists and revokes them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = await Deno.makeTempDir();
    const data = `${work}/data`;
    try {
      await Deno.writeTextFile(`${work}/small.txt`, "kept whole while the owner is away\n");
      await using node = await startMote([
        "--data",
        data,
        ...FREE_PORTS,
        "--audit-interval",
        "2s",
        "--lost-after",
        "5s",
      ]);
      const api = node.info.api;
      const cli = (...args: string[]) => mote([...args, "--data", data], 60_000);
      const view = async () => {
        const r = await cli("scrub", "ls", "--json");
        assertEquals(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as View;
      };
      // Storage is ready once a put goes through (before that it answers "not enough suppliers").
      await waitFor(
        async () => {
          const r = await cli("put", `${work}/small.txt`, "/small.txt", "-q");
          if (r.code !== 0) await sleep(500);
          return r.code === 0;
        },
        90_000,
        "a first put (six hired suppliers)",
      );

      let ids: string[] = [];
      await t.step("scrub hire 2 hires two scrubbers and prints their tickets", async () => {
        const r = await cli("scrub", "hire", "2");
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.split("\n").filter((l) => l.startsWith("Hired scrubber "));
        assertEquals(lines.length, 2, r.stdout);
        ids = lines.map((l) => /ticket ([a-z2-7]{26})/.exec(l)?.[1] ?? "");
        assert(ids.every((id) => id.length === 26), r.stdout);
        assert(r.stdout.includes("2 scrubbers hired."), r.stdout);
        assertEquals(r.stderr, "");
      });

      await t.step(
        "scrub ls shows both active, and each reports rounds over the data",
        async () => {
          let v = await view();
          assertEquals(v.tickets.map((x) => x.id).sort(), [...ids].sort());
          assertEquals(v.tickets.map((x) => x.state), ["active", "active"]);
          assertEquals(v.settings.expiry, 90 * DAY);
          assertEquals(v.wanted, 0);
          for (const x of v.tickets) {
            assert(Math.abs(x.expiry - (Date.now() + 90 * DAY)) < 5 * 60_000, `expiry ${x.expiry}`);
          }
          await waitFor(
            async () => {
              v = await view();
              return v.tickets.every((x) =>
                (x.report?.rounds ?? 0) >= 1 && (x.report?.shards ?? 0) >= 1 &&
                x.report?.lastRound !== null
              );
            },
            60_000,
            "a round with the keep list from each scrubber",
          );
          const text = await cli("scrub", "ls");
          assertEquals(text.code, 0, text.stderr);
          for (
            const h of [
              "ID",
              "SCRUBBER",
              "STATE",
              "EXPIRES",
              "LAST ROUND",
              "SHARDS",
              "REBUILT",
              "CONTRACTS",
            ]
          ) {
            assert(text.stdout.includes(h), `no ${h} column:\n${text.stdout}`);
          }
          for (const id of ids) assert(text.stdout.includes(id), text.stdout);
          assert(
            text.stdout.includes("With this node off, 2 scrubbers keep your data whole until"),
            text.stdout,
          );
        },
      );

      await t.step("scrub revoke by a prefix marks the ticket revoked", async () => {
        const [gone, kept] = ids as [string, string];
        const r = await cli("scrub", "revoke", gone.slice(0, 8));
        assertEquals(r.code, 0, r.stderr);
        assert(r.stdout.includes(`Revoked ticket ${gone}`), r.stdout);
        const v = await view();
        assertEquals(v.tickets.find((x) => x.id === gone)?.state, "revoked");
        assertEquals(v.tickets.find((x) => x.id === kept)?.state, "active");
        const text = await cli("scrub", "ls");
        assert(text.stdout.includes("With this node off, 1 scrubber keeps"), text.stdout);
      });

      await t.step("--expiry sets the life of that hire's tickets only", async () => {
        const r = await cli("scrub", "hire", "1", "--expiry", "30d", "--json");
        assertEquals(r.code, 0, r.stderr);
        const a = JSON.parse(r.stdout) as { hired: Row[]; asked: number };
        assertEquals(a.asked, 1);
        assertEquals(a.hired.length, 1);
        assert(Math.abs(a.hired[0]!.expiry - (Date.now() + 30 * DAY)) < 5 * 60_000, r.stdout);
        assertEquals((await view()).settings.expiry, 90 * DAY, "the setting is unchanged");
      });

      await t.step("fewer scrubbers than asked is said plainly; none at all fails", async () => {
        // More than the embedded network has: every node left is hired, and the CLI says so.
        const some = await cli("scrub", "hire", "16");
        assertEquals(some.code, 0, some.stderr);
        const n = some.stdout.split("\n").filter((l) => l.startsWith("Hired scrubber ")).length;
        assert(n >= 1 && n < 16, some.stdout);
        assert(
          some.stderr.includes(`${n} of 16 hired: only ${n} node`) &&
            some.stderr.includes("offer"),
          some.stderr,
        );
        // Every node offering duty is now hired or revoked: nobody is left.
        const none = await cli("scrub", "hire", "1");
        assertEquals(none.code, 1, none.stdout);
        assert(none.stderr.includes("0 of 1 hired"), none.stderr);
        const v = await view();
        assertEquals(v.tickets.filter((x) => x.state === "active").length, n + 2);
      });

      await t.step("bad command lines and unknown tickets are refused clearly", async () => {
        const zero = await cli("scrub", "hire", "0");
        assertEquals(zero.code, 2);
        assert(zero.stderr.includes("Hire from 1 to 16 scrubbers"), zero.stderr);
        assert(zero.stderr.includes("Usage: mote scrub hire"), zero.stderr);
        const badExpiry = await cli("scrub", "hire", "1", "--expiry", "soon");
        assertEquals(badExpiry.code, 2);
        assert(badExpiry.stderr.includes("--expiry"), badExpiry.stderr);
        const unknown = await cli("scrub", "revoke", "zzzz");
        assertEquals(unknown.code, 1);
        assert(unknown.stderr.includes("No ticket zzzz"), unknown.stderr);
        assert(unknown.stderr.includes("HTTP 404"), unknown.stderr);
        const short = await cli("scrub", "revoke", "ab");
        assertEquals(short.code, 1);
        assert(short.stderr.includes("at least its first 4 characters"), short.stderr);
        const sub = await cli("scrub", "fire");
        assertEquals(sub.code, 2);
        assert(sub.stderr.includes('"scrub" needs "hire", "ls" or "revoke"'), sub.stderr);
      });

      await t.step("the HTTP API reads freely and changes only with the token", async () => {
        const token = (await Deno.readTextFile(`${data}/api-token`)).trim();
        const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
          const r = await fetch(`${api}/api/v1/scrub/${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
          return { status: r.status, body: await r.json() as { error?: string } };
        };
        const auth = { authorization: `Bearer ${token}` };
        const get = await fetch(`${api}/api/v1/scrub`);
        assertEquals(get.status, 200);
        assert(Array.isArray((await get.json() as View).tickets));
        assertEquals((await post("hire", { count: 1 })).status, 401);
        assertEquals((await post("revoke", { id: "zzzz" })).status, 401);
        const foreign = await post("hire", { count: 1 }, {
          ...auth,
          origin: "http://evil.example",
        });
        assertEquals(foreign.status, 403);
        for (
          const [body, says] of [
            [{ count: 0 }, '"count" must be a whole number from 1 to 16, got 0'],
            [{ count: 17 }, "got 17"],
            [{ count: 1.5 }, "got 1.5"],
            [{ count: 1, expiry: "10s" }, '"expiry" must be from 1 minute to 3650 days'],
            [{ count: 1, expiry: "3 weeks" }, 'unknown unit "weeks"'],
            [{ count: 1, expiry: true }, '"expiry" must be a duration'],
            ["not json", 'Body must be JSON {"count"'],
          ] as const
        ) {
          const r = await post("hire", body, auth);
          assertEquals(r.status, 400, JSON.stringify(body));
          assert(r.body.error?.includes(says), `${JSON.stringify(body)}: ${r.body.error}`);
        }
        const missing = await post("revoke", { id: "zzzzzz" }, auth);
        assertEquals(missing.status, 404);
        assertEquals(missing.body.error, "No ticket zzzzzz was issued by this node");
        assertEquals((await post("revoke", { id: 7 }, auth)).status, 400);
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
