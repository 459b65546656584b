// This module is browser compatible.
/**
 * The quick link page (`/l/#<capability>` on any public gateway): reads the capability from the
 * fragment (never sent to the gateway), fetches the snapshot's shards from this gateway's
 * `/shards/` route, decrypts in the browser, lists the files and downloads each as a Blob built
 * block by block (each decrypted block is handed to the browser's blob store as it comes, so the
 * page holds about one block at a time).
 *
 * `#status` carries `data-state` (`loading`, `ready`, `error`) and `data-reason` (the failure:
 * `expired`, `missing`, `wrong-key`, `damaged`), for people and for tests.
 */
import { parseLink } from "../../src/sharing/link.ts";
import {
  LinkOpenError,
  type OpenedLink,
  openLink,
  readLinkedFile,
} from "../../src/sharing/link_reader.ts";
import type { SnapshotFile } from "../../src/sharing/link_snapshot.ts";

const status = document.getElementById("status")!;
const list = document.getElementById("files")!;

function say(state: "loading" | "ready" | "error", text: string, reason = ""): void {
  status.dataset.state = state;
  status.dataset.reason = reason;
  status.textContent = text;
}

function size(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) n /= 1024, i++;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

async function download(link: OpenedLink, file: SnapshotFile, button: HTMLButtonElement) {
  button.disabled = true;
  const label = button.textContent;
  let blob = new Blob([]);
  let got = 0;
  try {
    const reader = readLinkedFile(link, file, { base: "" }).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // One part at a time into the blob store; the decrypted block can then be collected.
      blob = new Blob([blob, value as Uint8Array<ArrayBuffer>]);
      got += value.length;
      button.textContent = `${Math.floor((got / Math.max(1, file.size)) * 100)}%`;
    }
    if (got !== file.size) throw new Error(`Got ${got} of ${file.size} bytes`);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = file.path.split("/").pop()!;
    a.rel = "noopener";
    document.body.append(a);
    a.click();
    a.remove();
    // Give the browser time to start the download before the URL goes.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say("ready", `Downloaded ${file.path}.`);
  } catch (e) {
    const reason = e instanceof LinkOpenError ? e.reason : "missing";
    say("error", (e as Error).message, reason);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

function show(link: OpenedLink): void {
  const { files, created } = link.snapshot;
  const total = files.reduce((s, f) => s + f.size, 0);
  say(
    "ready",
    `${files.length} file${files.length === 1 ? "" : "s"}, ${size(total)}, as shared on ${
      new Date(created).toUTCString()
    }.`,
  );
  for (const f of files) {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = f.path;
    const bytes = document.createElement("span");
    bytes.className = "size";
    bytes.textContent = size(f.size);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Download";
    button.dataset.path = f.path;
    button.addEventListener("click", () => void download(link, f, button));
    row.append(name, " ", bytes, " ", button);
    list.append(row);
  }
}

async function main(): Promise<void> {
  if (location.hash.length <= 1) {
    say("error", "This page opens quick links: the link's #… part is missing.", "damaged");
    return;
  }
  let cap;
  try {
    cap = parseLink(location.hash);
  } catch (e) {
    say("error", `This link is damaged: ${(e as Error).message}`, "damaged");
    return;
  }
  say("loading", "Fetching and decrypting the link…");
  try {
    show(await openLink(cap, { base: "" }));
  } catch (e) {
    const reason = e instanceof LinkOpenError ? e.reason : "missing";
    say("error", (e as Error).message, reason);
  }
}

// Another link pasted into this tab's address bar changes only the fragment: start over.
addEventListener("hashchange", () => location.reload());
void main();
