import { join } from "node:path";
import {
  createLogger,
  fileSink,
  formatRecord,
  type LogRecord,
  type LogSink,
  memorySink,
} from "../src/log/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const T0 = new Date("2026-11-25T08:00:00.123Z");
const fixedClock = () => T0;

function record(fields: Record<string, unknown>, extra: Partial<LogRecord> = {}): LogRecord {
  return { time: T0, level: "info", component: "", msg: "m", fields, ...extra };
}

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mote_log_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------
// formatting

Deno.test("formatRecord() writes time, padded level, component, message and fields", () => {
  assertEquals(
    formatRecord(
      record({ peer: "12D3KooWabc", ms: 12 }, { component: "net", msg: "dialled peer" }),
    ),
    "2026-11-25T08:00:00.123Z INFO  net: dialled peer peer=12D3KooWabc ms=12",
  );
  assertEquals(
    formatRecord(record({}, { level: "error", msg: "no component" })),
    "2026-11-25T08:00:00.123Z ERROR no component",
  );
});

Deno.test("formatRecord() quotes field values only when they need it", async (t) => {
  const err = new TypeError("bad thing");
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const cases: [string, unknown, string][] = [
    ["a plain word", "abc", "v=abc"],
    ["a value with a space", "a b", 'v="a b"'],
    ["a value with a double quote", 'say "hi"', 'v="say \\"hi\\""'],
    ["a value with a single quote", "it's", `v="it's"`],
    ["a value with =", "a=b", 'v="a=b"'],
    ["a value with a newline", "a\nb", 'v="a\\nb"'],
    ["an empty string", "", 'v=""'],
    ["a number", 1.5, "v=1.5"],
    ["a bigint", 12n, "v=12"],
    ["a boolean", false, "v=false"],
    ["null", null, "v=null"],
    ["undefined is left out", undefined, ""],
    ["an object", { a: 1, b: [2, "x"] }, 'v={"a":1,"b":[2,"x"]}'],
    ["an object with a bigint", { n: 5n }, 'v={"n":"5"}'],
    ["a cyclic object", cycle, 'v="[object Object]"'],
    ["a date", T0, "v=2026-11-25T08:00:00.123Z"],
    ["bytes", new Uint8Array(32), "v=Uint8Array(32)"],
    ["an Error prints its message", err, 'v="bad thing"'],
  ];
  for (const [name, value, expected] of cases) {
    await t.step(name, () => {
      const line = formatRecord(record({ v: value }));
      assertEquals(line.slice("2026-11-25T08:00:00.123Z INFO  m".length).trim(), expected);
    });
  }
  await t.step("an Error prints its stack when asked", () => {
    const line = formatRecord(record({ err }), { stacks: true });
    assert(line.includes('err="TypeError: bad thing\\n    at '), line);
    assert(!line.includes("\n"), "a record is one line");
  });
});

Deno.test("formatRecord() keeps a message with control characters on one line", () => {
  const line = formatRecord(record({}, { msg: "line one\nline two\r\x1b[31m" }));
  assertEquals(line, "2026-11-25T08:00:00.123Z INFO  line one\\nline two\\r\\u001b[31m");
});

// ---------------------------------------------------------------------------------------------
// logger

Deno.test("createLogger() writes records at or above its level", async (t) => {
  const cases: ["debug" | "info" | "warn" | "error", string[]][] = [
    ["debug", ["DEBUG", "INFO ", "WARN ", "ERROR"]],
    ["info", ["INFO ", "WARN ", "ERROR"]],
    ["warn", ["WARN ", "ERROR"]],
    ["error", ["ERROR"]],
  ];
  for (const [level, written] of cases) {
    await t.step(`at ${level}`, () => {
      const sink = memorySink();
      const log = createLogger({ level, sinks: [sink], now: fixedClock });
      log.debug("d");
      log.info("i");
      log.warn("w");
      log.error("e");
      assertEquals(sink.lines.map((line) => line.slice(25, 30)), written);
      assertEquals(sink.records.map((r) => r.level.toUpperCase().padEnd(5)), written);
    });
  }
});

Deno.test("createLogger() defaults to info and rejects an unknown level", () => {
  const sink = memorySink();
  const log = createLogger({ sinks: [sink] });
  assertEquals(log.level, "info");
  assertThrows(
    () => createLogger({ level: "verbose" as "info", sinks: [] }),
    RangeError,
    'Cannot set log level "verbose": expected one of debug, info, warn, error',
  );
  assertThrows(() => (log.level = "loud" as "info"), RangeError, '"loud"');
  assertEquals(log.level, "info");
});

Deno.test("Logger.child() prefixes the component and shares the level", () => {
  const sink = memorySink();
  const root = createLogger({ level: "info", sinks: [sink], now: fixedClock });
  const net = root.child("net");
  const dht = net.child("dht");
  net.info("dialled peer", { peer: "12D3KooWabc", ms: 12 });
  dht.info("stored record");
  root.info("started");
  assertEquals(sink.lines, [
    "2026-11-25T08:00:00.123Z INFO  net: dialled peer peer=12D3KooWabc ms=12",
    "2026-11-25T08:00:00.123Z INFO  net.dht: stored record",
    "2026-11-25T08:00:00.123Z INFO  started",
  ]);
  dht.level = "debug";
  assertEquals(root.level, "debug");
  root.child("x").debug("now visible");
  assertEquals(sink.lines.length, 4);
  assertThrows(() => root.child(""), TypeError, "Cannot create child logger");
});

Deno.test("Logger prints Error stacks only at debug level", () => {
  const sink = memorySink();
  const log = createLogger({ level: "info", sinks: [sink] });
  const error = new Error("disk full");
  log.error("write failed", { error });
  log.level = "debug";
  log.error("write failed", { error });
  assert(sink.lines[0]?.endsWith('write failed error="disk full"'), sink.lines[0]);
  assert(sink.lines[1]?.includes('error="Error: disk full\\n    at '), sink.lines[1]);
});

Deno.test("Logger never throws because a sink failed, and reports it once", () => {
  const good = memorySink();
  let calls = 0;
  const bad: LogSink = {
    write() {
      calls++;
      throw new Error("sink broke");
    },
  };
  const reports: unknown[] = [];
  const log = createLogger({
    sinks: [bad, good],
    onSinkError: (error) => reports.push(error),
  });
  log.info("one");
  log.info("two");
  log.error("three");
  assertEquals(calls, 1, "a failed sink is not called again");
  assertEquals(reports.length, 1);
  assertEquals((reports[0] as Error).message, "sink broke");
  assertEquals(good.lines.length, 3, "the other sinks keep working");

  const quiet = createLogger({
    sinks: [bad],
    onSinkError: () => {
      throw new Error("reporter broke too");
    },
  });
  quiet.info("still no throw");
});

Deno.test("memorySink() keeps only the most recent lines", () => {
  const sink = memorySink();
  const log = createLogger({ sinks: [sink] });
  for (let i = 0; i < 1500; i++) log.info(`n${i}`);
  assertEquals(sink.lines.length, 1000);
  assert(sink.lines[0]?.endsWith(" n500"), sink.lines[0]);
  assert(sink.lines.at(-1)?.endsWith(" n1499"), sink.lines.at(-1));
  assertEquals(sink.records.length, 1000);
  sink.clear();
  assertEquals(sink.lines.length, 0);
  assertEquals(memorySink({ limit: 2 }).lines.length, 0);
  assertThrows(() => memorySink({ limit: 0 }), RangeError, "got 0");
});

Deno.test("stderrSink() writes plain lines, and colors the level only when asked", async (t) => {
  const mod = new URL("../src/log/mod.ts", import.meta.url).href;
  const run = async (options: string) => {
    const code = `import { createLogger, stderrSink } from ${JSON.stringify(mod)};
      const log = createLogger({ sinks: [stderrSink(${options})], now: () => new Date(0) });
      log.warn("careful", { n: 1 }); log.info("done");`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert(out.success, "the child process failed");
    return new TextDecoder().decode(out.stderr);
  };
  await t.step("without color", async () => {
    assertEquals(
      await run("{}"),
      "1970-01-01T00:00:00.000Z WARN  careful n=1\n1970-01-01T00:00:00.000Z INFO  done\n",
    );
  });
  await t.step("with color", async () => {
    assertEquals(
      await run("{ color: true }"),
      "1970-01-01T00:00:00.000Z \x1b[33mWARN \x1b[0m careful n=1\n" +
        "1970-01-01T00:00:00.000Z \x1b[32mINFO \x1b[0m done\n",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// file sink

Deno.test("fileSink() appends lines to a new private file in new folders", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a", "b", "node.log");
    const sink = fileSink(path, { maxBytes: 1024 });
    const log = createLogger({ sinks: [sink], now: fixedClock });
    log.info("first");
    log.warn("second", { k: "v" });
    sink.close();
    assertEquals(
      await Deno.readTextFile(path),
      "2026-11-25T08:00:00.123Z INFO  first\n2026-11-25T08:00:00.123Z WARN  second k=v\n",
    );
    if (Deno.build.os !== "windows") {
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    }
    // Reopening appends and counts what is already there.
    const again = fileSink(path, { maxBytes: 1024 });
    assertEquals(again.size, (await Deno.stat(path)).size);
    again.write("third", record({}));
    again.close();
    assert((await Deno.readTextFile(path)).endsWith("second k=v\nthird\n"));
  });
});

Deno.test("fileSink() rotates so disk use stays within twice maxBytes", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "node.log");
    const maxBytes = 4096;
    const sink = fileSink(path, { maxBytes, onError: (e) => assert(false, e.message) });
    const copy = memorySink({ limit: 1 });
    const log = createLogger({ level: "debug", sinks: [sink, copy] });
    let written = 0;
    let n = 0;
    while (written <= 3 * maxBytes + 100) {
      log.debug(`line ${n}`, { filler: "x".repeat(n % 90) });
      written += (copy.lines[0]?.length ?? 0) + 1;
      n++;
    }
    const last = `line ${n - 1} `;
    sink.close();
    const current = await Deno.readTextFile(path);
    const previous = await Deno.readTextFile(`${path}.1`);
    assert((await Deno.stat(path)).size <= maxBytes, "current file exceeds maxBytes");
    assert((await Deno.stat(`${path}.1`)).size <= maxBytes, "rotated file exceeds maxBytes");
    assert(current.includes(last), "the newest line is in the current file");
    assert(previous.endsWith("\n") && current.endsWith("\n"), "no line is cut in two");
    // The two files hold a run of consecutive lines: .1 ends where the current file begins.
    const numbers = (text: string) =>
      text.trimEnd().split("\n").map((l) => Number(/ line (\d+)/.exec(l)?.[1]));
    const all = [...numbers(previous), ...numbers(current)];
    all.forEach((v, i) => assertEquals(v, (all[0] ?? 0) + i, "lines are consecutive"));
    assertEquals(all.at(-1), n - 1);
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(entries, ["node.log", "node.log.1"], "only one old file is kept");
  });
});

Deno.test("fileSink() cuts a line longer than maxBytes at a character boundary", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "node.log");
    const sink = fileSink(path, { maxBytes: 64 });
    sink.write("short", record({}));
    sink.write("é".repeat(100), record({}));
    sink.close();
    const bytes = await Deno.readFile(path);
    assert(bytes.length <= 64, `file is ${bytes.length} bytes`);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    assert(/^é+\n$/.test(text), JSON.stringify(text));
    assertEquals(await Deno.readTextFile(`${path}.1`), "short\n");
  });
});

Deno.test("fileSink() reports a failure once, then drops lines without throwing", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "node.log");
    // A non-empty folder where the rotated file should go makes the rotation fail.
    await Deno.mkdir(`${path}.1`);
    await Deno.writeTextFile(join(`${path}.1`, "keep"), "x");
    const errors: Error[] = [];
    const sink = fileSink(path, { maxBytes: 100, onError: (e) => errors.push(e) });
    const log = createLogger({ sinks: [sink] });
    for (let i = 0; i < 20; i++) log.info(`line ${i} of the log, long enough to rotate`);
    assertEquals(errors.length, 1);
    assert(!sink.active, "the sink is off after a failure");
    const before = await Deno.readTextFile(path);
    log.info("dropped");
    assertEquals(await Deno.readTextFile(path), before);
    sink.close(); // closing twice is harmless
  });
});

Deno.test("fileSink() drops lines after close() and checks maxBytes", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "node.log");
    const sink = fileSink(path, { maxBytes: 1000 });
    sink.write("kept", record({}));
    sink.close();
    sink.write("dropped", record({}));
    assertEquals(await Deno.readTextFile(path), "kept\n");
    assertThrows(
      () => fileSink(path, { maxBytes: 0 }),
      RangeError,
      `Cannot open log file "${path}": maxBytes must be an integer >= 1, got 0`,
    );
  });
});
