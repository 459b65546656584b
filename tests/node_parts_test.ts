import { encode } from "../src/encoding/cbor.ts";
import { RateLimiter } from "../src/net/rate_limit.ts";
import { EventBus, type NodeEvent, type Subscription } from "../src/node/events.ts";
import { Metrics } from "../src/node/metrics.ts";
import { dirState, memoryState, type NodeState } from "../src/node/state.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

// ---------------------------------------------------------------------------------------------
// RateLimiter

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

Deno.test("RateLimiter allows a burst, then refuses, then refills at the rate", () => {
  const c = clock(1_000_000);
  const rl = new RateLimiter(2, 3, 100, c.now); // 2 tokens a second, at most 3 saved
  assertEquals([rl.take("p"), rl.take("p"), rl.take("p")], [true, true, true], "the burst");
  assertEquals(rl.take("p"), false, "empty after the burst");
  c.t += 499;
  assertEquals(rl.take("p"), false, "0.998 of a token is not a token");
  c.t += 1;
  assertEquals(rl.take("p"), true, "one token after 500 ms");
  assertEquals(rl.take("p"), false);
  c.t += 60_000;
  assertEquals([rl.take("p"), rl.take("p"), rl.take("p"), rl.take("p")], [true, true, true, false]);
});

Deno.test("RateLimiter keeps a separate bucket per key and charges the cost", () => {
  const c = clock();
  const rl = new RateLimiter(1, 4, 100, c.now);
  assert(rl.take("a", 3));
  assert(!rl.take("a", 2), "only one token left for a");
  assert(rl.take("b", 4), "b has its own full bucket");
  assert(rl.take("a", 1));
  assert(!rl.take("c", 5), "a cost above the burst never passes");
});

Deno.test("RateLimiter forgets the least recently used key past maxKeys", () => {
  const c = clock();
  const rl = new RateLimiter(1, 1, 2, c.now);
  assert(rl.take("a"));
  assert(rl.take("b"));
  assert(!rl.take("a"), "a is empty (and now the most recently used)");
  assert(rl.take("c"), "c pushes out b, the least recently used");
  assert(!rl.take("a"), "a was kept, still empty");
  assert(rl.take("d"), "d pushes out c");
  assert(rl.take("b"), "b was forgotten and starts with a fresh bucket");
});

Deno.test("RateLimiter treats a clock that steps backwards as no time passing", () => {
  // Regression (fixed): src/net/rate_limit.ts adds (now - at) / 1000 * rate without clamping, so a
  // wall clock stepping back an hour (Date.now() is the default clock) leaves the bucket 3600
  // tokens in debt and the key refused for an hour.
  const c = clock(10_000_000);
  const rl = new RateLimiter(1, 2, 100, c.now);
  assert(rl.take("p"));
  c.t -= 3_600_000;
  assert(rl.take("p"), "the token left before the step is still there");
  c.t += 1000;
  assert(rl.take("p"), "and the bucket refills a second later");
});

Deno.test("RateLimiter refuses a rate that is not positive or a burst under 1", () => {
  assertThrows(() => new RateLimiter(0), RangeError, "rate > 0");
  assertThrows(() => new RateLimiter(-1), RangeError);
  assertThrows(() => new RateLimiter(NaN), RangeError);
  assertThrows(() => new RateLimiter(1, 0.5), RangeError, "burst");
  assertEquals(new RateLimiter(5).burst, 10, "the burst defaults to twice the rate");
});

// ---------------------------------------------------------------------------------------------
// EventBus

/** Reads `n` events, then stops iterating (which unsubscribes). */
async function take(sub: Subscription, n: number): Promise<NodeEvent[]> {
  const out: NodeEvent[] = [];
  if (n === 0) return out;
  for await (const e of sub) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

/** Reads every event until the subscription ends. */
async function drain(sub: Subscription): Promise<string[]> {
  const out: string[] = [];
  for await (const e of sub) out.push(e.type);
  return out;
}

Deno.test("EventBus delivers every event to every subscriber, in order", async () => {
  const bus = new EventBus();
  const a = bus.subscribe(), b = bus.subscribe();
  const before = Date.now();
  bus.emit("peer:connect", { peer: "p1" });
  bus.emit("record:published", { key: "/mote/id/x" });
  bus.emit("peer:disconnect");
  for (const sub of [a, b]) {
    const events = await take(sub, 3);
    assertEquals(events.map((e) => e.type), [
      "peer:connect",
      "record:published",
      "peer:disconnect",
    ]);
    assertEquals(events[0]!.data, { peer: "p1" });
    assertEquals(events[2]!.data, {});
    assert(events.every((e) => e.at >= before && e.at <= Date.now()), "timestamps are now");
  }
  assertEquals(bus.subscribers, 0, "breaking out of the loop unsubscribed both");
});

Deno.test("EventBus wakes a waiting subscriber when an event is emitted", async () => {
  const bus = new EventBus();
  const sub = bus.subscribe();
  const got = take(sub, 2);
  await new Promise((r) => setTimeout(r, 5)); // the reader is now waiting on an empty queue
  bus.emit("one");
  await new Promise((r) => setTimeout(r, 1));
  bus.emit("two");
  assertEquals((await got).map((e) => e.type), ["one", "two"]);
});

Deno.test("EventBus bounds a slow subscriber's queue and counts what it dropped", async () => {
  const bus = new EventBus();
  const slow = bus.subscribe({ maxQueue: 3 });
  const fast = bus.subscribe();
  for (let i = 0; i < 10; i++) bus.emit(`e${i}`);
  assertEquals(slow.dropped, 7);
  assertEquals(fast.dropped, 0);
  assertEquals((await take(slow, 3)).map((e) => e.type), ["e7", "e8", "e9"], "the newest are kept");
  assertEquals((await take(fast, 10)).length, 10);
});

Deno.test("EventBus close() ends iteration after the queued events", async () => {
  const bus = new EventBus();
  const sub = bus.subscribe();
  bus.emit("a");
  bus.emit("b");
  sub.close();
  bus.emit("c");
  assertEquals(await drain(sub), ["a", "b"]);
  assertEquals(bus.subscribers, 0);
});

Deno.test("EventBus ends a subscription when its signal aborts", async () => {
  const bus = new EventBus();
  const ctl = new AbortController();
  const sub = bus.subscribe({ signal: ctl.signal });
  const all = drain(sub);
  bus.emit("a");
  await new Promise((r) => setTimeout(r, 1));
  ctl.abort();
  assertEquals(await all, ["a"]);
  assertEquals(bus.subscribers, 0);
});

Deno.test("EventBus treats an already-aborted signal as closed", async () => {
  // Regression (fixed): src/node/events.ts only adds an "abort" listener, which never fires for a
  // signal that is already aborted, so the subscription stays open (and counts against
  // maxSubscribers) until close() is called.
  const bus = new EventBus();
  const sub = bus.subscribe({ signal: AbortSignal.abort() });
  try {
    assertEquals(bus.subscribers, 0, "live subscriptions");
  } finally {
    sub.close();
  }
  assertEquals(await drain(sub), []);
});

Deno.test("EventBus refuses subscribers past maxSubscribers until one leaves", () => {
  const bus = new EventBus(2);
  const a = bus.subscribe();
  bus.subscribe();
  assertThrows(() => bus.subscribe(), RangeError, "limit 2");
  a.close();
  assertEquals(bus.subscribers, 1);
  bus.subscribe();
  assertEquals(bus.subscribers, 2);
  bus.closeAll();
});

Deno.test("EventBus closeAll() ends every subscription", async () => {
  const bus = new EventBus();
  const a = drain(bus.subscribe()), b = drain(bus.subscribe());
  bus.emit("x");
  bus.closeAll();
  assertEquals(await a, ["x"]);
  assertEquals(await b, ["x"]);
  assertEquals(bus.subscribers, 0);
});

// ---------------------------------------------------------------------------------------------
// Metrics

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"`;
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|NaN|[+-]Inf)";
const HELP_RE = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\]|\\\\[\\\\n])*)$`);
const TYPE_RE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_RE = new RegExp(`^(${NAME})(\\{${LABEL}(?:,${LABEL})*\\})? (${VALUE})$`);

interface Sample {
  labels: Record<string, string>;
  value: string;
}

/** Parses Prometheus text format 0.0.4 strictly, failing on any line that does not fit. */
function parseProm(text: string) {
  assert(text.endsWith("\n"), "the text ends with a newline");
  const families = new Map<string, { help?: string; type?: string; samples: Sample[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = { samples: [] });
    return f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    let m;
    if ((m = HELP_RE.exec(line))) {
      const f = family(m[1]!);
      assert(f.help === undefined && f.samples.length === 0, `HELP for ${m[1]} out of place`);
      f.help = m[2]!.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    } else if ((m = TYPE_RE.exec(line))) {
      const f = family(m[1]!);
      assert(f.type === undefined && f.samples.length === 0, `TYPE for ${m[1]} out of place`);
      f.type = m[2]!;
    } else if ((m = SAMPLE_RE.exec(line))) {
      const f = families.get(m[1]!);
      assert(f?.type, `sample of ${m[1]} before its TYPE line`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      }
      f.samples.push({ labels, value: m[3]! });
    } else {
      throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

Deno.test("Metrics.render() produces valid Prometheus text with HELP and TYPE lines", () => {
  const m = new Metrics();
  m.inc("mote_records_refused_total", "Records refused, by reason.", { reason: "stale" });
  m.inc("mote_records_refused_total", "Records refused, by reason.", { reason: "stale" }, 2);
  m.inc("mote_records_refused_total", "Records refused, by reason.", { reason: "future" });
  m.gauge("mote_peers", "Connected peers.", 7);
  m.inc("mote_started_total", "Starts.");
  const text = m.render();
  const fams = parseProm(text);
  assertEquals([...fams.keys()], [
    "mote_records_refused_total",
    "mote_peers",
    "mote_started_total",
  ]);
  const refused = fams.get("mote_records_refused_total")!;
  assertEquals(refused.type, "counter");
  assertEquals(refused.help, "Records refused, by reason.");
  assertEquals(refused.samples, [
    { labels: { reason: "stale" }, value: "3" },
    { labels: { reason: "future" }, value: "1" },
  ]);
  assertEquals(fams.get("mote_peers")!.type, "gauge");
  assertEquals(fams.get("mote_peers")!.samples, [{ labels: {}, value: "7" }]);
  assert(text.includes("\nmote_started_total 1\n"), text);
});

Deno.test("Metrics escapes quotes, backslashes and newlines in label values and help", () => {
  const m = new Metrics();
  const nasty = 'say "hi"\\path\nnext';
  m.inc("mote_odd_total", "Help with a \\ backslash\nand a newline.", { v: nasty, a: "plain" });
  const text = m.render();
  assert(text.includes('v="say \\"hi\\"\\\\path\\nnext"'), text);
  assert(
    text.includes("# HELP mote_odd_total Help with a \\\\ backslash\\nand a newline.\n"),
    text,
  );
  const f = parseProm(text).get("mote_odd_total")!;
  assertEquals(f.help, "Help with a \\ backslash\nand a newline.");
  assertEquals(f.samples, [{ labels: { a: "plain", v: nasty }, value: "1" }]);
});

Deno.test("Metrics treats label sets in any key order as one series", () => {
  const m = new Metrics();
  m.inc("mote_x_total", "X.", { a: "1", b: "2" });
  m.inc("mote_x_total", "X.", { b: "2", a: "1" });
  assertEquals(parseProm(m.render()).get("mote_x_total")!.samples, [
    { labels: { a: "1", b: "2" }, value: "2" },
  ]);
});

Deno.test("Metrics reads gauge functions at render time and skips ones that throw", () => {
  const m = new Metrics();
  let peers = 1;
  m.gauge("mote_peers", "Peers.", () => peers);
  m.gauge("mote_broken", "Throws.", () => {
    throw new Error("not ready");
  });
  assert(m.render().includes("\nmote_peers 1\n"));
  peers = 5;
  const text = m.render();
  assert(text.includes("\nmote_peers 5\n"), text);
  assertEquals(parseProm(text).get("mote_broken")!.samples, [], "a throwing gauge has no sample");
  m.gauge("mote_peers", "Peers.", 9);
  assert(m.render().includes("\nmote_peers 9\n"), "a gauge can be set to a plain value again");
});

Deno.test("Metrics renders non-finite values the way Prometheus spells them", () => {
  // Regression (fixed): src/node/metrics.ts renders every non-finite value as NaN, though
  // the text format has +Inf and -Inf, so an infinite gauge reads as "no value".
  const m = new Metrics();
  m.gauge("mote_nan", "NaN.", NaN);
  m.gauge("mote_pos", "Plus infinity.", Infinity);
  m.gauge("mote_neg", "Minus infinity.", -Infinity);
  const fams = parseProm(m.render());
  assertEquals(fams.get("mote_nan")!.samples[0]!.value, "NaN");
  assertEquals(fams.get("mote_pos")!.samples[0]!.value, "+Inf");
  assertEquals(fams.get("mote_neg")!.samples[0]!.value, "-Inf");
});

Deno.test("Metrics refuses invalid metric names", async (t) => {
  for (const name of ["", "1abc", "a-b", "a b", "é"]) {
    await t.step(JSON.stringify(name), () => {
      const m = new Metrics();
      assertThrows(() => m.inc(name, "help"), TypeError, "Invalid metric name");
      assertThrows(() => m.gauge(name, "help", 1), TypeError);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// NodeState: one suite for every implementation, then what only the directory does.

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mote_state_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const IMPLEMENTATIONS: [string, (fn: (s: NodeState) => Promise<void>) => Promise<void>][] = [
  ["dirState()", (fn) => withTempDir((dir) => fn(dirState(`${dir}/state`)))],
  ["memoryState()", (fn) => fn(memoryState())],
];

function sameBytes(a: Uint8Array, b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const BAD_NAMES = ["", "../x", "a/b", "/etc/passwd", ".hidden", "Upper", "a b", "x".repeat(65)];

for (const [impl, withState] of IMPLEMENTATIONS) {
  Deno.test(`${impl} reads null for a file that was never written`, () =>
    withState(async (s) => {
      assertEquals(await s.read("missing"), null);
    }));

  Deno.test(`${impl} reads back what was written, and the latest write wins`, () =>
    withState(async (s) => {
      await s.write("identity.key", new Uint8Array([1, 2, 3]), { secret: true });
      await s.write("seq-memory.cbor", new Uint8Array([9]));
      assertEquals(await s.read("identity.key"), new Uint8Array([1, 2, 3]));
      await s.write("identity.key", new Uint8Array([4]), { secret: true });
      assertEquals(await s.read("identity.key"), new Uint8Array([4]));
      assertEquals(await s.read("seq-memory.cbor"), new Uint8Array([9]));
      await s.write("x".repeat(64), new Uint8Array(0));
      assertEquals(await s.read("x".repeat(64)), new Uint8Array(0));
    }));

  Deno.test(`${impl} refuses file names that could escape or hide`, () =>
    withState(async (s) => {
      for (const name of BAD_NAMES) {
        await assertRejects(() => s.read(name), TypeError, "Invalid state file name");
        await assertRejects(() => s.write(name, new Uint8Array(1)), TypeError);
        await assertRejects(() => s.append(name, new Uint8Array(1)), TypeError);
      }
    }));

  Deno.test(`${impl} appends to the end of a file, creating it, synced or not`, () =>
    withState(async (s) => {
      await s.append("log", new Uint8Array([1, 2]));
      await s.append("log", new Uint8Array([3]), { sync: true });
      await s.append("log", new Uint8Array(0));
      assertEquals(await s.read("log"), new Uint8Array([1, 2, 3]));
      await s.write("log", new Uint8Array([9]), { secret: true, sync: true });
      await s.append("log", new Uint8Array([8]), { sync: true });
      assertEquals(await s.read("log"), new Uint8Array([9, 8]));
    }));

  Deno.test(`${impl} reports a bad name as a rejected promise, not a synchronous throw`, () =>
    // Regression (fixed): its read() and write() are not async, so checkName()
    // throws synchronously and `state.read(name).catch(...)` never sees the error.
    withState(async (s) => {
      let p: Promise<unknown> | undefined;
      try {
        p = s.read("../x");
      } catch (e) {
        throw new Error(`read() threw synchronously: ${(e as Error).message}`);
      }
      await assertRejects(() => p!, TypeError);
    }));

  Deno.test(`${impl} hands out copies, not its own bytes`, () =>
    withState(async (s) => {
      // A plain Uint8Array, and a CBOR encoding of the size of a record, which encode() may
      // return as a Buffer whose slice() is a view (see encoding_test.ts).
      for (const original of [new Uint8Array([1, 2, 3]), encode({ v: "x".repeat(150) })]) {
        const input = original.slice(0);
        const kept = Array.from(input);
        await s.write("data", input);
        input[0] = 0xee;
        const first = (await s.read("data"))!;
        assert(sameBytes(first, kept), `changing the written ${input.constructor.name} changed it`);
        first[1] = 0xee;
        assert(
          sameBytes((await s.read("data"))!, kept),
          "changing what read() returned changed it",
        );
      }
    }));
}

Deno.test("dirState() writes secrets owner-only in an owner-only directory", {
  ignore: Deno.build.os === "windows",
}, () =>
  withTempDir(async (dir) => {
    const where = `${dir}/nested/state`;
    const s = dirState(where);
    assertEquals(s.where, where);
    await s.write("public.txt", new Uint8Array([1]));
    await s.write("identity.key", new Uint8Array([2]), { secret: true });
    assertEquals((await Deno.stat(`${where}/identity.key`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(where)).mode! & 0o777, 0o700);
    assertEquals(
      (await Deno.stat(`${where}/public.txt`)).mode! & 0o077 & 0o022,
      0,
      "not writable by others",
    );
    // An appended file may hold secrets (the upload journal holds data keys): owner-only.
    await s.append("journal.log", new Uint8Array([1]), { sync: true });
    assertEquals((await Deno.stat(`${where}/journal.log`)).mode! & 0o777, 0o600);
    // Rewriting a public file as a secret tightens it.
    await s.write("public.txt", new Uint8Array([3]), { secret: true });
    assertEquals((await Deno.stat(`${where}/public.txt`)).mode! & 0o777, 0o600);
  }));

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("dirState() leaves no temporary files behind, even when a write fails", () =>
  withTempDir(async (dir) => {
    const s = dirState(dir);
    for (let i = 0; i < 5; i++) await s.write("a", new Uint8Array([i]));
    await s.write("b", new Uint8Array([1]), { secret: true });
    assertEquals(await listDir(dir), ["a", "b"]);
    // Renaming a file over a non-empty directory fails: the temporary file must go too.
    await Deno.mkdir(`${dir}/c`);
    await Deno.writeFile(`${dir}/c/inside`, new Uint8Array([0]));
    await assertRejects(() => s.write("c", new Uint8Array([1])));
    assertEquals(await listDir(dir), ["a", "b", "c"]);
    assertEquals(await s.read("a"), new Uint8Array([4]));
  }));

Deno.test("dirState() replaces files atomically: a reader sees the old or the new bytes", () =>
  withTempDir(async (dir) => {
    const s = dirState(dir);
    const size = 64 * 1024;
    const versions = [0x61, 0x62].map((b) => new Uint8Array(size).fill(b));
    await s.write("big", versions[0]!);
    const writes = (async () => {
      for (let i = 1; i <= 12; i++) await s.write("big", versions[i % 2]!);
    })();
    let reads = 0;
    let done = false;
    const stop = () => {
      done = true;
    };
    writes.then(stop, stop);
    while (!done) {
      const got = (await s.read("big"))!;
      assertEquals(got.length, size, "a read saw a partial file");
      assert(got.every((b) => b === got[0]), "a read saw a mix of two versions");
      reads++;
    }
    await writes;
    assert(reads > 0);
  }));

Deno.test("dirState() rethrows read errors other than not-found", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/adir`);
    await assertRejects(() => dirState(dir).read("adir"));
  }));

Deno.test("memoryState() says it lives in memory", () => {
  assertEquals(memoryState().where, "memory");
});
