/**
 * The test command (`deno task test`): runs `deno test` over the whole suite, passes its output
 * through, and ends with a plain `N passed, N failed` line so any reader (CI included) gets the
 * result without parsing Deno's formatting. Extra arguments go to `deno test` (a file, --filter).
 *
 * The whole suite runs as `MOTE_TEST_JOBS` `deno test` processes side by side (default: 2 where
 * the machine has 2 or more cores, else 1), each given a share of the files balanced by how long
 * they took (`SLOW` below); then the `SOLO` files run on their own. Most files
 * start real nodes whose event loop keeps one core busy, so one process leaves the second core
 * mostly idle. Each process's lines are prefixed with its number (`[1] `, `[alone] `) when there
 * is more than one.
 */
const TESTS = new URL(".", import.meta.url);

/** Seconds each slow file's tests took in a clean two-process run; any other file counts as 3. */
const SLOW: Record<string, number> = {
  "web_ui_test.ts": 166,
  "scrub_fault_test.ts": 110,
  "edge_test.ts": 122,
  "sharing_write_cli_test.ts": 58,
  "site_test.ts": 55,
  "site_cli_test.ts": 49,
  "world_cli_test.ts": 45,
  "link_net_test.ts": 44,
  "scrub_cli_test.ts": 42,
  "resume_cli_test.ts": 41,
  "interrupt_test.ts": 39,
  "storage_cli_test.ts": 39,
  "sharing_write_net_test.ts": 37,
  "world_client_test.ts": 35,
  "web_sharing_test.ts": 34,
  "sharing_cli_test.ts": 31,
  "web_shared_with_me_test.ts": 28,
  "cli_test.ts": 27,
  "world_live_browser_test.ts": 27,
  "records_outlive_owner_test.ts": 24,
  "sharing_matrix_net_test.ts": 22,
  "web_others_write_test.ts": 22,
  "world_gateway_test.ts": 21,
  "self_heal_test.ts": 20,
  "resume_test.ts": 19,
  "link_cli_test.ts": 18,
  "files_test.ts": 17,
  "sharing_net_test.ts": 16,
  "dht_test.ts": 15,
  "sharing_offline_test.ts": 13,
  "sharing_others_write_test.ts": 13,
  "world_edits_net_test.ts": 12,
  "migrate_test.ts": 11,
  "pack_test.ts": 11,
  "catalog_write_secret_net_test.ts": 10,
  "catalog_test.ts": 10,
  "record_lifetime_test.ts": 9,
  "browser_test.ts": 7,
  "reconcile_test.ts": 7,
  "scrub_test.ts": 62,
  "scrub_secrets_test.ts": 30,
};

/**
 * Files that run alone after the others: their assertions count work done by racing peers (which
 * scrubber rebuilt a shard first), and a second process taking the other core skews the race; or
 * they wait on loss detection with a 2-second grace, which took minutes under the suite's load.
 */
const SOLO = new Set(["scrub_test.ts", "scrub_secrets_test.ts"]);

const own = Deno.args.some((a) => !a.startsWith("-"));
const cores = navigator.hardwareConcurrency ?? 1;
const jobs = own ? 1 : Math.max(1, Number(Deno.env.get("MOTE_TEST_JOBS") ?? (cores >= 2 ? 2 : 1)));

/** Splits the suite's files into `n` shares of about equal time (longest first, to the lightest). */
function shares(n: number): string[][] {
  const files: string[] = [];
  for (const e of Deno.readDirSync(TESTS)) {
    if (e.isFile && e.name.endsWith("_test.ts") && !(n > 1 && SOLO.has(e.name))) files.push(e.name);
  }
  const weight = (f: string) => SLOW[f] ?? 3;
  files.sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
  const out = Array.from({ length: n }, () => ({ files: [] as string[], total: 0 }));
  for (const f of files) {
    const lightest = out.reduce((a, b) => (b.total < a.total ? b : a));
    lightest.files.push(`tests/${f}`);
    lightest.total += weight(f);
  }
  return out.map((s) => s.files.sort());
}

/** Runs one `deno test`, passing its lines through (prefixed), and returns its counts. */
async function run(args: string[], prefix: string): Promise<{ passed: number; failed: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-prompt", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let tail = "";
  const pass = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    let pending = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      if (out === Deno.stdout) tail = (tail + text).slice(-4096);
      if (!prefix) {
        await out.write(chunk);
        continue;
      }
      // Whole lines only, so two processes' lines never interleave mid-line.
      pending += text;
      const cut = pending.lastIndexOf("\n");
      if (cut < 0) continue;
      const lines = pending.slice(0, cut).split("\n").map((l) => prefix + l).join("\n") + "\n";
      pending = pending.slice(cut + 1);
      await out.write(encoder.encode(lines));
    }
    if (pending) await out.write(encoder.encode(prefix + pending + "\n"));
  };
  await Promise.all([pass(child.stdout, Deno.stdout), pass(child.stderr, Deno.stderr)]);
  const { code } = await child.status;
  const summary = /(?:ok|FAILED) \| (\d+) passed(?: \([^)]*\))? \| (\d+) failed/.exec(tail);
  const passed = summary ? Number(summary[1]) : 0;
  // When Deno stops before running tests (a type error, say), count that as a failure.
  const failed = summary ? Number(summary[2]) : 1;
  return { passed, failed: code !== 0 && failed === 0 ? 1 : failed };
}

const started = Date.now();
const results = own ? [await run(Deno.args, "")] : await Promise.all(
  shares(jobs).map((files, i) => run([...Deno.args, ...files], jobs > 1 ? `[${i + 1}] ` : "")),
);
if (!own && jobs > 1) {
  results.push(await run([...Deno.args, ...[...SOLO].map((f) => `tests/${f}`)], "[alone] "));
}
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
if (jobs > 1) {
  console.log(`\n${jobs} processes, ${Math.round((Date.now() - started) / 1000)} s in all`);
}
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed > 0 ? 1 : 0);
