/**
 * `mote scrub hire <n> [--expiry 30d]`, `mote scrub ls`, `mote scrub revoke <id>`: the scrubbers
 * that keep this node's data whole while it is offline, through the running node's API.
 */
import { formatDuration, formatSize, parseDuration } from "../config/mod.ts";
import type { HireAnswer, ScrubTicketRow, ScrubView } from "../../gateway/scrub.ts";
import { MAX_HIRE } from "../../gateway/scrub.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode } from "./client.ts";
import { UsageError } from "./errors.ts";
import { json, table } from "./format.ts";

type Out = (line: string) => void;

/** `mote scrub hire|ls|revoke ...` */
export async function scrubCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "hire":
      return await hire(rest, dataDir, out);
    case "ls":
      return await list(rest, dataDir, out);
    case "revoke":
      return await revoke(rest, dataDir, out);
    default:
      throw new UsageError(
        `"scrub" needs "hire", "ls" or "revoke" first, got ${
          sub ? `"${sub.slice(0, 40)}"` : "nothing"
        }`,
        "scrub",
      );
  }
}

async function hire(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("scrub hire", args, {
    expiry: { type: "string" },
  });
  expectPositionals("scrub hire", positionals, 1, 1);
  const text = positionals[0]!;
  const count = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(count >= 1 && count <= MAX_HIRE)) {
    throw new UsageError(`Hire from 1 to ${MAX_HIRE} scrubbers, not "${text}"`, "scrub hire");
  }
  let expiry: number | undefined;
  if (values.expiry !== undefined) {
    try {
      expiry = parseDuration(values.expiry as string);
    } catch (e) {
      throw new UsageError(`--expiry: ${(e as Error).message}`, "scrub hire");
    }
  }
  const r = await (await connectToNode(dataDir)).post<HireAnswer>("/api/v1/scrub/hire", {
    count,
    ...(expiry !== undefined ? { expiry } : {}),
  });
  if (values.json) out(json(r));
  else {
    for (const h of r.hired) {
      out(`Hired scrubber ${h.scrubber}: ticket ${h.id}, until ${iso(h.expiry)}`);
    }
    if (r.hired.length === r.asked) {
      out(`${r.asked} scrubber${r.asked === 1 ? "" : "s"} hired.`);
    }
  }
  if (r.hired.length < r.asked) {
    // On stderr, so scripts reading --json still see it.
    console.error(
      r.hired.length === 0
        ? `mote: 0 of ${r.asked} hired: no node offering scrub duty could be hired (scrubbers already hired, or revoked, are not hired again)`
        : `mote: ${r.hired.length} of ${r.asked} hired: only ${r.hired.length} node${
          r.hired.length === 1 ? " offers" : "s offer"
        } scrub duty that this node could hire`,
    );
  }
  return r.hired.length === 0 ? 1 : 0;
}

async function list(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("scrub ls", args, {});
  expectPositionals("scrub ls", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<ScrubView>("/api/v1/scrub");
  if (values.json) return out(json(r)), 0;
  const s = r.settings;
  out(
    `New tickets last ${formatDuration(s.expiry)} and allow ${s.maxContracts} contracts of up to ${
      formatSize(s.maxQuota)
    } each${r.wanted ? `; the node keeps ${r.wanted} scrubber(s) hired` : ""}.`,
  );
  if (r.tickets.length) {
    out(table(
      ["ID", "SCRUBBER", "STATE", "EXPIRES", "LAST ROUND", "SHARDS", "REBUILT", "CONTRACTS"],
      r.tickets.map(row),
    ));
  }
  out(unattended(r.tickets));
  return 0;
}

function row(t: ScrubTicketRow): (string | number)[] {
  const rep = t.report;
  const lastRound = t.state !== "active"
    ? "-"
    : !rep
    ? `unreachable${t.error ? ` (${t.error.slice(0, 60)})` : ""}`
    : rep.lastRound
    ? `${iso(rep.lastRound)} (${rep.rounds} rounds)`
    : "not yet";
  return [
    t.id,
    t.scrubber,
    t.state,
    iso(t.expiry),
    lastRound,
    rep ? `${rep.shards} (${rep.missing} missing)` : "-",
    rep ? `${rep.rebuilt} (${formatSize(rep.rebuiltBytes)})` : "-",
    rep ? `${rep.contracts}/${t.maxContracts}` : "-",
  ];
}

/** How long the data lives on while this node is off: until the last active ticket ends. */
export function unattended(tickets: ScrubTicketRow[], now = Date.now()): string {
  const active = tickets.filter((t) => t.state === "active");
  if (active.length === 0) {
    return 'No active scrubbers: your data is kept whole only while this node runs ("mote scrub hire 2").';
  }
  const until = Math.max(...active.map((t) => t.expiry));
  return `With this node off, ${active.length} scrubber${
    active.length === 1 ? " keeps" : "s keep"
  } your data whole until ${iso(until)} (${
    roughly(until - now)
  } from now); tickets are renewed while the node runs.`;
}

async function revoke(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("scrub revoke", args, {});
  expectPositionals("scrub revoke", positionals, 1, 1);
  const r = await (await connectToNode(dataDir)).post<
    { revoked: { id: string; scrubber: string } }
  >(
    "/api/v1/scrub/revoke",
    { id: positionals[0] },
  );
  if (values.json) return out(json(r)), 0;
  out(
    `Revoked ticket ${r.revoked.id} of scrubber ${r.revoked.scrubber}: it and the suppliers were told, and the revocation is published.`,
  );
  return 0;
}

/** A duration to the hour past a day, to the minute below. */
function roughly(ms: number): string {
  const unit = ms >= 86_400_000 ? 3_600_000 : 60_000;
  return formatDuration(Math.max(0, Math.round(ms / unit)) * unit);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
