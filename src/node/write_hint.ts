/**
 * A writer's hint to an owner's node that it wrote into one of the owner's folders
 * (`/mote/write-hint/1.0.0`), so an owner that is online merges within seconds rather than at
 * its next 30-second round. The hint carries nothing and proves nothing: the owner's node only
 * merges sooner, and what it merges is checked as always (`write_sharing.ts`). An owner that is
 * off misses it and merges when it runs.
 */
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { encode } from "../encoding/cbor.ts";
import type { MoteNode } from "./node.ts";

/** The protocol id. */
export const WRITE_HINT_PROTOCOL = "/mote/write-hint/1.0.0";
/** Devices of the owner tried, at most. */
const MAX_DEVICES = 2;

/** Tells `owner`'s node (any of its first devices that answers) that this node wrote. */
export async function sendWriteHint(node: MoteNode, owner: string): Promise<boolean> {
  const r = await node.resolveIdentity(owner, { timeout: 5_000 }).catch(() => undefined);
  for (const d of r?.doc.devices.slice(0, MAX_DEVICES) ?? []) {
    // The peer's own addresses first (it may not be in this node's peer store yet), then by id.
    const targets = [
      ...d.addrs.filter((a) => !a.includes("/ws")).slice(0, 2).map((a) =>
        multiaddr(`${a}/p2p/${d.peer}`)
      ),
      peerIdFromString(d.peer),
    ];
    for (const t of targets) {
      try {
        await node.rpc.request(t, WRITE_HINT_PROTOCOL, encode({ v: 1 }), {
          maxResponse: 64,
          timeout: 5_000,
        });
        return true;
      } catch {
        // the next address, or the next device
      }
    }
  }
  return false;
}

/**
 * Answers hints on the owner's node: `merge` runs `delay` ms after a hint, once however many
 * hints come meanwhile, and at most once per `spacing` ms (anyone may send hints: they must not
 * keep the owner's node merging, which looks the writers' versions up).
 */
export async function handleWriteHints(
  node: MoteNode,
  merge: () => Promise<unknown>,
  delay = 1_000,
  spacing = 5_000,
): Promise<() => void> {
  let due: ReturnType<typeof setTimeout> | undefined;
  let last = -Infinity;
  await node.rpc.handle(WRITE_HINT_PROTOCOL, () => {
    due ??= setTimeout(() => {
      last = Date.now();
      merge().catch(() => {}).finally(() => (due = undefined));
    }, Math.max(delay, last + spacing - Date.now()));
    return Promise.resolve(encode({ v: 1 }));
  }, { maxRequest: 64, maxResponse: 64, timeout: 5_000 });
  return () => clearTimeout(due);
}
