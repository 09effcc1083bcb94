/**
 * `explain --policy FILE`: the policy's decision beside each change, in the JSON (a `policy` key,
 * the rest byte for byte as without it) and in the text view. FILE is a policy file or a config
 * holding `policy`. Run on every CloudTrail fixture with policy.example.json.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { parsePolicyText } from "../../src/domain/policy/load.js";
import { runInProcess as run } from "../support/cli.js";
import {
  allCloudTrailFixtureNames,
  fixturePath,
  type Json,
  loadFixture,
  PARTNER_LIST_RULES,
  REPO_ROOT,
} from "../support/domain-fixtures.js";

const EXAMPLE = join(REPO_ROOT, "policy.example.json");
const EXAMPLE_TEXT = readFileSync(EXAMPLE, "utf8");
const RULE_NAMES = [...parsePolicyText(EXAMPLE_TEXT).rules.map((r) => r.name), "default"];

const policyJson = z
  .object({
    action: z.enum(["exempt", "auto_approve", "auto_deny", "require_approval", "notify", "ignore"]),
    rule: z.enum(RULE_NAMES as [string, ...string[]]),
    reason: z.string().min(1),
    approvals: z.int().min(1).optional(),
    mode: z.literal("notify").optional(),
  })
  .strict()
  .refine((p) => (p.action === "require_approval") === (p.approvals !== undefined), {
    message: "approvals with require_approval only, and always with it",
  });

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "sg-policy-")), name);
  writeFileSync(path, content);
  return path;
}

/** A fixture with its CloudTrail record changed (account, identity). */
function variant(name: string, change: (detail: Json) => void): string {
  const event = loadFixture(name);
  change(event.detail as Json);
  return tempFile("event.json", JSON.stringify(event));
}

/** A record's requester as a role session of `role` in the fixtures' account. */
const asRole = (role: string) => (d: Json) => {
  d.userIdentity = {
    type: "AssumedRole",
    principalId: "AROAEXAMPLE:run-1",
    arn: `arn:aws:sts::111122223333:assumed-role/${role}/run-1`,
    accountId: "111122223333",
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        arn: `arn:aws:iam::111122223333:role/${role}`,
        userName: role,
      },
    },
  };
};

/** Every fixture's decision under policy.example.json (undefined: the record is ignored). */
const EXPECTED: Record<string, [string, string, number?] | undefined> = {
  "AuthorizeSecurityGroupEgress/empty-collections.json": ["require_approval", "default", 2],
  "AuthorizeSecurityGroupEgress/ipv4.json": ["require_approval", "default", 2],
  "AuthorizeSecurityGroupIngress/all-protocols-legacy-console-ports.json": [
    "auto_deny",
    "no-ssh-rdp-from-internet",
  ],
  "AuthorizeSecurityGroupIngress/all-protocols-no-ports.json": [
    "auto_deny",
    "rules-need-description",
  ],
  "AuthorizeSecurityGroupIngress/assumed-role-sso.json": ["auto_deny", "no-ssh-rdp-from-internet"],
  "AuthorizeSecurityGroupIngress/failed-call.json": undefined,
  "AuthorizeSecurityGroupIngress/group-by-name.json": ["auto_deny", "no-ssh-rdp-from-internet"],
  "AuthorizeSecurityGroupIngress/group-reference-cross-account.json": [
    "require_approval",
    "default",
    2,
  ],
  "AuthorizeSecurityGroupIngress/group-reference-vpc-peering.json": [
    "auto_deny",
    "rules-need-description",
  ],
  "AuthorizeSecurityGroupIngress/icmp.json": ["require_approval", "default", 2],
  "AuthorizeSecurityGroupIngress/invoked-by-cloudformation.json": [
    "require_approval",
    "default",
    2,
  ],
  "AuthorizeSecurityGroupIngress/ipv4-tcp-22.json": ["auto_deny", "no-ssh-rdp-from-internet"],
  "AuthorizeSecurityGroupIngress/ipv6.json": ["auto_deny", "rules-need-description"],
  "AuthorizeSecurityGroupIngress/legacy-flat.json": ["auto_deny", "no-ssh-rdp-from-internet"],
  "AuthorizeSecurityGroupIngress/multi-item.json": ["auto_deny", "rules-need-description"],
  "AuthorizeSecurityGroupIngress/prefix-list.json": ["require_approval", "default", 2],
  "AuthorizeSecurityGroupIngress/root-console-ipv4-ipv6-one-item.json": [
    "auto_deny",
    "no-ssh-rdp-from-internet",
  ],
  "AuthorizeSecurityGroupIngress/string-ports.json": ["auto_deny", "rules-need-description"],
  "AuthorizeSecurityGroupIngress/with-description.json": ["auto_deny", "no-ssh-rdp-from-internet"],
  // Without a baseline the modified rules' direction is unknown: the ingress-only SSH rule does
  // not match, the risk (which takes a modify for ingress, as Slack does) does.
  "ModifySecurityGroupRules/multi-rule.json": ["auto_deny", "rules-need-description"],
  "ModifySecurityGroupRules/single-rule.json": [
    "require_approval",
    "critical-risk-two-approvers",
    2,
  ],
  // Removing a rule never triggers a deny: removing SSH from anywhere goes to a person.
  "RevokeSecurityGroupEgress/by-permissions.json": ["require_approval", "default", 2],
  "RevokeSecurityGroupEgress/by-rule-ids.json": ["require_approval", "default", 2],
  "RevokeSecurityGroupIngress/by-permissions.json": ["require_approval", "default", 2],
  "RevokeSecurityGroupIngress/by-rule-ids.json": ["require_approval", "default", 2],
  "RevokeSecurityGroupIngress/failed-not-found.json": undefined,
  "RevokeSecurityGroupIngress/group-by-name.json": ["require_approval", "default", 2],
  // Without a baseline a description update knows only what it names: by content (egress 443
  // to anywhere, its description cleared: the description rule denies it), or by id (no rule is
  // known, a person decides).
  "UpdateSecurityGroupRuleDescriptionsEgress/by-permissions.json": [
    "auto_deny",
    "rules-need-description",
  ],
  "UpdateSecurityGroupRuleDescriptionsEgress/by-rule-ids.json": ["require_approval", "default", 2],
  "UpdateSecurityGroupRuleDescriptionsIngress/by-permissions.json": [
    "require_approval",
    "default",
    2,
  ],
  "UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json": ["require_approval", "default", 2],
  // A new group keeps its default egress, which has no description: the example says so with a
  // rule of its own, and its description rule names the kinds it judges (not create).
  "other/CreateSecurityGroup.json": ["auto_approve", "new-group-default-egress"],
  "other/DescribeSecurityGroups.json": undefined,
  "other/iam-CreateAccessKey.json": undefined,
  // Without --baseline the rules naming the list are not known: no rule-level matcher matches,
  // and alice, unverified, needs two approvers.
  "widening/ModifyManagedPrefixList/add-entry-console.json": ["require_approval", "default", 2],
  "widening/ModifyManagedPrefixList/add-remove-cli.json": ["require_approval", "default", 2],
};

describe("explain --policy policy.example.json, every fixture", () => {
  it("the fixtures folder is not empty", () => {
    expect(allCloudTrailFixtureNames().length).toBeGreaterThanOrEqual(27);
  });

  it.each(allCloudTrailFixtureNames())(
    "--json %s: today's line plus a policy key",
    async (name) => {
      const plain = await run(["explain", "--json", fixturePath(name)]);
      const withPolicy = await run(["explain", "--json", "--policy", EXAMPLE, fixturePath(name)]);
      expect(withPolicy.stderr).toBe("");
      expect(withPolicy.code).toBe(0);
      expect(withPolicy.stdout.trimEnd().split("\n")).toHaveLength(1);
      const json = JSON.parse(withPolicy.stdout) as Json;
      if (json.ignored === true) {
        expect(withPolicy.stdout).toBe(plain.stdout);
        return;
      }
      const parsed = policyJson.safeParse(json.policy);
      if (!parsed.success) expect.fail(`${JSON.stringify(json.policy)}: ${parsed.error.message}`);
      // The rest is byte for byte what explain prints without --policy; policy comes last.
      expect(withPolicy.stdout).toBe(
        `${plain.stdout.slice(0, -2)},"policy":${JSON.stringify(json.policy)}}\n`,
      );
      expect(Object.keys(json).at(-1)).toBe("policy");
    },
  );

  it.each(allCloudTrailFixtureNames())("text %s: today's text plus the decision", async (name) => {
    const plain = await run(["explain", fixturePath(name)]);
    const withPolicy = await run(["explain", "--policy", EXAMPLE, fixturePath(name)]);
    expect(withPolicy.code).toBe(0);
    expect(withPolicy.stderr).toBe("");
    if (/^ignored: /.test(plain.stdout)) {
      expect(withPolicy.stdout).toBe(plain.stdout);
      return;
    }
    expect(withPolicy.stdout.startsWith(plain.stdout.slice(0, -1))).toBe(true);
    const added = withPolicy.stdout
      .slice(plain.stdout.length - 1)
      .split("\n")
      .filter(Boolean);
    expect(added[0]).toMatch(/^policy: \w+ \(rule "[\w.-]+"\): .+$/);
    expect(added).toContain(
      "  not known offline: the group's tags (groupTags): rules needing them did not match",
    );
    expect(added.some((l) => /^ {2}requester: (verified|unverified) \(.+\)$/.test(l))).toBe(true);
  });

  it("the decisions policy.example.json gives the fixtures", async () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(allCloudTrailFixtureNames());
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const { stdout } = await run(["explain", "--json", "--policy", EXAMPLE, fixturePath(name)]);
      const policy = (JSON.parse(stdout) as Json).policy as Json | undefined;
      if (!expected) {
        expect(policy, name).toBeUndefined();
        continue;
      }
      const [action, rule, approvals] = expected;
      expect(policy, name).toMatchObject({ action, rule });
      expect(policy?.approvals, name).toBe(approvals);
    }
  });

  it("SSH from anywhere is auto-denied by the example's rule, with its reason", async () => {
    const { stdout } = await run([
      "explain",
      "--json",
      "--policy",
      EXAMPLE,
      fixturePath("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
    ]);
    expect((JSON.parse(stdout) as Json).policy).toStrictEqual({
      action: "auto_deny",
      rule: "no-ssh-rdp-from-internet",
      reason: "SSH and RDP must not be open to the internet: use Session Manager or the VPN",
    });
  });

  it("the text view: the decision, who asked, what is not known offline", async () => {
    const { stdout } = await run([
      "explain",
      "--policy",
      EXAMPLE,
      fixturePath("AuthorizeSecurityGroupIngress/assumed-role-sso.json"),
    ]);
    expect(stdout).toMatch(
      /\nrevert:\n.*\npolicy: auto_deny \(rule "no-ssh-rdp-from-internet"\): SSH and RDP must not be open to the internet: use Session Manager or the VPN\n {2}requester: verified \(identity-center: bob@example.com\)\n {2}not known offline: the group's tags \(groupTags\): rules needing them did not match\n$/,
    );
    const approval = await run([
      "explain",
      "--policy",
      EXAMPLE,
      fixturePath("ModifySecurityGroupRules/single-rule.json"),
    ]);
    expect(approval.stdout).toContain(
      '\npolicy: require_approval (rule "critical-risk-two-approvers"): critical risk: a sensitive port open to the internet needs two security approvers\n  approvals: 2 from user group S0SECURITY1\n  requester: unverified (IAM user alice is not mapped to a Slack user)\n',
    );
  });

  it.each(readdirSync(join(REPO_ROOT, "test/fixtures/cloudtrail/log-file")))(
    "a log file (%s): each record explained gets its decision",
    async (file) => {
      const path = join(REPO_ROOT, "test/fixtures/cloudtrail/log-file", file);
      const plain = await run(["explain", "--json", path]);
      const withPolicy = await run(["explain", "--json", "--policy", EXAMPLE, path]);
      expect(withPolicy.code).toBe(0);
      const lines = withPolicy.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(plain.stdout.trimEnd().split("\n").length);
      for (const line of lines) {
        const json = JSON.parse(line) as Json;
        expect(json.ignored === true || policyJson.safeParse(json.policy).success).toBe(true);
      }
    },
  );
});

const CREATE = fixturePath("other/CreateSecurityGroup.json");
const PREFIX_LIST = fixturePath("widening/ModifyManagedPrefixList/add-remove-cli.json");

/** The region's rules: an SSH rule and an HTTPS egress rule name the partner list. */
const REGION_RULES = PARTNER_LIST_RULES;

const policyFile = (rules: unknown[]) => tempFile("policy.json", JSON.stringify({ rules }));

async function decision(args: string[]): Promise<Json | undefined> {
  const result = await run(["explain", "--json", ...args]);
  expect(result.stderr).toBe("");
  return (JSON.parse(result.stdout) as Json).policy as Json | undefined;
}

describe("explain --policy: a group's creation, decided as the member decides it", () => {
  it("the example keeps the default egress by its own rule; its description rule would not revoke it either", async () => {
    expect(await decision(["--policy", EXAMPLE, CREATE])).toStrictEqual({
      action: "auto_approve",
      rule: "new-group-default-egress",
      reason: "a new group keeps its default egress (all traffic out), as EC2 creates it",
    });
    const text = await run(["explain", "--policy", EXAMPLE, CREATE]);
    expect(text.stdout).toContain(
      '\npolicy: auto_approve (rule "new-group-default-egress"): a new group keeps its default egress (all traffic out), as EC2 creates it\n  the default egress stays: the member adopts the group with it and files nothing\n',
    );
    // Without the keep rule, the description rule (it names add, modify and drift) still lets
    // the egress, which has no description, stay: no rule matches the creation.
    const example = JSON.parse(EXAMPLE_TEXT) as { rules: Json[] };
    const withoutKeep = tempFile(
      "no-keep.json",
      JSON.stringify({
        ...example,
        rules: example.rules.filter((r) => r.name !== "new-group-default-egress"),
      }),
    );
    expect(await decision(["--policy", withoutKeep, CREATE])).toMatchObject({
      action: "exempt",
      rule: "default",
    });
    // A description rule naming no kind does match it (the egress has no description).
    const anyKind = policyFile([
      { name: "described", match: { descriptionMissing: true }, action: "auto_deny", reason: "no" },
    ]);
    expect(await decision(["--policy", anyKind, CREATE])).toMatchObject({
      action: "auto_deny",
      rule: "described",
    });
  });

  it("break-glass: kept by the exempt rule; no rule matching: kept, exempt under the name default", async () => {
    const bg = variant("other/CreateSecurityGroup.json", asRole("BreakGlassAdmin"));
    expect(await decision(["--policy", EXAMPLE, bg])).toStrictEqual({
      action: "exempt",
      rule: "break-glass",
      reason: "made with the break-glass role: review it in the incident's post-mortem",
    });
    // A rule about added rules does not match a creation; the engine's require_approval default
    // does not apply to one: the egress stays.
    const addsOnly = policyFile([
      { name: "no-adds", match: { kind: "add" }, action: "auto_deny", reason: "no" },
    ]);
    expect(await decision(["--policy", addsOnly, CREATE])).toStrictEqual({
      action: "exempt",
      rule: "default",
      reason: "no policy rule matches the new group's creation: its default egress stays",
    });
    const text = await run(["explain", "--policy", addsOnly, CREATE]);
    expect(text.stdout).toContain(
      "\n  the default egress stays: the member adopts the group with it and files nothing\n",
    );
  });

  it("a kind create rule asking a person: require_approval, at least the requester's two approvals", async () => {
    const ask = policyFile([
      {
        name: "new-groups-reviewed",
        match: { kind: "create" },
        action: "require_approval",
        approvals: 1,
        approvers: { userGroup: "S0SECURITY1" },
        reason: "new groups are reviewed",
      },
    ]);
    expect(await decision(["--policy", ask, CREATE])).toStrictEqual({
      action: "require_approval",
      rule: "new-groups-reviewed",
      reason: "new groups are reviewed",
      approvals: 2,
    });
    const text = await run(["explain", "--policy", ask, CREATE]);
    expect(text.stdout).toContain(
      "\n  approvals: 2 from user group S0SECURITY1\n  the default egress is revoked and put to a person: Approve puts it back\n",
    );
  });

  it("an account in notify mode: a revoking rule is not carried out, the egress stays for a person; mode notify is shown", async () => {
    const staging = variant("other/CreateSecurityGroup.json", (d) => {
      d.recipientAccountId = "444455556666";
    });
    // The example keeps it; the account's mode is shown, as for any change there.
    expect(await decision(["--policy", EXAMPLE, staging])).toStrictEqual({
      action: "auto_approve",
      rule: "new-group-default-egress",
      reason: "a new group keeps its default egress (all traffic out), as EC2 creates it",
      mode: "notify",
    });
    const closed = tempFile(
      "closed.json",
      JSON.stringify({
        accounts: { "444455556666": { mode: "notify" } },
        rules: [
          {
            name: "new-groups-closed",
            match: { kind: "create" },
            action: "auto_deny",
            reason: "new groups start with no egress",
          },
        ],
      }),
    );
    expect(await decision(["--policy", closed, staging])).toStrictEqual({
      action: "auto_deny",
      rule: "new-groups-closed",
      reason: "new groups start with no egress",
      mode: "notify",
    });
    const text = await run(["explain", "--policy", closed, staging]);
    expect(text.stdout).toContain(
      '\npolicy: auto_deny (rule "new-groups-closed"): new groups start with no egress\n  the default egress stays (not enforced in this account): the member files it for a person, marked "not enforced in this account"; Approve keeps it, Deny revokes it\n  requester: unverified (IAM user alice is not mapped to a Slack user)\n  mode: notify: account 444455556666 is being rolled out, nothing is reverted (the decision is only reported)\n',
    );
    // The same policy in an enforced account revokes it, and shows no mode.
    expect(await decision(["--policy", closed, CREATE])).toStrictEqual({
      action: "auto_deny",
      rule: "new-groups-closed",
      reason: "new groups start with no egress",
    });
  });
});

describe("explain --policy: a prefix list's entries, decided as the member decides them", () => {
  it("with --baseline: 0.0.0.0/0 added to a list an SSH rule names is SSH from anywhere", async () => {
    const baseline = tempFile("rules.json", JSON.stringify(REGION_RULES));
    expect(
      await decision(["--policy", EXAMPLE, "--baseline", baseline, PREFIX_LIST]),
    ).toStrictEqual({
      action: "auto_deny",
      rule: "no-ssh-rdp-from-internet",
      reason: "SSH and RDP must not be open to the internet: use Session Manager or the VPN",
    });
    // The HTTPS rule alone: a public CIDR on 443, described; alice needs two approvers.
    const https = tempFile("https.json", JSON.stringify(REGION_RULES.slice(1)));
    expect(await decision(["--policy", EXAMPLE, "--baseline", https, PREFIX_LIST])).toStrictEqual({
      action: "require_approval",
      rule: "default",
      reason: "no policy rule matched: a person decides",
      approvals: 2,
    });
  });

  it("without --baseline: decided on the entries alone, and the text says the rules are not known", async () => {
    const text = await run(["explain", "--policy", EXAMPLE, PREFIX_LIST]);
    expect(text.stdout).toContain(
      '\npolicy: require_approval (rule "default"): no policy rule matched: a person decides\n  approvals: 2\n  the rules naming pl-04b7e2c9a1d3f5e68 are not known offline: rule-level matchers saw none, and the risk is that of no rule, so the member, which knows them, may decide otherwise (pass --baseline)\n',
    );
  });

  it("a list no governed rule names: ignored, with the member's reason, and no decision", async () => {
    const none = tempFile(
      "none.json",
      JSON.stringify([{ ...REGION_RULES[0], PrefixListId: "pl-0ffffffffffffffff" }]),
    );
    const result = await run([
      "explain",
      "--json",
      "--policy",
      EXAMPLE,
      "--baseline",
      none,
      PREFIX_LIST,
    ]);
    expect(JSON.parse(result.stdout)).toStrictEqual({
      ignored: true,
      reason:
        "no governed security group rule names pl-04b7e2c9a1d3f5e68: its entries widen no governed rule",
    });
  });

  it("an account in notify mode: the decision carries the mode (the member leaves the list as it is)", async () => {
    const baseline = tempFile("rules.json", JSON.stringify(REGION_RULES));
    const staging = variant("widening/ModifyManagedPrefixList/add-remove-cli.json", (d) => {
      d.recipientAccountId = "444455556666";
    });
    expect(await decision(["--policy", EXAMPLE, "--baseline", baseline, staging])).toMatchObject({
      action: "auto_deny",
      rule: "no-ssh-rdp-from-internet",
      mode: "notify",
    });
  });
});

describe("explain --policy: accounts, principals, configs", () => {
  it("the staging account is in notify mode: the JSON says so, and the text", async () => {
    const file = variant("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.recipientAccountId = "444455556666";
    });
    const json = await run(["explain", "--json", "--policy", EXAMPLE, file]);
    expect((JSON.parse(json.stdout) as Json).policy).toStrictEqual({
      action: "auto_deny",
      rule: "no-ssh-rdp-from-internet",
      reason: "SSH and RDP must not be open to the internet: use Session Manager or the VPN",
      mode: "notify",
    });
    const text = await run(["explain", "--policy", EXAMPLE, file]);
    expect(text.stdout).toContain(
      "\n  mode: notify: account 444455556666 is being rolled out, nothing is reverted (the decision is only reported)\n",
    );
  });

  it("the pipeline role is auto-approved; break-glass is exempt", async () => {
    const egress = "AuthorizeSecurityGroupEgress/ipv4.json";
    const ci = await run([
      "explain",
      "--json",
      "--policy",
      EXAMPLE,
      variant(egress, asRole("terraform-ci")),
    ]);
    expect((JSON.parse(ci.stdout) as Json).policy).toMatchObject({
      action: "auto_approve",
      rule: "pipeline-auto-approve",
    });
    const ssh = "AuthorizeSecurityGroupIngress/ipv4-tcp-22.json";
    const bg = await run([
      "explain",
      "--json",
      "--policy",
      EXAMPLE,
      variant(ssh, asRole("BreakGlassAdmin")),
    ]);
    expect((JSON.parse(bg.stdout) as Json).policy).toMatchObject({
      action: "exempt",
      rule: "break-glass",
    });
  });

  it("a config holding policy: its people tell who is verified", async () => {
    const config = tempFile(
      "config.json",
      JSON.stringify({
        hub: { account: "111111111111", region: "us-east-1" },
        people: [{ slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] }],
        policy: JSON.parse(EXAMPLE_TEXT),
      }),
    );
    const egress = fixturePath("AuthorizeSecurityGroupEgress/ipv4.json");
    const json = await run(["explain", "--json", "--policy", config, egress]);
    expect((JSON.parse(json.stdout) as Json).policy).toStrictEqual({
      action: "require_approval",
      rule: "default",
      reason: "no policy rule matched: a person decides",
      approvals: 1,
    });
    const text = await run(["explain", "--policy", config, egress]);
    expect(text.stdout).toContain(
      "\n  requester: verified (people: arn:aws:iam::111122223333:user/alice)\n",
    );
  });

  it("a config naming its policy file (the example config) decides as the file does, with its people", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sg-config-"));
    writeFileSync(join(dir, "mine.policy.json"), EXAMPLE_TEXT);
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        people: [{ slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] }],
        policy: "mine.policy.json",
      }),
    );
    const egress = fixturePath("AuthorizeSecurityGroupEgress/ipv4.json");
    const viaConfig = await run(["explain", "--json", "--policy", config, egress]);
    expect((JSON.parse(viaConfig.stdout) as Json).policy).toMatchObject({ approvals: 1 });
    for (const name of [
      "AuthorizeSecurityGroupIngress/multi-item.json",
      "RevokeSecurityGroupIngress/by-rule-ids.json",
    ]) {
      const direct = await run(["explain", "--json", "--policy", EXAMPLE, fixturePath(name)]);
      const named = await run([
        "explain",
        "--json",
        "--policy",
        join(REPO_ROOT, "secgroup-approval.config.example.json"),
        fixturePath(name),
      ]);
      expect(named.stderr).toBe("");
      expect((JSON.parse(named.stdout) as Json).policy).toStrictEqual(
        (JSON.parse(direct.stdout) as Json).policy,
      );
    }
  });

  it("a bad policy file: exit 2, one line naming the file, line and column", async () => {
    const bad = tempFile(
      "policy.json",
      '{\n  "rules": [\n    { "name": "x", "match": { "port": 22 }, "action": "auto_deny" }\n  ]\n}\n',
    );
    const result = await run([
      "explain",
      "--policy",
      bad,
      fixturePath("AuthorizeSecurityGroupIngress/icmp.json"),
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `secgroup-approval: ${bad}:3:5: rules[0].reason: an auto_deny rule needs a reason (it is all the requester is told); ${bad}:3:31: rules[0].match.port: unknown matcher "port" (expected one of: principal, identityCenterUser, verified, account, region, vpc, groupId, groupName, groupTags, kind, risk, eventAgeOverSeconds, direction, protocol, ports, portsOverlap, peer, descriptionMissing)\n`,
    );
    const notJson = tempFile("policy.json", '{"rules": [}');
    const syntax = await run([
      "explain",
      "--policy",
      notJson,
      fixturePath("AuthorizeSecurityGroupIngress/icmp.json"),
    ]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toBe(
      `secgroup-approval: ${notJson}:1:12: not valid JSON: unexpected character "}"\n`,
    );
  });

  it("usage: --policy needs a FILE, only one stdin, a missing file is unreadable input", async () => {
    const icmp = fixturePath("AuthorizeSecurityGroupIngress/icmp.json");
    expect(await run(["explain", icmp, "--policy"])).toMatchObject({
      code: 2,
      stderr:
        "secgroup-approval: option --policy needs a value (FILE); run 'secgroup-approval explain --help'\n",
    });
    expect(await run(["explain", "-", "--policy", "-"])).toMatchObject({
      code: 2,
      stderr:
        "secgroup-approval: only one of FILE, --baseline and --policy can be - (stdin); run 'secgroup-approval explain --help'\n",
    });
    const missing = await run(["explain", "--policy", "/nonexistent/policy.json", icmp]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^secgroup-approval: cannot read input: ENOENT.*policy\.json/);
  });

  it("explain --help documents --policy", async () => {
    const help = await run(["explain", "--help"]);
    expect(help.stdout).toMatch(/\n {2}--policy FILE {11}also show the policy's decision/);
  });

  it("without --policy nothing about a policy is printed", async () => {
    const json = await run([
      "explain",
      "--json",
      fixturePath("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
    ]);
    expect(json.stdout).not.toContain('"policy"');
    const text = await run([
      "explain",
      fixturePath("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
    ]);
    expect(text.stdout).not.toMatch(/^policy:/m);
  });
});
