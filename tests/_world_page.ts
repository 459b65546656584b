/**
 * Helpers for driving the world client in Chromium (tests/world_client_test.ts and
 * bench/world_client.ts): bundling worlds/client/main.ts the way the gateway does, and measuring a
 * screenshot's pixels in the page (PNG decoded by the browser itself).
 */
import type { Page } from "playwright-core";

const ROOT = new URL("../", import.meta.url).pathname;

/** `deno bundle --platform browser --minify worlds/client/main.ts`, as the gateway builds client.js. */
export async function bundleWorldClient(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/client.js`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "--config",
        `${ROOT}deno.json`,
        "--output",
        out,
        `${ROOT}worlds/client/main.ts`,
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(120_000),
    }).output();
    if (r.code !== 0) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
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
