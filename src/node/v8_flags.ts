/**
 * The V8 flags a node's process runs with: `deno task start` and `deno task mote` (deno.json)
 * pass exactly these, and the tests and benchmarks that start `mote` do too.
 *
 * - `--max-semi-space-size=1` (MiB): a small young generation. A put or get sends every block
 *   through buffers that die young; with V8's default (up to 16 MiB per semi-space) their
 *   wrappers survive long enough to be promoted, and their memory waits for a full collection.
 * - `--expose-gc`: lets the data path ask for a collection after every 16 MiB it moves
 *   (`src/files/_collect.ts`), so ArrayBuffer garbage stays bounded.
 *
 * Together they took the node's peak RSS over a 2 GiB put and get through `mote start` from
 * 377–398 MiB to 224–263 MiB at the same speed (BENCHMARKS.md, "The owner's memory"). Without
 * them (a bare `deno run mod.ts start`) everything works; it only uses more memory.
 */
export const NODE_V8_FLAGS = "--v8-flags=--expose-gc,--max-semi-space-size=1";
