/**
 * Builds the libp2p node: TCP and WebSockets listeners, noise, yamux, identify, ping, and
 * kad-dht under Mote's own protocol id with Mote's record validator and selector for the `mote`
 * key namespace (every record key is `/mote/<ns>/<hash>`).
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PeerInfo, PrivateKey } from "@libp2p/interface";
import { type KadDHT, kadDHT } from "@libp2p/kad-dht";
import { type Ping, ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type Libp2p } from "libp2p";
import type { RecordValidator } from "../records/validator.ts";
import { type NoiseCipher, noiseCrypto } from "./chacha/noise.ts";
import type { DhtRecordStore } from "./dht_store.ts";

/** Mote's DHT protocol id (kept apart from the public IPFS DHT). */
export const DHT_PROTOCOL = "/mote/kad/1.0.0";

/**
 * The largest publish/subscribe message a node accepts (bytes of data): a signed edit batch
 * (at most 64 KiB as a record) with its small envelope. Presence is far smaller and is bounded
 * again by its topic's validator.
 */
export const MAX_PUBSUB_DATA = 66 * 1024;

/** The services every Mote libp2p node runs. */
export type MoteServices = { identify: unknown; ping: Ping; dht: KadDHT; pubsub: GossipSub };
/** A Mote libp2p node. */
export type P2P = Libp2p<MoteServices>;

/** What {@linkcode createP2P} needs. */
export interface P2PInit {
  /** The device's libp2p key (separate from the identity key). */
  privateKey: PrivateKey;
  host: string;
  /** TCP port (0: any free one). */
  tcpPort: number;
  /** WebSockets port (0: any free one; -1: no WebSockets listener). */
  wsPort: number;
  validator: RecordValidator;
  datastore: DhtRecordStore;
  /** Inside the embedded network loopback peers are normal; elsewhere their loopback addresses are dropped. */
  loopback: boolean;
  /**
   * Noise's ChaCha20-Poly1305: node:crypto (noise's own) or the WebAssembly kernel of
   * `./chacha`. Unset: `MOTE_NOISE_CIPHER`, else node:crypto.
   */
  noiseCipher?: NoiseCipher;
}

/** Creates (but does not start) a libp2p node. */
export async function createP2P(init: P2PInit): Promise<P2P> {
  const host = init.host.includes(":") ? `ip6/${init.host}` : `ip4/${init.host}`;
  const listen = [`/${host}/tcp/${init.tcpPort}`];
  if (init.wsPort >= 0) listen.push(`/${host}/tcp/${init.wsPort}/ws`);
  return await createLibp2p({
    privateKey: init.privateKey,
    datastore: init.datastore,
    start: false,
    addresses: { listen },
    transports: [tcp(), webSockets()],
    // Both ChaCha20-Poly1305s speak RFC 8439, so peers interoperate whichever runs here
    // (BENCHMARKS.md, "ChaCha20-Poly1305 for noise", compares them).
    connectionEncrypters: [noise({ crypto: noiseCrypto(init.noiseCipher) })],
    streamMuxers: [yamux()],
    connectionManager: {
      // libp2p refuses a host's inbound connections past 5 per second by default; many nodes on
      // one machine dial each other faster than that (FACTS: EPIPE on the 6th quick dial).
      inboundConnectionThreshold: init.loopback ? 10_000 : 20,
      maxConnections: 300,
      dialTimeout: 10_000,
    },
    services: {
      identify: identify(),
      ping: ping(),
      // Worlds' live presence and edit announcements (src/node/world_gossip.ts). Messages are
      // signed by the sending peer (StrictSign), so a relayed player is keyed by the gateway
      // that published it; topics are joined only while a local player needs them.
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        maxInboundDataLength: MAX_PUBSUB_DATA,
        // What a peer's subscriptions may cost us: about 1 KiB each, so about 512 topics.
        maxTopicBytesPerPeer: 512 * 1024,
      }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        kBucketSize: 20,
        peerInfoMapper: init.loopback ? (p: PeerInfo) => p : dropLoopback,
        validators: {
          mote: (key: Uint8Array, value: Uint8Array) => {
            init.validator.validate(key, value);
            return Promise.resolve();
          },
        },
        selectors: {
          mote: (key: Uint8Array, values: Uint8Array[]) => init.validator.select(key, values),
        },
      }),
    },
  }) as P2P;
}

function dropLoopback(p: PeerInfo): PeerInfo {
  return {
    id: p.id,
    multiaddrs: p.multiaddrs.filter((a) => {
      const s = a.toString();
      return !s.startsWith("/ip4/127.") && !s.startsWith("/ip6/::1/");
    }),
  };
}

/** Parses a multiaddr string, throwing `SyntaxError` with the input on failure. */
export function parseMultiaddr(text: string): Multiaddr {
  try {
    return multiaddr(text);
  } catch (e) {
    throw new SyntaxError(`Invalid multiaddr "${text}": ${(e as Error).message}`);
  }
}

/**
 * Size of the DHT routing table. kad-dht keeps the table on its implementation class but leaves
 * it out of the public `KadDHT` type, so this reads it in one place.
 */
export function routingTableSize(p2p: P2P): number {
  const dht = p2p.services.dht as unknown as { routingTable?: { size?: number } };
  return dht.routingTable?.size ?? 0;
}
