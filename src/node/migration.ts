/**
 * Runs the catalog's erasure-map migration in the background for the storage service: a pass
 * once after start (an earlier one may have been cut short) and after every change of map, only
 * while enough suppliers for the new map are hired, one pass at a time, stopped with the node.
 * It reports progress as `storage:migration` and `storage:migrated` events and in the log, and
 * keeps a status for `mote suppliers`.
 */
import type { Catalog, MigrationResult } from "../catalog/mod.ts";
import type { EccMap } from "../erasure/mod.ts";
import type { MoteNode } from "./node.ts";

/** What `mote suppliers` shows about the migration. */
export interface MigrationStatus {
  /** The map files are moving to, such as `4+2`. */
  code: string;
  /** What the pass is doing: counting, migrating, waiting for suppliers, or nothing. */
  state: "counting" | "migrating" | "waiting" | "idle";
  /** File versions still on an old map (null until counted). */
  files: number | null;
  /** Folder objects still on an old map (null until counted). */
  folders: number | null;
}

/** What the migrator works with. */
export interface MigratorOptions {
  node: MoteNode;
  /** The open catalog, if it is open yet. */
  catalog: () => Catalog | undefined;
  /** The map new files use. */
  map: () => EccMap;
  /** Whether enough suppliers for `map()` are hired. */
  ready: () => boolean;
  /** Wait after a pass with failures before the next (ms, default 5 min). */
  retryAfter?: number;
}

const codeOf = (m: EccMap) => `${m.k}+${m.m}`;

/** Background migration passes. */
export class Migrator {
  readonly options: MigratorOptions;
  #due = true;
  #after = 0;
  #running?: Promise<MigrationResult | undefined>;
  #abort?: AbortController;
  #stopped = false;
  #status: MigrationStatus;

  constructor(options: MigratorOptions) {
    this.options = options;
    this.#status = { code: codeOf(options.map()), state: "idle", files: null, folders: null };
  }

  /** The current status. */
  get status(): MigrationStatus {
    return { ...this.#status };
  }

  /** Starts a pass if one is due and none is running (called at every upkeep tick). */
  tick(): void {
    if (this.#stopped || this.#running || !this.#due || Date.now() < this.#after) return;
    const catalog = this.options.catalog();
    if (!catalog) return;
    // While waiting for hiring, recheck the count only when the suppliers are there.
    const waiting = this.#status.state === "waiting" &&
      this.#status.code === codeOf(this.options.map());
    if (waiting && !this.options.ready()) return;
    this.#running = this.#pass(catalog).finally(() => (this.#running = undefined));
  }

  /** The map changed: stop a pass towards the old one and start again at the next tick. */
  changed(): void {
    const code = codeOf(this.options.map());
    if (code === this.#status.code) return;
    this.#due = true;
    this.#after = 0;
    this.#status = { code, state: "idle", files: null, folders: null };
    this.#abort?.abort(new Error("the erasure map changed"));
  }

  /** Stops a pass in progress (it deletes what it placed for the file it was moving). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort(new Error("the node is stopping"));
    await this.#running?.catch(() => {});
  }

  async #pass(catalog: Catalog): Promise<MigrationResult | undefined> {
    const { node } = this.options;
    const map = this.options.map();
    const code = codeOf(map);
    const abort = this.#abort = new AbortController();
    this.#status = { ...this.#status, code, state: "counting" };
    const started = performance.now();
    let result: MigrationResult;
    try {
      result = await catalog.migrate({
        signal: abort.signal,
        ready: this.options.ready,
        onCounted: (found) => {
          const state = found.files + found.folders > 0 ? "migrating" : "idle";
          this.#status = { code, state, files: found.files, folders: found.folders };
        },
        onMigrated: (m) => {
          this.#status = { ...this.#status, state: "migrating", files: m.left };
          node.events.emit("storage:migrated", {
            path: m.path,
            version: m.version,
            size: m.size,
            code,
            left: m.left,
          });
          node.log.info("moved a file version to the new erasure map", {
            path: m.path,
            version: m.version,
            size: m.size,
            code,
            left: m.left,
          });
        },
        onError: (path, error) =>
          node.log.warn("could not move to the new erasure map; will try again", {
            path,
            code,
            error,
          }),
      });
    } catch (e) {
      this.#status = { ...this.#status, state: "idle" };
      if (abort.signal.aborted) {
        node.log.info("erasure map migration stopped", {
          code,
          reason: String(abort.signal.reason),
        });
        node.events.emit("storage:migration", { state: "stopped", code });
      } else {
        node.log.warn("erasure map migration failed; will try again", { code, error: e });
        this.#after = Date.now() + (this.options.retryAfter ?? 300_000);
      }
      return undefined;
    } finally {
      if (this.#abort === abort) this.#abort = undefined;
    }
    const { found, left } = result;
    const seconds = (performance.now() - started) / 1000;
    this.#status = {
      code,
      state: result.stopped === "waiting" ? "waiting" : "idle",
      files: left.files,
      folders: left.folders,
    };
    if (found.files + found.folders > 0 || result.stopped) {
      const fields = {
        code,
        files: result.files,
        folders: result.folders,
        bytes: result.bytes,
        gone: result.gone,
        failed: result.failed,
        left: left.files,
        seconds: Math.round(seconds * 10) / 10,
        mbPerSecond: seconds > 0 ? Math.round(result.bytes / 1e6 / seconds * 10) / 10 : 0,
      };
      node.log.info(
        result.stopped === "waiting"
          ? "erasure map migration waits for enough suppliers"
          : "erasure map migration pass finished",
        fields,
      );
      node.events.emit("storage:migration", {
        state: result.stopped === "waiting" ? "waiting" : "finished",
        ...fields,
      });
    }
    if (result.stopped === null) {
      if (result.failed > 0) this.#after = Date.now() + (this.options.retryAfter ?? 300_000);
      else this.#due = false;
    }
    return result;
  }
}
