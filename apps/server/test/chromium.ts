import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where Debian's `chromium` package puts the browser (`apt-get install chromium`). */
const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * The Chromium browser tests drive: `TEST_CHROMIUM` when set (then a browser that does not launch
 * fails the run), else Debian's `/usr/bin/chromium` when installed, else none, and `reason` says why.
 */
export function findChromium(): { path: string; reason?: never } | { path?: never; reason: string } {
  const configured = process.env.TEST_CHROMIUM;
  if (configured) return { path: configured };
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM };
  return {
    reason:
      `no Chromium at ${DEBIAN_CHROMIUM} and TEST_CHROMIUM is not set: the browser tests need one ` +
      "(apt-get install chromium, or TEST_CHROMIUM=/path/to/chromium) and did not run",
  };
}

/**
 * Launches headless Chromium with the flags this kind of closed-network machine needs (without
 * the background-networking ones it keeps trying to reach Google's hosts). Playwright's own
 * browser download is never used.
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
