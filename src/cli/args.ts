/**
 * Command-line parsing on top of `node:util`'s strict `parseArgs`: unknown flags and missing
 * values become a {@linkcode UsageError} naming the flag.
 */
import { parseArgs as nodeParseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/** One flag. */
export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  data: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Parsed flags and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses `args` for `command` with its own flags plus the global ones. */
export function parseArgs(
  command: string,
  args: string[],
  flags: Record<string, FlagSpec>,
): Parsed {
  try {
    const r = nodeParseArgs({
      args,
      options: { ...GLOBAL_FLAGS, ...flags },
      strict: true,
      allowPositionals: true,
    });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(msg, command);
  }
}

/** Asserts the number of positionals. */
export function expectPositionals(command: string, p: string[], min: number, max: number): void {
  if (p.length < min) {
    throw new UsageError(`"${command}" needs ${min} argument${min === 1 ? "" : "s"}`, command);
  }
  if (p.length > max) {
    throw new UsageError(`Unexpected argument "${p[max]}" for "${command}"`, command);
  }
}
