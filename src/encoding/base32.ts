// This module is browser compatible.
/**
 * Lower-case RFC 4648 base32 without padding: the alphabet of node ids, record keys and site
 * addresses, chosen because it is case-insensitive and fits a DNS label (SHA-256 → 52 chars).
 */

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const LOOKUP = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Encodes bytes as lower-case unpadded base32. */
export function toBase32(bytes: Uint8Array): string {
  let out = "", bits = 0, value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes lower-case unpadded base32; throws `SyntaxError` on any other character or leftover bits. */
export function fromBase32(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0, value = 0, o = 0;
  for (const c of text) {
    const v = LOOKUP.get(c);
    if (v === undefined) {
      throw new SyntaxError(`Cannot parse base32: unexpected character "${c}"`);
    }
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  // 1, 3 or 6 leftover characters (5+ bits) cannot come from whole bytes.
  if (bits >= 5) {
    throw new SyntaxError(`Cannot parse base32: length ${text.length} is not a possible encoding`);
  }
  if (value !== 0) throw new SyntaxError("Cannot parse base32: non-zero trailing bits");
  return out;
}
