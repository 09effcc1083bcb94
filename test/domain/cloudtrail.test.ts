import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Change, DescriptionEdit } from "../../src/domain/change.js";
import { isResolved } from "../../src/domain/change.js";
import {
  GroupNamedOnlyError,
  MalformedEventError,
  parseCloudTrailEvent,
  withGroupId,
} from "../../src/domain/cloudtrail.js";
import { revertPlan } from "../../src/domain/plan.js";
import {
  type Direction,
  type Peer,
  type Rule,
  type RuleBody,
  ruleKey,
} from "../../src/domain/rule.js";
import { asMultiset, directionArb, hexArb, ruleArb } from "../support/domain-arbitraries.js";
import { v4, v6 } from "../support/domain-builders.js";
import {
  authorizeEvent,
  cloudTrailEvent,
  cloudTrailRecord,
  type EventParts,
} from "../support/domain-cloudtrail.js";
import {
  cloudTrailFixtureNames,
  detailOf,
  fixtureChange,
  type Json,
  loadFixture,
} from "../support/domain-fixtures.js";

// ---- helpers ----

const pl = (prefixListId: string): Peer => ({ kind: "prefixList", prefixListId });
const sg = (groupId: string, extra: { userId?: string; vpcPeeringConnectionId?: string } = {}) =>
  ({ kind: "group", groupId, ...extra }) as Peer;

function rule(
  direction: Direction,
  protocol: string,
  fromPort: number | null,
  toPort: number | null,
  peer: Peer,
  extra: { description?: string; ruleId?: string } = {},
): Rule {
  return { direction, protocol, fromPort, toPort, peer, ...extra };
}

function body(
  protocol: string,
  fromPort: number | null,
  toPort: number | null,
  peer: Peer,
  extra: { description?: string } = {},
): RuleBody {
  return { protocol, fromPort, toPort, peer, ...extra };
}

type Core =
  | { kind: "add"; direction: Direction; groupId: string; rules: Rule[] }
  | { kind: "remove"; direction: Direction; groupId: string; rules: Rule[]; ruleIds: string[] }
  | {
      kind: "modify";
      groupId: string;
      modifications: { ruleId: string; rule: RuleBody }[];
      /** A description update, until the baseline resolves it. */
      descriptions?: DescriptionEdit[];
    };

/** The change's own content, without the event metadata and the requester. */
function core(change: Change): Json {
  const {
    eventName: _n,
    eventId: _i,
    eventTime: _t,
    account: _a,
    region: _r,
    requester: _q,
    ...rest
  } = change;
  return rest as unknown as Json;
}

/** Parses a fixture and checks the change exactly, and its metadata against the record. */
function expectFixture(name: string, expected: Core, region = "us-east-1"): Change {
  const change = fixtureChange(name);
  const detail = detailOf(loadFixture(name));
  expect(core(change)).toStrictEqual(expected);
  expect(change.eventName).toBe(detail.eventName);
  expect(change.eventId).toBe(detail.eventID);
  expect(change.eventTime).toBe(detail.eventTime);
  expect(change.account).toBe("111122223333");
  expect(change.region).toBe(region);
  return change;
}

function expectIgnored(event: unknown, reason: RegExp): void {
  const result = parseCloudTrailEvent(event);
  expect(result.ignored).toBe(true);
  if (result.ignored) expect(result.reason).toMatch(reason);
}

function expectMalformed(event: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parseCloudTrailEvent(event);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MalformedEventError);
  expect((caught as Error).message).toMatch(message);
}

const ALICE = {
  arn: "arn:aws:iam::111122223333:user/alice",
  type: "IAMUser",
  name: "alice",
};

const SG_A = "sg-0f3a9c2b7d1e4a5b6";
const SG_B = "sg-07e1d2c3b4a596870";
const SG_C = "sg-02b4c6d8e0f1a3b5c";

// ---- one test per fixture ----

const FIXTURE_TESTS: Record<string, () => void> = {
  "AuthorizeSecurityGroupEgress/empty-collections.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupEgress/empty-collections.json", {
      kind: "add",
      direction: "egress",
      groupId: "sg-03eee825d6bb78f54",
      rules: [
        rule("egress", "all", null, null, v4("0.0.0.0/0"), {
          description:
            "Allow egress to the internet. Required for now until we land ECS/ECR endpoints in the VPC",
        }),
      ],
    });
    expect(c.requester).toMatchObject({
      type: "AssumedRole",
      name: "alice@example.com",
      roleArn: "arn:aws:iam::111122223333:role/TerraformDeploy",
      roleName: "TerraformDeploy",
    });
    expect(c.requester.sso).toBeUndefined();
  },

  "AuthorizeSecurityGroupEgress/ipv4.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupEgress/ipv4.json", {
      kind: "add",
      direction: "egress",
      groupId: SG_B,
      rules: [
        rule("egress", "tcp", 443, 443, v4("0.0.0.0/0"), {
          description: "HTTPS out",
          ruleId: "sgr-0c3d4e5f6a7b8c9d0",
        }),
      ],
    });
    expect(c.requester).toMatchObject(ALICE);
  },

  "AuthorizeSecurityGroupIngress/all-protocols-legacy-console-ports.json": () => {
    // The old console wrote "-1" with 0-65535: still "all traffic", no ports.
    expectFixture(
      "AuthorizeSecurityGroupIngress/all-protocols-legacy-console-ports.json",
      {
        kind: "add",
        direction: "ingress",
        groupId: "sg-4e386e31",
        rules: [
          rule("ingress", "all", null, null, v4("0.0.0.0/0")),
          rule("ingress", "all", null, null, v6("::/0")),
        ],
      },
      "us-west-2",
    );
  },

  "AuthorizeSecurityGroupIngress/all-protocols-no-ports.json": () => {
    expectFixture("AuthorizeSecurityGroupIngress/all-protocols-no-ports.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_B,
      rules: [
        rule("ingress", "all", null, null, v4("10.0.0.0/16"), { ruleId: "sgr-035d8e6f7a8b9c0d1" }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/assumed-role-sso.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupIngress/assumed-role-sso.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_B,
      rules: [
        rule("ingress", "tcp", 3389, 3389, v4("198.51.100.0/24"), {
          ruleId: "sgr-0a9b8c7d6e5f4a3b2",
        }),
      ],
    });
    expect(c.requester).toStrictEqual({
      arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_abc123/bob@example.com",
      type: "AssumedRole",
      name: "bob@example.com",
      accountId: "111122223333",
      principalId: "AROAYEXAMPLESSOADMIN1:bob@example.com",
      roleArn:
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_abc123",
      roleName: "AWSReservedSSO_AdministratorAccess_abc123",
      sso: true,
      sourceIp: "198.51.100.61",
      userAgent:
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
    });
  },

  "AuthorizeSecurityGroupIngress/failed-call.json": () => {
    const result = parseCloudTrailEvent(
      loadFixture("AuthorizeSecurityGroupIngress/failed-call.json"),
    );
    expect(result).toMatchObject({
      ignored: true,
      eventId: "5d6e7f8a-9b0c-4d1e-82f3-a4b5c6d7e8f9",
    });
    if (result.ignored) {
      expect(result.reason).toMatch(/call failed \(Client\.InvalidPermission\.Duplicate: /);
      expect(result.reason).toMatch(/nothing changed/);
    }
  },

  "AuthorizeSecurityGroupIngress/group-reference-cross-account.json": () => {
    expectFixture("AuthorizeSecurityGroupIngress/group-reference-cross-account.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_C,
      rules: [
        rule("ingress", "tcp", 5432, 5432, sg("sg-0d9c8b7a6f5e4d3c2", { userId: "444455556666" }), {
          description: "reporting app in partner account",
          ruleId: "sgr-052f232f61106d4c4",
        }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/group-reference-vpc-peering.json": () => {
    expectFixture("AuthorizeSecurityGroupIngress/group-reference-vpc-peering.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_C,
      rules: [
        rule(
          "ingress",
          "tcp",
          5432,
          5432,
          sg("sg-0d9c8b7a6f5e4d3c2", {
            userId: "444455556666",
            vpcPeeringConnectionId: "pcx-0a1b2c3d4e5f60789",
          }),
          { ruleId: "sgr-0b1c2d3e4f5a6b7c8" },
        ),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/icmp.json": () => {
    // ICMP keeps the type (8 = echo request) and the code (-1 = all codes) as they were.
    expectFixture("AuthorizeSecurityGroupIngress/icmp.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "icmp", 8, -1, v4("192.0.2.0/24"), {
          description: "ping from monitoring",
          ruleId: "sgr-0d2e3f4a5b6c7d8e9",
        }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/invoked-by-cloudformation.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupIngress/invoked-by-cloudformation.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_C,
      rules: [
        rule("ingress", "tcp", 1521, 1521, sg(SG_B), {
          description:
            "Allows ingress to an rds instance created in another stack from the alb created in this stack.",
          ruleId: "sgr-052f232f61106d4c4",
        }),
      ],
    });
    expect(c.requester).toMatchObject({
      type: "AssumedRole",
      name: "alice@example.com",
      roleName: "InfraAdmin",
      roleArn: "arn:aws:iam::111122223333:role/InfraAdmin",
      invokedBy: "cloudformation.amazonaws.com",
      sourceIp: "AWS Internal",
    });
  },

  "AuthorizeSecurityGroupIngress/ipv4-tcp-22.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0"), { ruleId: "sgr-0c1d2e3f4a5b6c7d8" })],
    });
    expect(c.requester).toMatchObject({ ...ALICE, sourceIp: "198.51.100.24" });
    expect(c.requester.roleArn).toBeUndefined();
  },

  "AuthorizeSecurityGroupIngress/group-by-name.json": () => {
    // A default VPC's group named by name: EC2's response still names the group by id.
    expectFixture("AuthorizeSecurityGroupIngress/group-by-name.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0"), { ruleId: "sgr-0c1d2e3f4a5b6c7d8" })],
    });
  },

  "AuthorizeSecurityGroupIngress/ipv6.json": () => {
    expectFixture("AuthorizeSecurityGroupIngress/ipv6.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "tcp", 443, 443, v6("2001:db8:1234::/48"), {
          ruleId: "sgr-0a7b6c5d4e3f21098",
        }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/legacy-flat.json": () => {
    // ipPermissions is {} and the rule sits flat at the top of requestParameters.
    const event = loadFixture("AuthorizeSecurityGroupIngress/legacy-flat.json");
    expect((detailOf(event).requestParameters as Json).ipPermissions).toEqual({});
    expectFixture("AuthorizeSecurityGroupIngress/legacy-flat.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0"), { ruleId: "sgr-09b3e3d2ca1edf2a2" })],
    });
  },

  "AuthorizeSecurityGroupIngress/multi-item.json": () => {
    // Four items, one of them with an IPv4 and an IPv6 peer: one rule per peer, ids matched.
    expectFixture("AuthorizeSecurityGroupIngress/multi-item.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "tcp", 443, 443, v4("0.0.0.0/0"), { ruleId: "sgr-01a2b3c4d5e6f7a81" }),
        rule("ingress", "tcp", 443, 443, v6("::/0"), { ruleId: "sgr-01a2b3c4d5e6f7a82" }),
        rule("ingress", "tcp", 5432, 5432, sg(SG_B), { ruleId: "sgr-01a2b3c4d5e6f7a83" }),
        rule("ingress", "udp", 53, 53, v4("10.0.0.0/16"), { ruleId: "sgr-01a2b3c4d5e6f7a84" }),
        rule("ingress", "udp", 53, 53, v4("10.1.0.0/16"), {
          description: "dr region",
          ruleId: "sgr-01a2b3c4d5e6f7a85",
        }),
        rule("ingress", "tcp", 8080, 8090, pl("pl-0c2d4e6f8a0b1c3d5"), {
          ruleId: "sgr-01a2b3c4d5e6f7a86",
        }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/prefix-list.json": () => {
    expectFixture("AuthorizeSecurityGroupIngress/prefix-list.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "tcp", 443, 443, pl("pl-0c2d4e6f8a0b1c3d5"), {
          description: "corporate VPN ranges",
          ruleId: "sgr-0e4f5a6b7c8d9e0f1",
        }),
      ],
    });
  },

  "AuthorizeSecurityGroupIngress/root-console-ipv4-ipv6-one-item.json": () => {
    const c = expectFixture("AuthorizeSecurityGroupIngress/root-console-ipv4-ipv6-one-item.json", {
      kind: "add",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0")),
        rule("ingress", "tcp", 22, 22, v6("::/0")),
      ],
    });
    expect(c.requester).toMatchObject({
      arn: "arn:aws:iam::111122223333:root",
      type: "Root",
      name: "root",
    });
  },

  "AuthorizeSecurityGroupIngress/string-ports.json": () => {
    // "443" as JSON strings become the number 443.
    const c = expectFixture(
      "AuthorizeSecurityGroupIngress/string-ports.json",
      {
        kind: "add",
        direction: "ingress",
        groupId: "sg-04f0b44316f7d2471",
        rules: [rule("ingress", "tcp", 443, 443, v4("10.20.0.0/16"))],
      },
      "us-west-2",
    );
    expect(c.requester).toMatchObject({
      type: "AssumedRole",
      name: "alice",
      roleArn: "arn:aws:iam::111122223333:role/ConsoleAdmin",
      roleName: "ConsoleAdmin",
    });
  },

  "AuthorizeSecurityGroupIngress/with-description.json": () => {
    expectFixture(
      "AuthorizeSecurityGroupIngress/with-description.json",
      {
        kind: "add",
        direction: "ingress",
        groupId: SG_A,
        rules: [
          rule("ingress", "tcp", 22, 22, v4("203.0.113.10/32"), {
            description: "SSH from bastion - ticket OPS-1234",
            ruleId: "sgr-0f1e2d3c4b5a69788",
          }),
        ],
      },
      "eu-west-1",
    );
  },

  "ModifySecurityGroupRules/multi-rule.json": () => {
    // PascalCase input, an array of three rules with tags; no direction without a baseline.
    const c = expectFixture("ModifySecurityGroupRules/multi-rule.json", {
      kind: "modify",
      groupId: SG_A,
      modifications: [
        {
          ruleId: "sgr-01a2b3c4d5e6f7a81",
          rule: body("tcp", 443, 443, v4("0.0.0.0/0"), { description: "public HTTPS" }),
        },
        { ruleId: "sgr-01a2b3c4d5e6f7a83", rule: body("tcp", 5432, 5433, sg(SG_B)) },
        {
          ruleId: "sgr-01a2b3c4d5e6f7a86",
          rule: body("tcp", 8080, 8080, pl("pl-0c2d4e6f8a0b1c3d5")),
        },
      ],
    });
    expect(isResolved(c)).toBe(false);
  },

  "ModifySecurityGroupRules/single-rule.json": () => {
    // A single rule arrives as one object, not an array.
    expectFixture("ModifySecurityGroupRules/single-rule.json", {
      kind: "modify",
      groupId: SG_A,
      modifications: [
        {
          ruleId: "sgr-0c1d2e3f4a5b6c7d8",
          rule: body("tcp", 22, 22, v4("0.0.0.0/0"), { description: "temporary SSH" }),
        },
      ],
    });
  },

  "RevokeSecurityGroupEgress/by-permissions.json": () => {
    // The id comes from revokedSecurityGroupRuleSet, whose -1/-1 ports still mean "no ports".
    expectFixture("RevokeSecurityGroupEgress/by-permissions.json", {
      kind: "remove",
      direction: "egress",
      groupId: SG_C,
      rules: [
        rule("egress", "all", null, null, v4("0.0.0.0/0"), { ruleId: "sgr-0e9d8c7b6a5f4e3d2" }),
      ],
      ruleIds: [],
    });
  },

  "RevokeSecurityGroupEgress/by-rule-ids.json": () => {
    const c = expectFixture("RevokeSecurityGroupEgress/by-rule-ids.json", {
      kind: "remove",
      direction: "egress",
      groupId: SG_B,
      rules: [
        rule("egress", "tcp", 443, 443, v4("0.0.0.0/0"), {
          description: "HTTPS out",
          ruleId: "sgr-0c3d4e5f6a7b8c9d0",
        }),
      ],
      ruleIds: ["sgr-0c3d4e5f6a7b8c9d0"],
    });
    expect(isResolved(c)).toBe(true);
  },

  "RevokeSecurityGroupIngress/by-permissions.json": () => {
    const c = expectFixture("RevokeSecurityGroupIngress/by-permissions.json", {
      kind: "remove",
      direction: "ingress",
      groupId: SG_A,
      rules: [rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0"), { ruleId: "sgr-0c1d2e3f4a5b6c7d8" })],
      ruleIds: [],
    });
    expect(c.requester).toMatchObject({
      type: "AssumedRole",
      name: "sg-guard-revoke-open-ssh",
      roleName: "sg-guard-lambda-role",
    });
  },

  "RevokeSecurityGroupIngress/group-by-name.json": () => {
    // Named by name, and no rule set in the response: the caller must look the id up.
    const event = loadFixture("RevokeSecurityGroupIngress/group-by-name.json");
    let thrown: unknown;
    try {
      parseCloudTrailEvent(event);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GroupNamedOnlyError);
    expect(thrown).toBeInstanceOf(MalformedEventError);
    expect(thrown).toMatchObject({
      groupName: "default",
      eventName: "RevokeSecurityGroupIngress",
      message: expect.stringMatching(/only by name \("default"\)/),
    });
    const found = parseCloudTrailEvent(withGroupId(event, SG_B));
    expect(found).toMatchObject({
      ignored: false,
      change: {
        kind: "remove",
        groupId: SG_B,
        rules: [rule("ingress", "tcp", 22, 22, v4("0.0.0.0/0"))],
        ruleIds: [],
      },
    });
    // withGroupId works on a bare record too, and leaves the input as it was.
    expect(parseCloudTrailEvent(withGroupId(detailOf(event), SG_B))).toStrictEqual(found);
    expect(detailOf(event).requestParameters).not.toHaveProperty("groupId");
  },

  "RevokeSecurityGroupIngress/by-rule-ids.json": () => {
    // Ids in the request, rules (with their descriptions) from the revoked set, in request order.
    expectFixture("RevokeSecurityGroupIngress/by-rule-ids.json", {
      kind: "remove",
      direction: "ingress",
      groupId: SG_A,
      rules: [
        rule("ingress", "tcp", 443, 443, v6("2001:db8:1234::/48"), {
          ruleId: "sgr-0a7b6c5d4e3f21098",
        }),
        rule("ingress", "tcp", 22, 22, v4("203.0.113.10/32"), {
          description: "SSH from bastion - ticket OPS-1234",
          ruleId: "sgr-0f1e2d3c4b5a69788",
        }),
      ],
      ruleIds: ["sgr-0a7b6c5d4e3f21098", "sgr-0f1e2d3c4b5a69788"],
    });
  },

  "RevokeSecurityGroupIngress/failed-not-found.json": () => {
    const result = parseCloudTrailEvent(
      loadFixture("RevokeSecurityGroupIngress/failed-not-found.json"),
    );
    expect(result).toMatchObject({
      ignored: true,
      eventId: "f5a6b7c8-d9e0-4f1a-b2c3-d4e5f6a7b8c9",
    });
    if (result.ignored) {
      expect(result.reason).toMatch(/Client\.InvalidPermission\.NotFound/);
      expect(result.reason).toMatch(/does not exist/);
    }
  },

  "UpdateSecurityGroupRuleDescriptionsEgress/by-permissions.json": () => {
    // Named by content; no description: the call clears it.
    expectFixture("UpdateSecurityGroupRuleDescriptionsEgress/by-permissions.json", {
      kind: "modify",
      groupId: SG_B,
      modifications: [],
      descriptions: [{ rule: rule("egress", "tcp", 443, 443, v4("0.0.0.0/0")) }],
    });
  },

  "UpdateSecurityGroupRuleDescriptionsEgress/by-rule-ids.json": () => {
    const c = expectFixture("UpdateSecurityGroupRuleDescriptionsEgress/by-rule-ids.json", {
      kind: "modify",
      groupId: SG_B,
      modifications: [],
      descriptions: [
        {
          direction: "egress",
          ruleId: "sgr-0c3d4e5f6a7b8c9d0",
          description: "HTTPS out to the package mirror - OPS-2240",
        },
      ],
    });
    expect(isResolved(c)).toBe(false);
  },

  "UpdateSecurityGroupRuleDescriptionsIngress/by-permissions.json": () => {
    expectFixture("UpdateSecurityGroupRuleDescriptionsIngress/by-permissions.json", {
      kind: "modify",
      groupId: SG_A,
      modifications: [],
      descriptions: [
        {
          rule: rule("ingress", "tcp", 443, 443, v4("10.20.0.0/16"), {
            description: "HTTPS from the office VPN - OPS-2210",
          }),
        },
      ],
    });
  },

  "UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json": () => {
    // The second item has no description: it clears the rule's.
    expectFixture("UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json", {
      kind: "modify",
      groupId: SG_A,
      modifications: [],
      descriptions: [
        {
          direction: "ingress",
          ruleId: "sgr-0a1b2c3d4e5f60718",
          description: "reporting DB replica - OPS-2231",
        },
        { direction: "ingress", ruleId: "sgr-0b2c3d4e5f6071829" },
      ],
    });
  },

  "other/CreateSecurityGroup.json": () => {
    expectIgnored(
      loadFixture("other/CreateSecurityGroup.json"),
      /^CreateSecurityGroup does not change security group rules$/,
    );
  },

  "other/DescribeSecurityGroups.json": () => {
    expectIgnored(loadFixture("other/DescribeSecurityGroups.json"), /DescribeSecurityGroups/);
  },

  "other/iam-CreateAccessKey.json": () => {
    expectIgnored(
      loadFixture("other/iam-CreateAccessKey.json"),
      /source is "aws\.iam", not aws\.ec2/,
    );
  },
};

describe("parseCloudTrailEvent on every fixture", () => {
  it("has a test for every fixture file and a file for every test", () => {
    expect(Object.keys(FIXTURE_TESTS).sort()).toEqual(cloudTrailFixtureNames());
  });

  for (const [name, test] of Object.entries(FIXTURE_TESTS)) it(name, test);

  it.each(cloudTrailFixtureNames())("%s parses the same as a bare CloudTrail record", (name) => {
    const event = loadFixture(name);
    const parse = (e: unknown) => {
      try {
        return parseCloudTrailEvent(e);
      } catch (err) {
        return err instanceof GroupNamedOnlyError ? err.message : err;
      }
    };
    const enveloped = parse(event);
    const bare = parse(detailOf(event));
    if (name === "other/iam-CreateAccessKey.json") {
      // Without the envelope the source is the record's own eventSource.
      expect(bare).toMatchObject({
        ignored: true,
        reason: expect.stringMatching(/iam\.amazonaws/),
      });
      return;
    }
    expect(bare).toStrictEqual(enveloped);
  });
});

// ---- shapes the fixtures do not cover ----

const addTcp22 = (extra: Json = {}): EventParts => ({
  eventName: "AuthorizeSecurityGroupIngress",
  requestParameters: {
    groupId: SG_A,
    ipPermissions: {
      items: [
        {
          ipProtocol: "tcp",
          fromPort: 22,
          toPort: 22,
          groups: {},
          ipRanges: { items: [{ cidrIp: "10.0.0.0/8" }] },
          ipv6Ranges: {},
          prefixListIds: {},
          ...extra,
        },
      ],
    },
  },
});

function parsedRules(event: unknown): Rule[] {
  const result = parseCloudTrailEvent(event);
  if (result.ignored) throw new Error(`ignored: ${result.reason}`);
  if (
    result.change.kind === "modify" ||
    result.change.kind === "drift" ||
    result.change.kind === "prefixList"
  )
    throw new Error(`a ${result.change.kind}`);
  return result.change.rules;
}

describe("parseCloudTrailEvent shapes", () => {
  it("takes collections as {items}, a plain array, a single object or absent", () => {
    const asArray = parsedRules(
      cloudTrailEvent(addTcp22({ ipRanges: [{ cidrIp: "10.0.0.0/8" }] })),
    );
    const single = parsedRules(cloudTrailEvent(addTcp22({ ipRanges: { cidrIp: "10.0.0.0/8" } })));
    const absent = parsedRules(
      cloudTrailEvent(
        addTcp22({ groups: undefined, ipv6Ranges: undefined, prefixListIds: undefined }),
      ),
    );
    const expected = [rule("ingress", "tcp", 22, 22, v4("10.0.0.0/8"))];
    expect(asArray).toStrictEqual(expected);
    expect(single).toStrictEqual(expected);
    expect(absent).toStrictEqual(expected);
  });

  it("reads protocol numbers and upper-case names", () => {
    const numeric = parsedRules(cloudTrailEvent(addTcp22({ ipProtocol: "6" })));
    const upper = parsedRules(cloudTrailEvent(addTcp22({ ipProtocol: "TCP" })));
    const asNumber = parsedRules(cloudTrailEvent(addTcp22({ ipProtocol: 6 })));
    for (const r of [numeric, upper, asNumber]) expect(r[0]?.protocol).toBe("tcp");
  });

  it("keeps ICMP 'all types' (-1/-1) and string ICMP ports", () => {
    const all = parsedRules(
      cloudTrailEvent(addTcp22({ ipProtocol: "icmp", fromPort: -1, toPort: -1 })),
    );
    expect(all[0]).toMatchObject({ protocol: "icmp", fromPort: -1, toPort: -1 });
    const strings = parsedRules(
      cloudTrailEvent(addTcp22({ ipProtocol: "58", fromPort: "128", toPort: "-1" })),
    );
    expect(strings[0]).toMatchObject({ protocol: "icmpv6", fromPort: 128, toPort: -1 });
  });

  it("reads the legacy flat form with string ports and no ipPermissions at all", () => {
    const rules = parsedRules(
      cloudTrailEvent({
        eventName: "AuthorizeSecurityGroupEgress",
        requestParameters: {
          groupId: SG_A,
          ipProtocol: "udp",
          fromPort: "53",
          toPort: "53",
          cidrIp: "10.0.0.2/32",
        },
      }),
    );
    expect(rules).toStrictEqual([rule("egress", "udp", 53, 53, v4("10.0.0.2/32"))]);
  });

  it("refuses the flat form naming a source group by name only", () => {
    expectMalformed(
      cloudTrailEvent({
        eventName: "AuthorizeSecurityGroupIngress",
        requestParameters: {
          groupId: SG_A,
          ipPermissions: {},
          ipProtocol: "tcp",
          sourceSecurityGroupName: "web",
        },
      }),
      /only cidrIp/,
    );
  });

  it("attaches rule ids only to the rules the response names", () => {
    const event = cloudTrailEvent({
      ...addTcp22({
        ipRanges: { items: [{ cidrIp: "10.0.0.0/8" }, { cidrIp: "10.1.0.0/16" }] },
      }),
      responseElements: {
        _return: true,
        securityGroupRuleSet: {
          items: [
            {
              securityGroupRuleId: "sgr-0000000000000000b",
              isEgress: false,
              ipProtocol: "tcp",
              fromPort: 22,
              toPort: 22,
              cidrIpv4: "10.1.0.0/16",
            },
          ],
        },
      },
    });
    expect(parsedRules(event)).toStrictEqual([
      rule("ingress", "tcp", 22, 22, v4("10.0.0.0/8")),
      rule("ingress", "tcp", 22, 22, v4("10.1.0.0/16"), { ruleId: "sgr-0000000000000000b" }),
    ]);
  });

  it("leaves a revoke by rule id unresolved when the response does not name every rule", () => {
    const event = loadFixture("RevokeSecurityGroupIngress/by-rule-ids.json");
    const response = detailOf(event).responseElements as Json;
    (response.revokedSecurityGroupRuleSet as { items: unknown[] }).items.pop();
    const result = parseCloudTrailEvent(event);
    if (result.ignored) throw new Error("ignored");
    expect(result.change).toMatchObject({
      kind: "remove",
      rules: [],
      ruleIds: ["sgr-0a7b6c5d4e3f21098", "sgr-0f1e2d3c4b5a69788"],
    });
    expect(isResolved(result.change)).toBe(false);

    delete response.revokedSecurityGroupRuleSet;
    const bare = parseCloudTrailEvent(event);
    expect(bare).toMatchObject({
      ignored: false,
      change: { rules: [], ruleIds: expect.any(Array) },
    });
  });

  it("accepts securityGroupRuleIds as plain strings", () => {
    const result = parseCloudTrailEvent(
      cloudTrailEvent({
        eventName: "RevokeSecurityGroupIngress",
        requestParameters: { groupId: SG_A, securityGroupRuleIds: ["sgr-0aaaaaaaaaaaaaaaa"] },
      }),
    );
    expect(result).toMatchObject({
      ignored: false,
      change: { kind: "remove", ruleIds: ["sgr-0aaaaaaaaaaaaaaaa"], rules: [] },
    });
  });

  it("drops rules the response lists as unknown, and ignores a revoke that matched nothing", () => {
    const two = addTcp22({
      ipRanges: { items: [{ cidrIp: "10.0.0.0/8" }, { cidrIp: "10.1.0.0/16" }] },
    });
    const unknownOne = {
      items: [
        {
          ipProtocol: "tcp",
          fromPort: 22,
          toPort: 22,
          groups: {},
          ipRanges: { items: [{ cidrIp: "10.1.0.0/16" }] },
          ipv6Ranges: {},
          prefixListIds: {},
        },
      ],
    };
    const partly = cloudTrailEvent({
      ...two,
      eventName: "RevokeSecurityGroupIngress",
      responseElements: { _return: true, unknownIpPermissionSet: unknownOne },
    });
    expect(parsedRules(partly)).toStrictEqual([rule("ingress", "tcp", 22, 22, v4("10.0.0.0/8"))]);

    const nothing = cloudTrailEvent({
      ...addTcp22({ ipRanges: { items: [{ cidrIp: "10.1.0.0/16" }] } }),
      eventName: "RevokeSecurityGroupIngress",
      responseElements: { _return: true, unknownIpPermissionSet: unknownOne },
    });
    expectIgnored(nothing, /matched no existing rule/);
  });

  it("a revoke by permissions takes each rule's description from the revoked set", () => {
    // The caller need not send descriptions to revoke; EC2 reports what it removed. Without the
    // description the revert would re-create the rule without it.
    const event = loadFixture("RevokeSecurityGroupEgress/by-permissions.json");
    const response = detailOf(event).responseElements as Json;
    const revoked = (response.revokedSecurityGroupRuleSet as { items: Json[] }).items;
    (revoked[0] as Json).description = "all traffic out";
    const result = parseCloudTrailEvent(event);
    if (result.ignored || result.change.kind !== "remove") throw new Error("not a remove");
    expect(result.change.rules).toStrictEqual([
      rule("egress", "all", null, null, v4("0.0.0.0/0"), {
        description: "all traffic out",
        ruleId: "sgr-0e9d8c7b6a5f4e3d2",
      }),
    ]);
    const [op] = revertPlan(result.change);
    expect(op).toMatchObject({
      action: "authorize",
      ipPermissions: [
        { IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "all traffic out" }] },
      ],
    });
  });

  it("reads a group reference from a revoked rule's referencedGroupId", () => {
    const result = parseCloudTrailEvent(
      cloudTrailEvent({
        eventName: "RevokeSecurityGroupIngress",
        requestParameters: {
          groupId: SG_A,
          securityGroupRuleIds: { items: [{ securityGroupRuleId: "sgr-0bbbbbbbbbbbbbbbb" }] },
        },
        responseElements: {
          _return: true,
          revokedSecurityGroupRuleSet: {
            items: [
              {
                securityGroupRuleId: "sgr-0bbbbbbbbbbbbbbbb",
                groupId: SG_A,
                isEgress: false,
                ipProtocol: "tcp",
                fromPort: 5432,
                toPort: 5432,
                referencedGroupId: SG_B,
              },
            ],
          },
        },
      }),
    );
    expect(result).toMatchObject({
      ignored: false,
      change: {
        rules: [rule("ingress", "tcp", 5432, 5432, sg(SG_B), { ruleId: "sgr-0bbbbbbbbbbbbbbbb" })],
      },
    });
  });

  it("falls back to the envelope for the event id, account, region and time", () => {
    const event = cloudTrailEvent({
      ...addTcp22(),
      detail: {
        eventID: undefined,
        recipientAccountId: undefined,
        awsRegion: undefined,
        eventTime: undefined,
      },
      envelope: { account: "444455556666", region: "eu-west-1", time: "2025-01-01T00:00:00Z" },
    });
    const result = parseCloudTrailEvent(event);
    expect(result).toMatchObject({
      ignored: false,
      change: {
        eventId: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        account: "444455556666",
        region: "eu-west-1",
        eventTime: "2025-01-01T00:00:00Z",
      },
    });
  });
});

describe("the requester of a parsed change", () => {
  const requesterOf = (userIdentity: Json, detail: Json = {}) => {
    const result = parseCloudTrailEvent(
      cloudTrailEvent({ ...addTcp22(), detail: { userIdentity, ...detail } }),
    );
    if (result.ignored) throw new Error("ignored");
    return result.change.requester;
  };

  it("a federated user is named by the last part of the ARN", () => {
    expect(
      requesterOf({
        type: "FederatedUser",
        arn: "arn:aws:sts::111122223333:federated-user/carol",
        principalId: "111122223333:carol",
      }),
    ).toMatchObject({ type: "FederatedUser", name: "carol" });
  });

  it("an AWS service is named by the service that invoked the call", () => {
    expect(
      requesterOf({ type: "AWSService", invokedBy: "cloudformation.amazonaws.com" }),
    ).toStrictEqual({
      arn: "cloudformation.amazonaws.com",
      type: "AWSService",
      name: "cloudformation.amazonaws.com",
      invokedBy: "cloudformation.amazonaws.com",
      sourceIp: "203.0.113.45",
      userAgent: "aws-cli/2.15.30",
    });
  });

  it("an identity type CloudTrail did not describe is Unknown, still governed", () => {
    const r = requesterOf({ type: "SAMLUser", userName: "dave" });
    expect(r).toMatchObject({ type: "Unknown", name: "dave", arn: "unknown" });
    expect(requesterOf({}).type).toBe("Unknown");
  });

  it("an SSO session under a regional role path is still SSO, named by its email", () => {
    const r = requesterOf({
      type: "AssumedRole",
      arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_0123/erin@example.com",
      principalId: "AROAEXAMPLE:erin@example.com",
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          arn: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnly_0123",
          userName: "AWSReservedSSO_ReadOnly_0123",
        },
      },
    });
    expect(r).toMatchObject({
      type: "AssumedRole",
      name: "erin@example.com",
      roleName: "AWSReservedSSO_ReadOnly_0123",
      sso: true,
    });
  });
});

describe("parseCloudTrailEvent ignores what it must not act on", () => {
  it("a failed call (errorCode), even when it looks complete", () => {
    expectIgnored(
      cloudTrailEvent({ ...addTcp22(), detail: { errorCode: "Client.UnauthorizedOperation" } }),
      /call failed \(Client\.UnauthorizedOperation\)/,
    );
  });

  it("a governed event recorded as read-only", () => {
    expectIgnored(cloudTrailEvent({ ...addTcp22(), detail: { readOnly: true } }), /read-only/);
  });

  it("Describe calls and CreateSecurityGroup", () => {
    expectIgnored(
      loadFixture("other/DescribeSecurityGroups.json"),
      /^DescribeSecurityGroups does not change security group rules$/,
    );
    expectIgnored(
      cloudTrailEvent({ eventName: "CreateSecurityGroup", requestParameters: { groupName: "x" } }),
      /CreateSecurityGroup does not change/,
    );
  });

  it("a non-EC2 source or eventSource", () => {
    expectIgnored(cloudTrailEvent({ ...addTcp22(), envelope: { source: "aws.s3" } }), /aws\.s3/);
    expectIgnored(
      cloudTrailEvent({ ...addTcp22(), detail: { eventSource: "s3.amazonaws.com" } }),
      /eventSource is s3\.amazonaws\.com/,
    );
  });

  it("another detail-type", () => {
    expectIgnored(
      cloudTrailEvent({ ...addTcp22(), envelope: { "detail-type": "EC2 Instance State-change" } }),
      /detail-type is "EC2 Instance State-change"/,
    );
  });

  it("keeps the event id on an ignored governed event", () => {
    const result = parseCloudTrailEvent(
      cloudTrailEvent({ ...addTcp22(), detail: { errorCode: "Client.X" } }),
    );
    expect(result).toMatchObject({ eventId: "9b0c1d2e-3f4a-4b5c-86d7-e8f9a0b1c2d3" });
  });
});

describe("parseCloudTrailEvent refuses malformed input with MalformedEventError", () => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object (a string)", "hello", /not a JSON object/],
    ["not an object (null)", null, /not a JSON object/],
    ["not an object (an array)", [cloudTrailEvent(addTcp22())], /not a JSON object/],
    ["no detail and not a record", { foo: 1 }, /neither an EventBridge detail nor a CloudTrail/],
    [
      "missing eventName",
      cloudTrailEvent({ ...addTcp22(), detail: { eventName: undefined } }),
      /eventName is missing/,
    ],
    [
      "missing eventID on a governed event (bare record)",
      cloudTrailRecord({ ...addTcp22(), detail: { eventID: undefined } }),
      /eventID is missing/,
    ],
    [
      "missing eventID on a governed event (no envelope id either)",
      cloudTrailEvent({
        ...addTcp22(),
        detail: { eventID: undefined },
        envelope: { id: undefined },
      }),
      /eventID is missing/,
    ],
    [
      "bad eventTime",
      cloudTrailEvent({ ...addTcp22(), detail: { eventTime: "yesterday" } }),
      /eventTime is missing or not a time/,
    ],
    [
      "no requestParameters",
      cloudTrailEvent({ ...addTcp22(), detail: { requestParameters: null } }),
      /has no requestParameters/,
    ],
    [
      "ipPermissions item without ipProtocol",
      cloudTrailEvent(addTcp22({ ipProtocol: undefined })),
      /ipPermissions\[0\]\.ipProtocol is missing/,
    ],
    [
      "a collection that is a number",
      cloudTrailEvent(addTcp22({ ipRanges: 5 })),
      /ipRanges is neither a list nor \{items/,
    ],
    [
      "a collection item that is not an object",
      cloudTrailEvent(addTcp22({ ipRanges: { items: ["10.0.0.0/8"] } })),
      /ipRanges\[0\] is not an object/,
    ],
    [
      "port 70000",
      cloudTrailEvent(addTcp22({ fromPort: 70000, toPort: 70000 })),
      /fromPort 70000 is out of range/,
    ],
    [
      "a port that is not a number",
      cloudTrailEvent(addTcp22({ fromPort: "ssh" })),
      /fromPort is not a whole number/,
    ],
    [
      "fromPort > toPort",
      cloudTrailEvent(addTcp22({ fromPort: 100, toPort: 22 })),
      /AuthorizeSecurityGroupIngress: fromPort 100 is greater than toPort 22/,
    ],
    [
      "a protocol number above 255",
      cloudTrailEvent(addTcp22({ ipProtocol: "256" })),
      /protocol number 256 is out of range/,
    ],
    [
      "a group named only by name, and no id in the response",
      cloudTrailEvent({
        eventName: "AuthorizeSecurityGroupIngress",
        requestParameters: { groupName: "web", ipPermissions: {} },
      }),
      /named its group only by name \("web"\)/,
    ],
    [
      "neither a group id nor a name",
      cloudTrailEvent({
        eventName: "RevokeSecurityGroupIngress",
        requestParameters: { ipPermissions: {} },
      }),
      /has no requestParameters\.groupId or groupName/,
    ],
    [
      "an authorize naming no rule",
      cloudTrailEvent({
        eventName: "AuthorizeSecurityGroupIngress",
        requestParameters: { groupId: SG_A, ipPermissions: {} },
      }),
      /names no rule/,
    ],
    [
      "ModifySecurityGroupRules without its request",
      cloudTrailEvent({ eventName: "ModifySecurityGroupRules", requestParameters: {} }),
      /ModifySecurityGroupRulesRequest is missing/,
    ],
    [
      "ModifySecurityGroupRules without GroupId",
      cloudTrailEvent({
        eventName: "ModifySecurityGroupRules",
        requestParameters: {
          ModifySecurityGroupRulesRequest: {
            SecurityGroupRule: {
              SecurityGroupRuleId: "sgr-0c1d2e3f4a5b6c7d8",
              SecurityGroupRule: { IpProtocol: "tcp", FromPort: 22, ToPort: 22, CidrIpv4: "0/0" },
            },
          },
        },
      }),
      /ModifySecurityGroupRulesRequest\.GroupId is missing/,
    ],
    [
      "modify rule with two peers",
      cloudTrailEvent({
        eventName: "ModifySecurityGroupRules",
        requestParameters: {
          ModifySecurityGroupRulesRequest: {
            GroupId: SG_A,
            SecurityGroupRule: {
              SecurityGroupRuleId: "sgr-0c1d2e3f4a5b6c7d8",
              SecurityGroupRule: {
                IpProtocol: "tcp",
                FromPort: 22,
                ToPort: 22,
                CidrIpv4: "10.0.0.0/8",
                PrefixListId: "pl-0c2d4e6f8a0b1c3d5",
              },
            },
          },
        },
      }),
      /ModifySecurityGroupRules: a security group rule needs exactly one peer, found 2/,
    ],
    [
      "modify entry without a rule id",
      cloudTrailEvent({
        eventName: "ModifySecurityGroupRules",
        requestParameters: {
          ModifySecurityGroupRulesRequest: {
            GroupId: SG_A,
            SecurityGroupRule: { SecurityGroupRule: { IpProtocol: "tcp", CidrIpv4: "0.0.0.0/0" } },
          },
        },
      }),
      /SecurityGroupRule\[0\] needs SecurityGroupRuleId/,
    ],
    [
      "a rule id entry without an id",
      cloudTrailEvent({
        eventName: "RevokeSecurityGroupEgress",
        requestParameters: { groupId: SG_A, securityGroupRuleIds: { items: [{}] } },
      }),
      /securityGroupRuleIds\[0\] has no rule id/,
    ],
  ];

  it.each(cases)("%s", (_what, event, message) => expectMalformed(event, message));

  it("names the problem in one line, no stack in the message", () => {
    for (const [, event] of cases) {
      try {
        parseCloudTrailEvent(event);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/\n/);
        expect((err as Error).name).toBe("MalformedEventError");
      }
    }
  });
});

// ---- property: a built CloudTrail Authorize event parses back into its rules ----

describe("property: parse(build(rules)) gives the rules back", () => {
  it("for arbitrary rules, spellings, groupings, string ports and rule ids", () => {
    fc.assert(
      fc.property(
        directionArb.chain((direction) =>
          fc.record({
            direction: fc.constant(direction),
            rules: fc.uniqueArray(ruleArb(direction), {
              minLength: 1,
              maxLength: 8,
              selector: ruleKey,
            }),
            spelling: fc.nat({ max: 5 }),
            stringPorts: fc.boolean(),
            onePerRule: fc.boolean(),
            legacyAllPorts: fc.boolean(),
            withIds: fc.boolean(),
            idSeed: hexArb(6),
          }),
        ),
        ({ direction, rules, withIds, idSeed, ...o }) => {
          const ruleIds = rules.map((_, i) => `sgr-${idSeed}${String(i).padStart(11, "0")}`);
          const event = authorizeEvent(rules, {
            direction,
            groupId: SG_A,
            ...o,
            ...(withIds ? { ruleIds } : {}),
          });
          // Round-trip through JSON: what EventBridge delivers is text.
          const result = parseCloudTrailEvent(JSON.parse(JSON.stringify(event)));
          if (result.ignored || result.change.kind !== "add") throw new Error("not an add");
          expect(result.change.direction).toBe(direction);
          expect(result.change.groupId).toBe(SG_A);
          const expected = withIds ? rules.map((r, i) => ({ ...r, ruleId: ruleIds[i] })) : rules;
          expect(asMultiset(result.change.rules)).toEqual(asMultiset(expected));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("strict input: what AWS would never send is refused, naming the field", () => {
  const withParams = (requestParameters: Json, extra: Partial<EventParts> = {}): EventParts => ({
    eventName: "AuthorizeSecurityGroupIngress",
    requestParameters,
    ...extra,
  });
  const perm = (range: Json) => ({
    ipPermissions: {
      items: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: { items: [range] } }],
    },
  });

  it.each([
    [
      "a group id with a shell command",
      withParams({ groupId: "sg-1; rm -rf /", ...perm({ cidrIp: "10.0.0.0/8" }) }),
      /groupId is "sg-1; rm -rf \/"/,
    ],
    [
      "a prefix longer than /32",
      withParams({ groupId: SG_A, ...perm({ cidrIp: "0.0.0.0/33" }) }),
      /rules\[0\]\.cidrIp is "0\.0\.0\.0\/33": not an IPv4 CIDR/,
    ],
    [
      "an octet over 255",
      withParams({ groupId: SG_A, ...perm({ cidrIp: "300.1.2.3/32" }) }),
      /cidrIp is "300\.1\.2\.3\/32"/,
    ],
    [
      "an account that is not 12 digits",
      withParams(
        { groupId: SG_A, ...perm({ cidrIp: "10.0.0.0/8" }) },
        { detail: { recipientAccountId: "abc" } },
      ),
      /recipientAccountId is "abc"/,
    ],
    [
      "a region that is a path",
      withParams(
        { groupId: SG_A, ...perm({ cidrIp: "10.0.0.0/8" }) },
        { detail: { awsRegion: "../../etc" } },
      ),
      /awsRegion is "\.\.\/\.\.\/etc"/,
    ],
  ])("%s", (_what, parts, message) => {
    expectMalformed(cloudTrailEvent(parts), message);
  });

  it("a revoke by a rule id that is not one", () => {
    expectMalformed(
      cloudTrailEvent({
        eventName: "RevokeSecurityGroupIngress",
        requestParameters: {
          groupId: SG_A,
          securityGroupRuleIds: { items: [{ securityGroupRuleId: "sgr-'; DROP" }] },
        },
      }),
      /securityGroupRuleIds\[0\] is "sgr-'; DROP"/,
    );
  });

  it("unprintable characters in a refused value are not echoed", () => {
    expectMalformed(
      cloudTrailEvent(
        withParams({ groupId: "sg-\u0007\u001b[31m", ...perm({ cidrIp: "10.0.0.0/8" }) }),
      ),
      /groupId is "sg-\?\?\[31m"/,
    );
  });
});
