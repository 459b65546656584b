/**
 * What suppliers announce in the DHT as provider records: that they supply space at all, and
 * which customers they serve (so a customer restoring from its key alone, and later its
 * scrubbers, can find every supplier holding its shards without any local state).
 */
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { utf8 } from "../encoding/bytes.ts";

const RAW = 0x55;

async function cidOf(text: string): Promise<CID> {
  return CID.createV1(RAW, await sha256.digest(utf8(text)));
}

/** The provider key every supplier announces. */
export function supplyCid(): Promise<CID> {
  return cidOf("mote/supply/v1");
}

/** The provider key a supplier announces for each customer it serves. */
export function servesCid(customer: string): Promise<CID> {
  return cidOf(`mote/serves/v1/${customer}`);
}

/** The provider key every node offering scrub duty announces (`--scrub`). */
export function scrubCid(): Promise<CID> {
  return cidOf("mote/scrub/v1");
}

/** The provider key a scrubber announces for each owner it works for (scrubbers find each other). */
export function scrubsCid(owner: string): Promise<CID> {
  return cidOf(`mote/scrubs/v1/${owner}`);
}
