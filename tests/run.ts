/**
 * The test command (`deno task test`): runs `deno test` over the whole suite, passes its output
 * through, and ends with a plain `N passed, N failed` line so any reader (CI included) gets the
 * result without parsing Deno's formatting. Extra arguments go to `deno test` (a file, --filter).
 */
const args = ["test", "-A", "--no-prompt", ...Deno.args];
if (!Deno.args.some((a) => !a.startsWith("-"))) args.push("tests/");

const child = new Deno.Command(Deno.execPath(), {
  args,
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

// Pass output through as it comes, keeping only the tail to find Deno's summary line.
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const { code } = await child.status;

const summary = /(?:ok|FAILED) \| (\d+) passed(?: \([^)]*\))? \| (\d+) failed/.exec(tail);
const passed = summary ? Number(summary[1]) : 0;
// When Deno stops before running tests (a type error, say), count that as a failure.
const failed = summary ? Number(summary[2]) : 1;
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(code !== 0 && failed === 0 ? 1 : code);
