/** `mote config`: the configuration in effect and where each value came from. */
import { loadConfig, OPTIONS } from "../config/mod.ts";
import { expectPositionals, parseArgs } from "./args.ts";
import { json, table } from "./format.ts";

/** `mote config [--json]` */
export async function configCommand(
  args: string[],
  dataDir: string,
  out: (l: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs("config", args, {});
  expectPositionals("config", positionals, 0, 0);
  const loaded = await loadConfig({ dataDir, env: Deno.env.toObject() });
  const { sources, file } = loaded;
  // The password is a secret: say whether it is set, never what it is.
  const config = { ...loaded.config, apiPassword: loaded.config.apiPassword ? "(set)" : "" };
  if (values.json) return out(json({ file, config, sources })), 0;
  out(`Configuration file: ${file}\n`);
  out(table(
    ["OPTION", "VALUE", "FROM"],
    OPTIONS.map((
      o,
    ) => [
      o.key,
      JSON.stringify(config[o.key as keyof typeof config]),
      sources[o.key as keyof typeof sources],
    ]),
  ));
  return 0;
}
