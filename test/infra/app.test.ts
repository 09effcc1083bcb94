import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { memberTargets } from "../../infra/config.js";
import { BUNDLING } from "../../infra/handler.js";
import { roleArn, roleName, TOPICS } from "../../infra/names.js";
import { BASELINES_TABLE, REQUESTS_TABLE } from "../../src/adapters/dynamodb/tables.js";
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
    it("matches the five governed calls from ec2.amazonaws.com, any identity, success only", () => {
      for (const m of members) {
        const rules = resources(s.template(m), "AWS::Events::Rule").filter(
          ([, r]) => r.Properties?.EventPattern,
        );
        expect(rules).toHaveLength(1);
        const pattern = rules[0]?.[1].Properties?.EventPattern;
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
            ],
            errorCode: [{ exists: false }],
          },
        });
        // The very pattern the sandbox routes by.
        expect(pattern).toEqual(JSON.parse(JSON.stringify(GOVERNED_EVENT_PATTERN)));
      }
    });

    it("lets through exactly the successful governed calls among the CloudTrail fixtures", () => {
      const rule = resources(s.template(members[0] as Stack), "AWS::Events::Rule").find(
        ([, r]) => r.Properties?.EventPattern,
      );
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
        const [, rule] = resources(s.template(m), "AWS::Events::Rule").find(
          ([, r]) => r.Properties?.EventPattern,
        ) as [string, CfnResource];
        const targets = rule.Properties?.Targets as Record<string, Json>[];
        expect(targets).toHaveLength(1);
        expect(JSON.stringify(targets[0]?.Arn)).toContain("RevertSecurityGroupFunction");
        expect(JSON.stringify(targets[0]?.DeadLetterConfig)).toContain(
          "RevertSecurityGroupDeadLetters",
        );
        expect(targets[0]?.RetryPolicy).toBeDefined();
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
    const targets = () => memberTargets(s.config);

    it("keeps the original names and are KMS-encrypted", () => {
      const hubTopics = resources(s.template(hub), "AWS::SNS::Topic");
      expect(sorted(hubTopics.map(([, r]) => r.Properties?.TopicName as string))).toEqual(
        sorted([TOPICS.change, TOPICS.deny, TOPICS.result]),
      );
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

    it("hub: only the configured member accounts' own functions may publish changes and results", () => {
      const change = topicPolicy(hub, "HubChangeTopic");
      const allowChange = change.filter((st) => st.Effect === "Allow");
      expect(allowChange).toHaveLength(1);
      expect(sorted(principalAccounts(allowChange[0]?.Principal))).toEqual([MEMBER_A, MEMBER_B]);
      expect(allowChange[0]?.Action).toBe("sns:Publish");
      expect(
        sorted(list(allowChange[0]?.Condition?.ArnEquals?.["aws:PrincipalArn"] as string[])),
      ).toEqual(
        sorted(
          targets().flatMap((t) => [
            roleArn("aws", t.account, "revert", t.region),
            roleArn("aws", t.account, "sweep", t.region),
          ]),
        ),
      );

      const result = topicPolicy(hub, "HubResultTopic").filter((st) => st.Effect === "Allow");
      expect(result).toHaveLength(1);
      expect(sorted(principalAccounts(result[0]?.Principal))).toEqual([MEMBER_A, MEMBER_B]);
      expect(
        sorted(list(result[0]?.Condition?.ArnEquals?.["aws:PrincipalArn"] as string[])),
      ).toEqual(sorted(targets().map((t) => roleArn("aws", t.account, "apply", t.region))));

      // Nobody outside the hub publishes denials.
      expect(topicPolicy(hub, "HubDenyTopic").filter((st) => st.Effect === "Allow")).toEqual([]);
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

    it("KMS key policies admit exactly the cross-account publishers, only through SNS", () => {
      const [, hubKey] = resources(s.template(hub), "AWS::KMS::Key")[0] as [string, CfnResource];
      const cross = statements(hubKey, "KeyPolicy").filter((st) => st.Sid);
      expect(cross).toHaveLength(1);
      expect(sorted(principalAccounts(cross[0]?.Principal))).toEqual([MEMBER_A, MEMBER_B]);
      expect(sorted(list(cross[0]?.Action))).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
      expect(cross[0]?.Condition?.StringEquals).toEqual({
        "kms:ViaService": "sns.us-east-1.amazonaws.com",
      });
      for (const m of members) {
        const [, key] = resources(s.template(m), "AWS::KMS::Key")[0] as [string, CfnResource];
        const st = statements(key, "KeyPolicy").filter((x) => x.Sid);
        expect(st).toHaveLength(1);
        expect(principalAccounts(st[0]?.Principal)).toEqual([HUB]);
        expect(st[0]?.Condition?.StringEquals).toEqual({
          "kms:ViaService": `sns.${m.region}.amazonaws.com`,
        });
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
          const writes = ec2.filter((a) => !a.startsWith("ec2:Describe"));
          if (writes.length > 0) expect(list(st.Resource)).not.toContain("*");
          if (list(st.Resource).includes("*")) {
            expect(
              list(st.Action).every((a) =>
                ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"].includes(a),
              ),
            ).toBe(true);
          }
        }
      }
    });

    it("lets revert and apply change only security groups of their own account and region", () => {
      for (const m of members) {
        const t = s.template(m);
        for (const prefix of ["MemberRevertSecurityGroup", "MemberApplySecurityGroupChange"]) {
          const writes = policyOf(t, prefix).filter((st) =>
            list(st.Action).some((a) => a.startsWith("ec2:") && !a.startsWith("ec2:Describe")),
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
        // The sweep only reads EC2 (rules and names); only the revert looks a group up by name.
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
        expect(ec2Of("MemberApplySecurityGroupChange")).toEqual(["ec2:DescribeSecurityGroupRules"]);
        expect(ec2Of("MemberRevertSecurityGroup")).toEqual([
          "ec2:DescribeSecurityGroupRules",
          "ec2:DescribeSecurityGroups",
        ]);
      }
      const hubEc2 = allStatements(s, hub).flatMap((st) =>
        list(st.Action).filter((a) => a.startsWith("ec2:")),
      );
      expect(hubEc2).toEqual([]);
    });

    it("lets each function publish only to the topics it uses", () => {
      const publishTargets = (t: ReturnType<Synthesized["template"]>, prefix: string) =>
        sorted(
          policyOf(t, prefix)
            .filter((st) => list(st.Action).includes("sns:Publish"))
            .flatMap((st) =>
              list(st.Resource as Json[]).map((r) =>
                typeof r === "string" ? r : JSON.stringify(r),
              ),
            ),
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
      // expireRequests re-sends stuck approvals to the members' apply topics, and never denies.
      expect(publishTargets(ht, "HubExpireRequests")).toEqual(applyTopics);
      const hubKeyUsers = resources(ht, "AWS::IAM::Policy")
        .filter(([, r]) =>
          statements(r).some((st) => JSON.stringify(st.Resource).includes("HubTopicKey")),
        )
        .map(([id]) => id.replace(/RoleDefaultPolicy.*$/, ""));
      expect(hubKeyUsers).toEqual(["HubButtonClick"]);
      for (const m of members) {
        const t = s.template(m);
        expect(publishTargets(t, "MemberRevertSecurityGroup")).toEqual([
          `arn:aws:sns:us-east-1:${HUB}:securityGroupChange`,
        ]);
        expect(publishTargets(t, "MemberSweepBaseline")).toEqual([
          `arn:aws:sns:us-east-1:${HUB}:securityGroupChange`,
        ]);
        expect(publishTargets(t, "MemberApplySecurityGroupChange")).toEqual([
          `arn:aws:sns:us-east-1:${HUB}:errorHandlerSecurityGroupChange`,
        ]);
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
      expect(JSON.stringify(query?.Resource)).toMatch(/^\{"Fn::Join".*\/index\/byStatus"\]\]\}$/);

      // src/adapters/dynamodb/baselines.ts: rule writes and deletes are BatchWriteItem; only the
      // sweep scans (the outbox); no function deletes items one by one.
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
        ]);
        expect(tableActions(t, "MemberSweepBaseline")).toEqual([
          "dynamodb:BatchWriteItem",
          "dynamodb:Query",
          "dynamodb:Scan",
          "dynamodb:UpdateItem",
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
      // Only expireRequests lists requests (the byStatus index).
      const queries = allStatements(s, hub).filter((st) =>
        list(st.Action).includes("dynamodb:Query"),
      );
      expect(queries).toHaveLength(1);
      expect(JSON.stringify(queries[0]?.Resource)).toContain("/index/byStatus");
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
        expect(sorted(roles)).toEqual(
          sorted((["revert", "apply", "sweep"] as const).map((f) => roleName(f, m.region))),
        );
        for (const [, fn] of ourFunctions(s, m)) {
          const env = resolvedEnvironment(fn);
          expect(sorted((env.SYSTEM_ROLE_ARNS ?? "").split(","))).toEqual(
            sorted(roles.map((r) => `arn:aws:iam::${m.account}:role/${r}`)),
          );
        }
      }
    });
  });

  describe("functions", () => {
    it("run on nodejs24.x on arm64, with bounded timeouts", () => {
      expect(ourFunctions(s, hub)).toHaveLength(5);
      for (const m of members) expect(ourFunctions(s, m)).toHaveLength(3);
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
        expect(parsed.data).toMatchObject({
          SLACK_APPROVAL_CHANNEL: "C0123456789",
          SLACK_MONITORING_CHANNEL: "C0987654321",
          APPROVER_USER_IDS: ["U0123456789", "W0234567891"],
          APPROVER_USER_GROUP: "S0123456789",
          MEMBER_APPLY_TOPIC_NAME: "applySecurityGroupChange",
          AWS_PARTITION: "aws",
          REQUEST_EXPIRY_HOURS: 12,
          ACCOUNT_ALIASES: { [MEMBER_A]: "prod-payments", [MEMBER_B]: "staging" },
        });
      }
      const memberSchema = z.strictObject({
        ...memberConfigSchema.shape,
        NODE_OPTIONS: z.literal("--enable-source-maps"),
      });
      for (const m of members) {
        for (const [id, fn] of ourFunctions(s, m)) {
          const env = resolvedEnvironment(fn);
          const parsed = memberSchema.safeParse(env);
          expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
          expect(parsed.data).toMatchObject({
            HUB_CHANGE_TOPIC_ARN: `arn:aws:sns:us-east-1:${HUB}:securityGroupChange`,
            HUB_RESULT_TOPIC_ARN: `arn:aws:sns:us-east-1:${HUB}:errorHandlerSecurityGroupChange`,
            EXEMPT_PRINCIPALS: ["arn:aws:iam::*:role/BreakGlassAdmin"],
            MAX_EVENT_AGE_SECONDS: 600,
            AUTO_DENY_WITHOUT_DESCRIPTION: true,
            ACCOUNT_ALIAS: m.account === MEMBER_A ? "prod-payments" : "staging",
          });
        }
      }
    });

    it("asynchronous handlers send failures to an encrypted, TLS-only dead-letter queue", () => {
      for (const stack of [hub, ...members]) {
        const t = s.template(stack);
        const fns = ourFunctions(s, stack).map(([id]) => id);
        const invokeConfigs = resources(t, "AWS::Lambda::EventInvokeConfig");
        const withDlq = new Set(
          invokeConfigs.map(([, r]) => {
            expect(JSON.stringify(r.Properties?.DestinationConfig)).toMatch(
              /OnFailure.*DeadLetters/,
            );
            return (props(r).FunctionName as { Ref: string }).Ref;
          }),
        );
        // Every function except buttonClick (synchronous, behind API Gateway).
        expect(sorted([...withDlq])).toEqual(
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
        expect(queues).toHaveLength(withDlq.size);
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

    it("have alarms on errors, and on every dead-letter queue's depth", () => {
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
      }
      const hubAlarms = resources(s.template(hub), "AWS::CloudWatch::Alarm").map(
        ([, a]) => a.Properties,
      );
      expect(hubAlarms).toContainEqual(
        expect.objectContaining({ Namespace: "AWS/ApiGateway", MetricName: "5XXError" }),
      );
    });

    it("run on schedules: expiry every 15 minutes, the sweep hourly and once per deploy", () => {
      const schedules = (stack: Stack) =>
        resources(s.template(stack), "AWS::Events::Rule")
          .map(([, r]) => r.Properties?.ScheduleExpression)
          .filter(Boolean);
      expect(schedules(hub)).toEqual(["rate(15 minutes)"]);
      for (const m of members) {
        expect(schedules(m)).toEqual(["rate(1 hour)"]);
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

    it("creates the Slack secret empty, in the documented JSON shape", () => {
      const secrets = resources(s.template(hub), "AWS::SecretsManager::Secret");
      expect(secrets).toHaveLength(1);
      expect(secrets[0]?.[1].Properties?.Name).toBe("secgroup-approval/slack");
      expect(JSON.parse(secrets[0]?.[1].Properties?.SecretString as string)).toEqual({
        botToken: "",
        signingSecret: "",
      });
    });
  });

  describe("tables", () => {
    it("hub securityGroupRequests: requestId, byStatus(status, createdAt) ALL, ttl, PITR, encrypted", () => {
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
      ).toEqual(["createdAt", "requestId", "status"]);
    });

    it("member securityGroupBaselines: pk, sk, ttl, PITR, encrypted", () => {
      for (const m of members) {
        const [, table] = resources(s.template(m), "AWS::DynamoDB::Table")[0] as [
          string,
          CfnResource,
        ];
        expect(table.Properties).toMatchObject({
          TableName: "securityGroupBaselines",
          BillingMode: "PAY_PER_REQUEST",
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "sk", KeyType: "RANGE" },
          ],
          TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        });
      }
    });

    it("match the definitions the adapters and the sandbox use (src/adapters/dynamodb/tables.ts)", () => {
      const [, requests] = resources(s.template(hub), "AWS::DynamoDB::Table")[0] as [
        string,
        CfnResource,
      ];
      const p = requests.Properties ?? {};
      expect(p.TableName).toBe(REQUESTS_TABLE.defaultName);
      expect(p.KeySchema).toEqual([
        { AttributeName: REQUESTS_TABLE.partitionKey.name, KeyType: "HASH" },
      ]);
      expect(p.GlobalSecondaryIndexes).toEqual(
        REQUESTS_TABLE.globalIndexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey.name, KeyType: "HASH" },
            { AttributeName: i.sortKey.name, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: i.projection },
        })),
      );
      expect(p.TimeToLiveSpecification).toEqual({
        AttributeName: REQUESTS_TABLE.ttlAttribute,
        Enabled: true,
      });
      const [, baselines] = resources(
        s.template(members[0] as Stack),
        "AWS::DynamoDB::Table",
      )[0] as [string, CfnResource];
      expect(baselines.Properties?.TableName).toBe(BASELINES_TABLE.defaultName);
      expect(baselines.Properties?.KeySchema).toEqual([
        { AttributeName: BASELINES_TABLE.partitionKey.name, KeyType: "HASH" },
        { AttributeName: BASELINES_TABLE.sortKey.name, KeyType: "RANGE" },
      ]);
      expect(baselines.Properties?.TimeToLiveSpecification).toEqual({
        AttributeName: BASELINES_TABLE.ttlAttribute,
        Enabled: true,
      });
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
    expect(ourFunctions(s, s.hub)).toHaveLength(8);
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
    expect(new Set(roleNames).size).toBe(8);
  });

  it("names only its own account in topic and key policies", () => {
    const t = s.template(s.hub);
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
