// This module is browser compatible.
/**
 * Self-certifying node ids: lower-case base32 of SHA-256 over a domain tag and the Ed25519
 * signing public key. 52 characters, never truncated, and a valid DNS label, so anyone holding
 * the public key can check an id without asking an identity server.
 */
import { taggedHash } from "../crypto/hash.ts";
import { toBase32 } from "../encoding/base32.ts";

/** Length of every node id. */
export const NODE_ID_LENGTH = 52;
const ID_RE = /^[a-z2-7]{52}$/;

/** The node id of a signing public key. */
export function nodeIdOf(signPublic: Uint8Array): string {
  if (signPublic.length !== 32) {
    throw new RangeError(`A signing public key is 32 bytes, got ${signPublic.length}`);
  }
  return toBase32(taggedHash("mote/node-id/v1", signPublic));
}

/** Whether `text` has the form of a node id (it says nothing about whose). */
export function isNodeId(text: string): boolean {
  return ID_RE.test(text);
}

/** Asserts `text` has the form of a node id. */
export function assertNodeId(text: string): string {
  if (!isNodeId(text)) {
    throw new SyntaxError(`Invalid node id "${text.slice(0, 60)}": expected 52 base32 characters`);
  }
  return text;
}
