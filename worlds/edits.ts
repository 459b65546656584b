// This module is browser compatible.
/**
 * The digest of a region's edits, the `e` of chunk URLs (`/w/<world>/c/<gen>/<x>/<z>?e=…`). A
 * region's edits are named by the (editor, seq) pairs of its editors' latest edit records, so the
 * digest changes whenever any editor publishes and caches can keep each URL forever.
 *
 * Canonical input: `"mote/world-edits/v1" ‖ 0 ‖ count (u32 BE) ‖ for each pair in ascending
 * editor order: editor (52 ASCII bytes) ‖ seq (u64 BE)`; the digest is lower-case hex of its
 * SHA-256 (WebCrypto, so pages, workers, Deno and edge runtimes all have it). A region with no
 * edits has the digest of the empty list, {@linkcode NO_EDITS}.
 * @module
 */

/** One editor's latest edit sequence number in a region. */
export interface EditPair {
  /** The editor's node id (52 lower-case base32 characters). */
  readonly editor: string;
  /** Its latest accepted sequence number. */
  readonly seq: number;
}

/** The digest of a region with no edits: `editsDigest([])`. */
export const NO_EDITS = "5393cae326a52eab2ac61a444ecada471eb2d634e8b4f8c15d4e4703f8c326a9";

/** What an edits digest looks like (for checking `e=`). */
export const EDITS_DIGEST_RE = /^[0-9a-f]{64}$/;

const TAG = "mote/world-edits/v1\0";
const EDITOR_RE = /^[a-z2-7]{52}$/;
/** Most pairs one region lists (each editor once). */
export const MAX_EDIT_PAIRS = 4096;

/** The digest of a region's (editor, seq) pairs; the order they are given in does not matter. */
export async function editsDigest(pairs: readonly EditPair[]): Promise<string> {
  if (pairs.length > MAX_EDIT_PAIRS) {
    throw new RangeError(`A region lists at most ${MAX_EDIT_PAIRS} editors, got ${pairs.length}`);
  }
  const sorted = [...pairs].sort((a, b) => a.editor < b.editor ? -1 : a.editor > b.editor ? 1 : 0);
  const tag = new TextEncoder().encode(TAG);
  const out = new Uint8Array(tag.length + 4 + sorted.length * 60);
  out.set(tag);
  const view = new DataView(out.buffer);
  view.setUint32(tag.length, sorted.length);
  let at = tag.length + 4;
  sorted.forEach((p, i) => {
    if (typeof p.editor !== "string" || !EDITOR_RE.test(p.editor)) {
      throw new RangeError(`Edit pair ${i}: the editor must be a node id, got ${String(p.editor)}`);
    }
    if (i > 0 && sorted[i - 1]!.editor === p.editor) {
      throw new RangeError(`Edit pair ${i}: editor ${p.editor} is listed twice`);
    }
    if (!Number.isSafeInteger(p.seq) || p.seq < 0) {
      throw new RangeError(`Edit pair ${i}: seq must be a non-negative integer, got ${p.seq}`);
    }
    for (let j = 0; j < 52; j++) out[at + j] = p.editor.charCodeAt(j);
    view.setUint32(at + 52, Math.floor(p.seq / 0x100000000));
    view.setUint32(at + 56, p.seq >>> 0);
    at += 60;
  });
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", out));
  let hex = "";
  for (const b of hash) hex += b.toString(16).padStart(2, "0");
  return hex;
}
