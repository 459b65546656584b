/**
 * The levelled logger: one readable line per record, written to any number of sinks.
 * @module
 */

/** The log levels, from most to least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** How verbose a logger is, or how severe a record is. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Returns whether `value` is one of {@linkcode LOG_LEVELS}. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** One thing that was logged, as handed to sinks next to its formatted line. */
export interface LogRecord {
  /** When it was logged. */
  time: Date;
  /** How severe it is. */
  level: LogLevel;
  /** The dotted component path given through {@linkcode Logger.child}, or `""`. */
  component: string;
  /** The message. */
  msg: string;
  /** Extra key-value data; keys with `undefined` values are left out of the line. */
  fields: Readonly<Record<string, unknown>>;
}

/** Where formatted log lines go. `write` is called synchronously, once per record. */
export interface LogSink {
  /** Takes one line (without a newline) and the record it was made from. */
  write(line: string, record: LogRecord): void;
  /** Releases what the sink holds (an open file, for instance). */
  close?(): void;
}

/** Writes records at or above its level to its sinks. */
export interface Logger {
  /** Logs detail that is useful only when chasing a problem. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Logs normal, noteworthy events. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Logs something unexpected that the node recovered from. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Logs a failure that needs attention. */
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Returns a logger that prefixes lines with `component` (nested: `net.dht`). */
  child(component: string): Logger;
  /** The least severe level written; shared by a logger and all its children. */
  level: LogLevel;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** The least severe level written. Defaults to `"info"`. */
  level?: LogLevel;
  /** Where lines go. */
  sinks: readonly LogSink[];
  /** The clock, for tests. Defaults to `() => new Date()`. */
  now?: () => Date;
  /**
   * Told once when a sink throws; that sink then gets no more records. Defaults to writing one
   * line to stderr.
   */
  onSinkError?: (error: unknown) => void;
}

interface State {
  level: LogLevel;
  readonly sinks: { sink: LogSink; enabled: boolean }[];
  readonly now: () => Date;
  readonly onSinkError: (error: unknown) => void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function checkLevel(level: unknown): LogLevel {
  if (!isLogLevel(level)) {
    throw new RangeError(
      `Cannot set log level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  return level;
}

/**
 * Creates a logger. A logger never throws because a sink failed: a sink that throws is reported
 * once through `onSinkError` and then skipped.
 *
 * @example
 * ```ts
 * import { createLogger, memorySink } from "./logger.ts";
 * const sink = memorySink();
 * const log = createLogger({ level: "info", sinks: [sink] }).child("net");
 * log.info("dialled peer", { peer: "12D3KooW", ms: 12 });
 * // sink.lines[0] ends with "INFO  net: dialled peer peer=12D3KooW ms=12"
 * ```
 * @throws {RangeError} when `level` is not a log level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const state: State = {
    level: checkLevel(options.level ?? "info"),
    sinks: options.sinks.map((sink) => ({ sink, enabled: true })),
    now: options.now ?? (() => new Date()),
    onSinkError: options.onSinkError ?? reportToStderr,
  };
  return makeLogger(state, "");
}

function makeLogger(state: State, component: string): Logger {
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < RANK[state.level]) return;
    const record: LogRecord = { time: state.now(), level, component, msg, fields };
    const line = formatRecord(record, { stacks: state.level === "debug" });
    for (const entry of state.sinks) {
      if (!entry.enabled) continue;
      try {
        entry.sink.write(line, record);
      } catch (error) {
        entry.enabled = false;
        try {
          state.onSinkError(error);
        } catch {
          // Nowhere left to report to; logging must not take the node down.
        }
      }
    }
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    child(name: string): Logger {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(
          `Cannot create child logger: expected a component name, received ${JSON.stringify(name)}`,
        );
      }
      return makeLogger(state, component === "" ? name : `${component}.${name}`);
    },
    get level() {
      return state.level;
    },
    set level(level: LogLevel) {
      state.level = checkLevel(level);
    },
  };
}

function reportToStderr(error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  writeAllSync(Deno.stderr, `Mote log: a log sink failed and is now disabled: ${reason}\n`);
}

/** Options for {@linkcode formatRecord}. */
export interface FormatOptions {
  /** Print Error fields with their stack instead of only their message. */
  stacks?: boolean;
}

/**
 * Formats a record as one line: time, level, component, message, then `key=value` fields.
 * Values are JSON-quoted when they contain spaces, quotes, `=` or control characters; Error
 * values print their message (their stack with `stacks`).
 *
 * @example
 * ```ts
 * import { formatRecord } from "./logger.ts";
 * formatRecord({
 *   time: new Date("2026-11-25T08:00:00.123Z"),
 *   level: "info",
 *   component: "net",
 *   msg: "dialled peer",
 *   fields: { peer: "12D3KooW", ms: 12 },
 * }); // "2026-11-25T08:00:00.123Z INFO  net: dialled peer peer=12D3KooW ms=12"
 * ```
 */
export function formatRecord(record: LogRecord, options: FormatOptions = {}): string {
  let line = `${record.time.toISOString()} ${record.level.toUpperCase().padEnd(5)} `;
  if (record.component !== "") line += `${record.component}: `;
  line += escapeControl(record.msg);
  for (const [key, value] of Object.entries(record.fields)) {
    if (value === undefined) continue;
    line += ` ${quote(key)}=${formatValue(value, options.stacks ?? false)}`;
  }
  return line;
}

function formatValue(value: unknown, stacks: boolean): string {
  if (value instanceof Error) return quote(stacks ? value.stack ?? value.message : value.message);
  if (typeof value === "string") return quote(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid" : value.toISOString();
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
  if (typeof value === "function") return quote(`[function ${value.name || "anonymous"}]`);
  if (value !== null && typeof value === "object") {
    try {
      return escapeControl(
        JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v),
      );
    } catch {
      return quote(String(value)); // a cycle, most likely
    }
  }
  return quote(String(value));
}

const PLAIN = /^[^\s"'=\\\p{Cc}]+$/u;

function quote(text: string): string {
  return PLAIN.test(text) ? text : JSON.stringify(text);
}

function escapeControl(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1));
}

const encoder = new TextEncoder();

function writeAllSync(target: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
}

const COLORS: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

/** Options for {@linkcode stderrSink}. */
export interface StderrSinkOptions {
  /** Color the level with ANSI escapes. Defaults to `false`. */
  color?: boolean;
}

/** A sink that writes each line synchronously to stderr, its level colored when asked. */
export function stderrSink(options: StderrSinkOptions = {}): LogSink {
  const color = options.color ?? false;
  return {
    write(line, record) {
      if (color) {
        // formatRecord() puts the level right after the timestamp and one space.
        const at = record.time.toISOString().length + 1;
        line = `${line.slice(0, at)}${COLORS[record.level]}${line.slice(at, at + 5)}\x1b[0m${
          line.slice(at + 5)
        }`;
      }
      writeAllSync(Deno.stderr, line + "\n");
    },
  };
}

/** A sink that keeps the most recent lines in memory, for tests. */
export interface MemorySink extends LogSink {
  /** The kept lines, oldest first. */
  readonly lines: readonly string[];
  /** The records of the kept lines, oldest first. */
  readonly records: readonly LogRecord[];
  /** Forgets every kept line. */
  clear(): void;
}

/**
 * Creates a {@linkcode MemorySink} that keeps the last `limit` lines (default 1000).
 *
 * @throws {RangeError} when `limit` is not a positive integer.
 */
export function memorySink(options: { limit?: number } = {}): MemorySink {
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Cannot create memory sink: limit must be an integer >= 1, got ${limit}`);
  }
  const lines: string[] = [];
  const records: LogRecord[] = [];
  return {
    lines,
    records,
    write(line, record) {
      lines.push(line);
      records.push(record);
      if (lines.length > limit) {
        lines.shift();
        records.shift();
      }
    },
    clear() {
      lines.length = 0;
      records.length = 0;
    },
  };
}
