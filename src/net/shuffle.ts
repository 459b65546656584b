// This module is browser compatible.
/**
 * A fresh random order of peers, seeds or suppliers, so that readers spread their requests
 * instead of all asking the first one listed. Not for anything secret: Math.random is enough to
 * spread load.
 */

/** A fresh random order of `items` (Fisher–Yates); `items` is left as it was. */
export function shuffle<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
