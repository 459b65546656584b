/**
 * Loads the node's configuration from defaults, `<dataDir>/config.json`, `MOTE_*` environment
 * variables and command-line flags, in rising precedence, and checks every value.
 * @module
 */
import { join } from "node:path";
import {
  type Config,
  DEFAULTS,
  findOption,
  isLoopback,
  OPTIONS,
  type OptionSpec,
  resolveAuto,
  type Settings,
} from "./schema.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";

/** Raised when the configuration cannot be read or a value in it is not acceptable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Where an option's value came from. */
export type ConfigSource = "default" | "file" | "env" | "flag";

/**
 * Option values parsed from the command line, keyed by config key. A string is read like an
 * environment variable (`"10MiB"`, `"8180"`, `"true"`, `"a,b"`); anything else like a value in
 * config.json. `undefined` entries are ignored.
 */
export type ConfigFlags = { readonly [K in keyof Settings]?: Settings[K] | string | undefined };

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** The data directory; the config file is `<dataDir>/config.json`, which may be missing. */
  dataDir: string;
  /** Values from command-line flags; they win over everything else. */
  flags?: ConfigFlags;
  /** The environment (pass `Deno.env.toObject()`); only `MOTE_*` names are read. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What {@linkcode loadConfig} returns. */
export interface LoadedConfig {
  /** The checked configuration, sizes in bytes and durations in milliseconds. */
  config: Config;
  /** Where each option's value came from. */
  sources: Record<keyof Config, ConfigSource>;
  /** The path of the config file that was read, or would have been. */
  file: string;
}

/**
 * Loads and checks the configuration. Precedence: flags > environment > config.json >
 * defaults. An environment variable that is set but empty counts as unset.
 *
 * @throws {ConfigError} when the file cannot be read or parsed, has unknown keys, or any value
 * is of the wrong type or out of range; the message names the option, its source and the value.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const file = join(options.dataDir, "config.json");
  return layerConfig(await readConfigFile(file), options, file);
}

/** Defaults, then the file's values, the environment and flags; checked as a whole. */
function layerConfig(
  fromFile: Record<string, unknown> | undefined,
  options: Pick<LoadConfigOptions, "env" | "flags">,
  file: string,
): LoadedConfig {
  // Copy the default lists and objects: DEFAULTS is frozen, and the result is the caller's.
  const copy = (value: unknown) =>
    typeof value === "object" && value !== null ? structuredClone(value) : value;
  const values: Record<string, unknown> = Object.fromEntries(
    Object.entries(DEFAULTS).map(([key, value]) => [key, copy(value)]),
  );
  const sources = Object.fromEntries(OPTIONS.map((o) => [o.key, "default"])) as Record<
    keyof Config,
    ConfigSource
  >;
  const set = (option: OptionSpec, value: unknown, source: ConfigSource) => {
    values[option.key] = value;
    sources[option.key] = source;
  };

  for (const [key, raw] of Object.entries(fromFile ?? {})) {
    const option = findOption(key) as OptionSpec; // readConfigFile rejected unknown keys
    set(option, checkValue(option, raw, `"${key}" in ${file}`, false), "file");
  }
  for (const option of OPTIONS) {
    const raw = options.env?.[option.env];
    if (raw === undefined || raw === "") continue;
    set(option, checkValue(option, raw, option.env, true), "env");
  }
  for (const [key, raw] of Object.entries(options.flags ?? {})) {
    if (raw === undefined) continue;
    const option = findOption(key);
    if (option === undefined) {
      throw new ConfigError(`Unknown option "${key}" in flags; known options: ${knownKeys()}`);
    }
    if (option.flag === null) {
      throw new ConfigError(
        `Option "${key}" has no command-line flag; set it in config.json or ${option.env}`,
      );
    }
    set(option, checkValue(option, raw, option.flag, typeof raw === "string"), "flag");
  }

  const settings = values as unknown as Settings;
  if (settings.republishInterval >= settings.recordLifetime) {
    const where = (key: keyof Settings) => describeSource(key, sources[key], file);
    throw new ConfigError(
      `republishInterval ${formatDuration(settings.republishInterval)} (${
        where("republishInterval")
      }) must be shorter than recordLifetime ${formatDuration(settings.recordLifetime)} (${
        where("recordLifetime")
      }), or records expire between republishes`,
    );
  }
  if (!isLoopback(settings.apiHost) && settings.apiPassword === "") {
    throw new ConfigError(
      `apiHost ${JSON.stringify(settings.apiHost)} (${
        describeSource("apiHost", sources.apiHost, file)
      }) is not a loopback address: remote access to the node API needs apiPassword ` +
        `(MOTE_API_PASSWORD or config.json; see docs/config.md)`,
    );
  }
  return { config: resolveAuto(settings), sources, file };
}

function describeSource(key: keyof Settings, source: ConfigSource, file: string): string {
  const option = findOption(key) as OptionSpec;
  switch (source) {
    case "default":
      return "the default";
    case "file":
      return `from ${file}`;
    case "env":
      return `from ${option.env}`;
    case "flag":
      return `from ${option.flag}`;
  }
}

function knownKeys(): string {
  return OPTIONS.map((o) => o.key).join(", ");
}

function show(value: unknown): string {
  if (value === undefined) return "undefined";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function expected(option: OptionSpec, textual: boolean): string {
  const range = (fmt: (n: number) => string) =>
    option.min !== undefined && option.max !== undefined
      ? ` from ${fmt(option.min)} to ${fmt(option.max)}`
      : option.min !== undefined
      ? ` of at least ${fmt(option.min)}`
      : option.max !== undefined
      ? ` of at most ${fmt(option.max)}`
      : "";
  const base = {
    string: option.choices ? `one of ${option.choices.join(", ")}` : "a string",
    number: `${option.integer ? "an integer" : "a number"}${range(String)}`,
    boolean: textual ? "true, false, 1 or 0" : "true or false",
    size: `a size like "10MiB" or a number of bytes${range(formatSize)}`,
    duration: `a duration like "5s" or "1h30m" or a number of ms${range(formatDuration)}`,
    "string[]": textual ? "a comma-separated list" : "an array of strings",
    port: "a port (an integer from 0 to 65535)",
    object: textual ? "a JSON object, as JSON text" : "a JSON object",
  }[option.type];
  if (!option.nullable) return base;
  return textual ? `${base}, or "auto"` : `${base}, or null (automatic)`;
}

/** Reads a value written as text (environment, string flag) into a config.json-like value. */
function fromText(option: OptionSpec, text: string): unknown {
  const trimmed = text.trim();
  if (option.nullable && trimmed.toLowerCase() === "auto") return null;
  switch (option.type) {
    case "number":
    case "port":
      return /^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(trimmed) ? Number(trimmed) : text;
    case "boolean": {
      const lower = trimmed.toLowerCase();
      if (lower === "true" || lower === "1") return true;
      if (lower === "false" || lower === "0") return false;
      return text;
    }
    case "string[]":
      return trimmed.split(",").map((item) => item.trim()).filter((item) => item !== "");
    case "object":
      try {
        return JSON.parse(trimmed);
      } catch {
        return text;
      }
    default:
      return trimmed;
  }
}

/** Checks one value against its option and returns it in the form {@linkcode Settings} uses. */
function checkValue(option: OptionSpec, raw: unknown, where: string, textual: boolean): unknown {
  const value = textual && typeof raw === "string" ? fromText(option, raw) : raw;
  const fail = (problem?: string): never => {
    throw new ConfigError(
      `Invalid value for ${where}: ${
        problem ?? `expected ${expected(option, textual)}, received ${show(raw)}`
      }`,
    );
  };
  if (value === null && option.nullable) return null;
  const inRange = (n: number) =>
    (option.min === undefined || n >= option.min) && (option.max === undefined || n <= option.max);
  switch (option.type) {
    case "string":
      if (typeof value !== "string") return fail();
      if (option.choices && !option.choices.includes(value)) return fail();
      return checkString(option, value, fail);
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) return fail();
      if (option.integer && !Number.isSafeInteger(value)) return fail();
      return inRange(value) ? value : fail();
    case "port":
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
        return fail();
      }
      return value;
    case "boolean":
      return typeof value === "boolean" ? value : fail();
    case "size":
    case "duration": {
      if (typeof value !== "string" && typeof value !== "number") return fail();
      let n: number;
      try {
        n = option.type === "size" ? parseSize(value) : parseDuration(value);
      } catch (error) {
        return fail(`${(error as Error).message}; expected ${expected(option, textual)}`);
      }
      return inRange(n) ? n : fail();
    }
    case "string[]": {
      if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) return fail();
      return value.map((item: string) => checkString(option, item, fail));
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return fail();
      const problem = option.checkObject?.(value as Record<string, unknown>);
      return problem === undefined ? value : fail(problem);
    }
  }
}

function checkString(option: OptionSpec, value: string, fail: (p: string) => never): string {
  const problem = option.check?.(value);
  return problem === undefined ? value : fail(problem);
}

async function readConfigFile(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`Cannot read config file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message.replace(/\n/g, "\\n");
    throw new ConfigError(
      `Cannot parse config file ${file} at ${jsonErrorPlace(text)}: ${message}`,
      { cause: error },
    );
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigError(
      `Cannot use config file ${file}: expected a JSON object, received ${
        Array.isArray(data) ? "an array" : show(data)
      }`,
    );
  }
  const unknown = Object.keys(data).filter((key) => findOption(key) === undefined);
  if (unknown.length > 0) {
    const hints = unknown.map((key) => {
      const loose = key.toLowerCase().replace(/[-_\s]/g, "");
      const match = OPTIONS.find((o) => o.key.toLowerCase() === loose);
      return match ? `"${key}" (did you mean "${match.key}"?)` : `"${key}"`;
    });
    throw new ConfigError(
      `Unknown option${unknown.length > 1 ? "s" : ""} in ${file}: ${hints.join(", ")}; ` +
        `known options: ${knownKeys()}`,
    );
  }
  return data as Record<string, unknown>;
}

/**
 * Finds where JSON.parse gave up, as "line L, column C". V8 names the position for some errors
 * but not for "Unexpected token" ones, so this walks the grammar (RFC 8259) itself.
 */
function jsonErrorPlace(text: string): string {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (/[ \t\n\r]/.test(text[i] ?? "")) i++;
  };
  const token = (re: RegExp) => {
    re.lastIndex = i;
    if (!re.test(text)) fail();
    i = re.lastIndex;
  };
  const string = () => token(/"(?:[^"\\\p{Cc}]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/uy);
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          space();
          string();
          space();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        space();
        if (text[i] !== "," && text[i] !== close) fail();
        if (text[i++] === close) return;
      }
    }
    if (c === '"') return string();
    token(/-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y);
  };
  try {
    value();
    space();
    if (i < text.length) fail();
  } catch (error) {
    if (typeof error !== "number") return "an unknown place";
  }
  const before = text.slice(0, i).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Options for {@linkcode resolveDataDir}. */
export interface DataDirOptions {
  /** The `--data` flag, if given. */
  flag?: string;
  /** The environment; `MOTE_DATA` is read from it. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The user's home directory (HOME, or USERPROFILE on Windows), found by the caller. */
  home?: string;
}

/**
 * Chooses the data directory: the `--data` flag, else `MOTE_DATA`, else `<home>/.mote`. Empty
 * values count as unset.
 *
 * @throws {ConfigError} when none of the three is given.
 */
export function resolveDataDir(options: DataDirOptions): string {
  if (options.flag) return options.flag;
  const fromEnv = options.env?.MOTE_DATA;
  if (fromEnv) return fromEnv;
  if (options.home) return join(options.home, ".mote");
  throw new ConfigError(
    "Cannot choose a data directory: no --data flag, MOTE_DATA is unset and no home directory " +
      "(HOME or USERPROFILE) was given",
  );
}

/**
 * Changes some keys of `<dataDir>/config.json` (creating it if missing) and keeps every other
 * key as it was. Each new value is checked as the file's own values are, then the whole file is
 * loaded again; when anything is wrong the file is left unchanged. Written to a temporary file
 * and renamed, owner-only (it may hold `apiPassword`).
 *
 * @throws {ConfigError} naming the bad key and value.
 */
export async function updateConfigFile(
  dataDir: string,
  patch: Readonly<Record<string, unknown>>,
): Promise<void> {
  const file = join(dataDir, "config.json");
  const before = (await readConfigFile(file)) ?? {};
  const after: Record<string, unknown> = { ...before };
  for (const [key, value] of Object.entries(patch)) {
    const option = findOption(key);
    if (option === undefined) {
      throw new ConfigError(`Unknown option "${key}"; known options: ${knownKeys()}`);
    }
    checkValue(option, value, `"${key}"`, false);
    after[key] = value;
  }
  // Cross-checks (republishInterval < recordLifetime, apiHost needs a password) on the result.
  layerConfig(after, {}, file);
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(after, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, file);
}
