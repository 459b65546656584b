// This module is browser compatible.
/**
 * Quick links: a capability (what to open and the key to open it) carried in a URL fragment,
 * `/l/#<base64url>`. Browsers never send the fragment, so gateways and their logs see only
 * `/l/`; the page decodes the fragment and fetches and decrypts in the browser.
 *
 * The capability is canonical CBOR `{ v: 1, ref, key: 32 B, expires?: ms }`, where `ref` names
 * the snapshot's manifest (at most 256 bytes) and `key` is the snapshot's fresh key. Whoever has
 * the link can read the snapshot; a link already used cannot be taken back, and `expires` only
 * tells the owner's node when to delete the snapshot's manifest.
 */
import { fromBase64, toBase64 } from "../encoding/bytes.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readUint } from "../encoding/shape.ts";
import { SharingError } from "./errors.ts";

/** Longest manifest reference in a capability. */
export const MAX_LINK_REF_BYTES = 256;
/** Longest capability fragment accepted (characters of base64url). */
export const MAX_LINK_FRAGMENT = 512;
/** The path of the link page on a gateway. */
export const LINK_PATH = "/l/";

/** What a quick link grants. */
export interface Capability {
  readonly v: 1;
  /** The snapshot's manifest reference. */
  readonly ref: Uint8Array;
  /** The snapshot's 32-byte key. */
  readonly key: Uint8Array;
  /** When the link stops working (ms since the epoch), if ever. */
  readonly expires?: number;
}

function toBase64Url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new SyntaxError(`Invalid link: the fragment is not base64url`);
  }
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = fromBase64(std + "=".repeat((4 - std.length % 4) % 4));
  // One capability, one text: refuse non-zero trailing bits.
  if (toBase64Url(bytes) !== text) throw new SyntaxError("Invalid link: non-canonical base64url");
  return bytes;
}

/** Encodes a capability as the fragment text (base64url, no padding). */
export function encodeCapability(cap: Capability): string {
  if (!(cap.ref instanceof Uint8Array) || cap.ref.length === 0) {
    throw new RangeError("A link's ref must be non-empty bytes");
  }
  if (cap.ref.length > MAX_LINK_REF_BYTES) {
    throw new RangeError(
      `A link's ref is at most ${MAX_LINK_REF_BYTES} bytes, got ${cap.ref.length}`,
    );
  }
  if (!(cap.key instanceof Uint8Array) || cap.key.length !== 32) {
    throw new RangeError(`A link's key must be 32 bytes, got ${cap.key?.length}`);
  }
  if (cap.expires !== undefined && (!Number.isSafeInteger(cap.expires) || cap.expires < 0)) {
    throw new RangeError(`A link's expiry must be a time in ms, got ${cap.expires}`);
  }
  const { v, ref, key, expires } = cap;
  return toBase64Url(encode({ v, ref, key, ...(expires === undefined ? {} : { expires }) }));
}

/** Decodes fragment text; throws `SyntaxError` (bad text) or `DecodeError` (bad capability). */
export function decodeCapability(text: string): Capability {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_LINK_FRAGMENT) {
    throw new SyntaxError(
      `Invalid link: the fragment must be 1 to ${MAX_LINK_FRAGMENT} characters, got ${
        String(text?.length)
      }`,
    );
  }
  const what = "link capability";
  const m = readMap(
    decodeCanonical(fromBase64Url(text), { what, maxBytes: MAX_LINK_FRAGMENT }),
    what,
    ["v", "ref", "key"],
    ["expires"],
  );
  if (m.v !== 1) throw new DecodeError(`Invalid link: unsupported version ${String(m.v)}`);
  const ref = readBytes(m, "ref", what, { max: MAX_LINK_REF_BYTES });
  if (ref.length === 0) throw new DecodeError("Invalid link: empty ref");
  const key = readBytes(m, "key", what, { exact: 32 });
  return "expires" in m
    ? { v: 1, ref, key, expires: readUint(m, "expires", what) }
    : { v: 1, ref, key };
}

/** The link URL: `<origin>/l/#<capability>` (`origin` may be empty for a relative link). */
export function formatLink(cap: Capability, origin = ""): string {
  return `${origin.replace(/\/+$/, "")}${LINK_PATH}#${encodeCapability(cap)}`;
}

/**
 * Parses a link (full URL, `/l/#…`, or the bare fragment `#…`) and, when `now` is given, refuses
 * an expired one with `SharingError` ("expired").
 */
export function parseLink(link: string, opts: { now?: number } = {}): Capability {
  if (typeof link !== "string" || link.length > 2048) {
    throw new SyntaxError("Invalid link: expected a string of at most 2048 characters");
  }
  const hash = link.indexOf("#");
  if (hash < 0) throw new SyntaxError("Invalid link: it has no #fragment (the capability)");
  const before = link.slice(0, hash);
  if (before !== "" && !before.endsWith(LINK_PATH)) {
    throw new SyntaxError(`Invalid link: expected a path ending in ${LINK_PATH} before the #`);
  }
  const cap = decodeCapability(link.slice(hash + 1));
  if (opts.now !== undefined && cap.expires !== undefined && cap.expires <= opts.now) {
    throw new SharingError("expired", `Link expired at ${new Date(cap.expires).toISOString()}`);
  }
  return cap;
}
