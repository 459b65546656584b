// This module is browser compatible.
/**
 * Sharing's types and small helpers for the UI: modes as `ls -l` prints them, and the shapes
 * the sharing and link routes answer (`gateway/share_api.ts`, `gateway/link_api.ts`).
 */
import type { GroupRow, LongListing, ShareRow } from "../src/sharing/rows.ts";

/** A row of `GET /api/v1/perms[/<folder>]` and `GET /api/v1/shared/<owner>[/ls/…]`. */
export type PermEntry = LongListing;

export type { GroupRow, ShareRow };

/** A group this node found itself in while reading an owner's shares (`memberOf`). */
export interface Membership {
  owner: string;
  name: string;
  epoch: number;
  members: number;
}

/** `GET /api/v1/groups`; `owned` is null while the node's storage is not ready. */
export interface Groups {
  owned: GroupRow[] | null;
  memberOf: Membership[];
}

/** A quick link as `GET /api/v1/links` lists it (the URL is only answered when made). */
export interface LinkRow {
  id: string;
  path: string;
  created: number;
  expires: number | null;
  files: number;
  bytes: number;
}

/**
 * `0o750` as `rwxr-x---` (the same text as `formatMode` in `src/sharing/mode.ts`, which the UI
 * bundle does not import: its build hash covers `web/` only).
 */
export function modeText(mode: number): string {
  let s = "";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    s += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return s;
}

/** Group names (`assertGroupName` in `src/sharing/group_record.ts`). */
const GROUP_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Why `name` cannot name a group, or nothing when it can. */
export function groupNameProblem(name: string): string | undefined {
  if (name === "") return "Give the group a name.";
  if (GROUP_RE.test(name)) return undefined;
  return `“${name.slice(0, 70)}” cannot be a group name: use 1 to 64 lower-case letters, ` +
    "digits, dots, underscores and hyphens, starting with a letter or digit.";
}

/** Node ids: 52 base32 characters (`src/identity/node_id.ts`). */
const ID_RE = /^[a-z2-7]{52}$/;

/** Why `id` is not a node id, or nothing when it is. */
export function idProblem(id: string): string | undefined {
  if (id === "") return "Enter a node id.";
  if (ID_RE.test(id)) return undefined;
  return `“${id.slice(0, 60)}” is not a node id: it has 52 characters, a–z and 2–7 ` +
    `(this has ${id.length}).`;
}

/** A remote path as `<owner-id>:/path`, the form `mote ls` and `mote get` take. */
export function remotePath(owner: string, path: string): string {
  return `${owner}:${path}`;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A link expiry as the CLI writes it (`30m`, `12h`, `7d`) in ms; "" is no expiry. Throws a
 * `SyntaxError` that says what to write.
 */
export function parseExpiry(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const m = /^(\d{1,5})\s*([mhd])$/.exec(t);
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : 0;
  if (!m || ms < 60_000 || ms > 3650 * 86_400_000) {
    throw new SyntaxError(
      `“${t.slice(0, 30)}” is not an expiry: write a number and m, h or d (30m, 12h, 7d), ` +
        "at most ten years, or leave it empty for a link that does not expire.",
    );
  }
  return ms;
}
