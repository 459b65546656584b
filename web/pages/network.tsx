// This module is browser compatible.
/** Network: connected peers, the DHT, and dialling a peer by address. */
import { useState } from "preact/hooks";
import { type Peer, send, type Status } from "../api.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

type Polled<T> = { data: T | undefined; error: string | undefined; reload: () => void };

/** The network page. */
export function NetworkPage(props: { status: Polled<Status> }) {
  const s = props.status.data;
  const peers = usePoll<{ peers: Peer[] }>("/api/v1/peers", {
    every: 10_000,
    on: ["peer:connect", "peer:disconnect"],
  });
  const [addr, setAddr] = useState("");
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const connect = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setMsg({});
    try {
      const r = await (await send("POST", "/api/v1/peers", { addr: addr.trim() })).json();
      setMsg({ ok: `Connected to ${r.peerId}` });
      setAddr("");
      peers.reload();
    } catch (err) {
      setMsg({ error: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Network</h1>
      <div class="grid">
        <Card title="DHT">
          {!s ? <Loading /> : (
            <dl class="facts">
              <dt>Routing table</dt>
              <dd data-testid="dht-size">{s.dht} peers</dd>
              <dt>Records</dt>
              <dd>{s.records.stored} stored for the network, {s.records.kept} kept alive</dd>
              <dt>Peer id</dt>
              <dd>
                <code class="id">{s.peerId}</code>
              </dd>
            </dl>
          )}
        </Card>
        <Card title="Listening on">
          {!s
            ? <Loading />
            : s.addresses.length === 0
            ? <Empty>No addresses.</Empty>
            : (
              <ul class="plain">
                {s.addresses.map((a) => (
                  <li key={a}>
                    <code class="id">{a}</code>
                  </li>
                ))}
              </ul>
            )}
        </Card>
      </div>
      <Card title="Peers">
        <ErrorNote error={peers.error} onRetry={peers.reload} />
        {!peers.data
          ? <Loading />
          : peers.data.peers.length === 0
          ? <Empty>No peers connected. Dial one below, or wait for the bootstrap peers.</Empty>
          : (
            <div class="table-wrap">
              <table data-testid="peers">
                <thead>
                  <tr>
                    <th scope="col">Peer</th>
                    <th scope="col" class="wide">Address</th>
                    <th scope="col" class="wide">Direction</th>
                    <th scope="col">Round trip</th>
                  </tr>
                </thead>
                <tbody>
                  {peers.data.peers.map((p) => (
                    <tr key={p.peerId}>
                      <td>
                        <code title={p.peerId}>…{p.peerId.slice(-10)}</code>
                      </td>
                      <td class="wide">
                        <code class="id">{p.addresses[0] ?? ""}</code>
                      </td>
                      <td class="wide">{p.direction}</td>
                      <td>{p.rtt === null ? "—" : `${p.rtt} ms`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <form class="row" onSubmit={connect}>
          <label for="addr">Connect to a peer</label>
          <input
            id="addr"
            type="text"
            required
            maxLength={1024}
            placeholder="/ip4/…/tcp/…/p2p/…"
            value={addr}
            onInput={(e) => setAddr((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy || addr.trim() === ""}>
            {busy ? "Connecting…" : "Connect"}
          </button>
        </form>
        <ErrorNote error={msg.error} />
        {msg.ok && <p class="note ok" role="status">{msg.ok}</p>}
      </Card>
    </>
  );
}
