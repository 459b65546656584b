/**
 * The world client's engine-agnostic core (worlds/client/): the streamer's ring, prefetch,
 * priorities, job limit, aborts, byte-budgeted LRU and frame budget, driven by a fake clock with
 * real generated and encoded chunks as payloads and the real mesher as the decoder; and the mesh
 * seam rule (neighbouring chunks share edge vertices exactly).
 */
import { encodeChunk, generateChunk } from "../worlds/mod.ts";
import { ByteLru } from "../worlds/client/lru.ts";
import { type ChunkKey, chunkKey } from "../worlds/client/keys.ts";
import { type ChunkMesh, GRID, meshBytes, meshChunk } from "../worlds/client/mesh.ts";
import { PriorityQueue } from "../worlds/client/queue.ts";
import { ChunkStreamer, type StreamerOptions } from "../worlds/client/streamer.ts";
import { decodeChunk } from "../worlds/codec.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const SEED = 20261205;
const encoded = new Map<string, Uint8Array>();
function bytesOf(k: ChunkKey): Uint8Array {
  let b = encoded.get(k.id);
  if (!b) encoded.set(k.id, b = encodeChunk(generateChunk({ seed: SEED }, k.x, k.z)));
  return b;
}

/** A simulated network and GPU on a fake clock; every call is real work on real chunks. */
class World {
  clock = 0;
  inFlight = 0;
  maxInFlight = 0;
  aborts: string[] = [];
  fetched: string[] = [];
  hidden: string[] = [];
  shownAt = new Map<string, number>();
  showsThisFrame = 0;
  maxShowsPerFrame = 0;
  maxCacheBytes = 0;
  #due: { at: number; run: () => void }[] = [];
  readonly streamer: ChunkStreamer<ChunkMesh>;

  constructor(
    readonly latencyMs: number,
    readonly uploadMs: number,
    opts: Partial<StreamerOptions>,
  ) {
    this.streamer = new ChunkStreamer<ChunkMesh>({
      now: () => this.clock,
      fetchChunk: (key, { signal }) => this.#fetch(key, signal),
      decode: (_key, bytes) => Promise.resolve(meshChunk(decodeChunk(bytes))),
      sizeOf: meshBytes,
      show: (key) => {
        this.clock += this.uploadMs; // an upload costs main-thread time
        this.shownAt.set(key.id, this.clock);
        this.showsThisFrame++;
      },
      hide: (key) => {
        this.hidden.push(key.id);
        this.shownAt.delete(key.id);
      },
    }, opts);
  }

  #fetch(key: ChunkKey, signal: AbortSignal): Promise<Uint8Array> {
    this.fetched.push(key.id);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<Uint8Array>((resolve, reject) => {
      const done = () => this.inFlight--;
      signal.addEventListener("abort", () => {
        this.aborts.push(key.id);
        done();
        reject(signal.reason);
      }, { once: true });
      this.#due.push({
        at: this.clock + this.latencyMs,
        run: () => {
          if (signal.aborted) return;
          done();
          resolve(bytesOf(key));
        },
      });
    });
  }

  /** One 16 ms frame at `pos` moving at `vel`: network, then update, then the frame's uploads. */
  async step(pos: { x: number; z: number }, vel: { x: number; z: number }): Promise<void> {
    this.clock += 16;
    const due = this.#due.filter((d) => d.at <= this.clock);
    this.#due = this.#due.filter((d) => d.at > this.clock);
    for (const d of due) d.run();
    await new Promise((r) => setTimeout(r, 0)); // let fetch → decode → ready settle
    this.streamer.update(pos, vel);
    this.showsThisFrame = 0;
    this.streamer.frame();
    this.maxShowsPerFrame = Math.max(this.maxShowsPerFrame, this.showsThisFrame);
    this.maxCacheBytes = Math.max(this.maxCacheBytes, this.streamer.stats.cacheBytes);
  }
}

Deno.test("streamer: moving in a straight line, chunks ahead are requested and shown before the player reaches them", async () => {
  const w = new World(120, 1, { radius: 4, jobLimit: 4 });
  const vel = { x: 20, z: 0 }; // 20 m/s east
  const entered: [number, number][] = []; // [chunk x, clock]
  let last = NaN;
  for (let i = 0; i < 900; i++) { // 14.4 s, bounded
    const pos = { x: 16 + ((i - 60) * 16 / 1000) * vel.x, z: 16 };
    // Stand still for the first second (the initial ring loads), then move.
    await w.step(i < 60 ? { x: 16, z: 16 } : pos, i < 60 ? { x: 0, z: 0 } : vel);
    const cx = Math.floor((i < 60 ? 16 : pos.x) / 32);
    if (cx !== last) entered.push([cx, w.clock]), last = cx;
  }
  assert(entered.length >= 8, `the player crossed ${entered.length} chunks`);
  for (const [cx, at] of entered.slice(1)) {
    const requested = w.streamer.requestedAt(cx, 0);
    assert(requested !== undefined, `chunk ${cx} was requested`);
    assert(at - requested >= 1000, `chunk ${cx} requested ${at - requested} ms before entry`);
    // Prefetch reaches further than the ring: the chunk radius + 1 ahead was requested too.
    const far = w.streamer.requestedAt(cx + 4, 0);
    assert(far !== undefined && far <= at, `chunk ${cx + 4} requested before entering ${cx}`);
  }
  // Every chunk the player stood in was shown before they reached it.
  for (const [cx] of entered.slice(1, -1)) {
    assert(w.hidden.includes(`${cx},0`) || w.streamer.isShown(cx, 0));
  }
  assert(w.maxInFlight <= 4, `job limit: ${w.maxInFlight} in flight`);
  assertEquals(w.streamer.stats.errors, 0);
});

Deno.test("streamer: far chunks are released, hidden and their fetches aborted", async () => {
  // Slow network, fast flight: chunks fall out of range while still fetching.
  const w = new World(1500, 0.5, { radius: 3, jobLimit: 6, lookaheadSeconds: 2 });
  const vel = { x: 0, z: -120 };
  for (let i = 0; i < 400; i++) await w.step({ x: 0, z: -(i * 16 / 1000) * 120 }, vel);
  const s = w.streamer.stats;
  assert(s.released > 0, "chunks were released");
  assert(w.aborts.length > 0, "fetches of chunks that left the ring were aborted");
  assertEquals(s.aborted, w.aborts.length, "every abort is counted");
  // Nothing near the start is held any more (released beyond radius + 2 of the player and ahead).
  for (let z = -2; z <= 2; z++) {
    for (let x = -2; x <= 2; x++) assertEquals(w.streamer.stateOf(x, z), undefined);
  }
  // Whatever was shown and left is hidden exactly once.
  assertEquals(new Set(w.hidden).size, w.hidden.length, "hidden once each");
  for (const [key, , shown] of w.streamer.chunks()) {
    const d = Math.hypot(key.x + 0.5, key.z + 0.5 - -400 * 16 * 120 / 1000 / 32);
    assert(d < 20, `held chunk ${key.id} is near the player`);
    void shown;
  }
  assert(w.maxInFlight <= 6, `job limit: ${w.maxInFlight} in flight`);
  assertEquals(s.maxJobs <= 6, true);
});

Deno.test("streamer: hysteresis keeps chunks while the player crosses a border back and forth", async () => {
  const w = new World(20, 0, { radius: 3 });
  for (let i = 0; i < 120; i++) await w.step({ x: 16, z: 16 }, { x: 0, z: 0 });
  const requested = w.streamer.stats.requested;
  for (let i = 0; i < 300; i++) {
    const x = i % 40 < 20 ? 30 : 34; // across the border between chunks 0 and 1
    await w.step({ x, z: 16 }, { x: 0, z: 0 });
  }
  assertEquals(w.streamer.stats.released, 0, "nothing released");
  // Only the new column of chunks on the far side was added, once.
  assert(w.streamer.stats.requested - requested <= 7, "no reloading");
});

Deno.test("streamer: the decoded-chunk LRU stays within its byte budget and serves returns", async () => {
  const oneChunk = meshBytes(meshChunk(generateChunk({ seed: SEED }, 0, 0)));
  const budget = oneChunk * 150;
  const w = new World(30, 0, { radius: 3, cacheBytes: budget });
  for (let i = 0; i < 300; i++) await w.step({ x: 16 + i * 2, z: 16 }, { x: 125, z: 0 });
  const back = w.streamer.stats.requested;
  for (let i = 0; i < 300; i++) await w.step({ x: 616 - i * 2, z: 16 }, { x: -125, z: 0 });
  assert(w.maxCacheBytes <= budget, `LRU held ${w.maxCacheBytes} of ${budget} bytes`);
  assert(w.maxCacheBytes > budget / 2, "the LRU was used");
  assert(w.streamer.stats.cacheHits > 0, "chunks coming back into range came from the LRU");
  assert(w.streamer.stats.requested > back, "evicted chunks were fetched again");
});

Deno.test("streamer: uploads are spread over frames within the frame budget", async () => {
  const w = new World(10, 1.5, { radius: 5, frameBudgetMs: 4, jobLimit: 32 });
  for (let i = 0; i < 200; i++) await w.step({ x: 16, z: 16 }, { x: 0, z: 0 });
  // 4 ms at 1.5 ms an upload: three per frame (the check happens before each).
  assertEquals(w.maxShowsPerFrame, 3);
  assert(w.streamer.stats.maxFrameMs <= 4 + 1.5, `longest frame ${w.streamer.stats.maxFrameMs} ms`);
  assertEquals(w.shownAt.size, w.streamer.stats.loaded, "every wanted chunk is shown");
  assert(w.shownAt.size >= 69, `${w.shownAt.size} shown`); // π·5² ≈ 78 chunk centres in the ring
  assert(w.maxInFlight <= 32);
});

Deno.test("streamer: the first requests are the nearest chunks, boosted along the direction of travel", () => {
  const asked: ChunkKey[] = [];
  const s = new ChunkStreamer<Uint8Array>({
    now: () => 0,
    fetchChunk: (key) => (asked.push(key), new Promise<Uint8Array>(() => {})),
    decode: (_k, b) => Promise.resolve(b),
    sizeOf: (b) => b.length,
    show() {},
    hide() {},
  }, { radius: 6, jobLimit: 10 });
  s.update({ x: 16, z: 16 }, { x: 0, z: 30 }); // heading south
  assertEquals(asked.length, 10, "exactly the job limit started");
  assertEquals(asked[0], chunkKey(0, 0), "the player's own chunk first");
  const south = asked.filter((k) => k.z > 0).length, north = asked.filter((k) => k.z < 0).length;
  assert(south > north, `${south} ahead and ${north} behind`);
  assert(asked.every((k) => Math.hypot(k.x, k.z) <= 2 || k.z > 0), "near, or ahead");
});

Deno.test("PriorityQueue pops lowest first, rescores, and pushes out its worst when full", () => {
  const q = new PriorityQueue<string>(3);
  assertEquals(q.push("c", 3), undefined);
  q.push("a", 1);
  q.push("b", 2);
  assertEquals(q.push("z", 9), "z", "worse than everything: refused");
  assertEquals(q.push("a0", 0), "c", "better: pushes out the worst");
  q.rescore((s) => s === "b" ? -1 : 5);
  assertEquals([q.pop(), q.size], ["b", 2]);
  assertEquals(q.removeWhere((s) => s === "a"), ["a"]);
  assertEquals([q.pop(), q.pop()], ["a0", undefined]);
  assertThrows(() => new PriorityQueue(0), RangeError);
});

Deno.test("ByteLru evicts least recently used entries to stay within its budget", () => {
  const evicted: string[] = [];
  const lru = new ByteLru<string, number>(100, (k) => evicted.push(k));
  lru.set("a", 1, 40);
  lru.set("b", 2, 40);
  lru.get("a");
  lru.set("c", 3, 40);
  assertEquals(evicted, ["b"]);
  assertEquals(lru.bytes, 80);
  assertEquals(lru.set("huge", 4, 101), false, "larger than the budget: not kept");
  assertEquals([lru.has("a"), lru.has("c"), lru.size], [true, true, 2]);
  assertThrows(() => new ByteLru(-1), RangeError);
});

Deno.test("meshChunk: neighbouring chunks share edge vertices and normals exactly", () => {
  for (const [x, z] of [[0, 0], [-3, 7], [2147483647, -2147483648]] as const) {
    const a = meshChunk(generateChunk({ seed: SEED }, x, z));
    const east = meshChunk(generateChunk({ seed: SEED }, (x + 1) | 0, z));
    const south = meshChunk(generateChunk({ seed: SEED }, x, (z + 1) | 0));
    for (let k = 0; k < GRID; k++) {
      // a's last column is east's first; a's last row is south's first.
      const ae = k * GRID + GRID - 1, e0 = k * GRID;
      const as = (GRID - 1) * GRID + k, s0 = k;
      if (k < GRID - 1) {
        assertEquals(a.ground[ae], east.ground[e0], `east seam height at row ${k} of (${x}, ${z})`);
        assertEquals(a.ground[as], south.ground[s0], `south seam height at column ${k}`);
        for (let c = 0; c < 3; c++) {
          assertEquals(a.terrain.normals[ae * 3 + c], east.terrain.normals[e0 * 3 + c], "normal");
          assertEquals(a.terrain.normals[as * 3 + c], south.terrain.normals[s0 * 3 + c], "normal");
        }
      }
    }
    assertEquals(a.terrain.indices.length, 32 * 32 * 6);
    assert(a.terrain.indices.every((i) => i < GRID * GRID), "indices in range");
  }
});

Deno.test("meshChunk: objects become per-kind instance matrices standing on their column", () => {
  const chunk = generateChunk({ seed: SEED }, 5, 5);
  const mesh = meshChunk(chunk);
  const total = mesh.objects.reduce((n, o) => n + o.matrices.length / 16, 0);
  assertEquals(total, chunk.objects.length);
  for (const { kind, matrices } of mesh.objects) {
    const first = chunk.objects.find((o) => o.kind === kind)!;
    assertEquals(matrices[12], first.x / 8 + 1 / 16);
    assertEquals(
      matrices[13],
      Math.fround(chunk.heights[(first.z >> 3) * 32 + (first.x >> 3)]! / 16),
    );
  }
  const wet = chunk.water.some((w) => w !== 0);
  assertEquals(mesh.water !== null, wet, "a water mesh exactly when some column is wet");
});

Deno.test("meshChunk: the bounding spheres hold every terrain vertex and every object's base", () => {
  for (const [x, z] of [[5, 5], [-40, 12], [0, 3]] as const) {
    const chunk = generateChunk({ seed: SEED }, x, z);
    const m = meshChunk(chunk);
    const [bx, by, bz, br] = m.bounds;
    const p = m.terrain.positions;
    for (let i = 0; i < p.length; i += 3) {
      const d = Math.hypot(p[i]! - bx, p[i + 1]! - by, p[i + 2]! - bz);
      assert(
        d <= br + 1e-3,
        `vertex ${i / 3} of (${x}, ${z}) is ${d} from the centre, radius ${br}`,
      );
    }
    if (chunk.objects.length === 0) continue;
    const [ox, oy, oz, or] = m.objectBounds!;
    for (const { matrices } of m.objects) {
      for (let i = 0; i < matrices.length; i += 16) {
        const d = Math.hypot(
          matrices[i + 12]! - ox,
          matrices[i + 13]! - oy,
          matrices[i + 14]! - oz,
        );
        // The base is inside with room for the shape: at least the shape's reach at scale 1/4.
        assert(d + 2 <= or, `object base ${d} from the centre of a sphere of ${or}`);
      }
    }
  }
});

Deno.test("streamer: flying east across the world's wrap (chunk 2^31 − 1 to −2^31) loads ahead and releases nothing early", async () => {
  const w = new World(60, 0, { radius: 3 });
  const x0 = (2147483647 - 3) * 32 + 16, vel = { x: 32, z: 0 };
  let shownAtEntry = false, entered = false;
  for (let i = 0; i < 400; i++) { // 6.4 s at 32 m/s: 6.4 chunks, across the wrap
    const x = x0 + (i * 16 / 1000) * vel.x;
    await w.step({ x, z: 16 }, vel);
    if (!entered && Math.floor(x / 32) === 2147483648) {
      entered = true;
      shownAtEntry = w.streamer.isShown(-2147483648, 0);
    }
  }
  assert(entered, "the player crossed the wrap");
  assert(shownAtEntry, "chunk −2^31 was on screen when the player reached it");
  // Released chunks are only those left behind, beyond radius + 2 (none across the wrap early).
  for (const id of w.hidden) {
    const x = Number(id.split(",")[0]);
    // Behind: on the positive side of the wrap, which the player left.
    assert(x > 2147483647 - 10 && x <= 2147483647, `released ${id} was behind the player`);
  }
  const held = [...w.streamer.chunks()].map(([k]) => k.x);
  assert(held.includes(-2147483648) && held.includes(-2147483646), "chunks past the wrap held");
});

Deno.test("streamer: refresh fetches a shown chunk again and shows it without hiding the old one first", async () => {
  const w = new World(20, 0, { radius: 3 });
  for (let i = 0; i < 60; i++) await w.step({ x: 16, z: 16 }, { x: 0, z: 0 });
  assert(w.streamer.isShown(0, 0));
  const fetches = w.fetched.filter((id) => id === chunkKey(0, 0).id).length;
  const hidden = w.hidden.length, loaded = w.streamer.stats.loaded;
  w.streamer.refresh(0, 0);
  w.streamer.refresh(99, 99); // not held: nothing happens
  for (let i = 0; i < 30; i++) await w.step({ x: 16, z: 16 }, { x: 0, z: 0 });
  assertEquals(w.fetched.filter((id) => id === chunkKey(0, 0).id).length, fetches + 1);
  assert(w.streamer.isShown(0, 0), "shown again");
  assertEquals(w.hidden.length, hidden, "the old mesh stayed until the new one replaced it");
  assertEquals(w.streamer.stats.loaded, loaded);
});
