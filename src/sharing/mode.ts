// This module is browser compatible.
/**
 * POSIX-like permission modes: nine bits, read/write/x for the owner ("user"), the folder's group
 * and everyone else ("other"). On a folder x means "may list it"; on a file x means nothing (Mote
 * never executes data), so files never carry it.
 *
 * Inheritance (see {@linkcode childMode}): a new subfolder takes its parent folder's mode
 * unchanged; a new file takes the parent's r and w bits and no x bits.
 */

/** Who is asking, relative to an object: its owner, a member of its group, or anyone else. */
export type ModeClass = "owner" | "group" | "other";

/** The largest mode: `rwxrwxrwx`. */
export const MAX_MODE = 0o777;
/** The default mode of a new root folder: owner only (`rwx------`). */
export const DEFAULT_FOLDER_MODE = 0o700;

const R = 4, W = 2, X = 1;
const SHIFT: Record<ModeClass, number> = { owner: 6, group: 3, other: 0 };
const WHO: Record<string, readonly number[]> = {
  u: [6],
  g: [3],
  o: [0],
  a: [6, 3, 0],
};
const PERM: Record<string, number> = { r: R, w: W, x: X };
const MAX_MODE_TEXT = 64;

/** Asserts `mode` is an integer in 0..0o777. */
export function assertMode(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_MODE) {
    throw new RangeError(`Invalid mode: expected an integer from 0 to 0o777, got ${mode}`);
  }
  return mode;
}

function bits(mode: number, who: ModeClass): number {
  assertMode(mode);
  const s = SHIFT[who];
  if (s === undefined) throw new TypeError(`Invalid mode class "${String(who)}"`);
  return (mode >> s) & 7;
}

/** Whether `who` may read (hold the read key of) an object with this mode. */
export function canRead(mode: number, who: ModeClass): boolean {
  return (bits(mode, who) & R) !== 0;
}

/** Whether `who` may write (hold the write key of) an object with this mode. */
export function canWrite(mode: number, who: ModeClass): boolean {
  return (bits(mode, who) & W) !== 0;
}

/** Whether `who` may list a folder with this mode (the x bit). */
export function canList(mode: number, who: ModeClass): boolean {
  return (bits(mode, who) & X) !== 0;
}

/**
 * Parses a mode: octal (`"750"`, `"0750"`), or symbolic clauses applied to `current` (`"g+w"`,
 * `"o-r"`, `"u=rwx,g=rx,o="`, `"a+r"`). A symbolic text that sets every class (`u=…,g=…,o=…`)
 * does not depend on `current`. Throws `SyntaxError` on any other form.
 */
export function parseMode(text: string, current = 0): number {
  if (typeof text !== "string") throw new TypeError(`Invalid mode: expected a string`);
  assertMode(current);
  if (text.length === 0 || text.length > MAX_MODE_TEXT) {
    throw new SyntaxError(`Invalid mode "${text.slice(0, MAX_MODE_TEXT)}": empty or too long`);
  }
  if (/^[0-7]+$/.test(text)) {
    if (!/^0?[0-7]{3}$/.test(text)) {
      throw new SyntaxError(`Invalid mode "${text}": octal modes have 3 digits (or 4 with a 0)`);
    }
    return parseInt(text, 8);
  }
  let mode = current;
  for (const clause of text.split(",")) {
    const m = /^([ugoa]*)([=+-])([rwx]*)$/.exec(clause);
    if (!m) {
      throw new SyntaxError(
        `Invalid mode "${text}": clause "${clause}" is not like "g+w", "o-r" or "u=rwx"`,
      );
    }
    const shifts = new Set<number>();
    for (const c of m[1] || "a") for (const s of WHO[c]!) shifts.add(s);
    let perm = 0;
    for (const c of m[3]!) perm |= PERM[c]!;
    for (const s of shifts) {
      if (m[2] === "+") mode |= perm << s;
      else if (m[2] === "-") mode &= ~(perm << s);
      else mode = (mode & ~(7 << s)) | (perm << s);
    }
  }
  return mode & MAX_MODE;
}

/** Formats a mode as `ls -l` does, without the type letter: `0o750` → `"rwxr-x---"`. */
export function formatMode(mode: number): string {
  assertMode(mode);
  let out = "";
  for (const s of [6, 3, 0]) {
    const b = (mode >> s) & 7;
    out += (b & R ? "r" : "-") + (b & W ? "w" : "-") + (b & X ? "x" : "-");
  }
  return out;
}

/** Formats a mode as three octal digits: `0o750` → `"750"`. */
export function formatOctal(mode: number): string {
  return assertMode(mode).toString(8).padStart(3, "0");
}

/**
 * The mode a new child gets from its parent folder's mode. Folders inherit it whole (so a
 * listable folder's subfolders stay listable to the same people); files keep only r and w,
 * since x has no meaning on a file.
 */
export function childMode(parentMode: number, kind: "file" | "folder"): number {
  assertMode(parentMode);
  if (kind === "folder") return parentMode;
  if (kind === "file") return parentMode & 0o666;
  throw new TypeError(`Invalid child kind "${String(kind)}": expected "file" or "folder"`);
}

/** The class of `viewer` for an object owned by `owner`, given whether it is in the group. */
export function classOf(viewer: string, owner: string, inGroup: boolean): ModeClass {
  if (viewer === owner) return "owner";
  return inGroup ? "group" : "other";
}
