/** Launching Debian's Chromium through playwright-core for browser tests. */
import { type Browser, chromium } from "playwright-core";

/** Path of the browser; `.ci/run` installs it (`apt-get install -y chromium`). */
export const CHROMIUM = Deno.env.get("MOTE_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches headless Chromium with the flags that keep it quiet on a closed network. */
export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set MOTE_CHROMIUM`,
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
    ],
    timeout: 30_000,
  });
}
