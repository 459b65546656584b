// This module is browser compatible.
/**
 * A supplier's offer: how much space it sells, at what price, and the largest shard it takes.
 * Published as the supplier's signed record `offer` (empty name) and handed out over the supply
 * protocol, so a customer checks it against the supplier's identity before hiring.
 */
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readMap, readString, readUint } from "../encoding/shape.ts";
import type { Namespace } from "../records/namespace.ts";

/** The offer a supplier advertises. */
export interface Offer {
  readonly v: 1;
  /** Bytes offered in total. */
  readonly capacity: number;
  /** Bytes not yet promised to anyone. */
  readonly free: number;
  /** Price in micro-units per GiB per 30 days (0 in the embedded network). */
  readonly price: number;
  /** Largest shard accepted, in bytes. */
  readonly maxShard: number;
  /**
   * The libp2p peer id that serves this offer. Signed with the offer, so a customer can tell it
   * is talking to the supplier itself and not to a peer relaying someone else's offer.
   */
  readonly peer: string;
}

const MAX_OFFER = 512;

/** Encodes an offer canonically. */
export function encodeOffer(o: Offer): Uint8Array {
  return encode({ ...o });
}

/** Decodes and checks an offer. */
export function decodeOffer(bytes: Uint8Array): Offer {
  const m = readMap(decodeCanonical(bytes, { what: "offer", maxBytes: MAX_OFFER }), "offer", [
    "v",
    "capacity",
    "free",
    "price",
    "maxShard",
    "peer",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid offer: unsupported version ${String(m.v)}`);
  const o: Offer = {
    v: 1,
    capacity: readUint(m, "capacity", "offer"),
    free: readUint(m, "free", "offer"),
    price: readUint(m, "price", "offer"),
    maxShard: readUint(m, "maxShard", "offer"),
    peer: readString(m, "peer", "offer", 128),
  };
  if (o.free > o.capacity) throw new DecodeError("Invalid offer: more free space than capacity");
  return o;
}

/** The `offer` record namespace. */
export const OFFER_NAMESPACE: Namespace = {
  name: "offer",
  maxValue: MAX_OFFER,
  maxName: 0,
  validate: (r) => void decodeOffer(r.value),
};
