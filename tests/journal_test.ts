/**
 * The upload journal on its own: what it keeps across a reload, its bounds (64 entries, 7 days,
 * bytes), batching, compaction, and how it meets a torn, damaged or unreadable log (never a
 * crash; a damaged log only loses the resumes, never a key's safety).
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { type JournalBegin, UploadJournal } from "../src/files/journal.ts";
import { frame, type JournalRecord } from "../src/files/_journal_codec.ts";
import { createLogger, memorySink } from "../src/log/mod.ts";
import { dirState, memoryState, type NodeState } from "../src/node/state.ts";
import { assert, assertEquals, assertNotEquals } from "./_assert.ts";

const FILE = "upload-journal.log";
const DAY = 86_400_000;
const SHARDS = Array.from({ length: 6 }, (_, i) => String.fromCharCode(97 + i).repeat(52));

function put(path: string, over: Partial<JournalBegin> = {}): JournalBegin {
  return {
    path,
    size: 10 << 20,
    mtime: 1_700_000_000_000,
    key: randomBytes(32),
    blockSize: 4 << 20,
    k: 4,
    m: 2,
    ...over,
  };
}

function quietLog() {
  const sink = memorySink();
  return { sink, log: createLogger({ level: "debug", sinks: [sink] }) };
}

async function withDir(fn: (state: NodeState, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "mote_journal_test_" });
  try {
    await fn(dirState(dir), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("UploadJournal keeps keys, started hashes and placed blocks across a reload", async (t) => {
  const cases: [string, (fn: (s: NodeState) => Promise<void>) => Promise<void>][] = [
    ["memoryState()", (fn) => fn(memoryState())],
    ["dirState()", (fn) => withDir((s) => fn(s))],
  ];
  for (const [name, withState] of cases) {
    await t.step(name, () =>
      withState(async (state) => {
        const j = new UploadJournal(state);
        await j.load();
        const a = (await j.begin(put("docs/a.bin")))!;
        const h0 = randomBytes(32), h1 = randomBytes(32);
        await j.started(a.id, 0, h0);
        await j.started(a.id, 1, h1);
        await j.placed(a.id, 0, { len: (4 << 20) + 16, shards: SHARDS });
        const b = (await j.begin(put("b.bin", { size: 5000 })))!;

        const again = new UploadJournal(state);
        await again.load();
        const found = again.find("docs/a.bin", 10 << 20, 1_700_000_000_000)!;
        assertEquals(found.key, a.key);
        assertEquals([...found.started], [[0, h0], [1, h1]]);
        assertEquals([...found.placed], [[0, { len: (4 << 20) + 16, shards: SHARDS }]]);
        assertEquals(again.find("b.bin", 5000, 1_700_000_000_000)?.key, b.key);
        assertEquals(again.find("docs/a.bin", 10 << 20, 1), undefined, "another mtime");
        assertEquals(again.find("docs/a.bin", 1, 1_700_000_000_000), undefined, "another size");

        await again.remove(found.id);
        const third = new UploadJournal(state);
        await third.load();
        assertEquals(third.entries.map((e) => e.path), ["b.bin"]);
      }));
  }
});

Deno.test("UploadJournal.begin() drops other entries of the same path: their source changed", async () => {
  const j = new UploadJournal(memoryState());
  const old = (await j.begin(put("a.bin", { mtime: 1 })))!;
  await j.begin(put("other.bin"));
  const now = (await j.begin(put("a.bin", { mtime: 2 })))!;
  assertEquals(j.entries.map((e) => [e.path, e.mtime]), [["other.bin", 1_700_000_000_000], [
    "a.bin",
    2,
  ]]);
  assertNotEquals(now.key, old.key);
});

Deno.test("UploadJournal keeps at most 64 entries, dropping the oldest", async () => {
  const state = memoryState();
  const j = new UploadJournal(state);
  for (let i = 0; i < 70; i++) await j.begin(put(`f${i}`));
  assertEquals(j.entries.length, 64);
  assertEquals(j.entries[0]!.path, "f6");
  const again = new UploadJournal(state);
  await again.load();
  assertEquals(again.entries.map((e) => e.path), j.entries.map((e) => e.path));
});

Deno.test("UploadJournal drops entries older than 7 days (find, begin and load)", async () => {
  let now = 1_000_000;
  const state = memoryState();
  const j = new UploadJournal(state, { now: () => now });
  await j.begin(put("old.bin"));
  now += 3 * DAY;
  await j.begin(put("young.bin"));
  now += 4 * DAY + 1;
  assertEquals(j.find("old.bin", 10 << 20, 1_700_000_000_000), undefined);
  assert(j.find("young.bin", 10 << 20, 1_700_000_000_000));
  const again = new UploadJournal(state, { now: () => now });
  await again.load();
  assertEquals(again.entries.map((e) => e.path), ["young.bin"]);
  await j.begin(put("new.bin"));
  assertEquals(j.entries.map((e) => e.path), ["young.bin", "new.bin"]);
});

Deno.test("UploadJournal does not journal a put that could outgrow its byte bound", async () => {
  const j = new UploadJournal(memoryState(), { maxBytes: 1 << 20 });
  // 10 000 blocks of 6 shards need over 5 MB of records: no entry, the put runs unresumable.
  assertEquals(await j.begin(put("huge.bin", { size: 10_000 * (4 << 20) })), undefined);
  // Puts that fit push out the oldest until the total fits.
  // Each may need about 435 KB, so two fit in 1 MiB.
  for (let i = 0; i < 5; i++) assert(await j.begin(put(`f${i}`, { size: 800 * (4 << 20) })));
  assertEquals(j.entries.map((e) => e.path), ["f3", "f4"]);
});

Deno.test("UploadJournal writes records that arrive during a write together, in one append", async () => {
  const inner = memoryState();
  const appends: number[] = [];
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const state: NodeState = {
    ...inner,
    append: async (name, bytes, opts) => {
      appends.push(bytes.length);
      if (appends.length === 2) await gate; // the first started record's write is slow
      await inner.append(name, bytes, opts);
    },
  };
  const j = new UploadJournal(state);
  const e = (await j.begin(put("a.bin")))!;
  const first = j.started(e.id, 0, randomBytes(32));
  while (appends.length < 2) await new Promise((r) => setTimeout(r, 1));
  const rest = [1, 2, 3].map((i) => j.started(e.id, i, randomBytes(32)));
  release();
  await Promise.all([first, ...rest]);
  assertEquals(appends.length, 3, "begin, the first record, then the three that waited for it");
  const again = new UploadJournal(inner);
  await again.load();
  assertEquals([...again.entries[0]!.started.keys()], [0, 1, 2, 3]);
});

Deno.test("UploadJournal compacts its log once dead records outweigh live ones", () =>
  withDir(async (state, dir) => {
    const j = new UploadJournal(state);
    const keep = (await j.begin(put("keep.bin")))!;
    await j.started(keep.id, 0, randomBytes(32));
    for (let n = 0; n < 3; n++) {
      const e = (await j.begin(put(`done${n}.bin`)))!;
      for (let i = 0; i < 200; i++) await j.placed(e.id, i, { len: 16, shards: SHARDS });
      await j.remove(e.id);
    }
    const size = (await Deno.stat(`${dir}/${FILE}`)).size;
    assert(size < 64 * 1024, `the log is ${size} bytes after compaction`);
    assertEquals((await Deno.stat(`${dir}/${FILE}`)).mode! & 0o777, 0o600, "it holds keys");
    const again = new UploadJournal(state);
    await again.load();
    assertEquals(again.entries.map((e) => [e.path, e.started.size]), [["keep.bin", 1]]);
  }));

Deno.test("UploadJournal drops a torn last record and keeps the rest", () =>
  withDir(async (state, dir) => {
    const j = new UploadJournal(state);
    const e = (await j.begin(put("a.bin")))!;
    await j.started(e.id, 0, randomBytes(32));
    await j.started(e.id, 1, randomBytes(32));
    const bytes = await Deno.readFile(`${dir}/${FILE}`);
    for (const cut of [1, 5, 40]) {
      await Deno.writeFile(`${dir}/${FILE}`, bytes.subarray(0, bytes.length - cut));
      const { sink, log } = quietLog();
      const again = new UploadJournal(state, { log });
      await again.load();
      assertEquals([...again.entries[0]!.started.keys()], [0], `cut ${cut}`);
      assertEquals(sink.lines.length, 0, "a torn tail is normal after a crash: no warning");
      // The torn bytes are gone, so later appends are not stranded behind them.
      await again.started(e.id, 1, randomBytes(32));
      const third = new UploadJournal(state);
      await third.load();
      assertEquals([...third.entries[0]!.started.keys()], [0, 1], `cut ${cut}`);
    }
  }));

Deno.test("UploadJournal drops every entry of a damaged log, with a warning, and starts afresh", async (t) => {
  const valid = async () => {
    const state = memoryState();
    const j = new UploadJournal(state);
    const e = (await j.begin(put("a.bin")))!;
    for (let i = 0; i < 3; i++) await j.started(e.id, i, randomBytes(32));
    return { state, bytes: (await state.read(FILE))! };
  };
  const cases: [string, (b: Uint8Array) => Uint8Array][] = [
    ["a flipped byte before the end", (b) => (b[60] = b[60]! ^ 1, b)],
    ["garbage", () => new Uint8Array(5000).fill(0xa5)],
    ["a well-framed record of an unknown type", (b) => {
      const odd = frame({ t: "later", id: "0011223344556677" } as unknown as JournalRecord);
      return new Uint8Array([...b, ...odd]);
    }],
  ];
  for (const [name, damage] of cases) {
    await t.step(name, async () => {
      const { state, bytes } = await valid();
      await state.write(FILE, damage(bytes.slice()));
      const { sink, log } = quietLog();
      const j = new UploadJournal(state, { log });
      await j.load();
      assertEquals(j.entries.length, 0);
      assert(sink.lines.some((l) => l.includes("damaged")), sink.lines.join("\n"));
      // The log was replaced: new entries survive a reload.
      await j.begin(put("b.bin"));
      const again = new UploadJournal(state);
      await again.load();
      assertEquals(again.entries.map((e) => e.path), ["b.bin"]);
    });
  }
});

Deno.test("UploadJournal that cannot read its log warns and journals nothing", () =>
  withDir(async (state, dir) => {
    await Deno.mkdir(`${dir}/${FILE}`);
    const { sink, log } = quietLog();
    const j = new UploadJournal(state, { log });
    await j.load();
    assertEquals(await j.begin(put("a.bin")), undefined);
    assert(sink.lines.some((l) => l.includes("cannot read the upload journal")));
  }));
