/**
 * `mote world create --name <name> [--seed N] [--region 8] [--title T]`, `mote world ls`,
 * `mote world grant <name> --region <rx>,<rz> --to <node id> [--expires 30d]` and
 * `mote world revoke <name> --region <rx>,<rz> --from <node id>`: endless worlds. Creating one signs the owner's world record through the running node (which
 * lists it on the keep record, so it stays reachable with the owner offline) and prints where the
 * node's gateway serves it; any node's gateway serves it at `/w/<address>/`.
 */
import type { WorldRow } from "../../gateway/world_api.ts";
import { parseDuration } from "../config/mod.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { connectToNode } from "./client.ts";
import { UsageError } from "./errors.ts";
import { json, table } from "./format.ts";

type Out = (line: string) => void;
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `mote world create|ls ...` */
export async function worldCommand(args: string[], dataDir: string, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create":
      return await create(rest, dataDir, out);
    case "ls":
      return await list(rest, dataDir, out);
    case "grant":
      return await grant(rest, dataDir, out);
    case "revoke":
      return await revoke(rest, dataDir, out);
    default:
      throw new UsageError(
        `"world" needs "create", "ls", "grant" or "revoke" first, got ${
          sub ? `"${sub.slice(0, 40)}"` : "nothing"
        }`,
        "world",
      );
  }
}

function integer(v: unknown, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "string" && /^[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(
      `--${flag} must be an integer from ${min} to ${max}, not ${JSON.stringify(v).slice(0, 40)}`,
      "world create",
    );
  }
  return n;
}

async function create(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("world create", args, {
    name: { type: "string" },
    seed: { type: "string" },
    region: { type: "string" },
    title: { type: "string" },
  });
  expectPositionals("world create", positionals, 0, 0);
  const name = values.name;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new UsageError(
      `A world name (--name) is 1 to 63 lower-case letters, digits and hyphens, not ${
        JSON.stringify(name ?? "").slice(0, 60)
      }`,
      "world create",
    );
  }
  const seed = integer(values.seed, "seed", 0, 0xffffffff);
  const region = integer(values.region, "region", 1, 1024);
  const title = values.title;
  if (title !== undefined && (typeof title !== "string" || title.length > 200)) {
    throw new UsageError("--title is at most 200 characters", "world create");
  }
  const client = await connectToNode(dataDir);
  const w = await client.post<WorldRow>("/api/v1/worlds", {
    name,
    ...(seed !== undefined ? { seed } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(title !== undefined ? { title } : {}),
  });
  if (values.json) return out(json(w)), 0;
  out(
    `Created world ${w.name}: seed ${w.seed}, ${w.generator}, regions of ${w.region}×${w.region} chunks.`,
  );
  out(`Address: ${w.address}`);
  for (const u of w.urls) out(`  ${u}`);
  out("Any node's gateway serves it at /w/<address>/ (chunks and meta also through the edge).");
  return 0;
}

async function grant(args: string[], dataDir: string, out: Out): Promise<number> {
  const cmd = "world grant";
  const { values, positionals } = parseArgs(cmd, args, {
    region: { type: "string" },
    to: { type: "string" },
    expires: { type: "string" },
  });
  const { name, rx, rz, node: to } = grantArgs(cmd, positionals, values.region, values.to, "to");
  let expires: number | undefined;
  if (values.expires !== undefined) {
    try {
      expires = parseDuration(values.expires as string);
    } catch (e) {
      throw new UsageError(`--expires: ${(e as Error).message}`, cmd);
    }
  }
  const w = await (await connectToNode(dataDir)).post<WorldRow>(
    `/api/v1/worlds/${name}/grants`,
    { rx, rz, grantee: to, ...(expires !== undefined ? { expires } : {}) },
  );
  if (values.json) return out(json(w)), 0;
  const g = w.grants.find((g) => g.rx === rx && g.rz === rz && g.grantee === to)!;
  out(
    `Granted region (${rx}, ${rz}) of ${w.name} to ${to} until ${
      new Date(g.expiry).toISOString()
    }.`,
  );
  out(`World record version ${w.seq}; gateways see it within 15 s.`);
  return 0;
}

/** The world name, region and node id of `grant` and `revoke`; throws a UsageError. */
function grantArgs(
  cmd: string,
  positionals: string[],
  regionArg: unknown,
  nodeArg: unknown,
  flag: "to" | "from",
): { name: string; rx: number; rz: number; node: string } {
  expectPositionals(cmd, positionals, 1, 1);
  const name = positionals[0]!;
  if (!NAME_RE.test(name)) {
    throw new UsageError(`${JSON.stringify(name).slice(0, 60)} is not a world name`, cmd);
  }
  const region = /^(-?[0-9]{1,10}),(-?[0-9]{1,10})$/.exec(String(regionArg ?? ""));
  const [rx, rz] = region ? [Number(region[1]), Number(region[2])] : [NaN, NaN];
  if (![rx, rz].every((v) => v >= -0x80000000 && v <= 0x7fffffff)) {
    throw new UsageError(
      `--region is <rx>,<rz> (region indices), not ${JSON.stringify(regionArg ?? "")}`,
      cmd,
    );
  }
  if (typeof nodeArg !== "string" || !/^[a-z2-7]{52}$/.test(nodeArg)) {
    throw new UsageError(`--${flag} is the grantee's node id (52 base32 characters)`, cmd);
  }
  return { name, rx, rz, node: nodeArg };
}

async function revoke(args: string[], dataDir: string, out: Out): Promise<number> {
  const cmd = "world revoke";
  const { values, positionals } = parseArgs(cmd, args, {
    region: { type: "string" },
    from: { type: "string" },
  });
  const { name, rx, rz, node } = grantArgs(cmd, positionals, values.region, values.from, "from");
  const w = await (await connectToNode(dataDir)).delete<WorldRow>(
    `/api/v1/worlds/${name}/grants/${rx}/${rz}/${node}`,
  );
  if (values.json) return out(json(w)), 0;
  const g = w.grants.find((g) => g.rx === rx && g.rz === rz && g.grantee === node)!;
  out(
    `Ended the grant of region (${rx}, ${rz}) of ${w.name} to ${node} at ${
      new Date(g.expiry).toISOString()
    }.`,
  );
  out(
    `World record version ${w.seq}; gateways refuse its batches signed later within 15 s. ` +
      "Its edits stay; this node signs the region's checkpoint within a minute.",
  );
  return 0;
}

async function list(args: string[], dataDir: string, out: Out): Promise<number> {
  const { values, positionals } = parseArgs("world ls", args, {});
  expectPositionals("world ls", positionals, 0, 0);
  const r = await (await connectToNode(dataDir)).get<{ worlds: WorldRow[] }>("/api/v1/worlds");
  if (values.json) return out(json(r.worlds)), 0;
  if (r.worlds.length === 0) {
    out("No worlds yet. Create one with: mote world create --name <name>");
    return 0;
  }
  out(table(
    ["NAME", "SEED", "GENERATOR", "REGION", "GRANTS", "VERSION", "CREATED", "URL"],
    r.worlds.map((w) => [
      w.name,
      w.seed,
      w.generator,
      w.region,
      w.grants.length,
      w.seq,
      new Date(w.created).toISOString().slice(0, 19).replace("T", " "),
      w.urls[0] ?? "",
    ]),
  ));
  const grants = r.worlds.flatMap((w) =>
    w.grants.map((g) => [
      w.name,
      `${g.rx},${g.rz}`,
      g.grantee,
      new Date(g.expiry).toISOString().slice(0, 19).replace("T", " "),
      g.ended ? (g.checkpointed ? "ended, checkpointed" : "ended") : "active",
    ])
  );
  if (grants.length > 0) {
    out("");
    out(table(["WORLD", "REGION", "GRANTEE", "EXPIRES", "STATE"], grants));
  }
  return 0;
}
