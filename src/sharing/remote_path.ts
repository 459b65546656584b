// This module is browser compatible.
/**
 * Addresses of data another user shares: `<owner-id>:/path` (`mote ls <id>:/`,
 * `mote get <id>:/photos/a.jpg`). A typed value with a codec, so no caller splits the text itself;
 * the path's components go through the catalog's own `splitPath` (no `.`, `..`, separators in
 * names or control characters).
 */
import { splitPath } from "../catalog/folder.ts";
import { assertNodeId, isNodeId } from "../identity/node_id.ts";

/** A path in another user's tree. */
export interface RemotePath {
  /** The owner's node id. */
  readonly owner: string;
  /** Checked path components; empty for the owner's root. */
  readonly parts: readonly string[];
}

const ADDRESS_RE = /^([a-z2-7]{52}):(\/.*)$/s;

/** Whether `text` is shaped like `<node-id>:/…` (and so is not a local path). */
export function isRemotePath(text: string): boolean {
  const m = ADDRESS_RE.exec(text);
  return m !== null && isNodeId(m[1]!);
}

/**
 * Parses `<owner-id>:/path`. Throws `SyntaxError` for another form, an invalid id, or a path
 * component the catalog would refuse.
 */
export function parseRemotePath(text: string): RemotePath {
  if (typeof text !== "string" || text.length > 4096 + 53) {
    throw new SyntaxError(
      "Invalid shared path: expected `<owner-id>:/path` of at most 4149 characters",
    );
  }
  const m = ADDRESS_RE.exec(text);
  if (!m) {
    throw new SyntaxError(
      `Invalid shared path "${text.slice(0, 80)}": expected <owner-id>:/path (52-character id)`,
    );
  }
  return { owner: assertNodeId(m[1]!), parts: splitPath(m[2]!) };
}

/** Formats a remote path in its one canonical text: `<owner-id>:/a/b` (`<owner-id>:/` for root). */
export function formatRemotePath(p: RemotePath): string {
  assertNodeId(p.owner);
  const path = splitPath("/" + p.parts.join("/"));
  if (path.length !== p.parts.length) throw new SyntaxError("Invalid shared path: empty component");
  return `${p.owner}:/${path.join("/")}`;
}
