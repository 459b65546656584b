/**
 * The `mote` program end to end, as a user runs it: real processes, real ports on 127.0.0.1.
 */
import { fromUtf8 } from "../src/encoding/bytes.ts";
import { importKeyFile } from "../src/identity/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_harness.ts";
import { FREE_PORTS, mote, portIsFree, startMote } from "./_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function noStack(text: string) {
  assert(!/^\s+at .*:\d+:\d+/m.test(text), `expected no stack trace, got:\n${text}`);
}

Deno.test("mote prints usage and exits 2 for an unknown command, flag or flag value", async (t) => {
  const data = await Deno.makeTempDir();
  try {
    for (
      const args of [["bogus"], ["status", "--bogus", "--data", data], [
        "start",
        "--port",
        "abc",
        "--data",
        data,
      ], [
        "key",
        "forget",
      ]]
    ) {
      await t.step(`mote ${args.join(" ")}`, async () => {
        const r = await mote(args);
        assertEquals(r.code, 2, r.stderr);
        assert(r.stderr.includes("Usage: mote"), r.stderr);
        noStack(r.stderr);
      });
    }
    const v = await mote(["--version"]);
    assertEquals([v.code, v.stdout.trim()], [0, "mote 0.1.0"]);
    const help = await mote(["help", "start"]);
    for (
      const flag of [
        "--port",
        "--gateway-port",
        "--p2p-port",
        "--host",
        "--bootstrap",
        "--no-devnet",
        "--data",
      ]
    ) {
      assert(help.stdout.includes(flag), `help start lacks ${flag}`);
    }
    const none = await mote(["status", "--data", data]);
    assertEquals(none.code, 1);
    assert(none.stderr.includes("No node is running"), none.stderr);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test({
  name: "two mote start processes find each other, and Ctrl-C stops one cleanly",
  ...opts,
  async fn() {
    const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
    try {
      await using a = await startMote(["--data", dirA, "--no-devnet", ...FREE_PORTS]);
      assertEquals(a.info.devnet, false);
      const boot = a.info.addresses.find((x) => x.includes("/tcp/") && !x.includes("/ws"))!;
      await using b = await startMote(["--data", dirB, "--bootstrap", boot, ...FREE_PORTS]);
      assertEquals(b.info.devnet, false, "a node given bootstrap peers runs no embedded network");

      await waitFor(
        async () => {
          const r = await mote(["peers", "--json", "--data", dirB]);
          return r.code === 0 &&
            JSON.parse(r.stdout).some((p: { peerId: string }) => p.peerId === a.info.peerId);
        },
        20_000,
        "B to list A among its peers",
      );
      const aPeers = JSON.parse((await mote(["peers", "--json", "--data", dirA])).stdout);
      assert(
        aPeers.some((p: { peerId: string; rtt: number | null }) =>
          p.peerId === b.info.peerId && p.rtt !== null
        ),
      );

      // B finds A's signed identity document through the DHT.
      await waitFor(
        async () => (await mote(["identity", a.info.id, "--json", "--data", dirB])).code === 0,
        20_000,
        "A's identity",
      );
      const doc = JSON.parse(
        (await mote(["identity", a.info.id, "--json", "--data", dirB])).stdout,
      );
      assertEquals(doc.id, a.info.id);
      assertEquals(doc.devices[0].peer, a.info.peerId);

      const status = JSON.parse((await mote(["status", "--json", "--data", dirA])).stdout);
      for (
        const k of ["id", "nickname", "version", "peerId", "addresses", "peers", "dht", "uptime"]
      ) assert(k in status, k);
      assertEquals(status.id, a.info.id);

      const apiPort = Number(new URL(a.info.api).port);
      assertEquals(await a.signal("SIGINT"), 0, a.output().stderr);
      assert(/INFO +stopped/.test(a.output().stderr), a.output().stderr.slice(-500));
      assert(portIsFree(apiPort), "the API port is released");
      await Deno.stat(`${dirA}/node.json`).then(
        () => assert(false, "node.json should be removed"),
        () => {},
      );

      const stop = await mote(["stop", "--data", dirB]);
      assertEquals(stop.code, 0, stop.stderr);
      assertEquals(await b.signal("SIGTERM"), 0);
    } finally {
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "one data dir takes one node, an occupied port is a clear error, and a restart keeps the identity",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir(), other = await Deno.makeTempDir();
    try {
      let id: string;
      let supplierId: string;
      {
        await using a = await startMote(["--data", dir, ...FREE_PORTS]);
        assertEquals(a.info.devnet, true, "with no bootstrap peers the embedded network runs");
        const s = JSON.parse((await mote(["status", "--json", "--data", dir])).stdout);
        assertEquals(s.devnet, { running: true, suppliers: 8 });
        assert(s.peers >= 8, `expected the 8 suppliers as peers, got ${s.peers}`);
        id = a.info.id;
        supplierId = (await importKeyFile(
          fromUtf8(await Deno.readFile(`${dir}/devnet/supplier-1/identity.key`)),
        )).id;

        const twice = await mote(["start", "--data", dir, ...FREE_PORTS]);
        assertEquals(twice.code, 1);
        assert(twice.stderr.includes("already running"), twice.stderr);
        noStack(twice.stderr);

        const port = new URL(a.info.api).port;
        const clash = await mote([
          "start",
          "--data",
          other,
          "--no-devnet",
          ...FREE_PORTS,
          "--port",
          port,
        ]);
        assertEquals(clash.code, 1);
        assert(clash.stderr.includes("in use"), clash.stderr);
        noStack(clash.stderr);
      }
      await using again = await startMote(["--data", dir, ...FREE_PORTS]);
      assertEquals(again.info.id, id, "the same identity after a restart");
      const supplierAgain = (await importKeyFile(
        fromUtf8(await Deno.readFile(`${dir}/devnet/supplier-1/identity.key`)),
      ))
        .id;
      assertEquals(supplierAgain, supplierId, "the embedded network's suppliers persist");
      const mode = (await Deno.stat(`${dir}/api-token`)).mode! & 0o777;
      assertEquals(mode, 0o600);
      assertEquals((await Deno.stat(`${dir}/identity.key`)).mode! & 0o777, 0o600);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(other, { recursive: true });
    }
  },
});

Deno.test({
  name: "key export and import move an identity to a fresh data dir, sealed or not",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir(),
      fresh = await Deno.makeTempDir(),
      files = await Deno.makeTempDir();
    try {
      let id: string;
      {
        await using a = await startMote(["--data", dir, "--no-devnet", ...FREE_PORTS]);
        id = a.info.id;
        const plain = await mote(["key", "export", `${files}/plain.key`, "--data", dir]);
        assertEquals(plain.code, 0, plain.stderr);
        await Deno.writeTextFile(`${files}/pass`, "correct horse battery staple\n");
        const sealed = await mote([
          "key",
          "export",
          `${files}/sealed.key`,
          "--passphrase-file",
          `${files}/pass`,
          "--data",
          dir,
        ]);
        assertEquals(sealed.code, 0, sealed.stderr);
        const again = await mote(["key", "export", `${files}/plain.key`, "--data", dir]);
        assertEquals(again.code, 1, "an existing file is not overwritten without --force");
        const busy = await mote(["key", "import", `${files}/plain.key`, "--data", dir]);
        assertEquals(busy.code, 1);
        assert(busy.stderr.includes("running"), busy.stderr);
      }
      assertEquals((await Deno.stat(`${files}/sealed.key`)).mode! & 0o777, 0o600);
      const noPass = await mote(["key", "import", `${files}/sealed.key`, "--data", fresh]);
      assertEquals(noPass.code, 1);
      assert(noPass.stderr.includes("passphrase"), noPass.stderr);
      await Deno.writeTextFile(`${files}/wrong`, "not the passphrase");
      const wrong = await mote([
        "key",
        "import",
        `${files}/sealed.key`,
        "--passphrase-file",
        `${files}/wrong`,
        "--data",
        fresh,
      ]);
      assertEquals(wrong.code, 1);
      assert(wrong.stderr.includes("wrong passphrase"), wrong.stderr);
      const ok = await mote([
        "key",
        "import",
        `${files}/sealed.key`,
        "--passphrase-file",
        `${files}/pass`,
        "--data",
        fresh,
      ]);
      assertEquals(ok.code, 0, ok.stderr);
      assertEquals((await mote(["id", "--data", fresh])).stdout.trim(), id);
      await using b = await startMote(["--data", fresh, "--no-devnet", ...FREE_PORTS]);
      assertEquals(b.info.id, id, "the imported identity runs");
      assert(b.info.peerId.length > 0);
    } finally {
      for (const d of [dir, fresh, files]) await Deno.remove(d, { recursive: true });
    }
  },
});
