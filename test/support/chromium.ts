/**
 * A headless Chromium for the page tests and the screenshot script, on any machine `npm ci` ran
 * on: `CHROMIUM_PATH` when set, Debian's /usr/bin/chromium when installed, and otherwise the
 * build the npm package @sparticuz/chromium ships (compressed; unpacked into /tmp on first use,
 * about 11 s, then reused). playwright-core drives whichever it is.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** Flags for a loopback-only machine: no sandbox as root, nothing that calls home. */
const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  /** Where it came from, for the test's log and error messages. */
  source: "CHROMIUM_PATH" | "system" | "@sparticuz/chromium";
}

export async function findChromium(): Promise<ChromiumChoice> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return { executablePath: configured, args: QUIET_FLAGS, source: "CHROMIUM_PATH" };
  }
  if (existsSync(SYSTEM_CHROMIUM)) {
    return { executablePath: SYSTEM_CHROMIUM, args: QUIET_FLAGS, source: "system" };
  }
  const { default: packaged } = await import("@sparticuz/chromium");
  const executablePath = await packaged.executablePath();
  // --single-process (meant for Lambda) ends the whole browser when a test closes its page.
  const args = [...new Set([...packaged.args, ...QUIET_FLAGS])].filter(
    (flag) => flag !== "--single-process",
  );
  return { executablePath, args, source: "@sparticuz/chromium" };
}

export async function launchChromium(): Promise<Browser> {
  const choice = await findChromium();
  return chromium.launch({
    executablePath: choice.executablePath,
    args: choice.args,
    headless: true,
  });
}
