// This module is browser compatible.
/**
 * Site records and addresses. A site is the owner-signed record `site` named by the site's name;
 * its address is the hash part of that record's DHT key, lower-case base32 of
 * SHA-256("mote/record-key/v1" ‖ "site" ‖ node id of the owner's key ‖ name): 52 characters,
 * one DNS label, self-certifying (anyone holding the record recomputes it from the signer's key
 * and the name) and a DHT key with nothing else to look up.
 *
 * Value: `{ v: 1, published, files, bytes, index: { key, manifest? , inline? } }`, the pointer to
 * the site's index object (public content: its key is in the record), or
 * `{ v: 1, published, removed: true }` once the owner unpublished it. A republish is a higher
 * sequence number, so a visitor sees one version or the other, never a mix.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { utf8 } from "../encoding/bytes.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readUint } from "../encoding/shape.ts";
import type { Namespace } from "../records/namespace.ts";
import { recordKeyOf } from "../records/record.ts";

/** A site name: one DNS-label-like word. */
export const SITE_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_VALUE = 32 * 1024;

/** Checks a site name; throws a RangeError saying what is wrong. */
export function checkSiteName(name: string): string {
  if (!SITE_NAME_RE.test(name)) {
    throw new RangeError(
      `"${name.slice(0, 80)}" is not a site name: use 1 to 63 lower-case letters, digits and ` +
        `hyphens, not starting or ending with a hyphen`,
    );
  }
  return name;
}

/** The address of `owner`'s site `name`. */
export function siteAddress(owner: string, name: string): string {
  return recordKeyOf("site", owner, utf8(checkSiteName(name))).hash;
}

/** Where a site's index is: its key, and its manifest or (small) bytes. */
export interface IndexRef {
  key: Uint8Array;
  manifest?: Uint8Array;
  inline?: Uint8Array;
}

/** A decoded site record value. */
export type SiteRecordValue =
  | { v: 1; published: number; files: number; bytes: number; index: IndexRef; removed?: false }
  | { v: 1; published: number; removed: true };

/** Encodes a site record value. */
export function encodeSiteRecord(v: SiteRecordValue): Uint8Array {
  if (v.removed) return encode({ v: 1, published: v.published, removed: true });
  const index: Record<string, unknown> = { key: v.index.key };
  if (v.index.manifest) index.manifest = v.index.manifest;
  if (v.index.inline) index.inline = v.index.inline;
  return encode({ v: 1, published: v.published, files: v.files, bytes: v.bytes, index });
}

/** Decodes a site record value. */
export function decodeSiteRecord(bytes: Uint8Array): SiteRecordValue {
  const what = "site record";
  const m = readMap(decodeCanonical(bytes, { what, maxBytes: MAX_VALUE }), what, [
    "v",
    "published",
  ], ["files", "bytes", "index", "removed"]);
  if (m.v !== 1) throw new DecodeError(`Invalid ${what}: unsupported version ${String(m.v)}`);
  const published = readUint(m, "published", what);
  if (m.removed === true) return { v: 1, published, removed: true };
  const i = readMap(m.index, `${what} index`, ["key"], ["manifest", "inline"]);
  if (("manifest" in i) === ("inline" in i)) {
    throw new DecodeError(`Invalid ${what}: the index is either a manifest or inline bytes`);
  }
  return {
    v: 1,
    published,
    files: readUint(m, "files", what),
    bytes: readUint(m, "bytes", what),
    index: {
      key: readBytes(i, "key", what, { exact: 32 }),
      ...("manifest" in i ? { manifest: readBytes(i, "manifest", what, { max: MAX_VALUE }) } : {}),
      ...("inline" in i ? { inline: readBytes(i, "inline", what, { max: MAX_VALUE }) } : {}),
    },
  };
}

/** The `site` namespace: names are site names. */
export const SITE_NAMESPACE: Namespace = {
  name: "site",
  maxValue: MAX_VALUE,
  maxName: 63,
  validate: (r) => {
    checkSiteName(new TextDecoder().decode(r.name));
    decodeSiteRecord(r.value);
  },
};
