/**
 * Helpers for driving the world client in Chromium (tests/world_client_test.ts and
 * bench/world_client.ts): a real `mote start` with a world made by `mote world create` (so the
 * page, client.js, meta, chunks and the socket are the node's public gateway's own), and measuring
 * a screenshot's pixels in the page (the PNG decoded by the browser itself).
 */
import type { Page } from "playwright-core";
import { sleep } from "./_harness.ts";
import { FREE_PORTS, mote, type Started, startMote } from "./_process.ts";

/** A running node with one world; dispose to stop the node and remove its data. */
export interface WorldNode extends AsyncDisposable {
  node: Started;
  /** The world page's URL on the node's public gateway (`…/w/<address>/`). */
  url: string;
}

/**
 * Starts `mote start` on free ports and creates a world with `seed` through `mote world create`
 * (retried while storage is still hiring its suppliers, bounded by `timeoutMs`).
 */
export async function startWorldNode(seed: number, timeoutMs = 45_000): Promise<WorldNode> {
  const data = await Deno.makeTempDir();
  const node = await startMote(["--data", data, ...FREE_PORTS]);
  const cleanup = async () => {
    await node[Symbol.asyncDispose]();
    await Deno.remove(data, { recursive: true }).catch(() => {});
  };
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const args = ["world", "create", "--name", "flight", "--seed", String(seed), "--data", data];
      const r = await mote(args, 30_000);
      if (r.code === 0) {
        const url = /^\s+(http:\/\/\S+\/w\/[a-z2-7]{52}\/)$/m.exec(r.stdout)?.[1];
        if (!url) throw new Error(`mote world create printed no world URL:\n${r.stdout}`);
        return { node, url, [Symbol.asyncDispose]: cleanup };
      }
      if (!r.stderr.includes("not ready") || Date.now() > end) {
        throw new Error(`mote world create failed (${r.code}): ${r.stderr}`);
      }
      await sleep(500);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Pixel statistics of a region of a PNG. */
export interface PixelStats {
  /** Distinct colours (quantised to 5 bits a channel). */
  colours: number;
  /** Standard deviation of luminance, 0..255. */
  lumaStdDev: number;
  /** Share of pixels that are the single most common colour, 0..1. */
  topShare: number;
}

/** Decodes `png` in the page and measures its lower half (where terrain is, looking ahead). */
export async function lowerHalfStats(page: Page, png: Uint8Array): Promise<PixelStats> {
  const b64 = btoa(Array.from(png, (b) => String.fromCharCode(b)).join(""));
  // Runs in the page (as source text: Deno's types have no 2D OffscreenCanvas).
  return await page.evaluate(`(async () => {
    const bytes = Uint8Array.from(atob("${b64}"), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = c.getContext("2d");
    g.drawImage(bmp, 0, 0);
    const top = Math.floor(bmp.height / 2);
    const d = g.getImageData(0, top, bmp.width, bmp.height - top).data;
    const counts = new Map();
    let sum = 0, sq = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const k = ((d[i] >> 3) << 10) | ((d[i + 1] >> 3) << 5) | (d[i + 2] >> 3);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      const y = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
      sum += y;
      sq += y * y;
    }
    const mean = sum / n;
    return {
      colours: counts.size,
      lumaStdDev: Math.sqrt(Math.max(0, sq / n - mean * mean)),
      topShare: Math.max(...counts.values()) / n,
    };
  })()`) as PixelStats;
}
