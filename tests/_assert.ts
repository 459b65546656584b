/**
 * Minimal assertions for the test suite. The std assert module lives on jsr, which this
 * project cannot reach, so these few helpers stand in for it.
 * @module
 */

/** Throws when `cond` is falsy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Deep equality for plain data, arrays, Maps, Sets, Dates and typed arrays. */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]) &&
      a.constructor === b.constructor;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    return a.size === b.size && [...a].every((v) => b.has(v));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array[${v.length}](${[...v.slice(0, 16)]}…)`;
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x);
  } catch {
    return String(v);
  }
}

/** Throws when `actual` and `expected` are not deeply equal. */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (!equal(actual, expected)) {
    throw new Error(`${msg ? msg + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Throws when `actual` and `expected` are deeply equal. */
export function assertNotEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (equal(actual, expected)) throw new Error(`${msg ? msg + ": " : ""}both are ${show(actual)}`);
}

type ErrorClass = abstract new (...args: never[]) => Error;

function checkError(e: unknown, cls?: ErrorClass, includes?: string): Error {
  if (!(e instanceof Error)) throw new Error(`expected an Error, got ${show(e)}`);
  if (cls && !(e instanceof cls)) {
    throw new Error(`expected ${cls.name}, got ${(e as Error).name}: ${(e as Error).message}`);
  }
  if (includes && !e.message.includes(includes)) {
    throw new Error(`expected message to include ${show(includes)}, got ${show(e.message)}`);
  }
  return e;
}

/** Asserts that `fn` throws (optionally an instance of `cls` whose message includes `includes`). */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, cls, includes);
  }
  throw new Error("expected the function to throw");
}

/** Asserts that `fn` rejects (optionally an instance of `cls` whose message includes `includes`). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, cls, includes);
  }
  throw new Error("expected the promise to reject");
}
