/**
 * Every configuration option, described once: its type, default, environment variable, flag
 * and meaning. The loader, the CLI's usage text, the config template and `docs/config.md` all
 * follow this table.
 * @module
 */
import type { LogLevel } from "../log/mod.ts";
import { parseDuration, parseSize } from "./units.ts";

/**
 * Where a supplier keeps the shards it holds: `fs` is Mote's own file-system store (atomic
 * writes) at `<data>/shards` or `options.base`; any other name is an unstorage driver, loaded
 * from `unstorage/drivers/<driver>` and given `options`.
 */
export interface SupplyStoreSetting {
  driver: string;
  options?: Record<string, unknown>;
}

/** The options as a user sets them; `null` means "work it out" (see each option). */
export interface Settings {
  /** Human nickname for the identity document; `""` lets the node pick one. */
  nickname: string;
  /** Address the public gateway and the p2p listeners bind to. */
  host: string;
  /** Address the node API and UI bind to; a non-loopback address needs `apiPassword`. */
  apiHost: string;
  /** Password for remote access to the API and UI; `""` allows loopback access only. */
  apiPassword: string;
  /** Port of the node API and UI; 0 picks a free one. */
  port: number;
  /** Port of the public gateway; 0 picks a free one. */
  gatewayPort: number;
  /** libp2p TCP port; 0 picks a free one. */
  p2pPort: number;
  /** libp2p WebSocket port; `null` means `p2pPort + 1`, or 0 when `p2pPort` is 0. */
  wsPort: number | null;
  /** Multiaddrs, with a `/p2p/` part, of nodes to join the network through. */
  bootstrap: string[];
  /** Run a local development network; `null` means on when `bootstrap` is empty. */
  devnet: boolean | null;
  /** How many suppliers the development network runs. */
  devnetSuppliers: number;
  /** The least severe log level written. */
  logLevel: LogLevel;
  /** Bytes the log file may reach before it rotates. */
  logFileSize: number;
  /** Milliseconds a record stored for others is kept without a republish. */
  recordLifetime: number;
  /** Milliseconds between republishes of this node's own and kept records. */
  republishInterval: number;
  /** Multiaddrs advertised in the identity document instead of the listen addresses. */
  announce: string[];
  /** Public http(s) URLs of this node's gateway, advertised in the identity document. */
  gatewayUrls: string[];
  /** Most DHT records stored for others. */
  maxRecords: number;
  /** Most DHT records stored for others per signer. */
  maxRecordsPerSigner: number;
  /** Requests per second per peer on Mote protocols. */
  rateLimit: number;
  /** Bytes of disk this node offers to other nodes as a supplier; 0 offers none. */
  supply: number;
  /** Where this node keeps shards as a supplier. */
  supplyStore: SupplyStoreSetting;
  /** Bytes each supplier of the embedded network offers. */
  devnetSupply: number;
  /** How many suppliers to hire; the erasure code follows (6 → 4 data + 2 parity shards). */
  supplierCount: number;
  /** Milliseconds between audits of the hired suppliers; 0 turns audits off. */
  auditInterval: number;
  /** Milliseconds a supplier may fail without a break before it is replaced. */
  lostAfter: number;
  /** Whether this node offers scrub duty to other owners. */
  scrub: boolean;
  /** Scrubbers to keep hired for this node's data (0: only by `mote scrub hire`). */
  scrubbers: number;
  /** Life of each scrub ticket (ms): how long the data may live unattended. */
  scrubExpiry: number;
}

/** The options as the node uses them: {@linkcode Settings} with automatic values worked out. */
export interface Config extends Omit<Settings, "wsPort" | "devnet"> {
  /** libp2p WebSocket port; 0 picks a free one. */
  wsPort: number;
  /** Whether to run a local development network. */
  devnet: boolean;
}

/** How an option's value is written and checked. */
export type OptionType =
  | "string"
  | "number"
  | "boolean"
  | "size"
  | "duration"
  | "string[]"
  | "port"
  | "object";

/** One row of {@linkcode OPTIONS}. */
export interface OptionSpec {
  /** The key in config.json and in {@linkcode Settings}. */
  readonly key: keyof Settings;
  /** How the value is written and checked. */
  readonly type: OptionType;
  /** The default as written in config.json (`"10MiB"`, `"36h"`); `null` means automatic. */
  readonly default:
    | string
    | number
    | boolean
    | readonly string[]
    | Readonly<Record<string, unknown>>
    | null;
  /** Whether `null` ("auto" in the environment and flags) is accepted. */
  readonly nullable: boolean;
  /** The environment variable: `MOTE_` and the key in SCREAMING_SNAKE case. */
  readonly env: string;
  /** The command-line flag (`--gateway-port`), or `null` when the option has none. */
  readonly flag: string | null;
  /** One line for people. */
  readonly description: string;
  /** The only values allowed, for strings. */
  readonly choices?: readonly string[];
  /** Whether numbers must be whole. */
  readonly integer?: boolean;
  /** Smallest value allowed, for numbers, sizes (bytes) and durations (ms). */
  readonly min?: number;
  /** Largest value allowed, for numbers, sizes (bytes) and durations (ms). */
  readonly max?: number;
  /** Further rule for a string or each string of a list: returns what is wrong, if anything. */
  readonly check?: (value: string) => string | undefined;
  /** The rule for an object: returns what is wrong, if anything. */
  readonly checkObject?: (value: Record<string, unknown>) => string | undefined;
}

type Row = Omit<OptionSpec, "key" | "env" | "flag" | "nullable"> & {
  readonly nullable?: true;
  readonly noFlag?: true;
};

/** Whether `host` is a loopback address (127.0.0.0/8, ::1 or localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "[::1]") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((part) => Number(part) <= 255);
}

/** Driver names allowed: a file name in `unstorage/drivers/`, never a path. */
export const DRIVER_NAME_RE = /^[a-z0-9][a-z0-9-]{0,47}$/;

/** Most bytes of a supply store's options as JSON (they are settings, not data). */
const MAX_STORE_OPTIONS = 16 * 1024;

function checkSupplyStore(value: Record<string, unknown>): string | undefined {
  const extra = Object.keys(value).filter((k) => k !== "driver" && k !== "options");
  if (extra.length > 0) {
    return `unknown key ${JSON.stringify(extra[0])}; a supply store has "driver" and "options"`;
  }
  const { driver, options } = value;
  if (typeof driver !== "string" || !DRIVER_NAME_RE.test(driver)) {
    return `the driver must be "fs" or an unstorage driver name (lower-case letters, digits ` +
      `and -, like "fs-lite"), received ${JSON.stringify(driver)?.slice(0, 60)}`;
  }
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return `"options" must be an object, received ${JSON.stringify(options)?.slice(0, 60)}`;
  }
  if (JSON.stringify(options).length > MAX_STORE_OPTIONS) {
    return `"options" is longer than ${MAX_STORE_OPTIONS} bytes of JSON`;
  }
  if (driver === "fs") {
    const bad = Object.keys(options).find((k) => k !== "base");
    if (bad !== undefined) return `the fs store takes only "base", not ${JSON.stringify(bad)}`;
    const base = (options as Record<string, unknown>).base;
    if (base !== undefined && (typeof base !== "string" || base.trim() === "")) {
      return `"base" must be a directory path`;
    }
  }
  return undefined;
}

// Declared as a record over Settings so the compiler proves every option has exactly one row;
// the order here is the documented order.
const ROWS: { readonly [K in keyof Settings]: Row } = {
  nickname: {
    type: "string",
    default: "",
    description: "Human nickname in the identity document; empty lets the node pick one",
  },
  host: {
    type: "string",
    default: "127.0.0.1",
    description: "Address the public gateway and the p2p listeners bind to",
    check: (v) => v.trim() === "" ? "the address is empty" : undefined,
  },
  apiHost: {
    type: "string",
    default: "127.0.0.1",
    noFlag: true,
    description:
      "Address the node API and UI bind to: loopback, or any address once apiPassword is set",
    check: (v) => v.trim() === "" ? "the address is empty" : undefined,
  },
  apiPassword: {
    type: "string",
    default: "",
    // Never a flag: a password on the command line shows in the process list.
    noFlag: true,
    description:
      "Password for remote access to the API and UI (12+ characters); needed when apiHost is not loopback",
    check: (v) =>
      v === "" || (v.length >= 12 && v.length <= 1024)
        ? undefined
        : "the password must have 12 to 1024 characters",
  },
  port: {
    type: "port",
    default: 8180,
    description: "Port of the node API and UI (0 picks a free one)",
  },
  gatewayPort: {
    type: "port",
    default: 8181,
    description: "Port of the public HTTP gateway (0 picks a free one)",
  },
  p2pPort: { type: "port", default: 8182, description: "libp2p TCP port (0 picks a free one)" },
  wsPort: {
    type: "port",
    default: null,
    nullable: true,
    description: "libp2p WebSocket port; null: p2pPort + 1, or 0 when p2pPort is 0",
  },
  bootstrap: {
    type: "string[]",
    default: [],
    description: "Multiaddrs of nodes to join the network through, each with a /p2p/ peer id part",
    check: (v) =>
      v.startsWith("/") && v.includes("/p2p/") ? undefined : `bootstrap address ` +
        `${JSON.stringify(v)} is not a multiaddr with a /p2p/<peer id> part`,
  },
  devnet: {
    type: "boolean",
    default: null,
    nullable: true,
    description: "Run a local development network; null: on when bootstrap is empty",
  },
  devnetSuppliers: {
    type: "number",
    default: 8,
    integer: true,
    min: 1,
    max: 64,
    description: "Suppliers in the local development network (1 to 64)",
  },
  logLevel: {
    type: "string",
    default: "info",
    choices: ["debug", "info", "warn", "error"] satisfies LogLevel[],
    description: "Least severe log level written: debug, info, warn or error",
  },
  logFileSize: {
    type: "size",
    default: "10MiB",
    min: 1024,
    description: "Size at which the log file in the data dir rotates (one old file is kept)",
  },
  recordLifetime: {
    type: "duration",
    default: "36h",
    min: 1000,
    description: "How long this node keeps a DHT record it stores for others without a republish",
  },
  republishInterval: {
    type: "duration",
    default: "1h",
    min: 1000,
    description: "How often this node republishes its own and kept records (< recordLifetime)",
  },
  announce: {
    type: "string[]",
    default: [],
    description: "Multiaddrs advertised in the identity document instead of the listen addresses",
    check: (v) =>
      v.startsWith("/") ? undefined : `announce address ${JSON.stringify(v)} is not a multiaddr`,
  },
  gatewayUrls: {
    type: "string[]",
    default: [],
    description: "Public http(s) URLs of this node's gateway, advertised in the identity document",
    check: (v) => {
      const url = URL.parse(v);
      return url && (url.protocol === "http:" || url.protocol === "https:")
        ? undefined
        : `gateway URL ${JSON.stringify(v)} is not an http(s) URL`;
    },
  },
  maxRecords: {
    type: "number",
    default: 100_000,
    integer: true,
    min: 0,
    description: "Most DHT records stored for others",
  },
  maxRecordsPerSigner: {
    type: "number",
    default: 1024,
    integer: true,
    min: 0,
    description: "Most DHT records stored for others per signer",
  },
  rateLimit: {
    type: "number",
    default: 100,
    integer: true,
    min: 1,
    description: "Requests per second per peer on Mote protocols (at least 1)",
  },
  supply: {
    type: "size",
    default: "0",
    description:
      "Disk space offered to other nodes as a supplier (shards kept in <data>/shards); 0 offers none",
  },
  supplyStore: {
    type: "object",
    default: { driver: "fs", options: {} },
    noFlag: true,
    description:
      "Where supplied shards are kept: driver fs (<data>/shards, or options.base) or an unstorage driver name with its options",
    checkObject: checkSupplyStore,
  },
  devnetSupply: {
    type: "size",
    default: "10GiB",
    description: "Disk space each supplier of the embedded network offers",
  },
  supplierCount: {
    type: "number",
    default: 6,
    integer: true,
    min: 2,
    max: 64,
    description:
      "Suppliers to hire; the erasure code follows (2 → 1+1, 4 → 2+2, 6 → 4+2, 10 → 7+3, …)",
  },
  auditInterval: {
    type: "duration",
    default: "1h",
    min: 0,
    description:
      "How often the hired suppliers are audited (storage proofs on random shards); 0 turns audits off",
  },
  lostAfter: {
    type: "duration",
    default: "4h",
    min: 1000,
    description:
      "How long a supplier may fail without a break before it is replaced and its shards rebuilt",
  },
  scrub: {
    type: "boolean",
    default: false,
    description:
      "Offer scrub duty: keep other owners' data whole while they are offline, on ciphertext only (audits at --audit-interval)",
  },
  scrubbers: {
    type: "number",
    default: 0,
    integer: true,
    min: 0,
    max: 16,
    description:
      "Scrubbers to keep hired for this node's data (0 to 16; mote scrub hire hires by hand)",
  },
  scrubExpiry: {
    type: "duration",
    default: "90d",
    min: 60_000,
    description:
      "How long scrubbers may keep your data alive unattended: each scrub ticket's life (renewed while the node runs)",
  },
};

/** Every option, in the documented order. */
export const OPTIONS: readonly OptionSpec[] = Object.entries(ROWS).map(([key, row]) => {
  const { noFlag, nullable, ...rest } = row as Row;
  return Object.freeze({
    ...rest,
    key: key as keyof Settings,
    nullable: nullable ?? false,
    env: `MOTE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
    flag: noFlag ? null : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  });
});

/** The option with config key `key`, if there is one. */
export function findOption(key: string): OptionSpec | undefined {
  return OPTIONS.find((option) => option.key === key);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function defaultValue(option: OptionSpec): unknown {
  const value = option.default;
  if (option.type === "object" && value !== null) return deepFreeze(structuredClone(value));
  if (option.type === "size" && value !== null) return parseSize(value as string | number);
  if (option.type === "duration" && value !== null) return parseDuration(value as string | number);
  return Array.isArray(value) ? Object.freeze([...value]) : value;
}

/** Every option's default, with sizes in bytes and durations in milliseconds. */
export const DEFAULTS: Readonly<Settings> = Object.freeze(
  Object.fromEntries(
    OPTIONS.map((option) => [option.key, defaultValue(option)]),
  ) as unknown as Settings,
);

/** Works out the automatic (`null`) values: `wsPort` and `devnet`. */
export function resolveAuto(settings: Settings): Config {
  return {
    ...settings,
    wsPort: settings.wsPort ?? (settings.p2pPort > 0 ? settings.p2pPort + 1 : 0),
    devnet: settings.devnet ?? settings.bootstrap.length === 0,
  };
}

/**
 * Returns an example config.json: a JSON object with every option at its default, in the
 * documented order (JSON has no comments; `docs/config.md` explains each key).
 */
export function configTemplate(): string {
  const body = Object.fromEntries(OPTIONS.map((option) => [option.key, option.default]));
  return JSON.stringify(body, null, 2) + "\n";
}
