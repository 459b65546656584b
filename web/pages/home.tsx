// This module is browser compatible.
/**
 * Home: who this node is, whether it is connected, its suppliers, the space it uses and its
 * scrubbers.
 */
import type { Health, Status, Suppliers, Usage } from "../api.ts";
import { ago, bytes, duration, short } from "../format.ts";
import { usePoll } from "../live.ts";
import { Card, Empty, ErrorNote, Link, Loading } from "../ui.tsx";
import { ScrubbersCard } from "./scrubbers.tsx";

type Polled<T> = { data: T | undefined; error: string | undefined; reload: () => void };

const SUPPLIER_EVENTS = [
  "storage:supplier-dismissed",
  "audit:round",
  "storage:hired",
  "storage:repaired",
  "supplier:contract",
  "put:done",
];

/** The home page. */
export function HomePage(props: { status: Polled<Status>; connected: boolean }) {
  const s = props.status.data;
  const sup = usePoll<Suppliers>("/api/v1/suppliers", { every: 5_000, on: SUPPLIER_EVENTS });
  const du = usePoll<Usage>("/api/v1/du", { every: 15_000, on: ["put:done"] });
  const health = usePoll<Health>("/api/v1/health", { every: 10_000, on: SUPPLIER_EVENTS });
  return (
    <>
      <h1>Home</h1>
      {s?.devnet.running && (
        <div class="note info" role="note">
          <strong>Embedded local network.</strong> This node runs its own network of{" "}
          {s.devnet.suppliers}{" "}
          supplier nodes on this machine (127.0.0.1). Good for trying Mote; your files are not
          spread over other computers. Start with bootstrap peers to join a real network.
        </div>
      )}
      <ErrorNote error={props.status.error} onRetry={props.status.reload} />
      <div class="grid">
        <Card title="This node">
          {!s ? <Loading /> : (
            <dl class="facts">
              <dt>Nickname</dt>
              <dd>{s.nickname}</dd>
              <dt>Node id</dt>
              <dd>
                <code class="id" data-testid="node-id">{s.id}</code>
              </dd>
              <dt>Version</dt>
              <dd>{s.version}</dd>
              <dt>Up for</dt>
              <dd>{duration(s.uptime)}</dd>
            </dl>
          )}
        </Card>
        <Card title="Connection">
          {!s ? <Loading /> : (
            <dl class="facts">
              <dt>Node API</dt>
              <dd>{props.connected ? "connected (live updates on)" : "reconnecting…"}</dd>
              <dt>Peers</dt>
              <dd>
                <Link href="/network">
                  <span data-testid="peer-count">{s.peers}</span> connected
                </Link>
              </dd>
              <dt>DHT</dt>
              <dd>{s.dht} peers in the routing table</dd>
            </dl>
          )}
          {s && s.peers === 0 && (
            <p class="empty">
              No peers yet. The node keeps dialling its bootstrap peers; add one on the{" "}
              <Link href="/network">Network</Link> page.
            </p>
          )}
        </Card>
        <Card title="Storage">
          <ErrorNote error={du.error} />
          {!du.data ? <Loading /> : (
            <dl class="facts">
              <dt>Used</dt>
              <dd data-testid="storage-used">
                {bytes(du.data.total)} on suppliers (shards with parity)
              </dd>
              <dt>Quota</dt>
              <dd>
                {sup.data
                  ? `${
                    bytes(sup.data.suppliers.filter((r) => r.live).reduce((a, r) => a + r.quota, 0))
                  } contracted`
                  : "…"}
              </dd>
              <dt>Redundancy</dt>
              <dd data-testid="redundancy">
                {!health.data
                  ? "…"
                  : health.data.repair.pendingShards > 0
                  ? `rebuilding: ${health.data.repair.pendingShards} shard(s) waiting`
                  : "full"}
              </dd>
              <dt>Audits</dt>
              <dd>
                {!health.data
                  ? "…"
                  : health.data.audit.interval === 0
                  ? "off"
                  : `every ${duration(Math.round(health.data.audit.interval / 1000))}${
                    health.data.audit.lastRound
                      ? `, last ${ago(health.data.audit.lastRound)}`
                      : ", none yet"
                  }`}
              </dd>
            </dl>
          )}
        </Card>
      </div>
      <Card title="Suppliers">
        <ErrorNote error={sup.error} onRetry={sup.reload} />
        {!sup.data ? <Loading /> : sup.data.suppliers.length === 0
          ? (
            <Empty>
              No suppliers hired yet. The node looks for {sup.data.wanted}{" "}
              in the background; this takes a few seconds once it has peers.
            </Empty>
          )
          : (
            <>
              <p class="muted">
                {sup.data.suppliers.filter((r) => r.live).length} of {sup.data.wanted}{" "}
                wanted, erasure code {sup.data.code}.
                {sup.data.migration && sup.data.migration.files + sup.data.migration.folders > 0 &&
                  ` Moving to ${sup.data.migration.code}: ${sup.data.migration.files} files left.`}
              </p>
              <div class="table-wrap">
                <table data-testid="suppliers">
                  <thead>
                    <tr>
                      <th scope="col">Supplier</th>
                      <th scope="col">Health</th>
                      <th scope="col">Last contact</th>
                      <th scope="col" class="wide">Last audit</th>
                      <th scope="col" class="wide">Quota</th>
                      <th scope="col" class="wide">Contract ends</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sup.data.suppliers.map((r) => (
                      <tr key={r.supplier}>
                        <td>
                          <code title={r.supplier}>{short(r.supplier)}</code>
                        </td>
                        <td>
                          <span class={`badge ${r.live ? r.health : "expired"}`} title={r.error}>
                            {r.live ? r.health : "expired"}
                          </span>
                        </td>
                        <td>{ago(r.lastContact)}</td>
                        <td class="wide">
                          {r.lastAudit
                            ? `${ago(r.lastAudit)}${r.lastAuditOk ? "" : " (failed)"}`
                            : "not yet"}
                        </td>
                        <td class="wide">{bytes(r.quota)}</td>
                        <td class="wide">{new Date(r.expiry).toLocaleDateString()}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
      </Card>
      <ScrubbersCard />
    </>
  );
}
