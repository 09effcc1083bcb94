import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PrefixListChange } from "../../../src/domain/change.js";
import { decide } from "../../../src/domain/policy/engine.js";
import { PolicyError, parsePolicy, parsePolicyText } from "../../../src/domain/policy/load.js";
import { REPO_ROOT } from "../../support/domain-fixtures.js";
import { add, assumedRole, drift, facts, modify, rule, tcp, UNVERIFIED, v4 } from "./support.js";

const EXAMPLE = readFileSync(join(REPO_ROOT, "policy.example.json"), "utf8");

/** The issues of a text, as "line:column path: message". */
function problems(text: string): string[] {
  try {
    parsePolicyText(text, "p.json");
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).issues.map(
      (i) => `${i.line}:${i.column} ${i.path.join(".")}: ${i.message}`,
    );
  }
  return [];
}

const one = (rule: Record<string, unknown>) =>
  JSON.stringify({ rules: [{ name: "r", match: {}, ...rule }] }, null, 2);

describe("policy.example.json", () => {
  const policy = parsePolicyText(EXAMPLE, "policy.example.json");

  it("loads, with the rules it promises", () => {
    expect(policy.rules.map((r) => [r.name, r.action])).toEqual([
      ["break-glass", "exempt"],
      ["new-group-default-egress", "auto_approve"],
      ["no-ssh-rdp-from-internet", "auto_deny"],
      ["rules-need-description", "auto_deny"],
      ["pipeline-auto-approve", "auto_approve"],
      ["production-two-approvers", "require_approval"],
      ["critical-risk-two-approvers", "require_approval"],
      ["internal-https", "auto_approve"],
    ]);
    expect(policy.accounts).toEqual({
      "444455556666": expect.objectContaining({ mode: "notify" }),
    });
  });

  it("decides as it says", () => {
    const ci = assumedRole("terraform-ci", "run-1");
    const breakGlass = assumedRole("BreakGlassAdmin", "alice");
    const ssh = tcp(22, 22, v4("0.0.0.0/0"));
    const rdp = tcp(3389, 3389, v4("198.51.100.0/24"));
    const mysqlWorld = tcp(3306, 3306, v4("0.0.0.0/0"));
    const f = facts();
    const cases: [string, ReturnType<typeof decide>["rule"]][] = [
      [decide(add([ssh], { requester: breakGlass }), f, policy).rule, "break-glass"],
      [decide(add([ssh], { requester: ci }), f, policy).rule, "no-ssh-rdp-from-internet"],
      [decide(add([rdp]), f, policy).rule, "no-ssh-rdp-from-internet"],
      [
        decide(add([tcp(443, 443, v4("10.0.0.0/8"), { description: undefined })]), f, policy).rule,
        "rules-need-description",
      ],
      [
        decide(add([tcp(443, 443, v4("0.0.0.0/0"))], { requester: ci }), f, policy).rule,
        "pipeline-auto-approve",
      ],
      [decide(add([mysqlWorld], { requester: ci }), f, policy).rule, "critical-risk-two-approvers"],
      [
        decide(
          add([tcp(5432, 5432, v4("10.0.0.0/8"))]),
          facts({ group: { tags: { env: "production" } } }),
          policy,
        ).rule,
        "production-two-approvers",
      ],
      [decide(add([tcp(443, 443, v4("10.1.0.0/16"))]), f, policy).rule, "internal-https"],
      [
        decide(add([tcp(443, 443, v4("10.1.0.0/16"))]), facts({ verification: UNVERIFIED }), policy)
          .rule,
        "default",
      ],
    ];
    for (const [got, expected] of cases) expect(got).toBe(expected);
    const prod = decide(add([mysqlWorld]), facts({ verification: UNVERIFIED }), policy);
    expect(prod).toMatchObject({
      action: "require_approval",
      approvals: 2,
      approvers: { userGroup: "S0SECURITY1" },
    });
    const staging = decide(add([ssh], { account: "444455556666" }), f, policy);
    expect(staging).toMatchObject({ action: "auto_deny", mode: "notify" });
  });

  it("a new group keeps its default egress; the description rule judges what a person puts in place", () => {
    const egress = rule({
      direction: "egress",
      protocol: "all",
      fromPort: null,
      toPort: null,
      peer: v4("0.0.0.0/0"),
      description: undefined,
    });
    const bare = tcp(443, 443, v4("10.0.0.0/8"), { description: undefined });
    const creation = add([egress], { eventName: "CreateSecurityGroup", direction: "egress" });
    const kept = decide(creation, facts({ verification: UNVERIFIED }), policy);
    expect(kept).toMatchObject({ action: "auto_approve", rule: "new-group-default-egress" });
    // In the notify-mode account as well (a permissive rule: nothing to report).
    expect(decide({ ...creation, account: "444455556666" }, facts(), policy)).toMatchObject({
      action: "auto_approve",
      rule: "new-group-default-egress",
    });
    // The description rule alone no longer matches a creation (it names its kinds)...
    const described = policy.rules.find((r) => r.name === "rules-need-description");
    if (!described) throw new Error("no rules-need-description");
    const alone = { rules: [described] };
    expect(decide(creation, facts(), alone).rule).toBe("default");
    // ...nor a prefix list's entries, whose rules (those naming the list) have none.
    const list: PrefixListChange = {
      ...add(),
      eventName: "ModifyManagedPrefixList",
      kind: "prefixList",
      prefixListId: "pl-0123456789abcdef0",
      added: [{ cidr: "10.9.0.0/16", description: "JIRA-4 office" }],
      removed: [],
      references: [
        {
          groupId: "sg-0123456789abcdef0",
          rules: [
            tcp(
              443,
              443,
              { kind: "prefixList", prefixListId: "pl-0123456789abcdef0" },
              { description: undefined },
            ),
          ],
        },
      ],
    };
    expect(list.references[0]?.rules[0]?.description).toBeUndefined();
    expect(decide(list, facts(), alone).rule).toBe("default");
    // But an added rule, a cleared description (a modify) and drift without one are denied.
    for (const change of [
      add([bare]),
      modify(bare, tcp(443, 443, v4("10.0.0.0/8"), { description: "JIRA-1" })),
      drift({ added: [bare] }),
    ]) {
      expect(decide(change, facts(), policy)).toMatchObject({
        action: "auto_deny",
        rule: "rules-need-description",
      });
    }
  });

  it("loads the same from a config's policy key", () => {
    const config = `{\n  "hub": { "account": "111111111111" },\n  "policy": ${EXAMPLE.trim().split("\n").join("\n  ")}\n}`;
    expect(parsePolicyText(config, "config.json")).toStrictEqual(policy);
    expect(parsePolicy(JSON.parse(config))).toStrictEqual(policy);
  });
});

describe("errors name the path and the line and column", () => {
  it("an auto_deny without a reason is refused", () => {
    expect(problems(one({ action: "auto_deny" }))).toEqual([
      "3:5 rules.0.reason: an auto_deny rule needs a reason (it is all the requester is told)",
    ]);
    expect(problems(one({ action: "auto_deny", reason: "  " }))).toEqual([
      "7:17 rules.0.reason: a reason must not be empty",
      "7:17 rules.0.reason: an auto_deny rule needs a reason (it is all the requester is told)",
    ]);
  });

  it("an unknown matcher is refused, pointing at its key", () => {
    const text = `{
  "rules": [
    {
      "name": "r",
      "match": { "port": 22, "principal": "*" },
      "action": "notify"
    }
  ]
}`;
    expect(problems(text)).toEqual([
      `5:18 rules.0.match.port: unknown matcher "port" (expected one of: principal, identityCenterUser, verified, account, region, vpc, groupId, groupName, groupTags, kind, risk, eventAgeOverSeconds, direction, protocol, ports, portsOverlap, peer, descriptionMissing)`,
    ]);
  });

  it("unknown keys anywhere are refused, $comment is allowed", () => {
    const text = JSON.stringify(
      {
        $comment: "top",
        colour: 1,
        accounts: { "444455556666": { mode: "notify", $comment: "x", extra: true } },
        rules: [
          {
            name: "r",
            $comment: ["a", "b"],
            match: { peer: { public: true, cidr: "x" }, risk: { min: "high" } },
            action: "auto_deny",
            reason: "r",
            approverz: [],
          },
        ],
      },
      null,
      2,
    );
    expect(problems(text).map((p) => p.replace(/ \(expected one of: .*\)$/, ""))).toEqual([
      '3:3 colour: unknown key "colour"',
      '8:7 accounts.444455556666.extra: unknown key "extra"',
      '21:11 rules.0.match.peer.cidr: unknown key "cidr"',
      "23:17 rules.0.match.risk: give exactly one of atLeast, exactly, atMost",
      '24:11 rules.0.match.risk.min: unknown key "min"',
      '29:7 rules.0.approverz: unknown key "approverz"',
    ]);
  });

  it("a bad value: its line and column", () => {
    const text = '{"rules": [\n  {"name": "r", "match": {"ports": "443-80"}, "action": "nope"}\n]}';
    expect(problems(text)).toEqual([
      '2:36 rules.0.match.ports: expected a port 0-65535 or a range "from-to" (from <= to)',
      "2:57 rules.0.action: expected one of exempt, auto_approve, auto_deny, require_approval, notify, ignore",
    ]);
  });

  it("a missing key: the object that lacks it", () => {
    expect(problems('{"rules": [\n  {"match": {}, "action": "notify"}\n]}')).toEqual([
      "2:3 rules.0.name: is required",
    ]);
    expect(problems("{}")).toEqual(["1:1 rules: is required"]);
  });

  it("a config's policy: paths start with policy", () => {
    const text =
      '{"hub": {},\n "policy": {"rules": [{"name": "r", "match": {"verified": "yes"}, "action": "notify"}]}}';
    expect(problems(text)).toEqual(["2:59 policy.rules.0.match.verified: expected true or false"]);
  });

  it("not JSON: the line and column of the syntax error", () => {
    expect(problems('{\n  "rules": [\n    {"name": "r",}\n  ]\n}')).toEqual([
      "3:18 : not valid JSON: expected a property name in double quotes",
    ]);
  });

  it("PolicyError's message is one line, every problem as file:line:column: path: message", () => {
    try {
      parsePolicyText(one({ action: "auto_deny", approvals: 2 }), "p.json");
      expect.fail("accepted");
    } catch (err) {
      expect((err as Error).message).toBe(
        "p.json:3:5: rules[0].reason: an auto_deny rule needs a reason (it is all the requester is told); p.json:7:7: rules[0].approvals: approvals is for require_approval rules only, not auto_deny",
      );
    }
  });

  it("parsePolicy (no text) gives paths without positions", () => {
    expect(() =>
      parsePolicy({ rules: [{ name: "r", match: {}, action: "auto_deny" }] }, "x"),
    ).toThrow(
      "x: rules[0].reason: an auto_deny rule needs a reason (it is all the requester is told)",
    );
  });
});

describe("checks across fields", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "approval settings on another action",
      { action: "notify", channel: "C0ABC", expiryHours: 1 },
      /channel is for require_approval rules only, not notify[\s\S]*expiryHours is for/,
    ],
    [
      "portsOverlap in a permissive rule",
      { action: "auto_approve", match: { portsOverlap: 443 } },
      /match.portsOverlap: not in a permissive \(auto_approve\) rule: portsOverlap matches rules wider/,
    ],
    [
      "peer.cidrContains in a permissive rule",
      { action: "exempt", match: { peer: { cidrContains: "10.0.0.1" } } },
      /match.peer: not in a permissive \(exempt\) rule/,
    ],
    ["a reserved name", { name: "default", action: "notify" }, /"default" is reserved/],
    ["a switch's name", { name: "max-event-age", action: "notify" }, /"max-event-age" is reserved/],
    [
      "too few users for two approvals",
      { action: "require_approval", approvers: { users: ["U0A"] } },
      /1 user cannot give 2 different approvals/,
    ],
    [
      "more approvals than users",
      { action: "require_approval", approvals: 3, approvers: { users: ["U0A", "U0B"] } },
      /2 users cannot give 3 different approvals/,
    ],
    [
      "an empty approvers",
      { action: "require_approval", approvers: {} },
      /name a userGroup or users/,
    ],
    [
      "a bad channel",
      { action: "require_approval", channel: "#sg-prod" },
      /a Slack channel id is C/,
    ],
    ["a bad name", { name: "has space", action: "notify" }, /a name is letters/],
    ["zero approvals", { action: "require_approval", approvals: 0 }, /approvals/],
  ])("refuses %s", (_what, rule, message) => {
    expect(problems(one(rule)).join("\n")).toMatch(message);
  });

  it("refuses a name used twice, naming the first", () => {
    const text = JSON.stringify({
      rules: [
        { name: "a", match: {}, action: "notify" },
        { name: "a", match: {}, action: "ignore" },
      ],
    });
    expect(problems(text)).toEqual(['1:61 rules.1.name: "a" is also the name of rules[0]']);
  });

  it("accepts portsOverlap and cidrContains in restrictive rules, and a user group with any approvals", () => {
    expect(
      problems(
        one({
          action: "require_approval",
          approvals: 3,
          approvers: { userGroup: "S0SEC" },
          match: { portsOverlap: [22, "3000-4000"], peer: { cidrContains: "203.0.113.7" } },
        }),
      ),
    ).toEqual([]);
  });

  it("refuses a bad account id and mode, and an unknown version", () => {
    const text = JSON.stringify({
      version: 2,
      mode: "off",
      accounts: { "12": { mode: "notify" } },
      rules: [],
    });
    expect(problems(text).map((p) => p.split(": ")[0])).toEqual([
      "1:12 version",
      "1:21 mode",
      "1:39 accounts.12",
    ]);
    expect(problems(text)[2]).toBe(
      '1:39 accounts.12: the key "12": an AWS account id is 12 digits',
    );
  });
});
