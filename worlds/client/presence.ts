// This module is browser compatible.
/**
 * Other players as the page shows them. The gateway pushes the full list of players near (at
 * most 5 times a second, only when it changed); {@linkcode Presence.update} takes each list, and
 * {@linkcode Presence.sample} gives smooth positions between lists: each player glides from where
 * it was shown to its newly reported position over {@linkcode GLIDE_MS}. A player missing from the
 * latest list is gone (the gateway forgets players it has not heard from for 5 s).
 * No DOM, no WebGL: tested in Deno.
 * @module
 */

/** How long a player takes to glide to a newly reported position (ms): the push interval. */
export const GLIDE_MS = 200;
/** Most players kept (the gateway lists at most 32). */
export const MAX_PLAYERS = 64;

/** A player as drawn: position in metres (x and z wrapped like the gateway's), heading in radians. */
export interface ShownPlayer {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly heading: number;
  /** The node whose own player this is (checked by the gateway), if any. */
  readonly node?: string;
}

interface Track {
  id: string;
  from: ShownPlayer;
  to: ShownPlayer;
  at: number;
}

/** Players near, interpolated. */
export class Presence {
  readonly #tracks = new Map<string, Track>();

  /** Players known now. */
  get size(): number {
    return this.#tracks.size;
  }

  /**
   * Takes a `players` list (`[id, x, y, z, heading, node]` rows) received at `now` (ms). Malformed
   * rows are skipped; players not listed are removed.
   */
  update(rows: unknown, now: number): void {
    if (!Array.isArray(rows)) return;
    const seen = new Set<string>();
    for (const row of rows.slice(0, MAX_PLAYERS)) {
      if (!Array.isArray(row) || row.length < 5 || typeof row[0] !== "string") continue;
      const [id, x, y, z, heading, node] = row as [string, number, number, number, number, unknown];
      if (![x, y, z, heading].every(Number.isFinite) || id.length > 32) continue;
      seen.add(id);
      const to = {
        id,
        x,
        y,
        z,
        heading,
        ...(typeof node === "string" && /^[a-z2-7]{52}$/.test(node) ? { node } : {}),
      };
      const t = this.#tracks.get(id);
      if (t) this.#tracks.set(id, { id, from: this.#at(t, now), to, at: now });
      else this.#tracks.set(id, { id, from: to, to, at: now });
    }
    for (const id of [...this.#tracks.keys()]) if (!seen.has(id)) this.#tracks.delete(id);
  }

  /** Forgets everyone (the socket closed: no presence any more). */
  clear(): void {
    this.#tracks.clear();
  }

  /** Where each player is shown at `now` (ms). */
  sample(now: number): ShownPlayer[] {
    return [...this.#tracks.values()].map((t) => this.#at(t, now));
  }

  #at(t: Track, now: number): ShownPlayer {
    const a = Math.min(1, Math.max(0, (now - t.at) / GLIDE_MS));
    const { from, to } = t;
    let dh = (to.heading - from.heading) % (2 * Math.PI);
    if (dh > Math.PI) dh -= 2 * Math.PI;
    if (dh < -Math.PI) dh += 2 * Math.PI;
    return {
      id: t.id,
      ...(to.node ? { node: to.node } : {}),
      x: from.x + (to.x - from.x) * a,
      y: from.y + (to.y - from.y) * a,
      z: from.z + (to.z - from.z) * a,
      heading: from.heading + dh * a,
    };
  }
}
