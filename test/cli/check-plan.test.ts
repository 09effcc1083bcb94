import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { runCli, runInProcess } from "../support/cli.js";
import { REPO_ROOT } from "../support/domain-fixtures.js";

const FIX = "test/fixtures/terraform";
const POLICY = ["--policy", "policy.example.json"];
const PIPELINE = ["--principal", "arn:aws:iam::111122223333:role/terraform-ci"];

// ---- the --json contract ----

const resultJson = z
  .object({
    address: z.string().min(1),
    type: z.enum([
      "aws_security_group",
      "aws_security_group_rule",
      "aws_vpc_security_group_ingress_rule",
      "aws_vpc_security_group_egress_rule",
    ]),
    actions: z.array(z.enum(["create", "update", "delete"])).min(1),
    change: z.enum(["add", "remove"]),
    direction: z.enum(["ingress", "egress"]),
    groupId: z.string().min(1),
    rule: z
      .object({
        protocol: z.string(),
        fromPort: z.number().nullable(),
        toPort: z.number().nullable(),
      })
      .loose(),
    decision: z
      .object({
        action: z.enum([
          "exempt",
          "auto_approve",
          "auto_deny",
          "require_approval",
          "notify",
          "ignore",
        ]),
        rule: z.string().min(1),
        reason: z.string().min(1),
        approvals: z.number().int().min(1).optional(),
        mode: z.literal("notify").optional(),
      })
      .strict(),
    unknowns: z.array(z.string()),
    notes: z.array(z.string()),
  })
  .strict();
const outputJson = z
  .object({
    results: z.array(resultJson),
    exitCode: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  })
  .strict();

describe("check-plan in process", () => {
  it.each([
    ["ssh-from-internet.json", [], 2],
    ["ssh-from-internet.json", PIPELINE, 2],
    ["create-security-group.json", PIPELINE, 0],
    ["create-security-group.json", [], 1],
    ["update-inline-rules.json", [], 1],
    ["update-inline-rules.json", ["--allow-approval"], 0],
    ["vpc-rules.json", [], 1],
    ["unknown-cidr.json", PIPELINE, 1],
    ["no-security-group-change.json", [], 0],
  ] as const)("%s %j: exit %i, the same in --json", async (file, extra, code) => {
    const text = await runInProcess(["check-plan", `${FIX}/${file}`, ...POLICY, ...extra]);
    expect(text.code).toBe(code);
    expect(text.stderr).toBe("");
    expect(text.stdout).toMatch(new RegExp(`exit ${code}: `));
    const json = await runInProcess([
      "check-plan",
      `${FIX}/${file}`,
      ...POLICY,
      ...extra,
      "--json",
    ]);
    expect(json.code).toBe(code);
    expect(json.stdout.trimEnd().split("\n")).toHaveLength(1);
    const parsed = outputJson.parse(JSON.parse(json.stdout));
    expect(parsed.exitCode).toBe(code);
  });

  it("prints one line per rule change: address, +/-, rule, action, rule name, reason", async () => {
    const run = await runInProcess(["check-plan", `${FIX}/ssh-from-internet.json`, ...POLICY]);
    expect(run.stdout.split("\n")[0]).toBe(
      'aws_security_group_rule.ssh + ingress TCP 22 from 0.0.0.0/0 "SSH for debugging (OPS-7)" on sg-0a1b2c3d4e5f60718: auto_deny [no-ssh-rdp-from-internet] SSH and RDP must not be open to the internet: use Session Manager or the VPN',
    );
    const update = await runInProcess(["check-plan", `${FIX}/update-inline-rules.json`, ...POLICY]);
    expect(update.stdout).toMatch(
      /^aws_security_group\.app - ingress TCP 8080 from 10\.0\.0\.0\/16 /,
    );
    expect(update.stdout).toMatch(
      /\naws_security_group\.app \+ ingress TCP 8080 from 10\.1\.0\.0\/16 /,
    );
  });

  it("says so when the plan changes no security group", async () => {
    const run = await runInProcess([
      "check-plan",
      `${FIX}/no-security-group-change.json`,
      ...POLICY,
    ]);
    expect(run.stdout).toBe(
      `no security group rule changes in ${FIX}/no-security-group-change.json (1 other resource change)\nexit 0: pass\n`,
    );
    const json = await runInProcess([
      "check-plan",
      `${FIX}/no-security-group-change.json`,
      ...POLICY,
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toEqual({ results: [], exitCode: 0 });
  });

  it("explains an unknown CIDR", async () => {
    const run = await runInProcess(["check-plan", `${FIX}/unknown-cidr.json`, ...POLICY, "--json"]);
    const [r] = outputJson.parse(JSON.parse(run.stdout)).results;
    expect(r?.unknowns).toEqual(["cidr_blocks[0]"]);
    expect(r?.groupId).toBe("aws_security_group.new");
    expect(r?.decision).toMatchObject({ action: "require_approval", rule: "unknown" });
  });

  it.each([
    [[], /check-plan takes one PLAN\.json/],
    [[`${FIX}/vpc-rules.json`], /check-plan needs --policy FILE/],
    [[`${FIX}/vpc-rules.json`, ...POLICY, "--account", "12"], /not a 12-digit account id/],
    [[`${FIX}/vpc-rules.json`, ...POLICY, "--bogus"], /unknown option "--bogus" for check-plan/],
    [[`${FIX}/vpc-rules.json`, "--policy", "package.json"], /package\.json/],
    [["package.json", ...POLICY], /package\.json: format_version: /],
  ])("bad usage or input %j: one line on stderr, exit 2", async (args, message) => {
    const run = await runInProcess(["check-plan", ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("has --help, and the overall usage names it", async () => {
    const help = await runInProcess(["check-plan", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: secgroup-approval check-plan /);
    expect(help.stdout).toContain("-h, --help");
    expect((await runInProcess(["help", "check-plan"])).stdout).toBe(help.stdout);
    expect((await runInProcess(["--help"])).stdout).toContain("check-plan PLAN.json --policy FILE");
  });
});

describe.concurrent("check-plan as a child process (node bin/secgroup-approval.mjs)", () => {
  it("denies SSH from the internet: exit 2, JSON on stdout", async () => {
    const run = await runCli(["check-plan", `${FIX}/ssh-from-internet.json`, ...POLICY, "--json"]);
    expect(run.code).toBe(2);
    const json = outputJson.parse(JSON.parse(run.stdout));
    expect(json.results[0]?.decision.action).toBe("auto_deny");
  });

  it("approves the pipeline: exit 0", async () => {
    const run = await runCli([
      "check-plan",
      `${FIX}/create-security-group.json`,
      ...POLICY,
      ...PIPELINE,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("auto_approve [pipeline-auto-approve]");
  });

  it("needs approval from stdin: exit 1, 0 with --allow-approval", async () => {
    const plan = readFileSync(`${REPO_ROOT}/${FIX}/update-inline-rules.json`, "utf8");
    expect((await runCli(["check-plan", "-", ...POLICY], plan)).code).toBe(1);
    expect((await runCli(["check-plan", "-", ...POLICY, "--allow-approval"], plan)).code).toBe(0);
  });

  it("a malformed plan: the path on stderr, exit 2", async () => {
    const plan = JSON.stringify({
      format_version: "1.2",
      resource_changes: [
        { address: "a", type: "aws_security_group", change: { actions: ["explode"] } },
      ],
    });
    const run = await runCli(["check-plan", "-", ...POLICY], plan);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^secgroup-approval: stdin: resource_changes\[0\]\.change\.actions\[0\]: expected one of/,
    );
  });
});
