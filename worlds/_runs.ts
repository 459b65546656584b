// This module is browser compatible.
/**
 * Run-length coding of a per-column field: (run length, value) pairs as varints covering the
 * 1024 columns in order. Runs are maximal (two neighbouring runs never share a value), so the
 * coding is canonical. Biome regions are large, so a chunk's field is usually a few runs.
 * @module
 */
import { CHUNK_COLUMNS } from "./chunk.ts";
import type { ByteReader, ByteWriter } from "./_bytes.ts";

/** Writes `values` (1024 entries) as maximal runs. */
export function writeRuns(w: ByteWriter, values: Uint8Array | Uint16Array): void {
  for (let i = 0; i < values.length;) {
    const v = values[i]!;
    let j = i + 1;
    while (j < values.length && values[j] === v) j++;
    w.varint(j - i);
    w.varint(v);
    i = j;
  }
}

/** Reads runs into `out` (1024 entries), checking lengths, values up to `max`, and canonicity. */
export function readRuns<T extends Uint8Array | Uint16Array>(
  r: ByteReader,
  out: T,
  what: string,
  max: number,
): T {
  let previous = -1;
  for (let i = 0; i < CHUNK_COLUMNS;) {
    const left = CHUNK_COLUMNS - i;
    const run = r.varint(`a ${what} run length`, CHUNK_COLUMNS);
    if (run === 0) {
      throw new SyntaxError(`Cannot decode chunk: a ${what} run at column ${i} has length 0`);
    }
    if (run > left) {
      throw new RangeError(
        `Cannot decode chunk: a ${what} run of ${run} at column ${i} overruns the ${left} columns left`,
      );
    }
    const v = r.varint(`a ${what} value`, max);
    if (v === previous) {
      throw new SyntaxError(
        `Cannot decode chunk: two ${what} runs of ${v} in a row at column ${i} (not canonical)`,
      );
    }
    out.fill(v, i, i + run);
    previous = v;
    i += run;
  }
  return out;
}
