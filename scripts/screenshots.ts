/**
 * `npm run screenshots`: the README's picture, taken from the real thing. Starts the local stack
 * and the page server on free ports (in memory: .sandbox/ is neither read nor written, and a
 * running `npm start` is not disturbed), makes the groups `npm start` makes, has alice add SSH
 * from anywhere with the page's own form, waits for the pending request with its Approve / Deny
 * buttons and for the rules view to show the rule reverted, and saves docs/sandbox.png at
 * 1440x900. Chromium: test/support/chromium.ts (Debian's, else @sparticuz/chromium's).
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Log } from "../src/ports/log.js";
import { seed } from "../src/sandbox/seed.js";
import { startSandboxServer } from "../src/sandbox/server.js";
import { examplePolicy, startLocalStack } from "../src/sandbox/stack.js";
import { launchChromium } from "../test/support/chromium.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const OUT = "docs/sandbox.png";
const VIEWPORT = { width: 1440, height: 900 };

/** The page's Flow panel gets the steps `npm start` shows; everything else is dropped. */
let broadcast: (event: { type: string; line: string }) => void = () => {};
const flow = (message: string, a: Record<string, unknown> = {}) => {
  if (message === "reverted")
    broadcast({
      type: "log",
      line: `reverted ${a.groupId} in ${a.revertMs} ms, event ${a.eventId}`,
    });
  else if (message === "request stored" && a.created)
    broadcast({
      type: "log",
      line: `request ${a.requestId} ${a.status}, posted to ${(a.posted as string[]).map((c) => `#${c}`).join(" and ")}`,
    });
};
const log: Log = {
  debug() {},
  info: flow,
  warn: (message, attributes) =>
    console.warn(`warn: ${message} ${JSON.stringify(attributes ?? {})}`),
  error: (message, attributes) =>
    console.error(`error: ${message} ${JSON.stringify(attributes ?? {})}`),
};

async function main(): Promise<void> {
  // As `npm start` runs: the example policy, the same seed.
  const stack = await startLocalStack({
    signingSecret: "screenshots",
    log,
    policy: examplePolicy(),
  });
  const server = await startSandboxServer({ stack, port: 0 }).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });
  broadcast = server.broadcast;
  const browser = await launchChromium();
  try {
    await seed(stack.ec2Endpoint);
    await stack.sweep();
    const page = await browser.newPage({ viewport: VIEWPORT });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    await page.goto(server.url);
    await page.locator("body[data-ready=true]").waitFor();

    // As a new user would: the form's own example (8443 from anywhere), made as alice.
    await page.selectOption('select[name="identity"]', "alice");
    await page.click('#change button[type="submit"]');
    const request = page.locator("#C0APPROVAL .msg").last();
    await request.getByRole("button", { name: "Approve" }).waitFor({ timeout: 20_000 });
    await page.locator("#C0MONITORING .msg").first().waitFor();
    // The rules view has read the groups again after the revert (its refresh is debounced).
    await page
      .locator("#rules .rule:not(.gone)", { hasText: "TCP 8443" })
      .waitFor({ state: "detached", timeout: 10_000 });
    await page.waitForTimeout(1_500);
    if (problems.length) throw new Error(`the page reported: ${problems.join("; ")}`);

    await mkdir(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT });
    console.log(`wrote ${OUT} (${VIEWPORT.width}x${VIEWPORT.height})`);
  } finally {
    await browser.close();
    await server.stop();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`screenshots: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
