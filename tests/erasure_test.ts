/**
 * The erasure code: parity equal to Intel ISA-L's (vectors), any k of n shards decode for every
 * ecc map (exhaustively where the patterns are few, randomly where they are many), all kernels
 * agreeing byte for byte, arenas, padding, runtime kernel selection, and bad input.
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  cauchyMatrix,
  type Codec,
  createCodec,
  ECC_MAPS,
  eccForSuppliers,
  gfInv,
  gfMul,
  joinShards,
  kernelSupport,
  splitBlock,
} from "../src/erasure/mod.ts";
import { buildKernel, renderKernelModule } from "../src/erasure/build_wasm.ts";
import { selectKernel, tryCompile } from "../src/erasure/detect.ts";
import { KERNEL_RELAXED, KERNEL_SIMD, PROBE_RELAXED } from "../src/erasure/_kernel_wasm.ts";
import vectors from "./vectors/rs_isal.json" with { type: "json" };

const KERNELS = kernelSupport().filter((s) => s.available).map((s) => s.name);

/** The vectors' input generator: a 32-bit LCG, one step per byte, top 8 bits (bench/isal/rs.c). */
function lcgShards(seed: number, k: number, size: number): Uint8Array[] {
  let state = seed >>> 0;
  return Array.from({ length: k }, () => {
    const s = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      s[i] = state >>> 24;
    }
    return s;
  });
}

/** mulberry32: a small seeded PRNG for the property tests. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const sha256 = async (b: Uint8Array) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b))));

function randomShards(rand: (n: number) => number, k: number, size: number): Uint8Array[] {
  return Array.from({ length: k }, () => Uint8Array.from({ length: size }, () => rand(256)));
}

/** Every way to choose `r` of `0..n-1`, in order. */
function* choose(n: number, r: number, from = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === r) yield acc;
  else for (let i = from; i <= n - (r - acc.length); i++) yield* choose(n, r, i + 1, [...acc, i]);
}

function binomial(n: number, r: number): number {
  let c = 1;
  for (let i = 0; i < r; i++) c = (c * (n - i)) / (i + 1);
  return Math.round(c);
}

/** Drops the shards at `lost` and checks that reconstruct, repair and an arena rebuild them. */
function checkRecovery(codec: Codec, data: Uint8Array[], parity: Uint8Array[], lost: number[]) {
  const all = [...data, ...parity];
  const got = all.map((s, i) => (lost.includes(i) ? null : s));
  const back = codec.reconstruct(got);
  data.forEach((d, i) => assertEquals(back[i], d, `data shard ${i}, lost ${lost}`));
  const repaired = codec.repair(got);
  all.forEach((s, i) => assertEquals(repaired[i], s, `repaired shard ${i}, lost ${lost}`));
}

Deno.test("the ecc map table is the storage issue's, by supplier count", () => {
  const want: [number, number, number][] = [
    [2, 1, 1],
    [3, 1, 1],
    [4, 2, 2],
    [5, 2, 2],
    [6, 4, 2],
    [10, 7, 3],
    [14, 10, 4],
    [17, 10, 4],
    [18, 13, 5],
    [26, 18, 8],
    [63, 18, 8],
    [64, 48, 16],
    [1000, 48, 16],
  ];
  for (const [n, k, m] of want) assertEquals(eccForSuppliers(n), { k, m }, `${n} suppliers`);
  assertEquals(
    ECC_MAPS.map((e) => `${e.k}+${e.m}`).join(" "),
    "1+1 2+2 4+2 7+3 10+4 13+5 18+8 48+16",
  );
  for (const bad of [1, 0, -3, 2.5, NaN, Infinity]) {
    assertThrows(() => eccForSuppliers(bad), RangeError, "at least 2 suppliers");
  }
});

Deno.test("GF(2^8) arithmetic uses ISA-L's polynomial 0x11d", () => {
  assertEquals(gfMul(0x80, 2), 0x1d);
  for (let a = 1; a < 256; a++) assertEquals(gfMul(a, gfInv(a)), 1, `inverse of ${a}`);
  assertEquals(gfMul(0x53, 0xca), gfMul(0xca, 0x53));
  // ISA-L's gf_gen_cauchy1_matrix: identity, then 1 / (i ^ j).
  const a = cauchyMatrix(2, 2);
  assertEquals([...a], [1, 0, 0, 1, gfInv(2), gfInv(3), gfInv(3), gfInv(2)]);
});

Deno.test("parity equals Intel ISA-L's for every map and size in the vectors", async (t) => {
  assert(vectors.cases.length >= 40, "expected the ISA-L vectors");
  for (const kernel of KERNELS) {
    await t.step(kernel, async () => {
      for (const c of vectors.cases) {
        const codec = createCodec({ k: c.k, m: c.m, kernel });
        const parity = codec.encode(lcgShards(c.seed, c.k, c.size));
        const label = `${c.k}+${c.m}, ${c.size} bytes`;
        if ("parity" in c) assertEquals(parity.map(hex), c.parity, label);
        else assertEquals(await Promise.all(parity.map(sha256)), c.sha256, label);
        // The arena path computes the same bytes in place.
        const arena = codec.allocShards(c.size);
        lcgShards(c.seed, c.k, c.size).forEach((d, i) => arena.data[i]!.set(d));
        arena.encode();
        parity.forEach((p, q) => assertEquals(arena.parity[q], p, `arena ${label}`));
      }
    });
  }
});

Deno.test("this runtime runs the WebAssembly kernels", () => {
  // Deno 2 has SIMD and relaxed SIMD; if this fails, the fast path silently became TypeScript.
  assertEquals(KERNELS, ["wasm-relaxed", "wasm-simd", "ts"]);
  assertEquals(createCodec({ k: 10, m: 4 }).kernel, "wasm-relaxed");
  assertEquals(createCodec({ k: 10, m: 4, kernel: "wasm" }).kernel, "wasm-relaxed");
  assertEquals(createCodec({ k: 10, m: 4, kernel: "ts" }).kernel, "ts");
});

Deno.test("any k of n shards decode, for every ecc map and every kernel", async (t) => {
  for (const { k, m } of ECC_MAPS) {
    await t.step(`${k}+${m}`, () => {
      const rand = prng(k * 100 + m);
      const n = k + m;
      const codecs = KERNELS.map((kernel) => createCodec({ k, m, kernel }));
      // Sizes around the kernels' 32-byte steps and 4096-column chunks, and an empty shard.
      for (const size of [0, 1, 31, 33, 100 + rand(64), 4096 + 17]) {
        const data = randomShards(rand, k, size);
        const parity = codecs[0]!.encode(data);
        for (const c of codecs.slice(1)) {
          assertEquals(c.encode(data), parity, `${c.kernel} vs ${codecs[0]!.kernel}, ${size} B`);
        }
        // Exhaustive where the patterns of m lost shards are few, random where they are many.
        const exhaustive = binomial(n, m) <= 2000 && size <= 100;
        const patterns: number[][] = exhaustive
          ? [...choose(n, m)]
          : Array.from({ length: 12 }, () => randomLoss(rand, n, 1 + rand(m)));
        for (const lost of patterns) {
          checkRecovery(codecs[rand(codecs.length)]!, data, parity, lost);
        }
      }
    });
  }
});

function randomLoss(rand: (n: number) => number, n: number, count: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rand(i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, count);
}

Deno.test("every k of n rows of the 13+5 Cauchy matrix are invertible", () => {
  // The largest map whose 8,568 patterns are quick to try: each must rebuild, none may throw.
  const codec = createCodec({ k: 13, m: 5, kernel: "ts" });
  const data = randomShards(prng(7), 13, 3);
  const parity = codec.encode(data);
  let count = 0;
  for (const lost of choose(18, 5)) {
    const back = codec.reconstruct([...data, ...parity].map((s, i) => lost.includes(i) ? null : s));
    assertEquals(back, data, `lost ${lost}`);
    count++;
  }
  assertEquals(count, 8568);
});

Deno.test("a cached rebuild plan serves the next block with the same loss pattern", () => {
  const rand = prng(5);
  for (const kernel of KERNELS) {
    const codec = createCodec({ k: 10, m: 4, kernel });
    for (let block = 0; block < 3; block++) {
      const data = randomShards(rand, 10, 64 + block);
      const parity = codec.encode(data);
      for (const lost of [[0, 3, 11], [0, 3], [0, 3, 11]]) checkRecovery(codec, data, parity, lost);
    }
  }
});

Deno.test("arenas encode and rebuild shards in place", async (t) => {
  for (const kernel of KERNELS) {
    await t.step(kernel, () => {
      const rand = prng(99);
      for (const { k, m } of [{ k: 4, m: 2 }, { k: 10, m: 4 }, { k: 48, m: 16 }]) {
        const codec = createCodec({ k, m, kernel });
        const block = Uint8Array.from({ length: 5000 + rand(1000) }, () => rand(256));
        const { shards, shardSize } = splitBlock(block, k);
        const arena = codec.allocShards(shardSize);
        arena.setBlock(block);
        shards.forEach((s, i) => assertEquals(arena.data[i], s, `data shard ${i}`));
        arena.encode();
        const expected = [...shards, ...codec.encode(shards)];
        for (let round = 0; round < 5; round++) {
          const lost = randomLoss(rand, k + m, 1 + rand(m));
          for (const i of lost) arena.shards[i]!.fill(0xee);
          arena.reconstruct(lost);
          expected.forEach((s, i) => assertEquals(arena.shards[i], s, `shard ${i}, lost ${lost}`));
        }
        assertEquals(joinShards(arena.data, block.length), block);
        // Arenas are independent memories: a second one leaves the first's views intact.
        const other = codec.allocShards(shardSize * 3);
        other.encode();
        assertEquals(arena.data[0]!.length, shardSize);
        assertEquals(arena.data[0], shards[0]);
      }
    });
  }
});

Deno.test("splitBlock() zero-pads the last shard and joinShards() drops the padding", () => {
  for (const [len, k] of [[0, 4], [1, 4], [11, 4], [12, 4], [13, 4], [5, 10], [1000, 7]]) {
    const block = Uint8Array.from({ length: len! }, (_, i) => (i * 7 + 1) & 0xff);
    const { shards, shardSize } = splitBlock(block, k!);
    assertEquals(shardSize, Math.ceil(len! / k!));
    assertEquals(shards.length, k);
    const flat = new Uint8Array(shardSize * k!);
    shards.forEach((s, i) => flat.set(s, i * shardSize));
    assertEquals(flat.subarray(0, len), block, `${len}/${k}`);
    assert(flat.subarray(len).every((b) => b === 0), `padding of ${len}/${k} is zero`);
    assertEquals(joinShards(shards, len!), block);
  }
  assertThrows(() => splitBlock(new Uint8Array(4), 0), RangeError, "k must be an integer");
  assertThrows(() => splitBlock("abc" as unknown as Uint8Array, 2), TypeError, "got string");
  assertThrows(() => joinShards([new Uint8Array(2)], 3), RangeError, "from 0 to 2");
  assertThrows(
    () => joinShards([new Uint8Array(2), new Uint8Array(3)], 1),
    RangeError,
    "data shard 1 is 3 bytes",
  );
});

Deno.test("bad input is refused with a RangeError or TypeError saying what was wrong", () => {
  const codec = createCodec({ k: 4, m: 2 });
  const d = (n = 4, size = 8) => Array.from({ length: n }, () => new Uint8Array(size));
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [() => createCodec({ k: 0, m: 2 }), RangeError, "k must be an integer from 1 to 255, got 0"],
    [() => createCodec({ k: 2.5, m: 2 }), RangeError, "got 2.5"],
    [() => createCodec({ k: 4, m: 0 }), RangeError, "m must be an integer from 1 to 252"],
    [() => createCodec({ k: 200, m: 57 }), RangeError, "k + m ≤ 256"],
    [() => createCodec({ k: 4, m: 2, kernel: "gpu" as "ts" }), TypeError, 'got "gpu"'],
    [() => codec.encode(d(3)), RangeError, "expected 4 data shards, got 3"],
    [() => codec.encode("x" as unknown as Uint8Array[]), TypeError, "got string"],
    [() => codec.encode([...d(3), new Uint8Array(9)]), RangeError, "data shard 3 is 9 bytes"],
    [() => codec.encode([...d(3), [1] as unknown as Uint8Array]), TypeError, "data shard 3"],
    [() => codec.encodeInto(d(), d(2, 9)), RangeError, "parity shards are 9 bytes"],
    [() => codec.reconstruct(d(5)), RangeError, "expected 6 shard slots"],
    [
      () => codec.reconstruct([null, null, null, ...d(3)]),
      RangeError,
      "only 3 of 6 shards present, need at least 4",
    ],
    [() => codec.reconstruct([...d(5), new Uint8Array(7)]), RangeError, "shard 5 is 7 bytes"],
    [() => codec.allocShards(-1), RangeError, "shardSize must be a non-negative integer"],
    [() => codec.allocShards(8).reconstruct([6]), RangeError, "from 0 to 5, got 6"],
    [() => codec.allocShards(8).reconstruct([1, 1]), RangeError, "listed twice"],
    [() => codec.allocShards(8).reconstruct([0, 1, 2]), RangeError, "at most 2 can be rebuilt"],
    [() => codec.allocShards(2).setBlock(new Uint8Array(9)), RangeError, "9 bytes exceed 4 × 2"],
  ];
  for (const [fn, cls, text] of cases) assertThrows(fn, cls, text);
});

/** Runs `fn` with `WebAssembly[key]` replaced by `value`. */
function withWasmStub(key: "Module" | "validate", value: unknown, fn: () => void): void {
  const original = WebAssembly[key];
  Object.defineProperty(WebAssembly, key, { configurable: true, writable: true, value });
  try {
    fn();
  } finally {
    Object.defineProperty(WebAssembly, key, {
      configurable: true,
      writable: true,
      value: original,
    });
  }
}

Deno.test("kernel selection falls back to what the runtime can run", async (t) => {
  await t.step("a runtime that refuses to compile (Cloudflare Workers) gets no wasm", () => {
    const refuse = function () {
      throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
    };
    withWasmStub("Module", refuse, () => {
      const reason = tryCompile("wasm-relaxed");
      assert(typeof reason === "string" && reason.includes("refused"), `${reason}`);
      assert(`${reason}`.includes("disallowed by embedder"));
    });
  });
  await t.step("a runtime without relaxed SIMD gets the plain SIMD build", () => {
    const relaxedProbe = atob(PROBE_RELAXED);
    const real = WebAssembly.validate.bind(WebAssembly);
    const validate = (b: Uint8Array<ArrayBuffer>) =>
      String.fromCharCode(...b) !== relaxedProbe && real(b);
    withWasmStub("validate", validate, () => {
      assertEquals(tryCompile("wasm-relaxed"), "WebAssembly relaxed SIMD is not supported");
      assert(tryCompile("wasm-simd") instanceof WebAssembly.Module);
    });
  });
  await t.step("the order is relaxed, then plain SIMD, then TypeScript", () => {
    const simd = tryCompile("wasm-simd") as WebAssembly.Module;
    const noRelaxed = (v: string) => (v === "wasm-simd" ? simd : "unsupported");
    assertEquals(selectKernel("auto", noRelaxed).name, "wasm-simd");
    assertEquals(selectKernel("wasm", noRelaxed).name, "wasm-simd");
    assertEquals(selectKernel("auto", () => "refused").name, "ts");
    assertThrows(() => selectKernel("wasm", () => "refused"), Error, "wasm-simd: refused");
    assertThrows(() => selectKernel("wasm-relaxed", noRelaxed), Error, "unsupported");
  });
  await t.step("a runtime without WebAssembly (deno --v8-flags=--jitless) gets ts", async () => {
    const code = 'import { createCodec } from "./src/erasure/mod.ts";' +
      "console.log(createCodec({ k: 4, m: 2 }).kernel);";
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--v8-flags=--jitless", code],
      cwd: new URL("../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    assertEquals(new TextDecoder().decode(r.stdout).trim(), "ts");
  });
});

Deno.test("the committed kernel is byte for byte what build_wasm.ts builds from kernel.wat", async () => {
  const committed = await Deno.readTextFile(
    new URL("../src/erasure/_kernel_wasm.ts", import.meta.url),
  );
  assertEquals(renderKernelModule(await buildKernel()), committed);
  // Chrome compiles modules synchronously on the main thread only up to 4 KiB.
  for (const b64 of [KERNEL_SIMD, KERNEL_RELAXED]) assert(atob(b64).length < 4096);
});
