/**
 * The node's {@linkcode LiveBus}: world gateways' presence and edit announcements over the
 * node's gossipsub (`src/net/p2p.ts`). Joining a topic subscribes and installs its validator,
 * which is the hub's judgement of each message (accept, ignore, or reject: gossipsub then neither
 * delivers nor forwards it, and a rejecting verdict lowers the sender's score); leaving removes
 * both. Publishing to a topic nobody else has joined is not an error (a lone player).
 */
import { TopicValidatorResult } from "@libp2p/gossipsub";
import { type LiveBus, LiveHub, type Verdict } from "../../gateway/world_live.ts";
import type { RecordWorldSource } from "../../gateway/world_source.ts";
import type { Logger } from "../log/mod.ts";
import type { P2P } from "../net/p2p.ts";
import type { MoteNode } from "./node.ts";

const RESULTS: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
};

/** A bus over `p2p`'s gossipsub service. */
export function gossipBus(p2p: P2P): LiveBus {
  const pubsub = p2p.services.pubsub;
  return {
    join(topic, receive) {
      pubsub.topicValidators.set(topic, (peer, msg) => {
        try {
          // Signed messages (StrictSign) name their author, whoever forwarded them: players
          // are keyed, and floods counted, by the gateway that published them.
          const from = msg.type === "signed" ? msg.from : peer;
          return RESULTS[receive(from.toString(), msg.data)];
        } catch {
          return TopicValidatorResult.Reject;
        }
      });
      pubsub.subscribe(topic);
    },
    leave(topic) {
      pubsub.unsubscribe(topic);
      pubsub.topicValidators.delete(topic);
    },
    async publish(topic, data) {
      await pubsub.publish(topic, data);
    },
  };
}

/**
 * The node's live hub: gossip between gateways, edits verified and merged by `worlds`, the node's
 * own players labelled with its id (and others' believed after a look at their identity).
 */
export function nodeLiveHub(node: MoteNode, worlds: RecordWorldSource, log?: Logger): LiveHub {
  return new LiveHub({
    bus: gossipBus(node.p2p),
    self: node.id,
    // A player is shown as a node's own only if that node's signed identity document lists the
    // peer that published it.
    vouch: async (id, peer) =>
      (await node.resolveIdentity(id, { timeout: 5_000 }))?.doc.devices.some((d) =>
        d.peer === peer
      ) ?? false,
    world: (address) => worlds.world(address),
    offerEdit: (world, rx, rz, record) => worlds.offerEdit(world, rx, rz, record),
    ...(log ? { log: (msg, fields) => log.debug(msg, fields) } : {}),
  });
}
