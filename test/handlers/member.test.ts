/**
 * The member handlers with EC2 and EventBridge mocked at the SDK (exact commands, parameters and
 * call counts) and the baseline table on real dynalite.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
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
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientConfig } from "../../src/adapters/aws-clients.js";
import { documentClient } from "../../src/adapters/dynamodb/client.js";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { requestIdFor } from "../../src/adapters/ids.js";
import type { MemberDeps } from "../../src/app/member/index.js";
import { MalformedEventError } from "../../src/domain/cloudtrail.js";
import type { Rule } from "../../src/domain/rule.js";
import { createApplyHandler } from "../../src/handlers/applySecurityGroupChange.js";
import { createRevertFailedHandler } from "../../src/handlers/revertFailed.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { CountingMetrics } from "../../src/ports/metrics.js";
import { snsEvent } from "../../src/sandbox/bus.js";
import { dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import { fixture, MemoryLog } from "../support/hub-harness.js";
import { memberDepsOn } from "../support/member-deps.js";

const NOW = new Date("2026-11-23T10:00:30Z");
const ACCOUNT = "111122223333";
const APPLY_TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:applySecurityGroupChange`;
const GROUP = "sg-0f3a9c2b7d1e4a5b6";

const ec2 = mockClient(EC2Client);
const events = mockClient(EventBridgeClient);
let stopDb: () => Promise<void>;
let deps: MemberDeps;
let dbEndpoint: string;

const metrics = new CountingMetrics();

const depsOn = (doc: ReturnType<typeof documentClient>): MemberDeps =>
  memberDepsOn(doc, { clock: () => NOW, metrics });

beforeAll(async () => {
  const db = await startDynalite();
  stopDb = db.stop;
  dbEndpoint = db.endpoint;
  const { client, doc } = dynamoClients(db.endpoint);
  await ensureTables(client);
  deps = depsOn(doc);
});
afterAll(async () => stopDb?.());
beforeEach(() => {
  ec2.reset();
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
});

/** A fixture event made fresh: a new event id (the ledger remembers ids) and a time just before NOW. */
function event(path: string, mutate?: (detail: Record<string, unknown>) => void) {
  const e = structuredClone(fixture(`cloudtrail/${path}`)) as { detail: Record<string, unknown> };
  e.detail.eventID = randomUUID();
  e.detail.eventTime = "2026-11-23T10:00:00Z";
  mutate?.(e.detail);
  return e;
}

/** The member's ledger entry of a fixture event (kept with its group). */
const entryOf = (e: { detail: Record<string, unknown> }) =>
  deps.ledger.get({
    eventId: e.detail.eventID as string,
    groupId: (e.detail.requestParameters as { groupId: string }).groupId,
  });

const revert = () => createRevertHandler(() => deps);
const apply = () =>
  createApplyHandler(
    () => deps,
    () => APPLY_TOPIC,
  );

/** What EC2 answers an authorize with: every created rule, each with a new id. */
let ruleSerial = 0;
const newRuleId = () => `sgr-${(0xa0000 + ruleSerial++).toString(16).padStart(17, "0")}`;
const createdRules = (input: AuthorizeSecurityGroupIngressCommandInput) => {
  const rule = (p: IpPermission, peer: Record<string, string | undefined>) => ({
    SecurityGroupRuleId: newRuleId(),
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
/** What the member sent the hub: its bus entries. */
const sent = () =>
  events.commandCalls(PutEventsCommand).flatMap((c) =>
    (c.args[0].input.Entries ?? []).map((e) => ({
      bus: e.EventBusName,
      source: e.Source,
      detailType: e.DetailType,
      message: JSON.parse(e.Detail ?? "{}"),
    })),
  );
const adopt = (groupId: string, rules: Rule[], name?: string) =>
  deps.baselines.adopt(
    groupId,
    rules,
    { at: NOW.toISOString(), by: "install:test" },
    { ...(name ? { name } : {}) },
  );
const approvedRules = async (groupId: string) => (await deps.baselines.read(groupId))?.rules;

const ssh: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
  description: "ssh from the VPN",
  ruleId: "sgr-0123456789abcdef0",
};

describe("revertSecurityGroup", () => {
  it("reverts an add with ONE revoke by the new rule ids, no Describe, and files it on the member's bus", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const status = await revert()(event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"));
    expect(status).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    const input = ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]?.args[0].input;
    expect(input?.GroupId).toBe(GROUP);
    expect(input?.SecurityGroupRuleIds?.length).toBeGreaterThan(0);
    expect(input?.IpPermissions).toBeUndefined();
    const [message] = sent();
    expect(message).toMatchObject({
      bus: "secgroup-approval-member",
      source: "secgroup-approval.member",
      detailType: "Security Group Change",
      message: { type: "change", change: { kind: "add", groupId: GROUP } },
    });
    // The hub names the account from its own config: the member says nothing of it.
    expect(message?.message).not.toHaveProperty("accountAlias");
  });

  it("names the group in the hub message from the adopted baseline, with no Describe", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0aaaaaaaaaaaaaaa1";
    });
    await adopt("sg-0aaaaaaaaaaaaaaa1", [], "web-servers");
    expect(await revert()(e)).toBe("reverted");
    expect(describes()).toHaveLength(0);
    expect(sent()[0]?.message.groupName).toBe("web-servers");
  });

  it("an add of a rule that is approved already is left alone: nothing reverted, nothing filed", async () => {
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0aaaaaaaaaaaaaaa2";
    });
    await adopt("sg-0aaaaaaaaaaaaaaa2", [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
        ruleId: "sgr-0aaaaaaaaaaaaaaa2",
      },
    ]);
    expect(await revert()(e)).toBe("ignored");
    expect(writes()).toHaveLength(0);
    expect(sent()).toHaveLength(0);
  });

  it("reverts a remove by rule id with ONE authorize; the baseline keeps the approved rules under their new ids", async () => {
    const e = event("RevokeSecurityGroupIngress/by-rule-ids.json");
    const groupId = (e.detail.requestParameters as { groupId: string }).groupId;
    const revoked = (
      e.detail.responseElements as {
        revokedSecurityGroupRuleSet: { items: Record<string, unknown>[] };
      }
    ).revokedSecurityGroupRuleSet.items;
    const approved: Rule[] = revoked.map((r) => ({
      direction: "ingress",
      protocol: String(r.ipProtocol),
      fromPort: Number(r.fromPort),
      toPort: Number(r.toPort),
      peer: r.cidrIpv4
        ? { kind: "cidrIpv4", cidr: String(r.cidrIpv4) }
        : { kind: "cidrIpv6", cidr: String(r.cidrIpv6) },
      ...(r.description ? { description: String(r.description) } : {}),
      ruleId: String(r.securityGroupRuleId),
    }));
    await adopt(groupId, approved);
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
    const baseline = (await approvedRules(groupId)) ?? [];
    expect(baseline).toHaveLength(2);
    expect(baseline.every((r) => !approved.some((a) => a.ruleId === r.ruleId))).toBe(true);
    expect(baseline.map((r) => r.peer.kind).sort()).toEqual(["cidrIpv4", "cidrIpv6"]);
  });

  it("a forged revoke of a rule that was never approved re-adds nothing", async () => {
    const e = event("RevokeSecurityGroupIngress/by-permissions.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0aaaaaaaaaaaaaaa3";
    });
    await adopt("sg-0aaaaaaaaaaaaaaa3", [ssh]);
    expect(await revert()(e)).toBe("ignored");
    expect(writes()).toHaveLength(0);
    expect(sent()).toHaveLength(0);
  });

  it("reverts a modify from the baseline with ONE ModifySecurityGroupRules carrying the approved content", async () => {
    const e = event("ModifySecurityGroupRules/single-rule.json");
    const request = (
      e.detail.requestParameters as {
        ModifySecurityGroupRulesRequest: {
          GroupId: string;
          SecurityGroupRule: { SecurityGroupRuleId: string };
        };
      }
    ).ModifySecurityGroupRulesRequest;
    const ruleId = request.SecurityGroupRule.SecurityGroupRuleId;
    await adopt(request.GroupId, [{ ...ssh, ruleId }]);
    ec2.on(ModifySecurityGroupRulesCommand).resolves({ Return: true });
    expect(await revert()(e)).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    expect(ec2.commandCalls(ModifySecurityGroupRulesCommand)[0]?.args[0].input).toEqual({
      GroupId: request.GroupId,
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: ruleId,
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
    expect((await approvedRules(request.GroupId))?.[0]?.peer).toEqual({
      kind: "cidrIpv4",
      cidr: "10.0.0.0/8",
    });
  });

  it("a modify of a rule the baseline does not have is reported as not reverted, and kept open", async () => {
    const e = event("ModifySecurityGroupRules/multi-rule.json", (d) => {
      (
        d.requestParameters as { ModifySecurityGroupRulesRequest: { GroupId: string } }
      ).ModifySecurityGroupRulesRequest.GroupId = "sg-0aaaaaaaaaaaaaaa4";
    });
    await adopt("sg-0aaaaaaaaaaaaaaa4", []);
    const log = new MemoryLog();
    expect(await createRevertHandler(() => ({ ...deps, log }))(e)).toBe("revert_failed");
    // Not reverted for want of what to restore: an error, for the operator.
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: "error", message: "revert_failed" }),
    );
    expect(writes()).toHaveLength(0);
    expect(sent()[0]?.message.revertError.code).toBe("BaselineGap");
    const record = await deps.baselines.read("sg-0aaaaaaaaaaaaaaa4");
    expect(record?.open.map((o) => o.eventId)).toEqual([e.detail.eventID]);
  });

  it("does nothing for a redelivered event", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await revert()(e);
    ec2.resetHistory();
    events.resetHistory();
    expect(await revert()(e)).toBe("duplicate");
    expect(ec2.calls()).toHaveLength(0);
    expect(events.calls()).toHaveLength(0);
  });

  it("the hub took the message: two DynamoDB writes and one read in all, the receipt holding the group and the record letting it go", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    const groupId = (e.detail.requestParameters as { groupId: string }).groupId;
    const calls: string[] = [];
    // The same table, every call named as it goes.
    const { doc } = dynamoClients(dbEndpoint);
    doc.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: "initialize" },
    );
    const counted = { ...depsOn(doc), hub: deps.hub };
    expect(await createRevertHandler(() => counted)(e)).toBe("reverted");
    expect(sent()).toHaveLength(1);
    expect(calls.sort()).toEqual(["QueryCommand", "UpdateItemCommand", "UpdateItemCommand"]);
    const entry = await entryOf(e);
    expect(entry?.handledAt).toBeDefined();
    expect(entry?.pending).toBeUndefined();
    // Let go: the drift check may take the group at once.
    const now = NOW.toISOString();
    expect(await deps.baselines.lease(groupId, now, { exclusive: true, now })).toBe(true);
    await deps.baselines.release(groupId);
  });

  it("reverts even when the hub is unreachable, keeps the request in the outbox, and delivers it on the retry", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    events.on(PutEventsCommand).rejects(
      Object.assign(new Error("Service Unavailable"), {
        name: "InternalException",
        $fault: "server",
      }),
    );
    const e = event("AuthorizeSecurityGroupIngress/multi-item.json");
    await expect(revert()(e)).rejects.toThrow(/Service Unavailable/);
    expect(writes()).toHaveLength(1);
    expect((await entryOf(e))?.pending).toContain('"type":"change"');
    ec2.resetHistory();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-2" }] });
    expect(await revert()(e)).toBe("duplicate");
    expect(ec2.calls()).toHaveLength(0);
    expect(sent()).toHaveLength(1);
    expect((await entryOf(e))?.pending).toBeUndefined();
  });

  it("a PutEvents entry the bus refused counts as not sent", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try again" }],
    });
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await expect(revert()(e)).rejects.toThrow(/did not take the change message: InternalFailure/);
    expect((await entryOf(e))?.pending).toBeDefined();
  });

  it("DynamoDB down at change time: the add is still reverted and filed, and the invocation fails for a retry", async () => {
    const down = documentClient(
      new DynamoDBClient({
        ...clientConfig({ connectMs: 200, requestMs: 500, attempts: 1 }),
        endpoint: "http://127.0.0.1:1",
        region: "us-east-1",
        credentials: { accessKeyId: "x", secretAccessKey: "x" },
      }),
    );
    const broken = { ...depsOn(down), hub: deps.hub };
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    await expect(createRevertHandler(() => broken)(e)).rejects.toThrow(/DynamoDB/);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(1);
    expect(sent()).toHaveLength(1);
    expect(sent()[0]?.message.revertError).toBeUndefined();
    // A removal cannot be restored without the approved baseline: filed as not reverted.
    const removal = event("RevokeSecurityGroupIngress/by-permissions.json");
    await expect(createRevertHandler(() => broken)(removal)).rejects.toThrow(/DynamoDB/);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(sent().at(-1)?.message.revertError.code).toBe("BaselineUnavailable");
    // Once DynamoDB is back, the retry files nothing twice: the revert is done already.
    ec2.reset();
    ec2.on(RevokeSecurityGroupIngressCommand).rejects(
      Object.assign(new Error("rule not found"), {
        name: "InvalidPermission.NotFound",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    expect(await revert()(e)).toBe("reverted");
    expect((await entryOf(e))?.handledAt).toBeDefined();
  });

  it("a retry that arrives after the age limit still delivers the outbox message", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    events
      .on(PutEventsCommand)
      .rejects(
        Object.assign(new Error("hub down"), { name: "InternalException", $fault: "server" }),
      );
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await expect(revert()(e)).rejects.toThrow(/hub down/);
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-3" }] });
    const later = new Date(NOW.getTime() + 30 * 60_000);
    expect(await createRevertHandler(() => ({ ...deps, clock: () => later }))(e)).toBe("duplicate");
    expect(sent()).toHaveLength(1);
  });

  it("ignores the system's own role without any AWS call", async () => {
    const own = event("AuthorizeSecurityGroupIngress/assumed-role-sso.json", (d) => {
      const id = d.userIdentity as {
        arn: string;
        sessionContext: { sessionIssuer: { arn: string } };
      };
      id.arn = `arn:aws:sts::${ACCOUNT}:assumed-role/secgroup-approval-member/revert`;
      id.sessionContext.sessionIssuer.arn = `arn:aws:iam::${ACCOUNT}:role/secgroup-approval-member`;
    });
    expect(await revert()(own)).toBe("ignored");
    expect(ec2.calls()).toHaveLength(0);
    expect(events.calls()).toHaveLength(0);
  });

  it("refuses an event of another account: a member acts only on its own", async () => {
    const other = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.recipientAccountId = "444455556666";
    });
    await expect(revert()(other)).rejects.toThrow(/this member governs 111122223333 us-east-1/);
    expect(writes()).toHaveLength(0);
    expect(metrics.get("RefusedInvocation")).toBe(1);
  });

  it("lets an exempt principal's change stand, and adopts it with who (a new group: its defaults too)", async () => {
    const exempt = event("AuthorizeSecurityGroupIngress/assumed-role-sso.json", (d) => {
      (
        d.userIdentity as { sessionContext: { sessionIssuer: { arn: string } } }
      ).sessionContext.sessionIssuer.arn = `arn:aws:iam::${ACCOUNT}:role/BreakGlassAdmin`;
      (d.requestParameters as { groupId: string }).groupId = "sg-0aaaaaaaaaaaaaaa5";
    });
    const groupId = "sg-0aaaaaaaaaaaaaaa5";
    const perm =
      (exempt.detail.requestParameters as { ipPermissions: { items: Record<string, unknown>[] } })
        .ipPermissions.items[0] ?? {};
    const cidr = ((perm.ipRanges as { items: { cidrIp: string }[] }).items[0] ?? { cidrIp: "" })
      .cidrIp;
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-0bbbbbbbbbbbbbbb1",
          GroupId: groupId,
          IsEgress: false,
          IpProtocol: String(perm.ipProtocol),
          FromPort: Number(perm.fromPort),
          ToPort: Number(perm.toPort),
          CidrIpv4: cidr,
        },
        {
          SecurityGroupRuleId: "sgr-0bbbbbbbbbbbbbbb2",
          GroupId: groupId,
          IsEgress: true,
          IpProtocol: "-1",
          FromPort: -1,
          ToPort: -1,
          CidrIpv4: "0.0.0.0/0",
        },
      ],
    });
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: groupId, GroupName: "admin-made" }] });
    expect(await revert()(exempt)).toBe("exempt");
    expect(writes()).toHaveLength(0);
    // Never silent: filed with the hub as exempt (it posts to the monitoring channel only).
    expect(sent()).toHaveLength(1);
    expect(sent()[0]?.message).toMatchObject({
      type: "change",
      policy: { status: "exempt", action: "exempt", rule: "exempt-principals" },
    });
    expect(sent()[0]?.message).not.toHaveProperty("revertError");
    const record = await deps.baselines.read(groupId);
    expect(record?.rules?.map((r) => r.ruleId).sort()).toEqual([
      "sgr-0bbbbbbbbbbbbbbb1",
      "sgr-0bbbbbbbbbbbbbbb2",
    ]);
    expect(record?.lastChange?.by).toBe(
      `exempt:${(exempt.detail.userIdentity as { arn: string }).arn}`,
    );
  });

  it("a late event is not reverted but still goes to a person, marked as live, and kept open", async () => {
    const stale = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.eventTime = "2026-11-23T09:00:00Z";
    });
    const log = new MemoryLog();
    expect(await createRevertHandler(() => ({ ...deps, log }))(stale)).toBe("revert_failed");
    // A person's to decide, not a failure: no error for an operator's alarm.
    expect(log.lines.filter((l) => l.level === "error")).toEqual([]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: "info", message: "left_live" }),
    );
    expect(writes()).toHaveLength(0);
    expect(sent()[0]?.message).toMatchObject({
      type: "change",
      change: { kind: "add" },
      revertError: {
        code: "EventTooLate",
        message: expect.stringMatching(/arrived 3630 s after the change.*not reverted/),
      },
    });
    expect((await deps.baselines.read(GROUP))?.open.map((o) => o.eventId)).toContain(
      stale.detail.eventID,
    );
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
    expect(sent()).toHaveLength(0);
    ec2.reset();
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const later = new Date(NOW.getTime() + 2 * 3_600_000);
    expect(await createRevertHandler(() => ({ ...deps, clock: () => later }))(e)).toBe("reverted");
    expect(writes()).toHaveLength(1);
    expect(sent()[0]?.message.revertError).toBeUndefined();
  });

  it("restores a rule revoked by permissions with the description the baseline knows", async () => {
    const e = event("RevokeSecurityGroupIngress/by-permissions.json", (d) => {
      d.responseElements = { requestId: "x", _return: true };
      (d.requestParameters as { groupId: string }).groupId = "sg-0aaaaaaaaaaaaaaa6";
    });
    await adopt("sg-0aaaaaaaaaaaaaaa6", [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
        description: "bastion OPS-1",
        ruleId: "sgr-0ccccccccccccccc1",
      },
    ]);
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    expect(await revert()(e)).toBe("reverted");
    const perms =
      ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions ?? [];
    expect(perms.flatMap((p) => p.IpRanges ?? [])).toEqual([
      { CidrIp: "0.0.0.0/0", Description: "bastion OPS-1" },
    ]);
    const [kept] = (await approvedRules("sg-0aaaaaaaaaaaaaaa6")) ?? [];
    expect(kept?.ruleId).not.toBe("sgr-0ccccccccccccccc1");
    expect(kept?.description).toBe("bastion OPS-1");
  });

  it("a group named only by name is looked up (DescribeSecurityGroups by GroupNames) and reverted", async () => {
    ec2
      .on(DescribeSecurityGroupsCommand, { GroupNames: ["default"] })
      .resolves({ SecurityGroups: [{ GroupId: "sg-0ddddddddddddddd1", GroupName: "default" }] });
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    const e = event("RevokeSecurityGroupIngress/group-by-name.json");
    await adopt("sg-0ddddddddddddddd1", [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 80,
        toPort: 80,
        peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
        description: "http",
        ruleId: "sgr-0ddddddddddddddd1",
      },
    ]);
    const params = e.detail.requestParameters as Record<string, unknown>;
    params.ipPermissions = {
      items: [
        {
          ipProtocol: "tcp",
          fromPort: 80,
          toPort: 80,
          ipRanges: { items: [{ cidrIp: "0.0.0.0/0" }] },
        },
      ],
    };
    expect(await revert()(e)).toBe("reverted");
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.GroupId).toBe(
      "sg-0ddddddddddddddd1",
    );
    expect(sent()[0]?.message.change.groupId).toBe("sg-0ddddddddddddddd1");
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

  it("rejects a malformed event with a clear error and no AWS call", async () => {
    const bad = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.requestParameters = { groupId: GROUP, ipPermissions: { items: [{ fromPort: 22 }] } };
    });
    await expect(revert()(bad)).rejects.toThrow(MalformedEventError);
    await expect(revert()(bad)).rejects.toThrow(/ipProtocol is missing/);
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe("revertFailed: a revert that failed past its retries becomes a request", () => {
  it("files the change marked not reverted (RevertFailed), and keeps it open", async () => {
    const e = event("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0eeeeeeeeeeeeeee1";
    });
    const result = await createRevertFailedHandler(() => deps)({
      requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
      requestPayload: e,
      responsePayload: { errorType: "DynamoDbError", errorMessage: "DynamoDB PutItem failed" },
    });
    expect(result).toMatchObject({ filed: true, eventId: e.detail.eventID });
    expect(sent()[0]?.message.revertError).toEqual({
      code: "RevertFailed",
      message: "DynamoDbError: DynamoDB PutItem failed",
    });
    expect((await deps.baselines.read("sg-0eeeeeeeeeeeeeee1"))?.open).toHaveLength(1);
  });

  it("files nothing for an event the revert did record (its outbox is the request)", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const e = event("AuthorizeSecurityGroupIngress/ipv6.json");
    await revert()(e);
    events.resetHistory();
    const result = await createRevertFailedHandler(() => deps)({
      requestPayload: e,
      responsePayload: { errorMessage: "x" },
    });
    expect(result.filed).toBe(false);
    expect(sent()).toHaveLength(0);
  });
});

describe("applySecurityGroupChange", () => {
  let groupSerial = 0;
  /**
   * Reverts `path` (so the member records it) and returns the hub's apply message for it. The
   * change is made on a group of its own, in this member's region, unless `mutate` says otherwise.
   */
  const recorded = async (path: string, mutate?: (d: Record<string, unknown>) => void) => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    ec2.on(ModifySecurityGroupRulesCommand).resolves({ Return: true });
    await revert()(
      event(path, (d) => {
        d.awsRegion = "us-east-1";
        const params = d.requestParameters as Record<string, unknown>;
        if (typeof params.groupId === "string") {
          params.groupId = `sg-0${(0x9000 + groupSerial++).toString(16).padStart(16, "0")}`;
        }
        mutate?.(d);
      }),
    );
    const message = sent().at(-1)?.message;
    ec2.reset();
    events.resetHistory();
    return {
      type: "apply" as const,
      requestId: requestIdFor(message.change),
      change: message.change,
      ...(message.revertError ? { revertError: message.revertError } : {}),
    };
  };
  const deliver = (message: unknown, topic = APPLY_TOPIC) =>
    apply()(snsEvent(topic, JSON.stringify(message)));
  const results = () =>
    sent()
      .filter((s) => s.detailType === "Security Group Change Result")
      .map((s) => s.message);

  it("applies an approved add with ONE authorize, reports applied, and the baseline takes the rules", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0fffffffffffffff1";
    });
    await adopt("sg-0fffffffffffffff1", []);
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    await deliver(message);
    expect(writes()).toHaveLength(1);
    expect(describes()).toHaveLength(0);
    expect(results()).toEqual([
      expect.objectContaining({ type: "result", outcome: "applied", requestId: message.requestId }),
    ]);
    const rules = (await approvedRules("sg-0fffffffffffffff1")) ?? [];
    expect(rules.map((r) => r.peer)).toEqual([{ kind: "cidrIpv4", cidr: "0.0.0.0/0" }]);
    expect((await deps.baselines.read("sg-0fffffffffffffff1"))?.lastChange?.by).toBe(
      `request:${message.requestId}`,
    );
  });

  it("reports an EC2 error as a failed outcome, code and message kept; the baseline does not move", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      (d.requestParameters as { groupId: string }).groupId = "sg-0fffffffffffffff2";
    });
    await adopt("sg-0fffffffffffffff2", []);
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
    await deliver(message);
    expect(results()[0]).toMatchObject({
      outcome: "failed",
      error: {
        code: "InvalidPermission.Duplicate",
        message: expect.stringContaining("already exists"),
      },
    });
    expect(await approvedRules("sg-0fffffffffffffff2")).toEqual([]);
  });

  it("applies once per request: a redelivered or re-sent approval reports the first result, no EC2 call", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(createdRules);
    await deliver(message);
    const first = results()[0];
    ec2.resetHistory();
    events.resetHistory();
    await deliver(message);
    expect(ec2.calls()).toHaveLength(0);
    expect(results()).toEqual([first]);
    expect(first).toMatchObject({ outcome: "applied" });
  });

  it("refuses a hand-made apply for a change this member never recorded: no EC2 write, no result, counted", async () => {
    const before = metrics.get("RefusedInvocation");
    const change = (await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json")).change;
    const forged = {
      type: "apply",
      requestId: requestIdFor({ ...change, eventId: randomUUID() }),
      change: { ...change, eventId: randomUUID() },
    };
    await deliver(forged);
    expect(writes()).toHaveLength(0);
    expect(results()).toEqual([]);
    expect(metrics.get("RefusedInvocation")).toBe(before + 1);
  });

  it("refuses an apply whose change differs from the one recorded (tcp/22 from anywhere added)", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/with-description.json");
    const widened = {
      ...message,
      change: {
        ...message.change,
        rules: [
          {
            ...message.change.rules[0],
            peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
            fromPort: 22,
            toPort: 22,
          },
        ],
      },
    };
    await deliver(widened);
    expect(writes()).toHaveLength(0);
    expect(results()).toEqual([]);
  });

  it("refuses an apply under another request's id", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    await deliver({ ...message, requestId: "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Y" });
    expect(writes()).toHaveLength(0);
  });

  it("refuses a record from any topic but this member's apply topic", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    await deliver(message, "arn:aws:sns:us-east-1:111122223333:someOtherTopic");
    expect(writes()).toHaveLength(0);
    expect(results()).toEqual([]);
  });

  it("an approved change that was never reverted (late event) is applied tolerating it is in place", async () => {
    const message = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.eventTime = "2026-11-23T09:00:00Z";
      (d.requestParameters as { groupId: string }).groupId = "sg-0fffffffffffffff3";
    });
    expect(message.revertError?.code).toBe("EventTooLate");
    await adopt("sg-0fffffffffffffff3", []);
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(
      Object.assign(new Error("the specified rule already exists"), {
        name: "InvalidPermission.Duplicate",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-0fffffffffffffff3",
          GroupId: "sg-0fffffffffffffff3",
          IsEgress: false,
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: "0.0.0.0/0",
        },
      ],
    });
    await deliver(message);
    expect(results()[0]).toMatchObject({ outcome: "applied" });
    const record = await deps.baselines.read("sg-0fffffffffffffff3");
    expect(record?.rules?.map((r) => r.ruleId)).toEqual(["sgr-0fffffffffffffff3"]);
    expect(record?.open).toEqual([]);
  });

  it("an approved modify whose rule a later revert re-created under a new id is made on the new id", async () => {
    const message = await recorded("ModifySecurityGroupRules/single-rule.json", (d) => {
      const req = (d.requestParameters as { ModifySecurityGroupRulesRequest: { GroupId: string } })
        .ModifySecurityGroupRulesRequest;
      req.GroupId = "sg-0fffffffffffffff4";
    });
    // Not adopted before the revert: it was a BaselineGap. Adopt, then record as if reverted.
    const ruleId = message.change.modifications[0].ruleId;
    await adopt("sg-0fffffffffffffff4", [{ ...ssh, ruleId }]);
    const again = await recorded("ModifySecurityGroupRules/single-rule.json", (d) => {
      const req = (d.requestParameters as { ModifySecurityGroupRulesRequest: { GroupId: string } })
        .ModifySecurityGroupRulesRequest;
      req.GroupId = "sg-0fffffffffffffff4";
    });
    expect(again.revertError).toBeUndefined();
    // Later the rule was revoked by id and the revert re-created it as sgr-…new.
    await adopt("sg-0fffffffffffffff4", [{ ...ssh, ruleId: "sgr-0aaaabbbbccccddd1" }]);
    ec2.on(ModifySecurityGroupRulesCommand).resolves({ Return: true });
    await deliver(again);
    expect(results()[0]).toMatchObject({ outcome: "applied" });
    expect(
      ec2.commandCalls(ModifySecurityGroupRulesCommand)[0]?.args[0].input.SecurityGroupRules?.[0]
        ?.SecurityGroupRuleId,
    ).toBe("sgr-0aaaabbbbccccddd1");
  });

  it("reverts a denied live change with ONE revoke, once, and reports reverted", async () => {
    const late = await recorded("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", (d) => {
      d.eventTime = "2026-11-23T09:00:00Z";
      (d.requestParameters as { groupId: string }).groupId = "sg-0fffffffffffffff5";
    });
    await adopt("sg-0fffffffffffffff5", []);
    const revertMessage = { type: "revert", requestId: late.requestId, change: late.change };
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    await deliver(revertMessage);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(1);
    expect(results()[0]).toMatchObject({ requestId: late.requestId, outcome: "reverted" });
    ec2.resetHistory();
    await deliver(revertMessage);
    expect(writes()).toHaveLength(0);
  });

  it("rejects a malformed apply message (kept by the DLQ) without touching EC2", async () => {
    await expect(apply()(snsEvent(APPLY_TOPIC, '{"type":"apply"}'))).rejects.toThrow(
      /apply message is invalid/,
    );
    expect(ec2.calls()).toHaveLength(0);
  });

  it("uses its own dynalite", () => {
    expect(dbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
