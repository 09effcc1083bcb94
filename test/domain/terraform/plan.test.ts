import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePolicyText } from "../../../src/domain/policy/index.js";
import {
  checkPlan,
  isUnknownAt,
  PlanError,
  parsePlan,
  parsePlanText,
  planChanges,
  requesterFromPrincipal,
} from "../../../src/domain/terraform/index.js";
import { REPO_ROOT } from "../../support/domain-fixtures.js";

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "terraform");
const fixture = (name: string) => parsePlanText(readFileSync(join(FIXTURES, name), "utf8"), name);
const POLICY = parsePolicyText(readFileSync(join(REPO_ROOT, "policy.example.json"), "utf8"));
const PIPELINE = "arn:aws:sts::111122223333:assumed-role/terraform-ci/run-42";

/** A one-resource plan. */
function planOf(
  type: string,
  actions: string[],
  before: unknown,
  after: unknown,
  afterUnknown = {},
) {
  return parsePlan({
    format_version: "1.2",
    resource_changes: [
      {
        address: `${type}.x`,
        mode: "managed",
        type,
        name: "x",
        change: { actions, before, after, after_unknown: afterUnknown },
      },
    ],
  });
}

describe("parsePlan", () => {
  it("names the path of a malformed plan", () => {
    expect(() =>
      parsePlan(
        { format_version: "1.2", resource_changes: [{ address: "a", change: {} }] },
        "p.json",
      ),
    ).toThrow(/^p\.json: resource_changes\[0\]\.type: /);
    expect(() => parsePlan({ resource_changes: [] })).toThrow(/format_version/);
    expect(() => parsePlan({ format_version: "2.0" })).toThrow(/not supported/);
    expect(() => parsePlan({ format_version: "1.0", values: {} })).toThrow(/a state, not a plan/);
    expect(() => parsePlanText("{", "p.json")).toThrow(PlanError);
  });

  it("names the path of a malformed value inside a security group", () => {
    const plan = planOf("aws_security_group", ["create"], null, {
      ingress: [{ protocol: "tcp", from_port: "x", to_port: 22, cidr_blocks: ["0.0.0.0/0"] }],
    });
    expect(() => planChanges(plan)).toThrow(
      "plan: resource_changes[0].change.after.ingress[0].from_port: expected a number",
    );
  });

  it("reads after_unknown at a path or any prefix of it", () => {
    expect(isUnknownAt({ cidr_blocks: [false, true] }, ["cidr_blocks", 1])).toBe(true);
    expect(isUnknownAt({ cidr_blocks: [false, true] }, ["cidr_blocks", 0])).toBe(false);
    expect(isUnknownAt({ ingress: true }, ["ingress", 0, "cidr_blocks"])).toBe(true);
    expect(isUnknownAt(false, ["id"])).toBe(false);
  });
});

describe("planChanges: the four resource types", () => {
  it("aws_security_group: one rule per peer, self is the group, protocol -1 is all", () => {
    const changes = planChanges(fixture("create-security-group.json"));
    expect(changes.map((c) => [c.change.kind, c.change.direction, c.change.rules[0]])).toEqual([
      [
        "add",
        "ingress",
        {
          direction: "ingress",
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
          description: "HTTPS from the VPC (NET-101)",
        },
      ],
      [
        "add",
        "ingress",
        expect.objectContaining({ peer: { kind: "group", groupId: "aws_security_group.web" } }),
      ],
      ["add", "egress", expect.objectContaining({ protocol: "all", fromPort: null, toPort: null })],
      ["add", "egress", expect.objectContaining({ peer: { kind: "cidrIpv6", cidr: "::/0" } })],
    ]);
    // The group is not created yet: its address stands for its id, and the plan gives its tags.
    expect(changes[0]?.change.groupId).toBe("aws_security_group.web");
    expect(changes[0]?.notes[0]).toMatch(/known only after apply/);
    expect(changes[0]?.group?.tags).toEqual({ env: "staging", Name: "web" });
  });

  it("aws_security_group update: a rule changed in place is a remove and an add", () => {
    const changes = planChanges(fixture("update-inline-rules.json"));
    expect(changes.map((c) => `${c.change.kind} ${c.change.rules[0]?.fromPort}`)).toEqual([
      "remove 8080",
      "add 8080",
      "add 9100",
    ]);
    expect(changes[2]?.change.rules[0]?.peer).toEqual({
      kind: "group",
      groupId: "sg-0aaaabbbbccccdddd",
    });
    expect(changes.every((c) => c.change.groupId === "sg-0fedcba9876543210")).toBe(true);
    expect(changes[0]?.group?.tags).toEqual({ env: "production" });
  });

  it("aws_security_group_rule: the computed source_security_group_id is no peer beside a CIDR", () => {
    const [c, ...rest] = planChanges(fixture("ssh-from-internet.json"));
    expect(rest).toEqual([]);
    expect(c?.change.rules).toEqual([
      expect.objectContaining({
        protocol: "tcp",
        fromPort: 22,
        peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
      }),
    ]);
    expect(c?.unknowns).toEqual([]);
  });

  it("aws_vpc_security_group_*_rule: replace, create with protocol 6, delete", () => {
    const changes = planChanges(fixture("vpc-rules.json"));
    expect(changes.map((c) => [c.address, c.change.kind, c.change.direction])).toEqual([
      ["aws_vpc_security_group_ingress_rule.db", "remove", "ingress"],
      ["aws_vpc_security_group_ingress_rule.db", "add", "ingress"],
      ["aws_vpc_security_group_egress_rule.https_s3", "add", "egress"],
      ["aws_vpc_security_group_ingress_rule.bastion", "remove", "ingress"],
    ]);
    expect(changes[2]?.change.rules[0]).toMatchObject({
      protocol: "tcp",
      peer: { kind: "prefixList", prefixListId: "pl-6da54004" },
    });
    expect(changes[3]?.change.rules[0]).toMatchObject({ protocol: "all", fromPort: null });
  });

  it.each([
    ["tcp", "tcp"],
    ["6", "tcp"],
    ["-1", "all"],
    ["all", "all"],
    ["17", "udp"],
    ["icmp", "icmp"],
    ["50", "50"],
  ])("maps protocol %s to %s", (raw, model) => {
    const plan = planOf("aws_security_group_rule", ["create"], null, {
      type: "egress",
      security_group_id: "sg-1",
      protocol: raw,
      from_port: 0,
      to_port: 0,
      cidr_blocks: ["10.0.0.0/8"],
    });
    expect(planChanges(plan)[0]?.change.rules[0]?.protocol).toBe(model);
  });

  it("an update changing nothing about the rules, a no-op and a read give no change", () => {
    const values = {
      type: "ingress",
      security_group_id: "sg-1",
      protocol: "tcp",
      from_port: 1,
      to_port: 1,
      cidr_blocks: ["10.0.0.0/8"],
      description: "a",
    };
    expect(
      planChanges(
        planOf("aws_security_group_rule", ["update"], values, { ...values, timeouts: null }),
      ),
    ).toEqual([]);
    expect(planChanges(planOf("aws_security_group_rule", ["no-op"], values, values))).toEqual([]);
    expect(planChanges(fixture("no-security-group-change.json"))).toEqual([]);
  });

  it("a description changed is a remove and an add", () => {
    const values = {
      type: "ingress",
      security_group_id: "sg-1",
      protocol: "tcp",
      from_port: 1,
      to_port: 1,
      cidr_blocks: ["10.0.0.0/8"],
      description: "a",
    };
    const changes = planChanges(
      planOf("aws_security_group_rule", ["update"], values, { ...values, description: "b" }),
    );
    expect(changes.map((c) => `${c.change.kind} ${c.change.rules[0]?.description}`)).toEqual([
      "remove a",
      "add b",
    ]);
  });

  it("an unknown CIDR makes the rule unknown; the new group's address stands for its id", () => {
    const [c, ...rest] = planChanges(fixture("unknown-cidr.json"));
    expect(rest).toEqual([]);
    expect(c?.unknowns).toEqual(["cidr_blocks[0]"]);
    expect(c?.change.groupId).toBe("aws_security_group.new");
  });
});

describe("checkPlan with policy.example.json", () => {
  it("auto-denies SSH from 0.0.0.0/0: exit 2, even for the pipeline", () => {
    const r = checkPlan(fixture("ssh-from-internet.json"), { policy: POLICY, principal: PIPELINE });
    expect(r.results[0]?.decision).toMatchObject({
      action: "auto_deny",
      rule: "no-ssh-rdp-from-internet",
    });
    expect(r.exitCode).toBe(2);
  });

  it("auto-approves the terraform-ci pipeline's change: exit 0", () => {
    const r = checkPlan(fixture("create-security-group.json"), {
      policy: POLICY,
      principal: PIPELINE,
    });
    expect(r.results.map((x) => x.decision.rule)).toEqual(Array(4).fill("pipeline-auto-approve"));
    expect(r.exitCode).toBe(0);
  });

  it("needs approval for anyone else: exit 1, 0 with allowApproval", () => {
    const r = checkPlan(fixture("update-inline-rules.json"), { policy: POLICY });
    expect(r.results.map((x) => x.decision.rule)).toEqual(
      Array(3).fill("production-two-approvers"),
    );
    expect(r.exitCode).toBe(1);
    expect(
      checkPlan(fixture("update-inline-rules.json"), { policy: POLICY, allowApproval: true })
        .exitCode,
    ).toBe(0);
  });

  it("an unknown CIDR needs approval, with the reason", () => {
    const r = checkPlan(fixture("unknown-cidr.json"), { policy: POLICY, principal: PIPELINE });
    expect(r.results[0]?.decision).toMatchObject({
      action: "require_approval",
      rule: "unknown",
      approvals: 2,
    });
    expect(r.results[0]?.decision.reason).toMatch(/cidr_blocks\[0\] known only after apply/);
    expect(r.exitCode).toBe(1);
  });

  it("account and region matchers do not match when not given", () => {
    const policy = parsePolicyText(
      JSON.stringify({ rules: [{ name: "eu", match: { region: "*" }, action: "auto_approve" }] }),
    );
    const plan = fixture("ssh-from-internet.json");
    expect(checkPlan(plan, { policy }).results[0]?.decision.rule).toBe("default");
    expect(checkPlan(plan, { policy, region: "eu-west-1" }).results[0]?.decision.rule).toBe("eu");
  });

  it("a notify-mode account reports a deny without failing", () => {
    const r = checkPlan(fixture("ssh-from-internet.json"), {
      policy: POLICY,
      account: "444455556666",
    });
    expect(r.results[0]?.decision).toMatchObject({ action: "auto_deny", mode: "notify" });
    expect(r.exitCode).toBe(0);
  });
});

describe("requesterFromPrincipal", () => {
  it("keeps an assumed role's role ARN, so role globs match the session", () => {
    expect(requesterFromPrincipal(PIPELINE)).toMatchObject({
      type: "AssumedRole",
      roleArn: "arn:aws:iam::111122223333:role/terraform-ci",
      accountId: "111122223333",
    });
    expect(requesterFromPrincipal("arn:aws:iam::111122223333:role/terraform-ci")).toMatchObject({
      type: "AssumedRole",
      roleArn: "arn:aws:iam::111122223333:role/terraform-ci",
    });
    expect(requesterFromPrincipal(undefined)).toMatchObject({ arn: "unknown", type: "Unknown" });
  });
});
