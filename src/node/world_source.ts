/**
 * The node's source of worlds for its public gateway: world records resolved from the node's view
 * of the DHT (its kept copy and the network's answer, verified by the node's validator against the
 * key, so the signer and name give exactly this address), decoded and cached for 15 s; and
 * regions' edit batches and checkpoints (`wedit`, `wcheck`) the same way, cached for 3 s.
 */
import { RecordWorldSource } from "../../gateway/world_source.ts";
import type { MoteNode } from "./node.ts";

/** Worlds as `node` finds them in the DHT. */
export function nodeWorldSource(
  node: MoteNode,
  log?: (msg: string, fields: Record<string, unknown>) => void,
): RecordWorldSource {
  return new RecordWorldSource(
    async (address) =>
      (await node.resolve({ ns: "world", hash: address }, { timeout: 10_000 }))?.record,
    {
      // A region's grantee may never have published: that lookup runs to its timeout, so it is
      // short (and its answer is reused for 3 s, then refreshed while the old one is served).
      records: async (ns, hash) => (await node.resolve({ ns, hash }, { timeout: 6_000 }))?.record,
      ...(log ? { editOptions: { log } } : {}),
    },
  );
}
