/**
 * The member handlers with EC2 and SNS mocked at the SDK (exact commands, parameters and call
 * counts) and the baseline table on real dynalite.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  type AuthorizeSecurityGroupIngressCommandInput,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type IpPermission,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoBaselines, DynamoEventLedger } from "../../src/adapters/dynamodb/index.js";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import { SnsPublisher } from "../../src/adapters/sns/publisher.js";
import type { MemberDeps } from "../../src/app/member.js";
import { MalformedEventError } from "../../src/domain/cloudtrail.js";
import type { Rule } from "../../src/domain/rule.js";
import { createApplyHandler } from "../../src/handlers/applySecurityGroupChange.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { snsEvent } from "../../src/sandbox/bus.js";
import { dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import { fixtureChange } from "../support/domain-fixtures.js";
import { fixture, MemoryLog } from "../support/hub-harness.js";

const NOW = new Date("2026-11-23T10:00:30Z");
const HUB_CHANGE = "arn:aws:sns:us-east-1:999988887777:securityGroupChange";
const HUB_RESULT = "arn:aws:sns:us-east-1:999988887777:errorHandlerSecurityGroupChange";

const ec2 = mockClient(EC2Client);
const sns = mockClient(SNSClient);
let stopDb: () => Promise<void>;
let deps: MemberDeps;
let counter = 0;
/** Regions the publisher made SNS clients for. */
const regions: string[] = [];

beforeAll(async () => {
  const db = await startDynalite();
  stopDb = db.stop;
  const { client, doc } = dynamoClients(db.endpoint);
  await ensureTables(client);
  deps = {
    securityGroups: new Ec2SecurityGroups(
      new EC2Client({
        region: "us-east-1",
        credentials: { accessKeyId: "x", secretAccessKey: "x" },
      }),
    ),
    baselines: new DynamoBaselines(doc),
    ledger: new DynamoEventLedger(doc),
    publisher: new SnsPublisher((region) => {
      regions.push(region);
      return new SNSClient({ region, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    }),
    clock: () => NOW,
    log: new MemoryLog(),
    config: {
      hubChangeTopicArn: HUB_CHANGE,
      hubResultTopicArn: HUB_RESULT,
      accountAlias: "prod-payments",
      policy: {
        systemRoleArns: ["arn:aws:iam::111122223333:role/secgroup-approval-member"],
        exemptPrincipals: ["arn:aws:iam::111122223333:role/BreakGlass*"],
        maxEventAgeSeconds: 300,
        autoDenyWithoutDescription: false,
      },
    },
  };
});
afterAll(async () => stopDb?.());
beforeEach(() => {
  ec2.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
});

/** A fixture event made fresh: a new event id (the ledger remembers ids) and a time just before NOW. */
function event(path: string, mutate?: (detail: Record<string, unknown>) => void) {
  const e = structuredClone(fixture(`cloudtrail/${path}`)) as { detail: Record<string, unknown> };
  counter += 1;
  e.detail.eventID = `evt-${counter}-${path}`;
  e.detail.eventTime = "2026-11-23T10:00:00Z";
  mutate?.(e.detail);
  return e;
}

const revert = () => createRevertHandler(() => deps);

/** What EC2 answers an authorize with: every created rule, each with a new id. */
const createdRules = (input: AuthorizeSecurityGroupIngressCommandInput) => {
  let n = 0;
  const rule = (p: IpPermission, peer: Record<string, string | undefined>) => ({
    SecurityGroupRuleId: `sgr-new${n++}`,
    GroupId: input.GroupId,
    IsEgress: false,
    IpProtocol: p.IpProtocol,
    FromPort: p.FromPort,
    ToPort: p.ToPort,
    ...peer,
  });
  return {
    Return: true,
    SecurityGroupRules: (input.IpPermissions ?? []).flatMap((p) => [
      ...(p.IpRanges ?? []).map((r) => rule(p, { CidrIpv4: r.CidrIp, Description: r.Description })),
      ...(p.Ipv6Ranges ?? []).map((r) =>
        rule(p, { CidrIpv6: r.CidrIpv6, Description: r.Description }),
      ),
    ]),
  };
};
const writes = () => ec2.calls().filter((c) => !c.args[0].constructor.name.startsWith("Describe"));
const describes = () =>
  ec2.calls().filter((c) => c.args[0].constructor.name.startsWith("Describe"));
const published = () =>
  sns.commandCalls(PublishCommand).map((c) => ({
    topic: c.args[0].input.TopicArn,
    message: JSON.parse(c.args[0].input.Message ?? "{}"),
  }));

describe("revertSecurityGroup", () => {
  it("reverts an add with ONE revoke by the new rule ids, no Describe, and files it with the hub", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const status = await revert()(event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"));
    expect(status).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    const input = ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]?.args[0].input;
    expect(input?.GroupId).toBe("sg-0f3a9c2b7d1e4a5b6");
    expect(input?.SecurityGroupRuleIds?.length).toBeGreaterThan(0);
    expect(input?.IpPermissions).toBeUndefined();
    const [sent] = published();
    expect(sent?.topic).toBe(HUB_CHANGE);
    expect(sent?.message).toMatchObject({
      type: "change",
      accountAlias: "prod-payments",
      change: { kind: "add", groupId: "sg-0f3a9c2b7d1e4a5b6" },
    });
  });

  it("names the group in the hub message from the swept baseline, with no Describe", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    const groupId = (e.detail.requestParameters as { groupId: string }).groupId;
    await deps.baselines.replace(groupId, [], NOW.toISOString(), "web-servers");
    expect(await revert()(e)).toBe("reverted");
    expect(describes()).toHaveLength(0);
    expect(published()[0]?.message.groupName).toBe("web-servers");
  });

  it("reverts a remove by rule id with ONE authorize and records the restored rules' new ids in the baseline", async () => {
    const e = event("RevokeSecurityGroupIngress/by-rule-ids.json");
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    expect(await revert()(e)).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    const perms =
      ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions ?? [];
    expect(perms.flatMap((p) => p.IpRanges ?? [])).toContainEqual({
      CidrIp: "203.0.113.10/32",
      Description: "SSH from bastion - ticket OPS-1234",
    });
    const baseline = (await deps.baselines.get("sg-0f3a9c2b7d1e4a5b6")) ?? [];
    expect(baseline).toHaveLength(2);
    expect(baseline.every((r) => r.ruleId?.startsWith("sgr-new"))).toBe(true);
    expect(baseline.map((r) => r.peer).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: "cidrIpv4", cidr: "203.0.113.10/32" },
      { kind: "cidrIpv6", cidr: "2001:db8:1234::/48" },
    ]);
  });

  it("reverts a modify from the baseline with ONE ModifySecurityGroupRules carrying the old content", async () => {
    const before: Rule = {
      direction: "ingress",
      protocol: "tcp",
      fromPort: 22,
      toPort: 22,
      peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
      description: "ssh from the VPN",
      ruleId: "sgr-0123456789abcdef0",
    };
    const e = event("ModifySecurityGroupRules/single-rule.json");
    const request = (
      e.detail.requestParameters as {
        ModifySecurityGroupRulesRequest: {
          GroupId: string;
          SecurityGroupRule: { SecurityGroupRuleId: string };
        };
      }
    ).ModifySecurityGroupRulesRequest;
    await deps.baselines.replace(
      request.GroupId,
      [{ ...before, ruleId: request.SecurityGroupRule.SecurityGroupRuleId }],
      NOW.toISOString(),
    );
    ec2.on(ModifySecurityGroupRulesCommand).resolves({ Return: true });
    expect(await revert()(e)).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    expect(ec2.commandCalls(ModifySecurityGroupRulesCommand)[0]?.args[0].input).toEqual({
      GroupId: request.GroupId,
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: request.SecurityGroupRule.SecurityGroupRuleId,
          SecurityGroupRule: {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            CidrIpv4: "10.0.0.0/8",
            Description: "ssh from the VPN",
          },
        },
      ],
    });
    // The baseline still holds the approved content, not the person's edit.
    expect((await deps.baselines.get(request.GroupId))?.[0]?.peer).toEqual({
      kind: "cidrIpv4",
      cidr: "10.0.0.0/8",
    });
  });

  it("a modify the baseline does not know is reported as a revert failure and the group is re-read", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    const status = await revert()(
      event("ModifySecurityGroupRules/multi-rule.json", (d) => {
        (
          d.requestParameters as { ModifySecurityGroupRulesRequest: { GroupId: string } }
        ).ModifySecurityGroupRulesRequest.GroupId = "sg-0never0swept";
      }),
    );
    expect(status).toBe("revert_failed");
    expect(ec2.commandCalls(ModifySecurityGroupRulesCommand)).toHaveLength(0);
    expect(published()[0]?.message.revertError.code).toBe("BaselineGap");
  });

  it("does nothing for a redelivered event", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await revert()(e);
    ec2.resetHistory();
    sns.resetHistory();
    expect(await revert()(e)).toBe("duplicate");
    expect(ec2.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
  });

  it("reverts even when the hub is down, keeps the request in the outbox, and delivers it on the retry", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    sns.on(PublishCommand).rejects(
      Object.assign(new Error("Service Unavailable"), {
        name: "InternalErrorException",
        $fault: "server",
      }),
    );
    const e = event("AuthorizeSecurityGroupIngress/multi-item.json");
    await expect(revert()(e)).rejects.toThrow(/Service Unavailable/);
    expect(writes()).toHaveLength(1);
    const pending = await deps.ledger.get(e.detail.eventID as string);
    expect(pending?.pending).toContain('"type":"change"');

    ec2.resetHistory();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m-2" });
    expect(await revert()(e)).toBe("duplicate");
    expect(ec2.calls()).toHaveLength(0);
    expect(published()).toHaveLength(1);
    expect((await deps.ledger.get(e.detail.eventID as string))?.pending).toBeUndefined();
  });

  it("publishes to a hub topic in another region with a client of that region", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const hubTopic = deps.config.hubChangeTopicArn;
    deps.config.hubChangeTopicArn = "arn:aws:sns:eu-west-1:999988887777:securityGroupChange";
    try {
      await revert()(event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"));
    } finally {
      deps.config.hubChangeTopicArn = hubTopic;
    }
    expect(regions).toContain("eu-west-1");
    expect(published()[0]?.topic).toBe("arn:aws:sns:eu-west-1:999988887777:securityGroupChange");
  });

  it("a retry that arrives after the age limit still delivers the outbox message", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    sns
      .on(PublishCommand)
      .rejects(
        Object.assign(new Error("hub down"), { name: "InternalErrorException", $fault: "server" }),
      );
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await expect(revert()(e)).rejects.toThrow(/hub down/);
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m-3" });
    const later = new Date(NOW.getTime() + 30 * 60_000);
    const status = await createRevertHandler(() => ({ ...deps, clock: () => later }))(e);
    expect(status).toBe("duplicate");
    expect(published()).toHaveLength(1);
  });

  it("ignores the system's own role without any AWS call", async () => {
    const own = event("AuthorizeSecurityGroupIngress/assumed-role-sso.json", (d) => {
      const id = d.userIdentity as {
        arn: string;
        sessionContext: { sessionIssuer: { arn: string } };
      };
      id.arn = "arn:aws:sts::111122223333:assumed-role/secgroup-approval-member/revert";
      id.sessionContext.sessionIssuer.arn =
        "arn:aws:iam::111122223333:role/secgroup-approval-member";
    });
    expect(await revert()(own)).toBe("ignored");
    expect(ec2.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
  });

  it("lets an exempt principal's change stand, and the baseline learns it (one Describe, no write)", async () => {
    const exempt = event("AuthorizeSecurityGroupIngress/assumed-role-sso.json", (d) => {
      (
        d.userIdentity as { sessionContext: { sessionIssuer: { arn: string } } }
      ).sessionContext.sessionIssuer.arn = "arn:aws:iam::111122223333:role/BreakGlassAdmin";
    });
    const groupId = (exempt.detail.requestParameters as { groupId: string }).groupId;
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-0breakglass00001",
          GroupId: groupId,
          IsEgress: false,
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          CidrIpv4: "10.1.0.0/16",
          Description: "break-glass",
        },
      ],
    });
    expect(await revert()(exempt)).toBe("exempt");
    expect(writes()).toHaveLength(0);
    expect(describes()).toHaveLength(1);
    expect(sns.calls()).toHaveLength(0);
    expect(await deps.baselines.get(groupId)).toEqual([
      expect.objectContaining({ ruleId: "sgr-0breakglass00001", description: "break-glass" }),
    ]);
  });

  it("a late event is not reverted but still goes to a person, marked as live", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    const stale = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.eventTime = "2026-11-23T09:00:00Z";
    });
    expect(await revert()(stale)).toBe("revert_failed");
    expect(writes()).toHaveLength(0);
    expect(published()[0]?.message).toMatchObject({
      type: "change",
      change: { kind: "add" },
      revertError: {
        code: "EventTooLate",
        message: expect.stringMatching(/arrived 3630 s after the change.*not reverted/),
      },
    });
  });

  it("a retry of an event whose first attempt failed is reverted, however late, judged by its first receipt", async () => {
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    ec2.on(RevokeSecurityGroupIngressCommand).rejects(
      Object.assign(new Error("Request limit exceeded."), {
        name: "RequestLimitExceeded",
        $fault: "client",
        $retryable: { throttling: true },
        $metadata: { httpStatusCode: 503 },
      }),
    );
    await expect(revert()(e)).rejects.toThrow(/Request limit exceeded/);
    expect(published()).toHaveLength(0);

    ec2.reset();
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const later = new Date(NOW.getTime() + 2 * 3_600_000);
    expect(await createRevertHandler(() => ({ ...deps, clock: () => later }))(e)).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(published()[0]?.message.revertError).toBeUndefined();
  });

  it("restores a rule revoked by permissions with the description the baseline knows", async () => {
    const e = event("RevokeSecurityGroupIngress/by-permissions.json", (d) => {
      // As most real records: the response does not list what was revoked.
      d.responseElements = { requestId: "x", _return: true };
    });
    const groupId = (e.detail.requestParameters as { groupId: string }).groupId;
    await deps.baselines.replace(
      groupId,
      [
        {
          direction: "ingress",
          protocol: "tcp",
          fromPort: 22,
          toPort: 22,
          peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
          description: "bastion OPS-1",
          ruleId: "sgr-0bastion00000001",
        },
      ],
      NOW.toISOString(),
    );
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    expect(await revert()(e)).toBe("reverted");
    const perms =
      ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions ?? [];
    expect(perms.flatMap((p) => p.IpRanges ?? [])).toEqual([
      { CidrIp: "0.0.0.0/0", Description: "bastion OPS-1" },
    ]);
    // The baseline swaps the old id for the restored rule's new one.
    expect((await deps.baselines.get(groupId))?.map((r) => r.ruleId)).toEqual(["sgr-new0"]);
  });

  it("a group named only by name is looked up (DescribeSecurityGroups by GroupNames) and reverted", async () => {
    ec2
      .on(DescribeSecurityGroupsCommand, { GroupNames: ["default"] })
      .resolves({ SecurityGroups: [{ GroupId: "sg-0default00000001", GroupName: "default" }] });
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    expect(await revert()(event("RevokeSecurityGroupIngress/group-by-name.json"))).toBe("reverted");
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.GroupId).toBe(
      "sg-0default00000001",
    );
    expect(published()[0]?.message.change.groupId).toBe("sg-0default00000001");
  });

  it("an add to a group named by name takes the id from EC2's response: no lookup", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    expect(await revert()(event("AuthorizeSecurityGroupIngress/group-by-name.json"))).toBe(
      "reverted",
    );
    expect(describes()).toHaveLength(0);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]?.args[0].input.GroupId).toBe(
      "sg-0f3a9c2b7d1e4a5b6",
    );
  });

  it("a group named by name that no longer exists fails with a clear error", async () => {
    ec2.on(DescribeSecurityGroupsCommand).rejects(
      Object.assign(new Error("The security group 'default' does not exist"), {
        name: "InvalidGroup.NotFound",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(revert()(event("RevokeSecurityGroupIngress/group-by-name.json"))).rejects.toThrow(
      /named group "default", and the default VPC has no group of that name/,
    );
    expect(writes()).toHaveLength(0);
  });

  it("governs an SSO user (AssumedRole) like anyone else", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    expect(await revert()(event("AuthorizeSecurityGroupIngress/assumed-role-sso.json"))).toBe(
      "reverted",
    );
    expect(published()[0]?.message.change.requester).toMatchObject({
      type: "AssumedRole",
      name: "bob@example.com",
      sso: true,
    });
  });

  it("rejects a malformed event with a clear error and no AWS call", async () => {
    const bad = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.requestParameters = { groupId: "sg-1", ipPermissions: { items: [{ fromPort: 22 }] } };
    });
    await expect(revert()(bad)).rejects.toThrow(MalformedEventError);
    await expect(revert()(bad)).rejects.toThrow(/ipProtocol is missing/);
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe("applySecurityGroupChange", () => {
  const applyMessage = async (path: string) => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    await revert()(event(path));
    const change = published()[0]?.message.change;
    ec2.reset();
    sns.resetHistory();
    counter += 1;
    const requestId = `r-01JD${String(counter).padStart(22, "0")}`;
    return JSON.stringify({ type: "apply", requestId, change });
  };

  it("applies an approved add with ONE authorize and reports applied", async () => {
    const message = await applyMessage("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    await createApplyHandler(() => deps)(
      snsEvent("arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange", message),
    );
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    expect(published()).toEqual([
      {
        topic: HUB_RESULT,
        message: expect.objectContaining({
          type: "result",
          outcome: "applied",
          requestId: JSON.parse(message).requestId,
        }),
      },
    ]);
  });

  it("reports an EC2 error as a failed outcome, code and message kept", async () => {
    const message = await applyMessage("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(
      Object.assign(
        new Error(
          'the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists',
        ),
        {
          name: "InvalidPermission.Duplicate",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        },
      ),
    );
    await createApplyHandler(() => deps)(
      snsEvent("arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange", message),
    );
    expect(published()[0]?.message).toMatchObject({
      outcome: "failed",
      error: {
        code: "InvalidPermission.Duplicate",
        message: expect.stringContaining("already exists"),
      },
    });
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  it("applies once per request: a redelivered or re-sent approval reports the first result, no EC2 call", async () => {
    const message = await applyMessage("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    const handler = createApplyHandler(() => deps);
    const delivery = snsEvent(
      "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
      message,
    );
    await handler(delivery);
    const first = published()[0]?.message;
    ec2.resetHistory();
    sns.resetHistory();
    await handler(delivery);
    expect(ec2.calls()).toHaveLength(0);
    expect(published()).toEqual([{ topic: HUB_RESULT, message: first }]);
    expect(first).toMatchObject({ outcome: "applied" });
  });

  it("an approved change that was never reverted (late event) makes no EC2 write and is applied", async () => {
    const message = JSON.parse(
      await applyMessage("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
    );
    message.revertError = { code: "EventTooLate", message: "arrived 3630 s after the change" };
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    await createApplyHandler(() => deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
        JSON.stringify(message),
      ),
    );
    expect(writes()).toHaveLength(0);
    // The live group is read into the baseline.
    expect(ec2.commandCalls(DescribeSecurityGroupRulesCommand)).toHaveLength(1);
    expect(published()[0]?.message).toMatchObject({ outcome: "applied" });
  });

  it("a change whose revert stopped part-way is applied tolerating the steps still in place", async () => {
    const message = JSON.parse(
      await applyMessage("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
    );
    message.revertError = { code: "UnauthorizedOperation", message: "not allowed" };
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(
      Object.assign(new Error("the specified rule already exists"), {
        name: "InvalidPermission.Duplicate",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await createApplyHandler(() => deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
        JSON.stringify(message),
      ),
    );
    expect(writes()).toHaveLength(1);
    expect(published()[0]?.message).toMatchObject({ outcome: "applied" });
  });

  it("a modify the member cannot plan reports failed with BaselineGap instead of throwing", async () => {
    const change = fixtureChange("ModifySecurityGroupRules/single-rule.json");
    counter += 1;
    const message = {
      type: "apply",
      requestId: `r-01JE${String(counter).padStart(22, "0")}`,
      change,
    };
    await createApplyHandler(() => deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
        JSON.stringify(message),
      ),
    );
    expect(writes()).toHaveLength(0);
    expect(published()[0]?.message).toMatchObject({
      outcome: "failed",
      error: { code: "BaselineGap", message: expect.stringMatching(/lacks sgr-/) },
    });
  });

  it("reverts a denied live change with ONE revoke, once, and reports reverted", async () => {
    const change = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    counter += 1;
    const requestId = `r-01JF${String(counter).padStart(22, "0")}`;
    const delivery = snsEvent(
      "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
      JSON.stringify({ type: "revert", requestId, change }),
    );
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    const handler = createApplyHandler(() => deps);
    await handler(delivery);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(1);
    expect(published()[0]?.message).toMatchObject({ requestId, outcome: "reverted" });
    ec2.resetHistory();
    await handler(delivery);
    expect(writes()).toHaveLength(0);
  });

  it("a denied live modify the baseline cannot explain reports failed with BaselineGap", async () => {
    const change = fixtureChange("ModifySecurityGroupRules/single-rule.json");
    counter += 1;
    const requestId = `r-01JG${String(counter).padStart(22, "0")}`;
    await createApplyHandler(() => deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange",
        JSON.stringify({ type: "revert", requestId, change }),
      ),
    );
    expect(writes()).toHaveLength(0);
    expect(published()[0]?.message).toMatchObject({
      outcome: "failed",
      error: { code: "BaselineGap" },
    });
  });

  it("rejects a malformed apply message (kept by the DLQ) without touching EC2", async () => {
    const handler = createApplyHandler(() => deps);
    await expect(
      handler(
        snsEvent("arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange", '{"type":"apply"}'),
      ),
    ).rejects.toThrow(/apply message is invalid/);
    expect(ec2.calls()).toHaveLength(0);
  });
});
