// This module is browser compatible.
/**
 * Erasure coding for Mote: a systematic Reed-Solomon code over GF(2^8) (polynomial 0x11d) that
 * turns a block into k data shards and m parity shards, any k of which give the block back. The
 * encoding matrix is ISA-L's `gf_gen_cauchy1_matrix`, so parity bytes equal Intel ISA-L's for the
 * same input (checked against vectors from ISA-L in tests/vectors/rs_isal.json).
 *
 * ```ts
 * import { createCodec, eccForSuppliers, joinShards, splitBlock } from "./mod.ts";
 * const { k, m } = eccForSuppliers(14); // 10 + 4
 * const codec = createCodec({ k, m });
 * const block = new Uint8Array(1000).map((_, i) => i);
 * const { shards } = splitBlock(block, k); // zero-pads the last shard; keep block.length
 * const parity = codec.encode(shards);
 * const got = [...shards, ...parity].map((s, i) => (i === 0 || i === 7 ? null : s));
 * const back = joinShards(codec.reconstruct(got), block.length);
 * if (back[999] !== block[999]) throw new Error("round trip failed");
 * ```
 *
 * **Padding.** `splitBlock` cuts a block into k shards of `ceil(length / k)` bytes and pads the
 * last with zeros; the block length is not stored in the shards, so the caller keeps it (in its
 * manifest) and gives it to `joinShards`.
 *
 * **Avoiding copies.** WebAssembly can only read its own memory, and copying shards in and parity
 * out costs about as much as encoding (FACTS.md). `encode`/`reconstruct` on plain arrays do that
 * copy, in L2-sized steps. A pipeline that can write its data where the kernel reads it instead
 * allocates an arena: `const arena = codec.allocShards(shardSize)`, writes each data shard into
 * `arena.data[i]` (for instance, decrypts straight into it with `set`, or `arena.setBlock(block)`),
 * calls `arena.encode()`, and sends `arena.shards`, whose parity views were filled in place. To
 * rebuild, write the shards that arrived into `arena.shards[i]` and call
 * `arena.reconstruct(missingIndices)`. Views stay valid for the arena's life; keep one arena per
 * block in flight, or reuse one for blocks of the same shard size.
 *
 * **Kernels.** "wasm-relaxed" (hand-written WebAssembly SIMD in kernel.wat, with
 * `i8x16.relaxed_swizzle`), "wasm-simd" (the same with `i8x16.swizzle`) and "ts" (pure
 * TypeScript). `createCodec` picks the fastest this runtime runs (see detect.ts): the TypeScript
 * kernel needs no WebAssembly, so edge runtimes that refuse to compile it still work.
 * @module
 */
export { type Codec, type CodecOptions, createCodec } from "./codec.ts";
export type { ShardArena } from "./arena.ts";
export { type KernelChoice, type KernelName, kernelSupport } from "./detect.ts";
export { ECC_MAPS, eccForSuppliers, type EccMap } from "./ecc_maps.ts";
export { joinShards, type SplitBlock, splitBlock } from "./split.ts";
export { cauchyMatrix, invertMatrix } from "./matrix.ts";
export { gfInv, gfMul } from "./gf256.ts";
