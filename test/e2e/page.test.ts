/**
 * The sandbox page in real headless Chromium (driven by playwright-core; Debian's Chromium when
 * installed, else the one @sparticuz/chromium ships: see test/support/chromium.ts): make a change
 * from the form, see the approval message, click Approve as bob, see "applied" in monitoring; a
 * non-approver's click answered beside the card; a change CloudTrail misses, found by "Run the
 * sweep now"; the live rules view; the form at 900 px and its errors. No test may see a page
 * error, a console error or a failed request. The end state of the first is saved as
 * test-results/sandbox-page.png; the README's picture is scripts/screenshots.ts's.
 */
import { mkdir } from "node:fs/promises";
import { CreateSecurityGroupCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxServer, startSandboxServer } from "../../src/sandbox/server.js";
import { type LocalStack, startLocalStack } from "../../src/sandbox/stack.js";
import { launchChromium } from "../support/chromium.js";
import { MemoryLog } from "../support/hub-harness.js";

let stack: LocalStack;
let server: SandboxServer;
let browser: Browser;

beforeAll(async () => {
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
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await stack?.stop();
});

interface Opened {
  page: Page;
  /** Page errors, console errors, HTTP errors and failed requests, as they happen. */
  problems: string[];
  /** Asserts there were none, and closes the page. */
  done(): Promise<void>;
}

/** The page, ready, watched for problems; `allowed` matches failures a test causes on purpose. */
async function open(width = 1440, height = 900, allowed?: RegExp): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height } });
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !allowed?.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => {
    if (!allowed?.test(r.url())) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  await page.goto(server.url);
  await page.locator("body[data-ready=true]").waitFor();
  return {
    page,
    problems,
    done: async () => {
      expect(problems).toEqual([]);
      await page.close();
    },
  };
}

async function fillChange(
  page: Page,
  change: { identity: string; port: string; cidr: string; description?: string },
) {
  await page.selectOption('select[name="identity"]', change.identity);
  await page.fill('input[name="fromPort"]', change.port);
  await page.fill('input[name="toPort"]', change.port);
  await page.fill('input[name="cidr"]', change.cidr);
  if (change.description !== undefined)
    await page.fill('input[name="description"]', change.description);
}

const statusText = (page: Page) => async () => (await page.locator("#status").textContent()) ?? "";

describe("the sandbox page", () => {
  it("change from the form -> approval message -> Approve as bob -> applied in monitoring", async () => {
    const { page, done } = await open();
    await fillChange(page, {
      identity: "alice",
      port: "3389",
      cidr: "0.0.0.0/0",
      description: "RDP for a vendor",
    });
    await page.click('#change button[type="submit"]');

    const approval = page.locator("#C0APPROVAL .msg", { hasText: "3389" });
    await approval.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });
    await expect(approval.textContent()).resolves.toMatch(/alice/);

    await page.selectOption("#clicker", "U0BOB");
    await approval.getByRole("button", { name: "Approve" }).click();
    // The confirm dialog for a risky change is Slack's; the page sends the click directly.
    const monitoring = page.locator("#C0MONITORING .msg", { hasText: "3389" }).last();
    await expect
      .poll(async () => (await monitoring.textContent()) ?? "", { timeout: 15_000 })
      .toMatch(/[Aa]pplied/);
    await expect(approval.getByRole("button", { name: "Approve" }).count()).resolves.toBe(0);

    await mkdir("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/sandbox-page.png" });
    await done();
  });

  it("a non-approver's click: the ephemeral shows under that card, only while they are clicking", async () => {
    const { page, done } = await open();
    await fillChange(page, { identity: "sso-bob", port: "8443", cidr: "10.0.0.0/8" });
    await page.click('#change button[type="submit"]');
    const approval = page.locator("#C0APPROVAL .msg", { hasText: "8443" });
    await approval.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });

    await page.selectOption("#clicker", "U0MALLORY");
    await approval.getByRole("button", { name: "Approve" }).click();
    // Inside the clicked card (under its buttons), and nowhere else.
    await approval
      .locator(".ephemeral", { hasText: "not an approver" })
      .waitFor({ timeout: 10_000 });
    await expect(page.locator(".ephemeral").count()).resolves.toBe(1);
    await expect(approval.getByRole("button", { name: "Approve" }).count()).resolves.toBe(1);
    const [buttons, note] = await Promise.all([
      approval.locator(".actions").boundingBox(),
      approval.locator(".ephemeral").boundingBox(),
    ]);
    expect(note && buttons && note.y >= buttons.y + buttons.height).toBe(true);

    // Bob does not see mallory's ephemeral; switching back to mallory shows it again.
    await page.selectOption("#clicker", "U0BOB");
    await expect(page.locator(".ephemeral").count()).resolves.toBe(0);
    await page.selectOption("#clicker", "U0MALLORY");
    await expect(approval.locator(".ephemeral").count()).resolves.toBe(1);
    await done();
  });

  it("a change CloudTrail misses stands until 'Run the sweep now', which files it as drift, at the bottom", async () => {
    const { page, done } = await open();
    await fillChange(page, { identity: "alice", port: "6379", cidr: "10.20.0.0/16" });
    await page.check('input[name="untracked"]');
    await page.click('#change button[type="submit"]');
    await expect.poll(statusText(page)).toMatch(/no CloudTrail event/);
    const before = await page.locator("#C0APPROVAL .msg").count();

    await page.click("#sweep");
    await expect.poll(statusText(page), { timeout: 15_000 }).toMatch(/1 drift reverted and filed/);
    const drift = page.locator("#C0APPROVAL .msg", { hasText: "6379" });
    await drift.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });
    await expect(page.locator("#C0APPROVAL .msg").count()).resolves.toBe(before + 1);
    await expect(drift.textContent()).resolves.toMatch(/no CloudTrail event/i);

    // Oldest first, as in Slack: the newest request is the last card, and the channel shows it.
    const order = await page.$$eval("#C0APPROVAL .msg", (cards) =>
      cards.map((c) => Number(c.getAttribute("data-ts"))),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    await expect(page.locator("#C0APPROVAL .msg").last().textContent()).resolves.toMatch(/6379/);
    await expect
      .poll(() =>
        page.$eval("#C0APPROVAL .list", (l) => l.scrollHeight - l.scrollTop - l.clientHeight),
      )
      .toBeLessThan(2);
    await done();
  });

  it("the rules view: an untracked rule shows, is gone after the sweep, and is back after two approvals", async () => {
    const { page, done } = await open();
    const web = page.locator("#rules .group", { hasText: "web-servers" });
    await expect(web.textContent()).resolves.toMatch(/sandbox/);
    const rule = web.locator(".rule:not(.gone)", { hasText: "TCP 9200" });
    await expect(rule.count()).resolves.toBe(0);

    await fillChange(page, {
      identity: "alice",
      port: "9200",
      cidr: "10.30.0.0/16",
      description: "search for the batch jobs",
    });
    await page.check('input[name="untracked"]');
    await page.click('#change button[type="submit"]');
    await expect.poll(() => rule.count(), { timeout: 10_000 }).toBe(1);
    await expect(rule.textContent()).resolves.toMatch(
      /from 10\.30\.0\.0\/16.*search for the batch jobs.*sgr-/,
    );

    await page.click("#sweep");
    await expect.poll(() => rule.count(), { timeout: 15_000 }).toBe(0);

    // Drift: nobody knows who made it, so it needs two approvers.
    const drift = page.locator("#C0APPROVAL .msg", { hasText: "9200" });
    await drift.getByRole("button", { name: "Approve" }).waitFor({ timeout: 15_000 });
    await page.selectOption("#clicker", "U0BOB");
    await drift.getByRole("button", { name: "Approve" }).click();
    await expect
      .poll(async () => (await drift.textContent()) ?? "", { timeout: 15_000 })
      .toMatch(/1 of 2/);
    await expect(rule.count()).resolves.toBe(0);
    await page.selectOption("#clicker", "U0CAROL");
    await drift.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => rule.count(), { timeout: 15_000 }).toBe(1);
    await done();
  });

  it("at 900 px every control fits, the form shows first, and its errors are plain English", async () => {
    const { page, done } = await open(900, 900, /ERR_CONNECTION_REFUSED|\/sandbox\/change/);
    const sent: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/sandbox/change")) sent.push(r.url());
    });

    // Nothing wider than the window: no sideways scrolling, no control cut off by its panel.
    expect(await page.$eval("html", (html) => html.scrollWidth)).toBeLessThanOrEqual(900);
    const outside = await page.$$eval("input, select, button", (controls) =>
      controls.flatMap((c) => {
        const r = c.getBoundingClientRect();
        const box = c.closest("aside > div, header, section, form")?.getBoundingClientRect();
        const cut =
          r.left < 0 || r.right > 900 || (box && (r.left < box.left || r.right > box.right));
        return r.width > 0 && cut ? [c.outerHTML.slice(0, 80)] : [];
      }),
    );
    expect(outside).toEqual([]);
    const submit = await page.locator('#change button[type="submit"]').boundingBox();
    expect(submit && submit.y + submit.height <= 900 && submit.x + submit.width <= 900).toBe(true);

    await page.fill('input[name="fromPort"]', "abc");
    await page.click('#change button[type="submit"]');
    await expect(page.locator("#status").textContent()).resolves.toBe(
      "From port must be a number from -1 to 65535",
    );
    await expect(page.locator('input[name="fromPort"]').getAttribute("aria-invalid")).resolves.toBe(
      "true",
    );
    await page.fill('input[name="fromPort"]', "22");
    await page.fill('input[name="toPort"]', "70000");
    await page.click('#change button[type="submit"]');
    await expect(statusText(page)()).resolves.toBe("To port must be a number from -1 to 65535");
    await page.fill('input[name="toPort"]', "22");
    await page.fill('input[name="cidr"]', "10.0.0.300/8");
    await page.click('#change button[type="submit"]');
    await expect(statusText(page)()).resolves.toMatch(/^CIDR must be an address range/);
    expect(sent).toEqual([]);

    // The sandbox down: said so, and the form is not left on "sending…".
    await page.fill('input[name="cidr"]', "10.0.0.0/8");
    await page.route("**/sandbox/change", (route) => route.abort("connectionrefused"));
    await page.click('#change button[type="submit"]');
    await expect.poll(statusText(page)).toMatch(/sandbox is not answering/);
    await expect(page.locator('#change button[type="submit"]').isEnabled()).resolves.toBe(true);
    await page.unroute("**/sandbox/change");

    // An exempt identity's change stands: the page does not promise a revert.
    await fillChange(page, { identity: "admin", port: "8081", cidr: "10.40.0.0/16" });
    await page.click('#change button[type="submit"]');
    await expect.poll(statusText(page)).toMatch(/stands: admin is exempt/);
    await expect(statusText(page)()).resolves.not.toMatch(/watch it be reverted/);
    const exempt = page.locator("#rules .rule:not(.gone)", { hasText: "TCP 8081" });
    await expect.poll(() => exempt.count(), { timeout: 10_000 }).toBe(1);
    await done();
  });

  it("the server's 400 names the field in plain English", async () => {
    const change = async (body: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/sandbox/change`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          identity: "alice",
          action: "add",
          direction: "ingress",
          groupId: "sg-0123456789abcdef0",
          protocol: "tcp",
          fromPort: 22,
          cidr: "10.0.0.0/8",
          ...body,
        }),
      });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    };
    await expect(change({ fromPort: "abc" })).resolves.toEqual({
      status: 400,
      body: { error: "From port must be a number from -1 to 65535" },
    });
    await expect(change({ toPort: 70000, cidr: "somewhere" })).resolves.toEqual({
      status: 400,
      body: {
        error:
          "To port must be a number from -1 to 65535; CIDR must be an address range like 203.0.113.0/24 or ::/0",
      },
    });
    await expect(change({ fromPort: "" })).resolves.toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^From port is required/) },
    });
  });
});
