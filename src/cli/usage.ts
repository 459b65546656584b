/** Usage text, generated for `start` from the option table so flags and docs cannot drift. */
import { OPTIONS } from "../config/mod.ts";

/** One line per command, for `mote help`. */
export const COMMANDS: Record<string, { args: string; about: string }> = {
  start: {
    args: "[flags]",
    about: "Start the node (with no bootstrap peers: an embedded local network)",
  },
  status: { args: "", about: "Show the running node's status" },
  id: { args: "", about: "Print this node's id" },
  peers: { args: "", about: "List connected peers with round-trip times" },
  connect: { args: "<multiaddr|peer-id>", about: "Connect to a peer" },
  identity: {
    args: "[node-id]",
    about: "Show this node's (or another node's) signed identity document",
  },
  stop: { args: "", about: "Stop the running node" },
  put: {
    args: "<local> [remote | <owner-id>:/folder/[name]] [-q]",
    about: "Store a file or a whole folder, or write a file where another node lets you",
  },
  get: {
    args: "<remote | owner-id:/path> [local] [--version N]",
    about: "Fetch a file or a whole folder, yours or one another node shares with you",
  },
  ls: {
    args: "[-l] [remote | <owner-id>:/path]",
    about: "List a folder of your files (-l: mode, owner, group), or what another node shares",
  },
  rm: { args: "<remote>", about: "Remove a file (or an empty folder) and delete its shards" },
  versions: { args: "<remote>", about: "List the stored versions of a file" },
  prune: {
    args: "<remote> [--keep N] [--days D]",
    about: "Delete old versions of a file or of every file under a folder",
  },
  suppliers: {
    args: "[--count N]",
    about: "Hired suppliers and their contracts; --count sets how many to hire",
  },
  du: { args: "", about: "Space used on each supplier" },
  health: {
    args: "",
    about: "Supplier health from audits, and what is being rebuilt",
  },
  "scrub hire": {
    args: "<n> [--expiry 30d]",
    about:
      "Hire n scrubbers to keep your data whole while this node is off (tickets last --expiry)",
  },
  "scrub ls": {
    args: "",
    about:
      "Scrub tickets issued, each scrubber's last round, and how long data survives unattended",
  },
  "scrub revoke": {
    args: "<ticket-id>",
    about: "Revoke a scrubber's ticket (id or its first 4+ characters)",
  },
  "site publish": {
    args: "<dir> --name <name>",
    about:
      "Publish a folder as a static site on the network (again to update it atomically); prints its addresses",
  },
  "site ls": {
    args: "",
    about: "Your sites: name, state, files, size, version and address",
  },
  "site rm": {
    args: "<name>",
    about: "Unpublish a site and delete its files",
  },
  link: {
    args: "<path> [--expires 7d]",
    about:
      "Print a URL that opens a snapshot of a file or folder in any browser (cannot be taken back)",
  },
  "link ls": { args: "", about: "Your links: id, path, files, size, created, expires" },
  "link rm": { args: "<id>", about: "Delete a link's snapshot from your suppliers" },
  chmod: {
    args: "<mode> <remote> [--cap SIZE]",
    about: "Set a file's or folder's mode (750, g+r, o-rwx); o+r makes it public, g+r its " +
      "group's, o+rw on a folder lets anyone write under a cap (64 MiB unless --cap)",
  },
  chgrp: { args: "<group|-> <remote>", about: "Set a file's or folder's group (- for none)" },
  "group create": { args: "<name>", about: "Create a group (its record is signed by you)" },
  "group add": { args: "<name> <node-id>", about: "Add a member (the group key is wrapped to it)" },
  "group remove": {
    args: "<name> <node-id>",
    about: "Remove a member: new group key, and what the group read is re-keyed",
  },
  "group ls": { args: "", about: "Your groups, and groups you were found to be in" },
  share: {
    args: "<remote> --with <node-id|group:name> --read|--write [--cap 1GiB] [--revoke]",
    about: "Let a node or group read a folder or file, or write a folder (--revoke rotates keys)",
  },
  "share ls": { args: "", about: "What you share, with whom" },
  "world create": {
    args: "--name <name> [--seed N] [--region 8] [--title T]",
    about: "Create an endless world (kept alive by your suppliers); prints its URL",
  },
  "world ls": {
    args: "",
    about: "Your worlds: name, seed, generator, region size, grants and URL",
  },
  "world grant": {
    args: "<name> --region <rx>,<rz> --to <node id> [--expires 30d]",
    about: "Let a node edit one region of your world (republishes the world record)",
  },
  "world revoke": {
    args: "<name> --region <rx>,<rz> --from <node id>",
    about: "End a grant now; its edits stay, and your node signs the region's checkpoint",
  },
  restore: {
    args: "--key F [--passphrase-file P] [--to DIR] [--bootstrap A]",
    about: "Bring all your files back on a new machine from the key file alone",
  },
  "key export": {
    args: "<file> [--passphrase-file F] [--force]",
    about: "Back up the identity key",
  },
  "key import": {
    args: "<file> [--passphrase-file F] [--force]",
    about: "Install an identity key (node stopped)",
  },
  config: { args: "", about: "Print the configuration in effect and where each value came from" },
  help: { args: "[command]", about: "Show help" },
};

/** The general usage text. */
export function usage(): string {
  const w = Math.max(...Object.entries(COMMANDS).map(([c, { args }]) => `${c} ${args}`.length));
  return [
    "Mote: private storage spread over other people's computers, hosting and worlds.",
    "",
    "Usage: mote <command> [flags]     (deno task mote <command>, or deno run -A mod.ts <command>)",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([c, { args, about }]) =>
      `  ${`${c} ${args}`.padEnd(w)}  ${about}`
    ),
    "",
    "Flags for every command:",
    "  --data DIR   data directory (default ~/.mote, or MOTE_DATA)",
    "  --json       print data as JSON for scripts",
    "  -h, --help   show help",
    "  --version    print the version",
    "",
    'Run "mote help start" for the options of start; docs/config.md describes config.json.',
  ].join("\n");
}

/** Usage of one command. */
export function commandUsage(command: string): string {
  if (command === "start") {
    const rows = OPTIONS.filter((o) => o.flag).map((o) => {
      const arg = o.type === "boolean"
        ? ""
        : o.type === "string[]"
        ? " VALUE (repeatable)"
        : " VALUE";
      const def = o.default === null
        ? "auto"
        : Array.isArray(o.default)
        ? "none"
        : String(o.default);
      return [`  ${o.flag}${arg}`, `${o.description} [default: ${def}; env ${o.env}]`];
    });
    rows.push(["  --no-devnet", "Do not run the embedded local network"]);
    const w = Math.max(...rows.map((r) => r[0]!.length));
    return [
      "Usage: mote start [flags]",
      "",
      "Starts the node. With no --bootstrap peers it also runs an embedded local network of",
      "supplier nodes on 127.0.0.1 so every feature can be tried on one machine.",
      "",
      ...rows.map(([a, b]) => `${a!.padEnd(w)}  ${b}`),
      "  --data DIR".padEnd(w) + "  Data directory [default: ~/.mote; env MOTE_DATA]",
    ].join("\n");
  }
  const c = COMMANDS[command];
  if (c) return `Usage: ${`mote ${command} ${c.args}`.trimEnd()}\n\n${c.about}.`;
  // A command with subcommands (key, scrub): all of them.
  const subs = Object.entries(COMMANDS).filter(([name]) => name.startsWith(`${command} `));
  if (subs.length === 0) return usage();
  return subs.map(([name, { args, about }]) =>
    `Usage: ${`mote ${name} ${args}`.trimEnd()}\n  ${about}.`
  ).join(
    "\n\n",
  );
}
