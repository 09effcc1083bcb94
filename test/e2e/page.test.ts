/**
 * The sandbox page in real headless Chromium (Debian's, driven by playwright-core): make a change
 * from the form, see the approval message, click Approve as bob, see "applied" in monitoring.
 * The end state is saved as test-results/sandbox-page.png; UPDATE_SCREENSHOT=1 also saves the
 * pending request with its buttons as docs/sandbox.png (the README's picture).
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { CreateSecurityGroupCommand, EC2Client } from "@aws-sdk/client-ec2";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxServer, startSandboxServer } from "../../src/sandbox/server.js";
import { type LocalStack, startLocalStack } from "../../src/sandbox/stack.js";
import { MemoryLog } from "../support/hub-harness.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let stack: LocalStack;
let server: SandboxServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`,
    );
  }
  stack = await startLocalStack({
    signingSecret: "page-secret",
    log: new MemoryLog(),
    retryBackoffMs: () => 20,
  });
  const admin = new EC2Client({
    endpoint: stack.ec2Endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "admin", secretAccessKey: "x" },
  });
  await admin.send(
    new CreateSecurityGroupCommand({ GroupName: "web-servers", Description: "Public web tier" }),
  );
  await stack.sweep();
  server = await startSandboxServer({ stack, port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await stack?.stop();
});

describe("the sandbox page", () => {
  it("change from the form -> approval message -> Approve as bob -> applied in monitoring", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.locator("body[data-ready=true]").waitFor();

    await page.selectOption('select[name="identity"]', "alice");
    await page.fill('input[name="fromPort"]', "3389");
    await page.fill('input[name="toPort"]', "3389");
    await page.fill('input[name="cidr"]', "0.0.0.0/0");
    await page.fill('input[name="description"]', "RDP for a vendor");
    await page.click('#change button[type="submit"]');

    const approval = page.locator("#C0APPROVAL .msg").first();
    await approval.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });
    await expect(approval.textContent()).resolves.toMatch(/alice/);
    await expect(approval.textContent()).resolves.toMatch(/3389/);

    if (process.env.UPDATE_SCREENSHOT === "1") await page.screenshot({ path: "docs/sandbox.png" });
    await page.selectOption("#clicker", "U0BOB");
    await approval.getByRole("button", { name: "Approve" }).click();
    // The confirm dialog for a risky change is Slack's; the page sends the click directly.
    const monitoring = page.locator("#C0MONITORING .msg").first();
    await expect
      .poll(async () => (await monitoring.textContent()) ?? "", { timeout: 15_000 })
      .toMatch(/[Aa]pplied/);
    await expect(approval.getByRole("button", { name: "Approve" }).count()).resolves.toBe(0);

    await mkdir("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/sandbox-page.png", fullPage: true });
    expect(errors).toEqual([]);
  });

  it("a non-approver's click leaves the request pending and shows an ephemeral note", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.locator("body[data-ready=true]").waitFor();
    await page.selectOption('select[name="identity"]', "sso-bob");
    await page.fill('input[name="fromPort"]', "8443");
    await page.fill('input[name="toPort"]', "8443");
    await page.fill('input[name="cidr"]', "10.0.0.0/8");
    await page.click('#change button[type="submit"]');
    const approval = page.locator("#C0APPROVAL .msg").first();
    await approval.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });
    await expect(approval.textContent()).resolves.toMatch(/8443/);
    await page.selectOption("#clicker", "U0MALLORY");
    await approval.getByRole("button", { name: "Approve" }).click();
    await page.locator(".ephemeral", { hasText: "not an approver" }).waitFor({ timeout: 10_000 });
    await expect(approval.getByRole("button", { name: "Approve" }).count()).resolves.toBe(1);
  });
});
