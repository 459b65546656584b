/**
 * A large file through a real `mote start` (embedded network, file-system shard stores): put and
 * get a file of `--gib` GiB (default 2) from disk, sampling the resident memory (VmRSS) of each
 * role every 200 ms: the user's node process, and the embedded suppliers' process. Checks the
 * bytes that come back. Linux only (reads /proc).
 *
 * `deno run -A bench/big_file.ts [--gib 2]`
 */
import { parseArgs } from "node:util";
import { NODE_V8_FLAGS } from "../src/node/v8_flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { gib: { type: "string", default: "2" } },
});
const SIZE = Math.round(Number(values.gib) * 2 ** 30);
const MOD = new URL("../mod.ts", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "mote-big-" });
const run = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args, "--data", `${work}/data`],
    stdout: "piped",
    stderr: "piped",
  })
    .output();

// The source file, written in 16 MiB pieces of a cheap pattern that changes per piece.
const src = await Deno.open(`${work}/big.bin`, { write: true, create: true });
const piece = new Uint8Array(16 << 20);
crypto.getRandomValues(piece.subarray(0, 65536));
for (let i = 65536; i < piece.length; i *= 2) piece.copyWithin(i, 0, i);
for (let off = 0, n = 0; off < SIZE; off += piece.length, n++) {
  piece[0] = n & 255;
  piece[1] = n >> 8;
  await src.write(piece.subarray(0, Math.min(piece.length, SIZE - off)));
}
src.close();

const node = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    // As `deno task start` runs it.
    NODE_V8_FLAGS,
    MOD,
    "start",
    "--json",
    "--data",
    `${work}/data`,
    "--port",
    "0",
    "--gateway-port",
    "0",
    "--p2p-port",
    "0",
  ],
  stdout: "piped",
  stderr: "null",
}).spawn();
const line = (await node.stdout.getReader().read()).value!;
const info = JSON.parse(new TextDecoder().decode(line).split("\n")[0]!);
const rssOf = (pid: number) => {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
// The suppliers' process is the node's child.
const children = Deno.readTextFileSync(`/proc/${info.pid}/task/${info.pid}/children`).trim();
const devnetPid = Number(children.split(/\s+/)[0]);
const rss = () => rssOf(info.pid);
for (let i = 0; i < 100; i++) {
  const r = await run(["suppliers", "--json"]);
  if (r.code === 0 && JSON.parse(new TextDecoder().decode(r.stdout)).suppliers.length >= 6) break;
  await new Promise((r) => setTimeout(r, 300));
}
const idle = rss(), devnetIdle = rssOf(devnetPid);
let peak = 0, devnetPeak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, rss());
  devnetPeak = Math.max(devnetPeak, rssOf(devnetPid));
}, 200);
let t = performance.now();
const put = await run(["put", `${work}/big.bin`, "/big.bin", "-q"]);
const putMs = performance.now() - t;
const putPeak = peak, devnetPutPeak = devnetPeak;
peak = 0;
devnetPeak = 0;
t = performance.now();
const get = await run(["get", "/big.bin", `${work}/back.bin`, "-q"]);
const getMs = performance.now() - t;
clearInterval(sampler);
if (put.code !== 0 || get.code !== 0) {
  console.error(new TextDecoder().decode(put.stderr), new TextDecoder().decode(get.stderr));
  const log = await Deno.readTextFile(`${work}/data/logs/mote.log`).catch(() => "");
  console.error(log.split("\n").filter((l) => / (WARN|ERROR) /.test(l)).slice(-30).join("\n"));
}
const same =
  (await new Deno.Command("cmp", { args: [`${work}/big.bin`, `${work}/back.bin`] }).output())
    .code === 0;
const mb = SIZE / 1e6;
console.log(
  `${(SIZE / 2 ** 30).toFixed(2)} GiB: put ${(mb / (putMs / 1000)).toFixed(0)} MB/s, get ${
    (mb / (getMs / 1000)).toFixed(0)
  } MB/s, ` +
    `identical: ${same}; node RSS idle ${(idle / 2 ** 20).toFixed(0)} MiB, peak during put ${
      (putPeak / 2 ** 20).toFixed(0)
    } MiB, ` +
    `peak during get ${(peak / 2 ** 20).toFixed(0)} MiB; ` +
    `the 8 suppliers' process: idle ${(devnetIdle / 2 ** 20).toFixed(0)} MiB, peak during put ${
      (devnetPutPeak / 2 ** 20).toFixed(0)
    } MiB, during get ${(devnetPeak / 2 ** 20).toFixed(0)} MiB`,
);
node.kill("SIGTERM");
await node.status;
await Deno.remove(work, { recursive: true });
Deno.exit(same ? 0 : 1);
