/**
 * The settings the web UI changes (nickname, bootstrap peers, space supplied) and the key it
 * imports, over config.json and the data directory. What is saved applies at the next start: the
 * UI offers a restart, which the node does in its own process (see `run.ts` and `cli/start.ts`).
 */
import {
  EDITABLE_KEYS,
  type EditableSettings,
  type SettingsBackend,
  type SettingsView,
} from "../../gateway/settings.ts";
import { type Config, type LoadedConfig, updateConfigFile } from "../config/mod.ts";
import { importKeyFile } from "../identity/mod.ts";
import { STAGED_IDENTITY, stageIdentity } from "./identity_swap.ts";

/** What the settings backend works with. */
export interface SettingsContext {
  dataDir: string;
  /** The configuration the node runs with. */
  running: Config;
  /** The nickname the node uses (it picks one when the setting is empty). */
  nickname: () => string;
  /** The identity the node runs as. */
  id: string;
  /** Loads the configuration as the next start would (same flags and environment). */
  reload: () => Promise<LoadedConfig>;
  /** Stops the node and starts it again in this process. */
  restart: () => void;
}

/** Builds the settings backend. */
export function nodeSettingsBackend(ctx: SettingsContext): SettingsBackend {
  const pick = (c: Config): EditableSettings => ({
    nickname: c.nickname,
    bootstrap: [...c.bootstrap],
    supply: c.supply,
  });
  const read = async (): Promise<SettingsView> => {
    const { config, sources, file } = await ctx.reload();
    const saved = pick(config);
    const running = { ...pick(ctx.running), devnet: ctx.running.devnet };
    const staged = await Deno.stat(`${ctx.dataDir}/${STAGED_IDENTITY}`).then(
      () => true,
      () => false,
    );
    return {
      file,
      saved,
      running: { ...running, nickname: ctx.running.nickname || ctx.nickname() },
      overridden: EDITABLE_KEYS.filter((k) => sources[k] === "env" || sources[k] === "flag"),
      restartNeeded: staged || config.devnet !== ctx.running.devnet ||
        JSON.stringify(saved) !== JSON.stringify(pick(ctx.running)),
    };
  };
  return {
    read,
    async save(patch) {
      const clean: Record<string, unknown> = {};
      for (const k of EDITABLE_KEYS) {
        if (patch[k] === undefined) continue;
        // Sizes are kept as the user wrote them ("10GiB"), like a hand-edited config.json.
        clean[k] = k === "nickname" && typeof patch[k] === "string" ? patch[k].trim() : patch[k];
      }
      await updateConfigFile(ctx.dataDir, clean);
      return await read();
    },
    restart: ctx.restart,
    async importKey(text, passphrase) {
      const keys = await importKeyFile(text, passphrase);
      if (keys.id === ctx.id) return { id: keys.id, changed: false };
      // The swap itself waits for the restart: nothing may write the old identity's state then.
      await stageIdentity(ctx.dataDir, keys);
      return { id: keys.id, changed: true };
    },
  };
}
