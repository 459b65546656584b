// This module is browser compatible.
/**
 * Sizes ("10GiB") and durations ("1h30m") as people write them in config files, flags and
 * environment variables, read into bytes and milliseconds and written back.
 * @module
 */

const SIZE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ["", 1n],
  ["b", 1n],
  ["kb", 1000n],
  ["mb", 1000n ** 2n],
  ["gb", 1000n ** 3n],
  ["tb", 1000n ** 4n],
  ["kib", 1024n],
  ["mib", 1024n ** 2n],
  ["gib", 1024n ** 3n],
  ["tib", 1024n ** 4n],
]);

const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;

/**
 * Reads a byte size: a plain number of bytes (`"123"`, `123`) or a number with a unit, with or
 * without a space: B, KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), in
 * any letter case. Fractions are allowed when the result is a whole number of bytes.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * parseSize("10GiB"); // 10737418240
 * parseSize("1.5 GB"); // 1500000000
 * ```
 * @throws {SyntaxError} when the text is not a number followed by a known unit.
 * @throws {RangeError} when the size is negative, not a whole number of bytes or too large.
 */
export function parseSize(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isSafeInteger(text) || text < 0) {
      throw new RangeError(`Cannot use size ${text}: expected a whole number of bytes >= 0`);
    }
    return text;
  }
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse size: expected a string or number, received ${typeof text}`);
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new SyntaxError(`Cannot parse size "${text}": it is empty`);
  if (trimmed.startsWith("-")) {
    throw new RangeError(`Cannot parse size "${text}": a size cannot be negative`);
  }
  const match = SIZE_RE.exec(trimmed);
  if (!match) {
    throw new SyntaxError(
      `Cannot parse size "${text}": expected a number with an optional unit, like "512MiB"`,
    );
  }
  const [, whole = "", fraction = "", unit = ""] = match;
  const factor = SIZE_UNITS.get(unit.toLowerCase());
  if (factor === undefined) {
    throw new SyntaxError(
      `Cannot parse size "${text}": unknown unit "${unit}" (use B, KB, MB, GB, TB, KiB, MiB, ` +
        `GiB or TiB)`,
    );
  }
  // Exact arithmetic: "1.1KB" must be 1100 bytes, not 1100.0000000000002.
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole + fraction) * factor;
  if (scaled % scale !== 0n) {
    throw new RangeError(`Cannot parse size "${text}": it is not a whole number of bytes`);
  }
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot parse size "${text}": it is larger than 2^53-1 bytes`);
  }
  return Number(bytes);
}

const FORMAT_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/**
 * Writes a byte count with the largest binary unit that keeps the number at least 1, with up
 * to two decimals: `1.5 GiB`, `512 B`, `10 MiB`. The result is accepted by {@linkcode parseSize}
 * (exactly so when the count is a multiple of 1/100 of its unit).
 *
 * @throws {RangeError} when `bytes` is not a whole number >= 0.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Cannot format size ${bytes}: expected a whole number of bytes >= 0`);
  }
  let index = 0;
  let value = bytes;
  while (index < FORMAT_UNITS.length - 1 && Number(value.toFixed(2)) >= 1024) {
    value /= 1024;
    index++;
  }
  return `${Number(value.toFixed(2))} ${FORMAT_UNITS[index]}`;
}

// Largest first: formatDuration() walks this order.
const DURATION_UNITS: ReadonlyMap<string, number> = new Map([
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
]);

/**
 * Reads a duration into milliseconds: a plain number of milliseconds (`"250"`, `250`) or one or
 * more number-unit pairs with units ms, s, m, h and d (`"5s"`, `"36h"`, `"1h30m"`, `"1.5s"`).
 * Units are lower case (so "M" is never mistaken for months). The result is rounded to a whole
 * millisecond.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 * parseDuration("1h30m"); // 5400000
 * ```
 * @throws {SyntaxError} when the text is empty or uses an unknown unit.
 * @throws {RangeError} when the duration is negative, not finite or too large.
 */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) {
      throw new RangeError(`Cannot use duration ${text}: expected a finite number of ms >= 0`);
    }
    return checkedMs(Math.round(text), String(text));
  }
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot parse duration: expected a string or number, received ${typeof text}`,
    );
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new SyntaxError(`Cannot parse duration "${text}": it is empty`);
  if (trimmed.startsWith("-")) {
    throw new RangeError(`Cannot parse duration "${text}": a duration cannot be negative`);
  }
  if (/^\d+(\.\d+)?$/.test(trimmed)) return checkedMs(Math.round(Number(trimmed)), text);
  const part = /\s*(\d+(?:\.\d+)?)\s*([a-z]*)/iy;
  let total = 0;
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed);
    if (!match) {
      throw new SyntaxError(
        `Cannot parse duration "${text}": expected number-unit pairs like "1h30m", found ` +
          `"${trimmed.slice(part.lastIndex)}"`,
      );
    }
    const [, amount = "", unit = ""] = match;
    if (unit === "") {
      throw new SyntaxError(`Cannot parse duration "${text}": "${amount}" has no unit`);
    }
    const factor = DURATION_UNITS.get(unit);
    if (factor === undefined) {
      throw new SyntaxError(
        `Cannot parse duration "${text}": unknown unit "${unit}" (use ms, s, m, h or d)`,
      );
    }
    total += Number(amount) * factor;
  }
  return checkedMs(Math.round(total), text);
}

function checkedMs(ms: number, text: string): number {
  if (!Number.isSafeInteger(ms)) {
    throw new RangeError(`Cannot parse duration "${text}": it is too large`);
  }
  return ms;
}

/**
 * Writes milliseconds as number-unit pairs from days down to milliseconds, leaving out zero
 * parts: `1h30m`, `250ms`, `1d12h`, `0ms`. {@linkcode parseDuration} reads the result back to
 * the same number.
 *
 * @throws {RangeError} when `ms` is not a whole number >= 0.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`Cannot format duration ${ms}: expected a whole number of ms >= 0`);
  }
  if (ms === 0) return "0ms";
  let rest = ms;
  let out = "";
  for (const [unit, factor] of DURATION_UNITS) {
    const count = Math.floor(rest / factor);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * factor;
  }
  return out;
}
