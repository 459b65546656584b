/** Raised for a wrong command line: the CLI prints usage and exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The command whose usage to print, if known. */
  readonly command?: string;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** Raised for a failure the user can act on: printed without a stack trace, exit status 1. */
export class CliError extends Error {
  override name = "CliError";
}
