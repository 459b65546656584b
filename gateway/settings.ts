// This module is browser compatible.
/**
 * The node API's settings routes (behind the API guard):
 *
 * - `GET /api/v1/settings`: the settings the UI can change (nickname, bootstrap peers, space
 *   supplied), as saved in config.json and as the running node uses them, which of them a flag
 *   or an environment variable overrides, and whether a restart is needed to apply what was saved.
 * - `POST /api/v1/settings` `{ "nickname"?, "bootstrap"?, "supply"? }`: checks and saves them in
 *   config.json (they apply at the next start; see `restart`).
 * - `POST /api/v1/restart`: restarts the node in the same process (answers first).
 * - `POST /api/v1/key/import` `{ "key": "<key file text>", "passphrase"? }`: stages the identity
 *   in a key file; at the next restart the node takes it over (the current key is kept in a backup
 *   folder) and finds its catalog in the network.
 */
import { Hono } from "hono";
import { HttpError } from "./errors.ts";

/** The settings the UI edits. */
export interface EditableSettings {
  nickname: string;
  bootstrap: string[];
  /** Bytes offered to other nodes. */
  supply: number;
}

/** What `GET /api/v1/settings` answers. */
export interface SettingsView {
  /** The config file's path. */
  file: string;
  /** As saved (config.json over the defaults, with the environment and flags that apply). */
  saved: EditableSettings;
  /** As the running node uses them. */
  running: EditableSettings & { devnet: boolean };
  /** Keys a flag or environment variable sets (saving them changes config.json only). */
  overridden: (keyof EditableSettings)[];
  /** Whether what is saved differs from what runs. */
  restartNeeded: boolean;
}

/** What the settings routes need from the node. */
export interface SettingsBackend {
  read(): Promise<SettingsView>;
  /** Checks and saves; throws a RangeError or ConfigError naming a bad value. */
  save(patch: Partial<Record<keyof EditableSettings, unknown>>): Promise<SettingsView>;
  /** Restarts the node (after the answer is sent). */
  restart(): void;
  /** Stages the identity in a key file for the next start (`changed` false: it runs already). */
  importKey(
    text: string,
    passphrase?: string,
  ): Promise<{ id: string; changed: boolean; backup?: string }>;
}

/** The keys of {@linkcode EditableSettings}, in the order the UI shows them. */
export const EDITABLE_KEYS = ["nickname", "bootstrap", "supply"] as const;
/** A key file is a few hundred bytes; sealed ones a little more. */
const MAX_KEY_TEXT = 16 * 1024;

/** Builds the settings routes. */
export function createSettingsRoutes(b: SettingsBackend): Hono {
  const app = new Hono();
  app.get("/api/v1/settings", async (c) => c.json(await b.read()));
  app.post("/api/v1/settings", async (c) => {
    const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw new HttpError(
        400,
        `Body must be a JSON object with any of ${EDITABLE_KEYS.join(", ")}`,
      );
    }
    const extra = Object.keys(body).filter((k) =>
      !(EDITABLE_KEYS as readonly string[]).includes(k)
    );
    if (extra.length) {
      throw new HttpError(
        400,
        `"${extra[0]!.slice(0, 40)}" cannot be set here; only ${EDITABLE_KEYS.join(", ")}`,
      );
    }
    return c.json(await b.save(body));
  });
  app.post("/api/v1/restart", (c) => {
    setTimeout(() => b.restart(), 50);
    return c.json({ restarting: true });
  });
  app.post("/api/v1/key/import", async (c) => {
    const body = await c.req.json().catch(() => null) as
      | { key?: unknown; passphrase?: unknown }
      | null;
    const { key, passphrase } = body ?? {};
    if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_TEXT) {
      throw new HttpError(400, 'Body must be JSON {"key": "<key file text>", "passphrase"?: "…"}');
    }
    if (passphrase !== undefined && (typeof passphrase !== "string" || passphrase.length > 1024)) {
      throw new HttpError(400, "passphrase must be a string of at most 1024 characters");
    }
    const r = await b.importKey(key, passphrase as string | undefined);
    return c.json({ ...r, restartNeeded: r.changed });
  });
  return app;
}
