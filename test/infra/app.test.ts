import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { memberTargets } from "../../infra/config.js";
import { BUNDLING } from "../../infra/handler.js";
import { SECRET_PLACEHOLDER } from "../../infra/hub.js";
import { REVERT_MEMORY_MB } from "../../infra/memory.js";
import { BUSES, busArn, roleArn, roleName, SLACK_SECRET_NAMES, TOPICS } from "../../infra/names.js";
import { BASELINES_TABLE, REQUESTS_TABLE } from "../../src/adapters/dynamodb/tables.js";
import { HUB_DETAIL_TYPES, MEMBER_EVENT_SOURCE } from "../../src/adapters/events/hub-link.js";
import {
  GOVERNED_EVENT_NAMES,
  GOVERNED_EVENT_PATTERN,
  matchesGovernedPattern,
} from "../../src/domain/cloudtrail.js";
import { hubConfigSchema, memberConfigSchema } from "../../src/handlers/config.js";
import {
  acknowledgements,
  type CfnResource,
  HUB,
  type Json,
  list,
  MEMBER_A,
  MEMBER_B,
  MULTI,
  policyOf,
  principalAccounts,
  resources,
  SINGLE,
  type Statement,
  type Synthesized,
  statements,
  synth,
} from "./synth.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "cloudtrail");
const ORGANIZATION = "o-a1b2c3d4e5";

/** The subset of EventBridge pattern matching this app uses: literal lists and {exists: false}. */
function matches(pattern: Json, event: Json): boolean {
  if (pattern === null || typeof pattern !== "object" || Array.isArray(pattern)) return false;
  return Object.entries(pattern).every(([key, want]) => {
    const got =
      event !== null && typeof event === "object" && !Array.isArray(event) ? event[key] : undefined;
    if (Array.isArray(want)) {
      return want.some((w) => {
        if (w !== null && typeof w === "object" && !Array.isArray(w) && "exists" in w) {
          return (got !== undefined) === w.exists;
        }
        return got === w;
      });
    }
    return got !== undefined && matches(want, got);
  });
}

function fixtureFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? fixtureFiles(path) : name.endsWith(".json") ? [path] : [];
  });
}

/** Our Lambda functions (the trigger's provider function is CDK's, not ours). */
function ourFunctions(s: Synthesized, stack: Stack): [string, CfnResource][] {
  return resources(s.template(stack), "AWS::Lambda::Function").filter(
    ([, r]) => r.Properties?.Handler === "index.handler",
  );
}

function allStatements(s: Synthesized, stack: Stack): Statement[] {
  return resources(s.template(stack), "AWS::IAM::Policy").flatMap(([, r]) => statements(r));
}

function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

const props = (r: CfnResource): Record<string, Json> => r.Properties ?? {};
const text = (x: Json | undefined) => (typeof x === "string" ? x : JSON.stringify(x));

/** Environment values CloudFormation resolves at deploy time, as plausible strings. */
function resolvedEnvironment(fn: CfnResource): Record<string, string> {
  const vars = (props(fn).Environment as { Variables: Record<string, Json> }).Variables;
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [
      k,
      typeof v === "string"
        ? v
        : k.endsWith("TOPIC_ARN")
          ? "arn:aws:sns:us-east-1:111111111111:resolved"
          : "resolved-at-deploy",
    ]),
  );
}

/** The event bus policy of a stack's bus named `name`. */
function busPolicy(s: Synthesized, stack: Stack, name: string): Statement[] {
  const bus = resources(s.template(stack), "AWS::Events::EventBus").find(
    ([, r]) => r.Properties?.Name === name,
  );
  if (!bus) throw new Error(`no bus ${name} in ${stack.stackName}`);
  // The whole policy lives on the bus: no separate EventBusPolicy resource may widen it.
  expect(resources(s.template(stack), "AWS::Events::EventBusPolicy")).toEqual([]);
  return statements(bus[1], "Policy");
}

/** Logical ids of the IAM policies (by function prefix) whose statements allow `action` on `resource`. */
function policiesAllowing(
  t: ReturnType<Synthesized["template"]>,
  action: string,
  resource: string,
) {
  return resources(t, "AWS::IAM::Policy")
    .filter(([, r]) =>
      statements(r).some(
        (st) =>
          st.Effect === "Allow" &&
          list(st.Action).includes(action) &&
          text(st.Resource as Json).includes(resource),
      ),
    )
    .map(([id]) => id.replace(/RoleDefaultPolicy.*$/, ""));
}

describe("multi-account app (hub + 2 member accounts x 2 regions)", () => {
  let s: Synthesized;
  let hub: Stack;
  let members: Stack[];
  beforeAll(() => {
    s = synth(MULTI);
    hub = s.hub;
    members = s.members;
  });

  it("has one hub stack and one member stack per account and region, each with its env", () => {
    expect(hub.stackName).toBe("SecgroupApproval-Hub");
    expect([hub.account, hub.region]).toEqual([HUB, "us-east-1"]);
    expect(s.hub.member).toBeUndefined();
    expect(members.map((m) => [m.stackName, m.account, m.region])).toEqual([
      [`SecgroupApproval-Member-${MEMBER_A}-us-east-1`, MEMBER_A, "us-east-1"],
      [`SecgroupApproval-Member-${MEMBER_A}-eu-west-1`, MEMBER_A, "eu-west-1"],
      [`SecgroupApproval-Member-${MEMBER_B}-us-east-1`, MEMBER_B, "us-east-1"],
      [`SecgroupApproval-Member-${MEMBER_B}-ap-southeast-2`, MEMBER_B, "ap-southeast-2"],
    ]);
    // No cross-stack references: each stack deploys alone with its own account's credentials.
    for (const stack of [hub, ...members]) expect(stack.dependencies).toEqual([]);
  });

  describe("member: CloudTrail rule", () => {
    const cloudTrailRules = (m: Stack) =>
      resources(s.template(m), "AWS::Events::Rule").filter(([, r]) =>
        JSON.stringify(r.Properties?.EventPattern ?? {}).includes("aws.ec2"),
      );

    it("matches the governed calls from ec2.amazonaws.com, any identity, success only", () => {
      for (const m of members) {
        const rules = cloudTrailRules(m);
        expect(rules).toHaveLength(1);
        const pattern = rules[0]?.[1].Properties?.EventPattern;
        // On the default bus, where CloudTrail's events arrive.
        expect(rules[0]?.[1].Properties?.EventBusName).toBeUndefined();
        expect(pattern).toEqual({
          source: ["aws.ec2"],
          "detail-type": ["AWS API Call via CloudTrail"],
          detail: {
            eventSource: ["ec2.amazonaws.com"],
            eventName: [
              "AuthorizeSecurityGroupIngress",
              "AuthorizeSecurityGroupEgress",
              "RevokeSecurityGroupIngress",
              "RevokeSecurityGroupEgress",
              "ModifySecurityGroupRules",
              "UpdateSecurityGroupRuleDescriptionsIngress",
              "UpdateSecurityGroupRuleDescriptionsEgress",
              "CreateSecurityGroup",
              "ModifyManagedPrefixList",
            ],
            errorCode: [{ exists: false }],
          },
        });
        // The very pattern the sandbox routes by.
        expect(pattern).toEqual(JSON.parse(JSON.stringify(GOVERNED_EVENT_PATTERN)));
      }
    });

    it("lets through exactly the successful governed calls among the CloudTrail fixtures", () => {
      const rule = cloudTrailRules(members[0] as Stack)[0];
      const pattern = rule?.[1].Properties?.EventPattern as Json;
      const files = fixtureFiles(FIXTURES);
      expect(files.length).toBeGreaterThan(20);
      for (const file of files) {
        const event = JSON.parse(readFileSync(file, "utf8")) as { detail: Record<string, Json> };
        const expected =
          GOVERNED_EVENT_NAMES.includes(
            event.detail.eventName as (typeof GOVERNED_EVENT_NAMES)[number],
          ) && event.detail.errorCode === undefined;
        expect({
          file,
          matched: matches(pattern, event as unknown as Json),
          sandbox: matchesGovernedPattern(event),
        }).toEqual({ file, matched: expected, sandbox: expected });
      }
    });

    it("targets revertSecurityGroup with retries and a dead-letter queue", () => {
      for (const m of members) {
        const [, rule] = cloudTrailRules(m)[0] as [string, CfnResource];
        const targets = rule.Properties?.Targets as Record<string, Json>[];
        expect(targets).toHaveLength(1);
        expect(JSON.stringify(targets[0]?.Arn)).toContain("RevertSecurityGroupFunction");
        expect(JSON.stringify(targets[0]?.DeadLetterConfig)).toContain(
          "RevertSecurityGroupDeadLetters",
        );
        expect(targets[0]?.RetryPolicy).toBeDefined();
      }
    });

    it("gives the revert the memory its cold start asks (infra/memory.ts), every other member function 256 MB", () => {
      for (const m of members) {
        const memory = Object.fromEntries(
          ourFunctions(s, m).map(([id, r]) => [id.replace(/Function.*$/, ""), props(r).MemorySize]),
        );
        expect(memory).toMatchObject({ MemberRevertSecurityGroup: REVERT_MEMORY_MB });
        expect(REVERT_MEMORY_MB).toBeGreaterThan(256);
        for (const [id, mb] of Object.entries(memory)) {
          if (id !== "MemberRevertSecurityGroup") expect({ id, mb }).toEqual({ id, mb: 256 });
        }
      }
    });

    it("sends a revert that failed past Lambda's retries to revertFailed (a Lambda destination)", () => {
      for (const m of members) {
        const t = s.template(m);
        const [revertId] = ourFunctions(s, m).find(([id]) =>
          id.startsWith("MemberRevertSecurityGroup"),
        ) as [string, CfnResource];
        const [failedId] = ourFunctions(s, m).find(([id]) =>
          id.startsWith("MemberRevertFailed"),
        ) as [string, CfnResource];
        const config = resources(t, "AWS::Lambda::EventInvokeConfig").find(
          ([, r]) => (props(r).FunctionName as { Ref: string }).Ref === revertId,
        )?.[1];
        expect(config?.Properties?.DestinationConfig).toEqual({
          OnFailure: { Destination: { "Fn::GetAtt": [failedId, "Arn"] } },
        });
        // The revert's role may invoke exactly that function (and its versions), nothing else.
        const invoke = policyOf(t, "MemberRevertSecurityGroup").filter((st) =>
          list(st.Action).some((a) => a.startsWith("lambda:")),
        );
        expect(invoke).toHaveLength(1);
        expect(invoke[0]?.Action).toBe("lambda:InvokeFunction");
        expect(JSON.stringify(invoke[0]?.Resource)).not.toContain(revertId);
        for (const r of list(invoke[0]?.Resource as Json[])) expect(text(r)).toContain(failedId);
        // Nothing else in the member may invoke a function directly.
        for (const [id, policy] of resources(t, "AWS::IAM::Policy")) {
          if (id.startsWith("MemberRevertSecurityGroup")) continue;
          if (id.startsWith("AWSCDKTrigger")) continue;
          for (const st of statements(policy)) {
            expect(list(st.Action).filter((a) => a.startsWith("lambda:"))).toEqual([]);
          }
        }
      }
    });
  });

  describe("event buses: members reach the hub through EventBridge, and only their own account", () => {
    it("hub: the bus's policy admits exactly the configured member accounts, nothing else", () => {
      const policy = busPolicy(s, hub, BUSES.hub);
      expect(policy).toHaveLength(1);
      const [st] = policy as [Statement];
      expect(st.Effect).toBe("Allow");
      expect(st.Action).toBe("events:PutEvents");
      expect(st.Resource).toBe(busArn("aws", "us-east-1", HUB, BUSES.hub));
      expect(st.Principal).toEqual({
        AWS: [`arn:aws:iam::${MEMBER_A}:root`, `arn:aws:iam::${MEMBER_B}:root`],
      });
      expect(st.Condition).toBeUndefined();
    });

    it("hub: organization-wide, any principal of that organization too, and no other '*'", () => {
      const org = synth({
        ...MULTI,
        organization: { id: ORGANIZATION, regions: ["us-east-1", "eu-west-1"] },
      });
      const policy = busPolicy(org, org.hub, BUSES.hub);
      expect(policy.map((st) => st.Sid)).toEqual([
        "GovernedMemberAccountsSend",
        "OrganizationAccountsSend",
      ]);
      for (const st of policy) {
        expect(st.Effect).toBe("Allow");
        expect(st.Action).toBe("events:PutEvents");
        const principals = principalAccounts(st.Principal);
        if (st.Principal === "*" || principals.includes("*")) {
          expect(st.Condition).toEqual({ StringEquals: { "aws:PrincipalOrgID": ORGANIZATION } });
        } else {
          expect(sorted(principals)).toEqual([MEMBER_A, MEMBER_B]);
        }
      }
      const env = resolvedEnvironment(ourFunctions(org, org.hub)[0]?.[1] as CfnResource);
      expect(env.ORGANIZATION_ID).toBe(ORGANIZATION);
      expect(env.ORGANIZATION_REGIONS).toBe("us-east-1,eu-west-1");
      expect(org.report().pluginReports.flatMap((p) => p.violations)).toEqual([]);
    });

    it("no statement of any bus policy has Principal '*' without an aws:PrincipalOrgID condition", () => {
      const org = synth({ ...MULTI, organization: { id: ORGANIZATION, regions: ["us-east-1"] } });
      for (const app of [s, org]) {
        for (const stack of [app.hub, ...app.members]) {
          for (const [, bus] of resources(app.template(stack), "AWS::Events::EventBus")) {
            for (const st of statements(bus, "Policy")) {
              const open = st.Principal === "*" || principalAccounts(st.Principal).includes("*");
              if (open) {
                expect(st.Condition?.StringEquals?.["aws:PrincipalOrgID"]).toBe(ORGANIZATION);
              }
            }
          }
        }
      }
    });

    it("hub: two rules on the bus, our source only, by detail-type, to store and result", () => {
      const t = s.template(hub);
      const [busId] = resources(t, "AWS::Events::EventBus")[0] as [string, CfnResource];
      const onBus = resources(t, "AWS::Events::Rule").filter(
        ([, r]) => JSON.stringify(r.Properties?.EventBusName) === JSON.stringify({ Ref: busId }),
      );
      const byType = Object.fromEntries(
        onBus.map(([, r]) => {
          const pattern = r.Properties?.EventPattern as Record<string, Json>;
          expect(Object.keys(pattern).sort()).toEqual(["detail-type", "source"]);
          expect(pattern.source).toEqual([MEMBER_EVENT_SOURCE]);
          const targets = r.Properties?.Targets as Record<string, Json>[];
          expect(targets).toHaveLength(1);
          expect(targets[0]?.RetryPolicy).toEqual({
            MaximumEventAgeInSeconds: 7200,
            MaximumRetryAttempts: 8,
          });
          expect(text(targets[0]?.DeadLetterConfig)).toContain("DeadLetters");
          return [list(pattern["detail-type"] as string[]).join(), text(targets[0]?.Arn)];
        }),
      );
      expect(Object.keys(byType).sort()).toEqual(
        sorted([HUB_DETAIL_TYPES.change, HUB_DETAIL_TYPES.result]),
      );
      expect(byType[HUB_DETAIL_TYPES.change]).toContain("HubStoreSecurityGroupRequestFunction");
      expect(byType[HUB_DETAIL_TYPES.result]).toContain(
        "HubErrorHandlerSecurityGroupChangeFunction",
      );
    });

    it("member: one rule forwards exactly our source to the hub's bus, with a role and a DLQ", () => {
      for (const m of members) {
        const t = s.template(m);
        const [busId] = resources(t, "AWS::Events::EventBus").find(
          ([, r]) => r.Properties?.Name === BUSES.member,
        ) as [string, CfnResource];
        const onBus = resources(t, "AWS::Events::Rule").filter(
          ([, r]) => JSON.stringify(r.Properties?.EventBusName) === JSON.stringify({ Ref: busId }),
        );
        expect(onBus).toHaveLength(1);
        const rule = onBus[0]?.[1].Properties ?? {};
        expect(rule.EventPattern).toEqual({ source: [MEMBER_EVENT_SOURCE] });
        const targets = rule.Targets as Record<string, Json>[];
        expect(targets).toHaveLength(1);
        expect(targets[0]?.Arn).toBe(busArn("aws", "us-east-1", HUB, BUSES.hub));
        expect(text(targets[0]?.DeadLetterConfig)).toContain("ForwardDeadLetters");
        // The role the rule assumes: EventBridge of this account only, PutEvents on the hub's bus only.
        const roleId = (targets[0]?.RoleArn as { "Fn::GetAtt": [string, string] } | undefined)?.[
          "Fn::GetAtt"
        ][0];
        const role = resources(t, "AWS::IAM::Role").find(([id]) => id === roleId)?.[1];
        expect(role?.Properties?.RoleName).toBe(roleName("forward", m.region));
        expect(statements(role as CfnResource, "AssumeRolePolicyDocument")).toEqual([
          {
            Action: "sts:AssumeRole",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": m.account } },
          },
        ]);
        expect(policyOf(t, "MemberForwardRole")).toEqual([
          {
            Action: "events:PutEvents",
            Effect: "Allow",
            Resource: busArn("aws", "us-east-1", HUB, BUSES.hub),
          },
        ]);
        // The member's bus has no policy: only this account's principals may put events on it.
        expect(
          statements(resources(t, "AWS::Events::EventBus")[0]?.[1] as CfnResource, "Policy"),
        ).toEqual([]);
      }
    });

    it("member functions put events on their own bus only, and publish to no topic", () => {
      for (const m of members) {
        const t = s.template(m);
        const [busId] = resources(t, "AWS::Events::EventBus")[0] as [string, CfnResource];
        const puts = allStatements(s, m).filter((st) =>
          list(st.Action).includes("events:PutEvents"),
        );
        const byFunction = resources(t, "AWS::IAM::Policy")
          .filter(([, r]) =>
            statements(r).some((st) => list(st.Action).includes("events:PutEvents")),
          )
          .map(([id]) => id.replace(/RoleDefaultPolicy.*$/, ""));
        expect(sorted(byFunction)).toEqual(
          sorted([
            "MemberApplySecurityGroupChange",
            "MemberForward",
            "MemberRevertFailed",
            "MemberRevertSecurityGroup",
            "MemberSweepBaseline",
          ]),
        );
        for (const st of puts) {
          expect(list(st.Action)).toEqual(["events:PutEvents"]);
          const resource = text(st.Resource as Json);
          if (resource.startsWith("arn:")) {
            expect(resource).toBe(busArn("aws", "us-east-1", HUB, BUSES.hub));
          } else {
            expect(st.Resource).toEqual({ "Fn::GetAtt": [busId, "Arn"] });
          }
        }
        expect(allStatements(s, m).filter((st) => list(st.Action).includes("sns:Publish"))).toEqual(
          [],
        );
        for (const [, fn] of ourFunctions(s, m)) {
          expect(props(fn).Environment).toMatchObject({
            Variables: { MEMBER_BUS_NAME: { Ref: busId } },
          });
        }
      }
    });
  });

  describe("topics", () => {
    const topicPolicy = (stack: Stack, topicLogicalIdPrefix: string) => {
      const found = resources(s.template(stack), "AWS::SNS::TopicPolicy").find(([, r]) =>
        JSON.stringify(r.Properties?.Topics).includes(topicLogicalIdPrefix),
      );
      if (!found) throw new Error(`no policy for ${topicLogicalIdPrefix}`);
      return statements(found[1]);
    };

    it("keep the original names and are KMS-encrypted; the hub keeps only its deny topic", () => {
      const hubTopics = resources(s.template(hub), "AWS::SNS::Topic");
      expect(hubTopics.map(([, r]) => r.Properties?.TopicName)).toEqual([TOPICS.deny]);
      for (const m of members) {
        const t = resources(s.template(m), "AWS::SNS::Topic");
        expect(t.map(([, r]) => r.Properties?.TopicName)).toEqual([TOPICS.apply]);
      }
      for (const stack of [hub, ...members]) {
        for (const [, topic] of resources(s.template(stack), "AWS::SNS::Topic")) {
          expect(JSON.stringify(topic.Properties?.KmsMasterKeyId)).toContain("TopicKey");
        }
      }
    });

    it("hub: no topic any other account may publish to (nobody can publish for another account)", () => {
      for (const [, policy] of resources(s.template(hub), "AWS::SNS::TopicPolicy")) {
        const allow = statements(policy).filter((st) => st.Effect === "Allow");
        expect(allow).toEqual([]);
      }
      expect(topicPolicy(hub, "HubDenyTopic").filter((st) => st.Effect === "Allow")).toEqual([]);
      // Nor may any other account use the hub's topic key.
      const [, hubKey] = resources(s.template(hub), "AWS::KMS::Key")[0] as [string, CfnResource];
      for (const st of statements(hubKey, "KeyPolicy")) {
        expect(principalAccounts(st.Principal)).toEqual([HUB]);
      }
    });

    it("every topic refuses publishes without TLS", () => {
      for (const stack of [hub, ...members]) {
        for (const [, policy] of resources(s.template(stack), "AWS::SNS::TopicPolicy")) {
          expect(statements(policy)).toContainEqual(
            expect.objectContaining({
              Effect: "Deny",
              Principal: "*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          );
        }
      }
    });

    it("member: only the hub's buttonClick and expireRequests roles may publish to applySecurityGroupChange", () => {
      for (const m of members) {
        const allow = topicPolicy(m, "MemberApplyTopic").filter((st) => st.Effect === "Allow");
        expect(allow).toHaveLength(1);
        expect(principalAccounts(allow[0]?.Principal)).toEqual([HUB]);
        expect(allow[0]?.Condition?.ArnEquals?.["aws:PrincipalArn"]).toEqual([
          roleArn("aws", HUB, "button", "us-east-1"),
          roleArn("aws", HUB, "expire", "us-east-1"),
        ]);
      }
    });

    it("member KMS key policies admit exactly the hub's publishers, only through SNS", () => {
      for (const m of members) {
        const [, key] = resources(s.template(m), "AWS::KMS::Key")[0] as [string, CfnResource];
        const st = statements(key, "KeyPolicy").filter((x) => x.Sid);
        expect(st).toHaveLength(1);
        expect(principalAccounts(st[0]?.Principal)).toEqual([HUB]);
        expect(st[0]?.Condition?.StringEquals).toEqual({
          "kms:ViaService": `sns.${m.region}.amazonaws.com`,
        });
        expect(st[0]?.Condition?.ArnEquals?.["aws:PrincipalArn"]).toEqual([
          roleArn("aws", HUB, "button", "us-east-1"),
          roleArn("aws", HUB, "expire", "us-east-1"),
        ]);
        expect(key.Properties?.EnableKeyRotation).toBe(true);
      }
    });
  });

  describe("IAM", () => {
    it("grants no wildcard actions except kms:GenerateDataKey*, and no ec2 write on *", () => {
      for (const stack of [hub, ...members]) {
        for (const st of allStatements(s, stack).filter((x) => x.Effect === "Allow")) {
          for (const action of list(st.Action)) {
            if (action.includes("*")) expect(action).toBe("kms:GenerateDataKey*");
          }
          const ec2 = list(st.Action).filter((a) => a.startsWith("ec2:"));
          const writes = ec2.filter(
            (a) => !a.startsWith("ec2:Describe") && !a.startsWith("ec2:Get"),
          );
          if (writes.length > 0) expect(list(st.Resource)).not.toContain("*");
          if (list(st.Resource).includes("*")) {
            expect(
              list(st.Action).every((a) =>
                [
                  "ec2:DescribeSecurityGroupRules",
                  "ec2:DescribeSecurityGroups",
                  "ec2:DescribeManagedPrefixLists",
                  "ec2:GetManagedPrefixListEntries",
                ].includes(a),
              ),
            ).toBe(true);
          }
        }
      }
    });

    it("lets revert, apply and the drift check change only security groups of their own account and region", () => {
      for (const m of members) {
        const t = s.template(m);
        for (const prefix of [
          "MemberRevertSecurityGroup",
          "MemberApplySecurityGroupChange",
          "MemberSweepBaseline",
        ]) {
          const writes = policyOf(t, prefix).filter((st) =>
            list(st.Action).some(
              (a) =>
                a.startsWith("ec2:") &&
                !a.startsWith("ec2:Describe") &&
                !a.includes("ManagedPrefixList"),
            ),
          );
          expect(writes).toHaveLength(1);
          expect(sorted(list(writes[0]?.Action))).toEqual(
            sorted([
              "ec2:AuthorizeSecurityGroupIngress",
              "ec2:AuthorizeSecurityGroupEgress",
              "ec2:RevokeSecurityGroupIngress",
              "ec2:RevokeSecurityGroupEgress",
              "ec2:ModifySecurityGroupRules",
            ]),
          );
          expect(sorted(list(writes[0]?.Resource as string[]))).toEqual([
            `arn:aws:ec2:${m.region}:${m.account}:security-group-rule/*`,
            `arn:aws:ec2:${m.region}:${m.account}:security-group/*`,
          ]);
        }
        const ec2Of = (prefix: string) =>
          sorted(
            policyOf(t, prefix).flatMap((st) =>
              list(st.Action).filter((a) => a.startsWith("ec2:Describe")),
            ),
          );
        expect(ec2Of("MemberSweepBaseline")).toEqual([
          "ec2:DescribeSecurityGroupRules",
          "ec2:DescribeSecurityGroups",
        ]);
        expect(ec2Of("MemberApplySecurityGroupChange")).toEqual([
          "ec2:DescribeManagedPrefixLists",
          "ec2:DescribeSecurityGroupRules",
        ]);
        expect(ec2Of("MemberRevertSecurityGroup")).toEqual([
          "ec2:DescribeManagedPrefixLists",
          "ec2:DescribeSecurityGroupRules",
          "ec2:DescribeSecurityGroups",
        ]);
        // A prefix list is read and modified back by revert, and modified again by apply only:
        // ModifyManagedPrefixList on this account and region's prefix lists, never on *.
        const prefixListOf = (prefix: string) =>
          policyOf(t, prefix)
            .filter((st) => list(st.Action).some((a) => a.includes("ManagedPrefixList")))
            .map((st) => ({
              actions: sorted(list(st.Action)),
              resources: list(st.Resource as string[]),
            }));
        for (const prefix of ["MemberRevertSecurityGroup", "MemberApplySecurityGroupChange"]) {
          const statements = prefixListOf(prefix);
          // The reads join the function's other Describe calls on * (CDK merges them).
          const onAll = statements.filter((st) => st.resources.includes("*"));
          expect(onAll.flatMap((st) => st.actions.filter((a) => a.includes("PrefixList")))).toEqual(
            ["ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries"],
          );
          expect(statements.filter((st) => !st.resources.includes("*"))).toEqual([
            {
              actions: ["ec2:ModifyManagedPrefixList"],
              resources: [`arn:aws:ec2:${m.region}:${m.account}:prefix-list/*`],
            },
          ]);
        }
        expect(prefixListOf("MemberSweepBaseline")).toEqual([]);
        // revertFailed files a request; it never touches EC2.
        expect(
          policyOf(t, "MemberRevertFailed").flatMap((st) =>
            list(st.Action).filter((a) => a.startsWith("ec2:")),
          ),
        ).toEqual([]);
      }
      const hubEc2 = allStatements(s, hub).flatMap((st) =>
        list(st.Action).filter((a) => a.startsWith("ec2:")),
      );
      expect(hubEc2).toEqual([]);
    });

    it("lets each hub function publish only to the topics it uses", () => {
      const publishTargets = (t: ReturnType<Synthesized["template"]>, prefix: string) =>
        sorted(
          policyOf(t, prefix)
            .filter((st) => list(st.Action).includes("sns:Publish"))
            .flatMap((st) => list(st.Resource as Json[]).map(text)),
        );
      const ht = s.template(hub);
      for (const prefix of [
        "HubStoreSecurityGroupRequest",
        "HubDenySecurityGroupChange",
        "HubErrorHandlerSecurityGroupChange",
      ]) {
        expect(publishTargets(ht, prefix)).toEqual([]);
      }
      const applyTopics = sorted(
        memberTargets(s.config).map(
          (t) => `arn:aws:sns:${t.region}:${t.account}:applySecurityGroupChange`,
        ),
      );
      const button = publishTargets(ht, "HubButtonClick");
      expect(button.filter((r) => r.startsWith("arn:"))).toEqual(applyTopics);
      expect(button.filter((r) => !r.startsWith("arn:"))).toEqual([
        JSON.stringify({
          Ref: resources(ht, "AWS::SNS::Topic").find(([id]) => id.startsWith("HubDenyTopic"))?.[0],
        }),
      ]);
      // expireRequests re-sends to the members' apply topics, and never denies.
      expect(publishTargets(ht, "HubExpireRequests")).toEqual(applyTopics);
      const hubKeyUsers = resources(ht, "AWS::IAM::Policy")
        .filter(([, r]) =>
          statements(r).some((st) => JSON.stringify(st.Resource).includes("HubTopicKey")),
        )
        .map(([id]) => id.replace(/RoleDefaultPolicy.*$/, ""));
      expect(hubKeyUsers).toEqual(["HubButtonClick"]);
    });

    it("organization-wide: publishers may reach apply topics of the organization's accounts only", () => {
      const org = synth({
        ...MULTI,
        organization: { id: ORGANIZATION, regions: ["us-east-1", "eu-west-1"] },
      });
      const t = org.template(org.hub);
      for (const prefix of ["HubButtonClick", "HubExpireRequests"]) {
        const wide = policyOf(t, prefix).filter((st) =>
          list(st.Resource as Json[]).some((r) => typeof r === "string" && r.includes(":*:")),
        );
        expect(wide.length).toBe(3); // the topics, and one key statement per region
        for (const st of wide) {
          expect(st.Condition?.StringEquals?.["aws:ResourceOrgID"]).toBe(ORGANIZATION);
          for (const r of list(st.Resource as string[])) {
            expect(r).toMatch(
              /^arn:aws:(sns:(us-east-1|eu-west-1):\*:applySecurityGroupChange|kms:(us-east-1|eu-west-1):\*:key\/\*)$/,
            );
            if (r.includes(":kms:")) {
              expect(st.Condition?.StringEquals?.["kms:ViaService"]).toBe(
                `sns.${r.split(":")[3]}.amazonaws.com`,
              );
            }
          }
        }
      }
      for (const prefix of [
        "HubStoreSecurityGroupRequest",
        "HubDenySecurityGroupChange",
        "HubErrorHandlerSecurityGroupChange",
      ]) {
        expect(policyOf(t, prefix).filter((st) => st.Condition?.StringEquals)).toEqual([]);
      }
    });

    it("grants each function exactly the DynamoDB actions its code calls", () => {
      const tableActions = (t: ReturnType<Synthesized["template"]>, prefix: string) =>
        sorted(
          policyOf(t, prefix).flatMap((st) =>
            list(st.Action).filter((a) => a.startsWith("dynamodb:")),
          ),
        );
      const ht = s.template(hub);
      // src/adapters/dynamodb/request-store.ts: only store creates; changes are conditional updates.
      expect(tableActions(ht, "HubStoreSecurityGroupRequest")).toEqual([
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]);
      expect(tableActions(ht, "HubButtonClick")).toEqual([
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
      ]);
      expect(tableActions(ht, "HubDenySecurityGroupChange")).toEqual(["dynamodb:GetItem"]);
      expect(tableActions(ht, "HubErrorHandlerSecurityGroupChange")).toEqual([
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
      ]);
      expect(tableActions(ht, "HubExpireRequests")).toEqual([
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ]);
      const query = policyOf(ht, "HubExpireRequests").find((st) =>
        list(st.Action).includes("dynamodb:Query"),
      );
      expect(list(query?.Action)).toEqual(["dynamodb:Query"]);
      expect(JSON.stringify(query?.Resource)).toMatch(/^\{"Fn::Join".*\/index\/byDue"\]\]\}$/);

      // src/adapters/dynamodb/baselines.ts: rule writes and deletes are BatchWriteItem; only the
      // drift check scans (every group) and reads the outbox index; nothing deletes one by one.
      for (const m of members) {
        const t = s.template(m);
        expect(tableActions(t, "MemberRevertSecurityGroup")).toEqual([
          "dynamodb:BatchWriteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ]);
        expect(tableActions(t, "MemberApplySecurityGroupChange")).toEqual([
          "dynamodb:BatchWriteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ]);
        expect(tableActions(t, "MemberSweepBaseline")).toEqual([
          "dynamodb:BatchWriteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:Query",
          "dynamodb:Scan",
          "dynamodb:UpdateItem",
        ]);
        expect(tableActions(t, "MemberRevertFailed")).toEqual([
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ]);
        const indexQueries = allStatements(s, m).filter((st) =>
          JSON.stringify(st.Resource).includes("/index/"),
        );
        expect(indexQueries).toHaveLength(1);
        expect(list(indexQueries[0]?.Action)).toEqual(["dynamodb:Query"]);
        expect(JSON.stringify(indexQueries[0]?.Resource)).toMatch(/\/index\/byOutbox"\]\]\}$/);
        expect(policiesAllowing(t, "dynamodb:Query", "/index/byOutbox")).toEqual([
          "MemberSweepBaseline",
        ]);
      }
    });

    it("gives the deploy-time trigger's provider no managed policy and a log group kept a year", () => {
      for (const m of members) {
        const t = s.template(m);
        const [roleId, role] = resources(t, "AWS::IAM::Role").find(([id]) =>
          id.startsWith("AWSCDKTriggerCustomResourceProvider"),
        ) as [string, CfnResource];
        expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
        const inline = (
          (role.Properties?.Policies ?? []) as unknown as {
            PolicyDocument: { Statement: Statement[] };
          }[]
        ).flatMap((p) => p.PolicyDocument.Statement);
        expect(inline.map((st) => sorted(list(st.Action)))).toEqual([
          ["lambda:InvokeFunction"],
          ["logs:CreateLogStream", "logs:PutLogEvents"],
        ]);
        const [groupId, group] = resources(t, "AWS::Logs::LogGroup").find(([id]) =>
          id.startsWith("TriggerProviderLogs"),
        ) as [string, CfnResource];
        expect(group.Properties?.RetentionInDays).toBe(365);
        expect(inline[1]?.Resource).toEqual({ "Fn::GetAtt": [groupId, "Arn"] });
        const [, fn] = resources(t, "AWS::Lambda::Function").find(([id]) =>
          id.startsWith("AWSCDKTriggerCustomResourceProvider"),
        ) as [string, CfnResource];
        expect(fn.Properties?.Role).toEqual({ "Fn::GetAtt": [roleId, "Arn"] });
        expect(fn.Properties?.LoggingConfig).toEqual({ LogGroup: { Ref: groupId } });
      }
      // Every log group in every stack expires.
      for (const stack of [hub, ...members]) {
        for (const [, g] of resources(s.template(stack), "AWS::Logs::LogGroup")) {
          expect(g.Properties?.RetentionInDays).toBe(365);
        }
      }
    });

    it("scopes KMS use of other accounts' keys to SNS in that key's region", () => {
      for (const stack of [hub, ...members]) {
        for (const st of allStatements(s, stack)) {
          const resources_ = list(st.Resource as Json[]).filter(
            (r): r is string => typeof r === "string" && r.includes(":kms:"),
          );
          for (const r of resources_) {
            const region = r.split(":")[3];
            expect(r).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/\*$/);
            expect(st.Condition?.StringEquals?.["kms:ViaService"]).toBe(
              `sns.${region}.amazonaws.com`,
            );
          }
        }
      }
    });

    it("touches only its own table", () => {
      const ht = s.template(hub);
      const hubTables = allStatements(s, hub)
        .filter((st) => list(st.Action).some((a) => a.startsWith("dynamodb:")))
        .flatMap((st) => list(st.Resource as Json[]).map((r) => JSON.stringify(r)));
      for (const r of hubTables) expect(r).toContain("HubRequests");
      expect(resources(ht, "AWS::DynamoDB::Table")).toHaveLength(1);
      for (const m of members) {
        const memberTables = allStatements(s, m)
          .filter((st) => list(st.Action).some((a) => a.startsWith("dynamodb:")))
          .flatMap((st) => list(st.Resource as Json[]).map((r) => JSON.stringify(r)));
        for (const r of memberTables) expect(r).toContain("MemberBaselines");
      }
      // Only the scheduled jobs list requests (the sparse byDue index).
      const queries = allStatements(s, hub).filter((st) =>
        list(st.Action).includes("dynamodb:Query"),
      );
      expect(queries).toHaveLength(1);
      expect(JSON.stringify(queries[0]?.Resource)).toContain("/index/byDue");
    });

    it("names every role so the other side's policies can name it; SYSTEM_ROLE_ARNS lists them", () => {
      const hubRoles = resources(s.template(hub), "AWS::IAM::Role")
        .map(([, r]) => r.Properties?.RoleName)
        .filter((n): n is string => typeof n === "string");
      expect(sorted(hubRoles)).toEqual(
        sorted(
          ["store", "button", "deny", "result", "expire"].map(
            (f) => `secgroup-approval-${f}-us-east-1`,
          ),
        ),
      );
      for (const m of members) {
        const roles = resources(s.template(m), "AWS::IAM::Role")
          .map(([, r]) => r.Properties?.RoleName)
          .filter((n): n is string => typeof n === "string");
        const functionRoles = (["revert", "apply", "sweep", "revert-failed"] as const).map((f) =>
          roleName(f, m.region),
        );
        expect(sorted(roles)).toEqual(sorted([...functionRoles, roleName("forward", m.region)]));
        for (const name of roles) expect(name.length).toBeLessThanOrEqual(64);
        for (const [, fn] of ourFunctions(s, m)) {
          const env = resolvedEnvironment(fn);
          expect(sorted((env.SYSTEM_ROLE_ARNS ?? "").split(","))).toEqual(
            sorted(functionRoles.map((r) => `arn:aws:iam::${m.account}:role/${r}`)),
          );
        }
      }
    });
  });

  describe("Slack secrets", () => {
    const readersOf = (secretPrefix: string) => {
      const t = s.template(hub);
      const [secretId] = resources(t, "AWS::SecretsManager::Secret").find(([id]) =>
        id.startsWith(secretPrefix),
      ) as [string, CfnResource];
      return {
        secretId,
        readers: sorted(
          resources(t, "AWS::IAM::Policy")
            .filter(([, r]) =>
              statements(r).some(
                (st) =>
                  st.Effect === "Allow" &&
                  list(st.Action).some((a) => a.startsWith("secretsmanager:")) &&
                  JSON.stringify(st.Resource).includes(`"${secretId}"`),
              ),
            )
            .map(([id]) => id.replace(/RoleDefaultPolicy.*$/, "")),
        ),
      };
    };

    it("are two secrets, one plain string each, created with a placeholder", () => {
      const secrets = resources(s.template(hub), "AWS::SecretsManager::Secret");
      expect(sorted(secrets.map(([, r]) => r.Properties?.Name as string))).toEqual(
        sorted([SLACK_SECRET_NAMES.botToken, SLACK_SECRET_NAMES.signingSecret]),
      );
      for (const [, secret] of secrets) {
        expect(secret.Properties?.SecretString).toBe(SECRET_PLACEHOLDER);
        expect(secret.Properties?.GenerateSecretString).toBeUndefined();
      }
    });

    it("exactly one function may read the signing secret: buttonClick", () => {
      expect(readersOf("HubSlackSigningSecret").readers).toEqual(["HubButtonClick"]);
    });

    it("only the functions that post to Slack may read the bot token", () => {
      // Every hub function posts or updates a message (store, the deny and result reports, the
      // click's updates, the jobs' posts); no other role in the stack may read it.
      expect(readersOf("HubSlackBotToken").readers).toEqual(
        sorted([
          "HubButtonClick",
          "HubDenySecurityGroupChange",
          "HubErrorHandlerSecurityGroupChange",
          "HubExpireRequests",
          "HubStoreSecurityGroupRequest",
        ]),
      );
      for (const st of allStatements(s, hub)) {
        if (list(st.Action).some((a) => a.startsWith("secretsmanager:"))) {
          expect(list(st.Action)).toEqual(["secretsmanager:GetSecretValue"]);
        }
      }
    });

    it("each secret's resource policy refuses GetSecretValue to every other principal", () => {
      const t = s.template(hub);
      const policyFor = (secretId: string) =>
        resources(t, "AWS::SecretsManager::ResourcePolicy").find(
          ([, r]) => JSON.stringify(r.Properties?.SecretId) === JSON.stringify({ Ref: secretId }),
        )?.[1];
      const check = (prefix: string, fns: string[]) => {
        const { secretId } = readersOf(prefix);
        expect(statements(policyFor(secretId) as CfnResource, "ResourcePolicy")).toEqual([
          {
            Sid: "OnlyItsFunctionsRead",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "secretsmanager:GetSecretValue",
            Resource: "*",
            Condition: {
              ArnNotEquals: {
                "aws:PrincipalArn": fns.map(
                  (f) => `arn:aws:iam::${HUB}:role/secgroup-approval-${f}-us-east-1`,
                ),
              },
            },
          },
        ]);
      };
      check("HubSlackSigningSecret", ["button"]);
      check("HubSlackBotToken", ["store", "button", "deny", "result", "expire"]);
    });

    it("only buttonClick knows where the signing secret is", () => {
      for (const [id, fn] of ourFunctions(s, hub)) {
        const env = resolvedEnvironment(fn);
        expect(env.SLACK_BOT_TOKEN_SECRET_ARN).toBeDefined();
        expect(env.SLACK_SIGNING_SECRET_ARN !== undefined).toBe(id.startsWith("HubButtonClick"));
      }
    });
  });

  describe("functions", () => {
    it("run on nodejs24.x on arm64, with bounded timeouts", () => {
      expect(ourFunctions(s, hub)).toHaveLength(5);
      for (const m of members) expect(ourFunctions(s, m)).toHaveLength(4);
      for (const stack of [hub, ...members]) {
        for (const [, fn] of ourFunctions(s, stack)) {
          expect(fn.Properties?.Runtime).toBe("nodejs24.x");
          expect(fn.Properties?.Architectures).toEqual(["arm64"]);
          expect(fn.Properties?.Timeout).toBeLessThanOrEqual(600);
        }
      }
    });

    it("bundle with local esbuild: ESM, minified, source maps, AWS SDK included", () => {
      expect(BUNDLING).toMatchObject({
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        format: "esm",
        externalModules: [],
      });
    });

    it("get exactly the variables src/handlers/config.ts reads, and they validate", () => {
      const hubSchema = z.strictObject({
        ...hubConfigSchema.shape,
        NODE_OPTIONS: z.literal("--enable-source-maps"),
      });
      for (const [id, fn] of ourFunctions(s, hub)) {
        const env = resolvedEnvironment(fn);
        const parsed = hubSchema.safeParse(env);
        expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
        expect(env.SLACK_API_URL).toBeUndefined();
        expect(env.ORGANIZATION_ID).toBeUndefined();
        expect(parsed.data).toMatchObject({
          SLACK_APPROVAL_CHANNEL: "C0123456789",
          SLACK_MONITORING_CHANNEL: "C0987654321",
          APPROVER_USER_IDS: ["U0123456789", "W0234567891"],
          APPROVER_USER_GROUP: "S0123456789",
          MEMBER_APPLY_TOPIC_NAME: "applySecurityGroupChange",
          AWS_PARTITION: "aws",
          REQUEST_EXPIRY_HOURS: 12,
          ACCOUNT_ALIASES: { [MEMBER_A]: "prod-payments", [MEMBER_B]: "staging" },
          GOVERNED_ACCOUNTS: {
            [MEMBER_A]: ["us-east-1", "eu-west-1"],
            [MEMBER_B]: ["us-east-1", "ap-southeast-2"],
          },
          ORGANIZATION_REGIONS: [],
          PEOPLE: [],
          SOURCE_IDENTITY_ROLES: [],
          ON_EXPIRY: "revert",
        });
      }
      const memberSchema = z.strictObject({
        ...memberConfigSchema.shape,
        NODE_OPTIONS: z.literal("--enable-source-maps"),
      });
      for (const m of members) {
        for (const [id, fn] of ourFunctions(s, m)) {
          // Lambda sets AWS_REGION itself (it is reserved: a function may not set it).
          const env = { ...resolvedEnvironment(fn), AWS_REGION: m.region };
          expect(resolvedEnvironment(fn).AWS_REGION).toBeUndefined();
          const parsed = memberSchema.safeParse(env);
          expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
          expect(parsed.data).toMatchObject({
            MEMBER_ACCOUNT_ID: m.account,
            APPLY_TOPIC_ARN: `arn:aws:sns:${m.region}:${m.account}:applySecurityGroupChange`,
            EXEMPT_PRINCIPALS: ["arn:aws:iam::*:role/BreakGlassAdmin"],
            MAX_EVENT_AGE_SECONDS: 600,
            AUTO_DENY_WITHOUT_DESCRIPTION: true,
            PEOPLE: [],
            SOURCE_IDENTITY_ROLES: [],
            DRIFT_GRACE_SECONDS: 900,
            DRIFT_MAX_PER_SWEEP: 100,
          });
          expect(parsed.data?.DEPLOYMENT_ID).toMatch(
            new RegExp(`^${m.stackName}@\\d+\\.\\d+\\.\\d+#[0-9a-f]{12}$`),
          );
        }
      }
    });

    it("pass the configured people, Slack workspace and app, organization and drift settings on", () => {
      const people = [
        {
          slackUserId: "U0123456789",
          principals: [`arn:aws:iam::${MEMBER_A}:user/alice`],
          identityCenterUsers: ["alice"],
        },
      ];
      const c = synth({
        ...MULTI,
        slack: { ...MULTI.slack, teamId: "T0123456789", appId: "A0123456789" },
        people,
        sourceIdentityRoles: ["arn:aws:iam::*:role/ci-*"],
        onExpiry: "leave",
        drift: { graceSeconds: 0, maxPerSweep: 5 },
        organization: { id: ORGANIZATION, regions: ["us-east-1"] },
      });
      for (const [id, fn] of ourFunctions(c, c.hub)) {
        const parsed = hubConfigSchema.safeParse(resolvedEnvironment(fn));
        expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
        expect(parsed.data).toMatchObject({
          SLACK_TEAM_ID: "T0123456789",
          SLACK_APP_ID: "A0123456789",
          PEOPLE: people,
          SOURCE_IDENTITY_ROLES: ["arn:aws:iam::*:role/ci-*"],
          ON_EXPIRY: "leave",
          ORGANIZATION_ID: ORGANIZATION,
          ORGANIZATION_REGIONS: ["us-east-1"],
        });
      }
      const m = c.members[0] as Stack;
      for (const [id, fn] of ourFunctions(c, m)) {
        const parsed = memberConfigSchema.safeParse({
          ...resolvedEnvironment(fn),
          AWS_REGION: m.region,
        });
        expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
        expect(parsed.data).toMatchObject({
          PEOPLE: people,
          SOURCE_IDENTITY_ROLES: ["arn:aws:iam::*:role/ci-*"],
          DRIFT_GRACE_SECONDS: 0,
          DRIFT_MAX_PER_SWEEP: 5,
        });
      }
    });

    it("asynchronous handlers send failures to an encrypted, TLS-only dead-letter queue", () => {
      for (const stack of [hub, ...members]) {
        const t = s.template(stack);
        const fns = ourFunctions(s, stack).map(([id]) => id);
        const invokeConfigs = resources(t, "AWS::Lambda::EventInvokeConfig");
        const withConfig = new Set(
          invokeConfigs.map(([, r]) => {
            const fn = (props(r).FunctionName as { Ref: string }).Ref;
            // The revert's failures go to revertFailed (its own DLQ takes what EventBridge could
            // not deliver); every other function's go to its dead-letter queue.
            expect(JSON.stringify(r.Properties?.DestinationConfig)).toMatch(
              fn.startsWith("MemberRevertSecurityGroup")
                ? /OnFailure.*MemberRevertFailedFunction/
                : /OnFailure.*DeadLetters/,
            );
            return fn;
          }),
        );
        // Every function except buttonClick (synchronous, behind API Gateway).
        expect(sorted([...withConfig])).toEqual(
          sorted(fns.filter((id) => !id.includes("ButtonClick"))),
        );

        for (const [, sub] of resources(t, "AWS::SNS::Subscription")) {
          expect(sub.Properties?.Protocol).toBe("lambda");
          expect(JSON.stringify(sub.Properties?.RedrivePolicy)).toContain("DeadLetters");
        }
        for (const [, rule] of resources(t, "AWS::Events::Rule")) {
          for (const target of props(rule).Targets as Record<string, Json>[]) {
            expect(JSON.stringify(target.DeadLetterConfig)).toContain("DeadLetters");
          }
        }
        const queues = resources(t, "AWS::SQS::Queue");
        // One per asynchronous function, and the member's forwarding rule's.
        expect(queues).toHaveLength(withConfig.size + (stack === hub ? 0 : 1));
        for (const [id, q] of queues) {
          expect(q.Properties?.SqsManagedSseEnabled).toBe(true);
          const policy = resources(t, "AWS::SQS::QueuePolicy").find(([, p]) =>
            JSON.stringify(p.Properties?.Queues).includes(id),
          );
          expect(policy && statements(policy[1])).toContainEqual(
            expect.objectContaining({
              Effect: "Deny",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          );
        }
      }
    });

    it("have alarms on errors, on every dead-letter queue's depth, and on the handlers' counters", () => {
      for (const stack of [hub, ...members]) {
        const t = s.template(stack);
        const alarms = resources(t, "AWS::CloudWatch::Alarm").map(([, a]) => a.Properties ?? {});
        for (const [id] of ourFunctions(s, stack)) {
          expect(alarms).toContainEqual(
            expect.objectContaining({
              Namespace: "AWS/Lambda",
              MetricName: "Errors",
              Dimensions: [{ Name: "FunctionName", Value: { Ref: id } }],
            }),
          );
        }
        for (const [id] of resources(t, "AWS::SQS::Queue")) {
          expect(alarms).toContainEqual(
            expect.objectContaining({
              Namespace: "AWS/SQS",
              MetricName: "ApproximateNumberOfMessagesVisible",
              Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id, "QueueName"] } }],
            }),
          );
        }
        const counters = alarms
          .filter((a) => a.Namespace === "SecgroupApproval")
          .map((a) => [a.MetricName, a.Dimensions]);
        const service = stack === hub ? "secgroup-approval-hub" : "secgroup-approval-member";
        const names =
          stack === hub
            ? ["JobGaveUp", "PolicyMismatch", "RefusedClick", "RefusedMessage"]
            : ["DriftFiled", "RefusedInvocation"];
        expect(sorted(counters.map(([n]) => n as string))).toEqual(names);
        for (const [, dims] of counters)
          expect(dims).toEqual([{ Name: "service", Value: service }]);
      }
      const hubAlarms = resources(s.template(hub), "AWS::CloudWatch::Alarm").map(
        ([, a]) => a.Properties,
      );
      expect(hubAlarms).toContainEqual(
        expect.objectContaining({ Namespace: "AWS/ApiGateway", MetricName: "5XXError" }),
      );
    });

    it("run on schedules: the jobs and the drift check every 15 minutes, the drift check also per deploy", () => {
      const schedules = (stack: Stack) =>
        resources(s.template(stack), "AWS::Events::Rule")
          .map(([, r]) => r.Properties?.ScheduleExpression)
          .filter(Boolean);
      expect(schedules(hub)).toEqual(["rate(15 minutes)"]);
      for (const m of members) {
        expect(schedules(m)).toEqual(["rate(15 minutes)"]);
        const [, sweepRule] = resources(s.template(m), "AWS::Events::Rule").find(
          ([, r]) => r.Properties?.ScheduleExpression,
        ) as [string, CfnResource];
        expect(text((props(sweepRule).Targets as Json[])[0])).toContain("SweepBaselineFunction");
        const trigger = resources(s.template(m), "Custom::Trigger");
        expect(trigger).toHaveLength(1);
        expect(JSON.stringify(trigger[0]?.[1].Properties?.HandlerArn)).toContain(
          "SweepBaselineFunction",
        );
        expect(trigger[0]?.[1].Properties?.InvocationType).toBe("RequestResponse");
      }
    });
  });

  describe("Slack endpoint", () => {
    it("is POST /slack/actions on stage prod, a Lambda proxy integration with no mapping", () => {
      const t = s.template(hub);
      const [apiId, api] = resources(t, "AWS::ApiGateway::RestApi")[0] as [string, CfnResource];
      expect(api.Properties?.BinaryMediaTypes).toBeUndefined();
      expect(api.Properties?.EndpointConfiguration).toEqual({ Types: ["REGIONAL"] });

      const paths = resources(t, "AWS::ApiGateway::Resource");
      const slack = paths.find(([, r]) => r.Properties?.PathPart === "slack");
      const actions = paths.find(([, r]) => r.Properties?.PathPart === "actions");
      expect(slack?.[1].Properties?.ParentId).toEqual({ "Fn::GetAtt": [apiId, "RootResourceId"] });
      expect(actions?.[1].Properties?.ParentId).toEqual({ Ref: slack?.[0] });

      const methods = resources(t, "AWS::ApiGateway::Method");
      expect(methods).toHaveLength(1);
      const method = methods[0]?.[1].Properties ?? {};
      expect(method.HttpMethod).toBe("POST");
      expect(method.ResourceId).toEqual({ Ref: actions?.[0] });
      expect(method.AuthorizationType).toBe("NONE");
      expect(method.RequestParameters).toEqual({
        "method.request.header.X-Slack-Signature": true,
        "method.request.header.X-Slack-Request-Timestamp": true,
      });
      const integration = method.Integration as Record<string, Json>;
      expect(integration.Type).toBe("AWS_PROXY");
      expect(integration.IntegrationHttpMethod).toBe("POST");
      expect(integration.RequestTemplates).toBeUndefined();
      expect(integration.ContentHandling).toBeUndefined();
      expect(JSON.stringify(integration.Uri)).toContain("HubButtonClickFunction");
      expect(method.RequestModels).toBeUndefined();

      const stage = resources(t, "AWS::ApiGateway::Stage")[0]?.[1].Properties ?? {};
      expect(stage.StageName).toBe("prod");
      expect(stage.AccessLogSetting).toBeDefined();
    });

    it("has no web ACL unless wafRateLimitPerFiveMinutes is set", () => {
      expect(resources(s.template(hub), "AWS::WAFv2::WebACL")).toEqual([]);
      expect(acknowledgements(s.app).map((a) => a.id)).toContain("Annotation::AwsSolutions-APIG3");
    });

    it("wafRateLimitPerFiveMinutes: a per-IP rate-based rule on the stage, alarmed, cdk-nag clean", () => {
      const w = synth({ ...MULTI, wafRateLimitPerFiveMinutes: 1500 });
      const t = w.template(w.hub);
      const acls = resources(t, "AWS::WAFv2::WebACL");
      expect(acls).toHaveLength(1);
      const [aclId, acl] = acls[0] as [string, CfnResource];
      expect(acl.Properties).toMatchObject({ Scope: "REGIONAL", DefaultAction: { Allow: {} } });
      expect(acl.Properties?.Rules).toEqual([
        expect.objectContaining({
          Priority: 0,
          Action: { Block: {} },
          Statement: {
            RateBasedStatement: { Limit: 1500, AggregateKeyType: "IP", EvaluationWindowSec: 300 },
          },
        }),
      ]);
      const associations = resources(t, "AWS::WAFv2::WebACLAssociation");
      expect(associations).toHaveLength(1);
      const association = associations[0]?.[1].Properties ?? {};
      expect(association.WebACLArn).toEqual({ "Fn::GetAtt": [aclId, "Arn"] });
      const [stageId] = resources(t, "AWS::ApiGateway::Stage")[0] as [string, CfnResource];
      expect(JSON.stringify(association.ResourceArn)).toContain(`{"Ref":"${stageId}"}`);
      expect(
        resources(t, "AWS::CloudWatch::Alarm").map(([, a]) => a.Properties?.MetricName),
      ).toContain("BlockedRequests");
      expect(w.report().pluginReports.flatMap((p) => p.violations)).toEqual([]);
      expect(acknowledgements(w.app).map((a) => a.id)).not.toContain(
        "Annotation::AwsSolutions-APIG3",
      );
    });
  });

  describe("tables", () => {
    it("hub securityGroupRequests: requestId, byStatus and the sparse byDue, ttl, PITR, encrypted", () => {
      const tables = resources(s.template(hub), "AWS::DynamoDB::Table");
      expect(tables).toHaveLength(1);
      const [, table] = tables[0] as [string, CfnResource];
      expect(table.DeletionPolicy).toBe("Retain");
      expect(table.Properties).toMatchObject({
        TableName: "securityGroupRequests",
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "requestId", KeyType: "HASH" }],
        GlobalSecondaryIndexes: [
          {
            IndexName: "byStatus",
            KeySchema: [
              { AttributeName: "status", KeyType: "HASH" },
              { AttributeName: "createdAt", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
          {
            IndexName: "byDue",
            KeySchema: [
              { AttributeName: "dueBucket", KeyType: "HASH" },
              { AttributeName: "due", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
        TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
      expect(
        sorted(
          (props(table).AttributeDefinitions as { AttributeName: string }[]).map(
            (a) => a.AttributeName,
          ),
        ),
      ).toEqual(["createdAt", "due", "dueBucket", "requestId", "status"]);
    });

    it("member securityGroupBaselines: pk, sk, byOutbox (keys only), ttl, PITR, encrypted", () => {
      for (const m of members) {
        const [, table] = resources(s.template(m), "AWS::DynamoDB::Table")[0] as [
          string,
          CfnResource,
        ];
        expect(table.DeletionPolicy).toBe("Retain");
        expect(table.Properties).toMatchObject({
          TableName: "securityGroupBaselines",
          BillingMode: "PAY_PER_REQUEST",
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "sk", KeyType: "RANGE" },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: "byOutbox",
              KeySchema: [
                { AttributeName: "outbox", KeyType: "HASH" },
                { AttributeName: "handledAt", KeyType: "RANGE" },
              ],
              Projection: { ProjectionType: "KEYS_ONLY" },
            },
          ],
          TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        });
      }
    });

    it("match the definitions the adapters and the sandbox use (src/adapters/dynamodb/tables.ts)", () => {
      const indexes = (def: typeof REQUESTS_TABLE | typeof BASELINES_TABLE) =>
        def.globalIndexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey.name, KeyType: "HASH" },
            ...("sortKey" in i && i.sortKey
              ? [{ AttributeName: i.sortKey.name, KeyType: "RANGE" }]
              : []),
          ],
          Projection: { ProjectionType: i.projection },
        }));
      const attributes = (def: typeof REQUESTS_TABLE | typeof BASELINES_TABLE) => {
        const keys = [
          def.partitionKey,
          ...("sortKey" in def ? [def.sortKey] : []),
          ...def.globalIndexes.flatMap((i) => [
            i.partitionKey,
            ...("sortKey" in i ? [i.sortKey] : []),
          ]),
        ];
        return sorted([...new Set(keys.map((k) => `${k.name}:${k.type}`))]);
      };
      const definedAs = (p: Record<string, Json>) =>
        sorted(
          (p.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map(
            (a) => `${a.AttributeName}:${a.AttributeType}`,
          ),
        );

      const [, requests] = resources(s.template(hub), "AWS::DynamoDB::Table")[0] as [
        string,
        CfnResource,
      ];
      const p = requests.Properties ?? {};
      expect(p.TableName).toBe(REQUESTS_TABLE.defaultName);
      expect(p.KeySchema).toEqual([
        { AttributeName: REQUESTS_TABLE.partitionKey.name, KeyType: "HASH" },
      ]);
      expect(p.GlobalSecondaryIndexes).toEqual(indexes(REQUESTS_TABLE));
      expect(definedAs(p)).toEqual(attributes(REQUESTS_TABLE));
      expect(p.TimeToLiveSpecification).toEqual({
        AttributeName: REQUESTS_TABLE.ttlAttribute,
        Enabled: true,
      });
      for (const m of members) {
        const [, baselines] = resources(s.template(m), "AWS::DynamoDB::Table")[0] as [
          string,
          CfnResource,
        ];
        const b = baselines.Properties ?? {};
        expect(b.TableName).toBe(BASELINES_TABLE.defaultName);
        expect(b.KeySchema).toEqual([
          { AttributeName: BASELINES_TABLE.partitionKey.name, KeyType: "HASH" },
          { AttributeName: BASELINES_TABLE.sortKey.name, KeyType: "RANGE" },
        ]);
        expect(b.GlobalSecondaryIndexes).toEqual(indexes(BASELINES_TABLE));
        expect(definedAs(b)).toEqual(attributes(BASELINES_TABLE));
        expect(b.TimeToLiveSpecification).toEqual({
          AttributeName: BASELINES_TABLE.ttlAttribute,
          Enabled: true,
        });
      }
    });
  });

  describe("cdk-nag (AwsSolutions)", () => {
    it("reports no unacknowledged error or warning (the synth would have thrown on errors)", () => {
      const report = s.report();
      const findings = report.pluginReports.flatMap((p) =>
        p.violations.map(
          (v) =>
            `${p.pluginName}: ${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(", ")}`,
        ),
      );
      expect(findings).toEqual([]);
    });

    it("gives a written reason for every acknowledgement", () => {
      const acks = acknowledgements(s.app);
      expect(acks.length).toBeGreaterThan(0);
      for (const ack of acks) {
        expect(ack.id).toMatch(/^Annotation::/);
        expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(60);
      }
      // CDK stores an id without a plugin namespace as "Annotation::<id>"; cdk-nag strips it.
      const ids = new Set(
        acks.map((a) => a.id.replace(/^Annotation::(?=AwsSolutions-)/, "").replace(/\[.*\]$/, "")),
      );
      expect(sorted([...ids])).toEqual(
        sorted([
          "AwsSolutions-APIG3",
          "AwsSolutions-APIG4",
          "AwsSolutions-COG4",
          "AwsSolutions-IAM4",
          "AwsSolutions-IAM5",
          "AwsSolutions-SMG4",
          "AwsSolutions-SQS3",
          "Annotation::@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias",
        ]),
      );
    });
  });
});

describe("single-account app", () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth(SINGLE);
  });

  it("is one stack holding the hub and the member of the hub's region", () => {
    expect(s.members).toEqual([]);
    expect(s.hub.stackName).toBe("SecgroupApproval-Hub");
    expect([s.hub.account, s.hub.region]).toEqual([HUB, "eu-central-1"]);
    expect(s.hub.member).toBeDefined();
    const t = s.template(s.hub);
    expect(ourFunctions(s, s.hub)).toHaveLength(9);
    expect(
      sorted(resources(t, "AWS::SNS::Topic").map(([, r]) => r.Properties?.TopicName as string)),
    ).toEqual(sorted(Object.values(TOPICS)));
    expect(
      sorted(
        resources(t, "AWS::DynamoDB::Table").map(([, r]) => r.Properties?.TableName as string),
      ),
    ).toEqual(["securityGroupBaselines", "securityGroupRequests"]);
    const roleNames = resources(t, "AWS::IAM::Role")
      .map(([, r]) => r.Properties?.RoleName)
      .filter(Boolean);
    // 5 hub functions, 4 member functions, the member's forwarding role.
    expect(new Set(roleNames).size).toBe(10);
    expect(
      sorted(resources(t, "AWS::Events::EventBus").map(([, r]) => r.Properties?.Name as string)),
    ).toEqual(sorted([BUSES.hub, BUSES.member]));
    const forward = resources(t, "AWS::Events::Rule").find(
      ([, r]) => r.Properties?.Name === "secgroup-approval-forward",
    );
    expect((forward?.[1].Properties?.Targets as Record<string, Json>[] | undefined)?.[0]?.Arn).toBe(
      busArn("aws", "eu-central-1", HUB, BUSES.hub),
    );
  });

  it("names only its own account in topic, key and bus policies", () => {
    const t = s.template(s.hub);
    expect(busPolicy(s, s.hub, BUSES.hub)).toEqual([
      expect.objectContaining({ Principal: { AWS: [`arn:aws:iam::${HUB}:root`] } }),
    ]);
    for (const [, policy] of resources(t, "AWS::SNS::TopicPolicy")) {
      for (const st of statements(policy).filter((x) => x.Effect === "Allow")) {
        expect(principalAccounts(st.Principal)).toEqual([HUB]);
      }
    }
    for (const [, key] of resources(t, "AWS::KMS::Key")) {
      for (const st of statements(key, "KeyPolicy"))
        expect(principalAccounts(st.Principal)).toEqual([HUB]);
    }
  });

  it("passes cdk-nag", () => {
    expect(s.report().pluginReports.flatMap((p) => p.violations)).toEqual([]);
  });

  it("puts further regions of the hub account in their own member stacks", () => {
    const multiRegion = synth({
      ...SINGLE,
      members: [{ account: HUB, alias: "core", regions: ["eu-central-1", "us-west-2"] }],
    });
    expect(multiRegion.hub.member).toBeDefined();
    expect(multiRegion.members.map((m) => m.stackName)).toEqual([
      `SecgroupApproval-Member-${HUB}-us-west-2`,
    ]);
  });
});

describe("API Gateway's account-wide CloudWatch Logs role", () => {
  const roleAndAccount = (s: Synthesized) => {
    const t = s.template(s.hub);
    return {
      account: resources(t, "AWS::ApiGateway::Account"),
      roles: resources(t, "AWS::IAM::Role").filter(([, r]) =>
        JSON.stringify(r.Properties?.ManagedPolicyArns ?? []).includes(
          "AmazonAPIGatewayPushToCloudWatchLogs",
        ),
      ),
    };
  };

  it("is created and set by default (apiGatewayCloudWatchRole: true), and kept on delete", () => {
    const s = synth(MULTI);
    const { account, roles } = roleAndAccount(s);
    expect(account).toHaveLength(1);
    expect(roles).toHaveLength(1);
    expect(roles[0]?.[1].DeletionPolicy).toBe("Retain");
    expect(account[0]?.[1].Properties?.CloudWatchRoleArn).toEqual({
      "Fn::GetAtt": [roles[0]?.[0], "Arn"],
    });
  });

  it("is left alone with apiGatewayCloudWatchRole: false; logging stays on and cdk-nag passes", () => {
    const s = synth({ ...MULTI, apiGatewayCloudWatchRole: false });
    const { account, roles } = roleAndAccount(s);
    expect(account).toEqual([]);
    expect(roles).toEqual([]);
    const stage = resources(s.template(s.hub), "AWS::ApiGateway::Stage")[0]?.[1].Properties;
    expect(stage?.AccessLogSetting).toBeDefined();
    expect(stage?.MethodSettings).toEqual([
      expect.objectContaining({ LoggingLevel: "ERROR", DataTraceEnabled: false }),
    ]);
    expect(s.report().pluginReports.flatMap((p) => p.violations)).toEqual([]);
    expect(acknowledgements(s.app).map((a) => a.id)).not.toContainEqual(
      expect.stringContaining("AmazonAPIGatewayPushToCloudWatchLogs"),
    );
  });
});

describe("alarm notifications", () => {
  const alarmActions = (s: Synthesized, stack: Stack) =>
    resources(s.template(stack), "AWS::CloudWatch::Alarm").map(([, a]) => ({
      alarm: list(a.Properties?.AlarmActions as Json[]),
      ok: list(a.Properties?.OKActions as Json[]),
    }));

  it("go nowhere when neither alarmEmail nor alarmTopicArn is set", () => {
    const s = synth(MULTI);
    for (const stack of [s.hub, ...s.members]) {
      for (const a of alarmActions(s, stack)) expect(a).toEqual({ alarm: [], ok: [] });
    }
  });

  it("alarmEmail: every stack's alarms notify its own encrypted topic, which mails the address", () => {
    const s = synth({ ...MULTI, alarmEmail: "secops@acme.io" });
    for (const stack of [s.hub, ...s.members]) {
      const t = s.template(stack);
      const topics = resources(t, "AWS::SNS::Topic").filter(([id]) => id.startsWith("AlarmTopic"));
      expect(topics).toHaveLength(1);
      const [topicId, topic] = topics[0] as [string, CfnResource];
      expect(JSON.stringify(topic.Properties?.KmsMasterKeyId)).toContain("TopicKey");
      expect(topic.Properties?.TopicName).toBeUndefined();
      const subs = resources(t, "AWS::SNS::Subscription").filter(
        ([, r]) => r.Properties?.Protocol === "email",
      );
      expect(subs.map(([, r]) => [r.Properties?.Endpoint, r.Properties?.TopicArn])).toEqual([
        ["secops@acme.io", { Ref: topicId }],
      ]);
      const alarms = alarmActions(s, stack);
      expect(alarms.length).toBeGreaterThan(0);
      for (const a of alarms)
        expect(a).toEqual({ alarm: [{ Ref: topicId }], ok: [{ Ref: topicId }] });

      const fromAlarms = {
        StringEquals: { "aws:SourceAccount": stack.account },
        ArnLike: {
          "aws:SourceArn": `arn:aws:cloudwatch:${stack.region}:${stack.account}:alarm:SecgroupApproval-*`,
        },
      };
      const topicPolicy = resources(t, "AWS::SNS::TopicPolicy").find(([, r]) =>
        JSON.stringify(r.Properties?.Topics).includes(topicId),
      );
      expect(topicPolicy && statements(topicPolicy[1])).toContainEqual(
        expect.objectContaining({
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: "sns:Publish",
          Condition: fromAlarms,
        }),
      );
      const [, key] = resources(t, "AWS::KMS::Key")[0] as [string, CfnResource];
      expect(statements(key, "KeyPolicy")).toContainEqual(
        expect.objectContaining({
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          Condition: fromAlarms,
        }),
      );
    }
    expect(s.report().pluginReports.flatMap((p) => p.violations)).toEqual([]);
  });

  it("alarmTopicArn: every alarm notifies that topic; single-account mode makes one alarm topic", () => {
    const arn = `arn:aws:sns:eu-central-1:${HUB}:ops-alerts`;
    const s = synth({ ...SINGLE, alarmTopicArn: arn, alarmEmail: "secops@acme.io" });
    const t = s.template(s.hub);
    expect(
      resources(t, "AWS::SNS::Topic").filter(([id]) => id.startsWith("AlarmTopic")),
    ).toHaveLength(1);
    const alarms = alarmActions(s, s.hub);
    expect(alarms.length).toBeGreaterThan(15);
    for (const a of alarms) {
      expect(a.alarm).toHaveLength(2);
      expect(a.alarm).toContain(arn);
      expect(a.ok).toEqual(a.alarm);
    }
  });
});

describe("cdk-nag is really on", () => {
  it("fails the synth on an unacknowledged finding", () => {
    expect(() =>
      synth(SINGLE, {
        mutate: ({ hub }) => {
          new sqs.Queue(hub, "PlainQueue", { enforceSSL: false });
          new iam.Role(hub, "LooseRole", {
            assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
            inlinePolicies: {
              all: new iam.PolicyDocument({
                statements: [new iam.PolicyStatement({ actions: ["ec2:*"], resources: ["*"] })],
              }),
            },
          });
        },
      }),
    ).toThrow(
      /AwsSolutions-SQS4[\s\S]*AwsSolutions-IAM5|AwsSolutions-IAM5[\s\S]*AwsSolutions-SQS4/,
    );
  });
});
