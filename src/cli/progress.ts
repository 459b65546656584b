/**
 * Progress for long transfers: a bar with bytes, rate and ETA redrawn in place on a terminal,
 * and plain lines (at most one every two seconds) when output goes to a file or a pipe.
 */
import { formatSize } from "../config/mod.ts";

/** Reports progress of one transfer. */
export class Progress {
  #label: string;
  #total: number;
  #done = 0;
  #start = performance.now();
  #last = 0;
  #tty: boolean;
  #quiet: boolean;

  constructor(label: string, total: number, opts: { quiet?: boolean } = {}) {
    this.#label = label;
    this.#total = total;
    this.#tty = Deno.stderr.isTerminal();
    this.#quiet = opts.quiet ?? false;
  }

  /** Counts `n` more bytes done. */
  add(n: number): void {
    this.#done += n;
    const now = performance.now();
    if (this.#quiet || now - this.#last < (this.#tty ? 100 : 2000)) return;
    this.#last = now;
    this.#draw(false);
  }

  /** Wraps a stream, counting what passes. */
  counting(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, ctl) => {
        this.add(chunk.length);
        ctl.enqueue(chunk);
      },
    });
  }

  /** Ends the display with a final line. */
  finish(note = ""): void {
    if (this.#quiet) return;
    this.#draw(true, note);
  }

  #draw(final: boolean, note = "") {
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? this.#done / secs : 0;
    const pct = this.#total > 0 ? Math.min(100, (this.#done / this.#total) * 100) : 100;
    const eta = rate > 0 && !final ? ` ETA ${Math.ceil((this.#total - this.#done) / rate)}s` : "";
    const text = `${this.#label}  ${formatSize(this.#done)} of ${formatSize(this.#total)}  ${
      formatSize(Math.round(rate))
    }/s${eta}${note ? "  " + note : ""}`;
    const enc = new TextEncoder();
    if (this.#tty) {
      const width = 24, fill = Math.round((pct / 100) * width);
      const bar = `[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${pct.toFixed(0).padStart(3)}%`;
      Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${bar} ${text}${final ? "\n" : ""}`));
    } else {
      Deno.stderr.writeSync(enc.encode(`${pct.toFixed(0).padStart(3)}% ${text}\n`));
    }
  }
}
