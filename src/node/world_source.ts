/**
 * The node's source of worlds for its public gateway: world records resolved from the node's view
 * of the DHT (its kept copy and the network's answer, verified by the node's validator against the
 * key, so the signer and name give exactly this address), decoded and cached for 15 s.
 */
import { RecordWorldSource } from "../../gateway/world_source.ts";
import type { MoteNode } from "./node.ts";

/** Worlds as `node` finds them in the DHT. */
export function nodeWorldSource(node: MoteNode): RecordWorldSource {
  return new RecordWorldSource(async (address) =>
    (await node.resolve({ ns: "world", hash: address }, { timeout: 10_000 }))?.record
  );
}
