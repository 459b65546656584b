/**
 * A log sink that appends to a file and rotates it, so a node's log never uses more than twice
 * its configured size on disk.
 * @module
 */
import { dirname } from "node:path";
import type { LogSink } from "./logger.ts";

/** Options for {@linkcode fileSink}. */
export interface FileSinkOptions {
  /** The most bytes one file may hold; with the rotated `.1` file, disk use stays ≤ 2×. */
  maxBytes: number;
  /**
   * Told once when writing or rotating fails; the sink then drops every later line. Defaults to
   * writing one line to stderr.
   */
  onError?: (error: Error) => void;
}

/** A sink writing to a rotated log file. */
export interface FileSink extends LogSink {
  /** The log file's path; the previous file is `path + ".1"`. */
  readonly path: string;
  /** The current file's size in bytes, as tracked by the sink. */
  readonly size: number;
  /** Whether the sink still writes (false after a failure or `close()`). */
  readonly active: boolean;
  /** Closes the file; later lines are dropped. */
  close(): void;
}

const encoder = new TextEncoder();

/**
 * Opens (creating it and its folders, mode 0o600) a log file for appending and returns a sink
 * writing one line per record. When a line would take the file past `maxBytes`, the file is
 * renamed to `path + ".1"` (replacing an older one) and a new file is started. A line longer
 * than `maxBytes` is cut to fit. Writes are synchronous, so lines never interleave.
 *
 * @throws {RangeError} when `maxBytes` is not an integer >= 1.
 * @throws {Deno.errors.PermissionDenied} (or another Deno error) when the file cannot be opened.
 */
export function fileSink(path: string, options: FileSinkOptions): FileSink {
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(
      `Cannot open log file "${path}": maxBytes must be an integer >= 1, got ${maxBytes}`,
    );
  }
  const onError = options.onError ?? ((error: Error) => {
    const note = `Mote log: cannot write log file "${path}": ${error.message}; ` +
      `file logging is off\n`;
    try {
      Deno.stderr.writeSync(encoder.encode(note));
    } catch {
      // stderr is gone too; nothing more to do.
    }
  });

  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let file: Deno.FsFile | undefined = Deno.openSync(path, {
    append: true,
    create: true,
    mode: 0o600,
  });
  let size = file.statSync().size;

  const stop = () => {
    const open = file;
    file = undefined;
    try {
      open?.close();
    } catch {
      // Already closed or broken; the sink is off either way.
    }
  };

  const rotate = (open: Deno.FsFile): Deno.FsFile => {
    open.close();
    file = undefined;
    Deno.renameSync(path, `${path}.1`);
    const fresh = Deno.openSync(path, { write: true, create: true, truncate: true, mode: 0o600 });
    size = 0;
    return fresh;
  };

  return {
    path,
    get size() {
      return size;
    },
    get active() {
      return file !== undefined;
    },
    write(line) {
      let open = file;
      if (open === undefined) return;
      const bytes = fit(encoder.encode(line + "\n"), maxBytes);
      try {
        if (size > 0 && size + bytes.length > maxBytes) open = file = rotate(open);
        let offset = 0;
        while (offset < bytes.length) offset += open.writeSync(bytes.subarray(offset));
        size += bytes.length;
      } catch (error) {
        stop();
        try {
          onError(error instanceof Error ? error : new Error(String(error)));
        } catch {
          // A failing reporter must not make logging throw.
        }
      }
    },
    close: stop,
  };
}

/** Cuts a line that is longer than a whole file, at a UTF-8 character boundary. */
function fit(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes - 1; // keep room for the newline
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // continuation byte
  const cut = new Uint8Array(end + 1);
  cut.set(bytes.subarray(0, end));
  cut[end] = 0x0a;
  return cut;
}
