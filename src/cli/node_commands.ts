/** Commands that ask the running node over its HTTP API: status, id, peers, connect, identity, stop. */
import { fromHex } from "../encoding/bytes.ts";
import type { NodeStatus } from "../node/node.ts";
import { readIdentityOffline } from "./offline.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode } from "./client.ts";
import { CliError } from "./errors.ts";
import { ago, fields, json, table } from "./format.ts";

type Out = (line: string) => void;

/** What `GET /api/v1/status` answers: the node's status plus the embedded network's. */
type Status = NodeStatus & { devnet: { running: boolean; suppliers: number } };

/** `mote status` */
export async function statusCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("status", args, {});
  expectPositionals("status", positionals, 0, 0);
  const client = await connectToNode(dataDir);
  const s = await client.get<Status>("/api/v1/status");
  if (values.json) {
    return out(json({ ...s, api: client.info.api, gateway: client.info.gateway })), 0;
  }
  out(
    fields([
      ["Node id", s.id],
      ["Nickname", s.nickname],
      ["Version", s.version],
      ["Uptime", ago(s.uptime)],
      ["Peer id", s.peerId],
      ["Peers", s.peers],
      ["DHT table", `${s.dht} peers`],
      [
        "Records",
        `${s.records.stored} stored for the network, ${s.records.kept} kept alive by this node`,
      ],
      [
        "Network",
        s.devnet.running
          ? `embedded local network (${s.devnet.suppliers} suppliers)`
          : "joined through bootstrap peers",
      ],
      ["Web UI and API", client.info.api],
      ["Public gateway", client.info.gateway],
      ...s.addresses.map((a, i) => [i === 0 ? "Addresses" : "", a]),
    ]),
  );
  return 0;
}

/** `mote id`: asks the node, or reads the identity key when no node runs. */
export async function idCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("id", args, {});
  expectPositionals("id", positionals, 0, 0);
  let id: string, nickname: string | undefined;
  try {
    const s = await (await connectToNode(dataDir)).get<Status>("/api/v1/status");
    id = s.id;
    nickname = s.nickname;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    const keys = await readIdentityOffline(dataDir);
    if (!keys) throw e;
    id = keys.id;
  }
  out(values.json ? json({ id, nickname }) : id);
  return 0;
}

/** `mote peers` */
export async function peersCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("peers", args, {});
  expectPositionals("peers", positionals, 0, 0);
  const { peers } = await (await connectToNode(dataDir)).get<{
    peers: { peerId: string; addresses: string[]; direction: string; rtt: number | null }[];
  }>("/api/v1/peers");
  if (values.json) return out(json(peers)), 0;
  if (peers.length === 0) return out("No peers connected."), 0;
  out(table(
    ["PEER", "RTT", "DIRECTION", "ADDRESS"],
    peers.map((
      p,
    ) => [p.peerId, p.rtt === null ? "-" : `${p.rtt} ms`, p.direction, p.addresses[0] ?? ""]),
  ));
  return 0;
}

/** `mote connect <multiaddr|peer-id>` */
export async function connectCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("connect", args, {});
  expectPositionals("connect", positionals, 1, 1);
  const r = await (await connectToNode(dataDir)).post<{ peerId: string }>("/api/v1/peers", {
    addr: positionals[0],
  });
  out(values.json ? json(r) : `Connected to ${r.peerId}`);
  return 0;
}

/** `mote identity [node-id]` */
export async function identityCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("identity", args, {});
  expectPositionals("identity", positionals, 0, 1);
  const client = await connectToNode(dataDir);
  const doc = await client.get<{
    id: string;
    nickname: string;
    revision: number;
    timestamp: number;
    sign: string;
    agree: string;
    devices: { peer: string; addrs: string[]; seen: number }[];
    gateways: string[];
  }>(
    positionals[0] ? `/api/v1/identity/${encodeURIComponent(positionals[0])}` : "/api/v1/identity",
  );
  if (values.json) return out(json(doc)), 0;
  fromHex(doc.sign); // a malformed answer fails loudly here rather than printing garbage
  out([
    `Node id:   ${doc.id}`,
    `Nickname:  ${doc.nickname}`,
    `Revision:  ${doc.revision} (${new Date(doc.timestamp).toISOString()})`,
    `Keys:      sign ${doc.sign}`,
    `           agree ${doc.agree}`,
    ...doc.devices.flatMap((d, i) => [
      `Device ${i + 1}:  ${d.peer} (seen ${new Date(d.seen).toISOString()})`,
      ...d.addrs.map((a) => `           ${a}`),
    ]),
    ...(doc.gateways.length ? [`Gateways:  ${doc.gateways.join(", ")}`] : []),
  ].join("\n"));
  return 0;
}

/** `mote stop` */
export async function stopCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("stop", args, {});
  expectPositionals("stop", positionals, 0, 0);
  const client = await connectToNode(dataDir);
  await client.post("/api/v1/stop");
  out(
    values.json
      ? json({ stopping: true, pid: client.info.pid })
      : `Asked the node (pid ${client.info.pid}) to stop.`,
  );
  return 0;
}
