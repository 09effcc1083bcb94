/**
 * The member on real components for a rule's description changed in place
 * (UpdateSecurityGroupRuleDescriptionsIngress/Egress): EC2 is moto server (through the real
 * Ec2SecurityGroups adapter), the baselines table dynalite, the hub a recording link. The
 * CloudTrail events are the fixtures with moto's ids put in.
 *
 * moto 5.2.1 carries out only the ipPermissions form of the call, and cannot clear a description
 * (ModifySecurityGroupRules without one leaves the old): the person's edits by rule id are made
 * with ModifySecurityGroupRules, and the cleared description's revert is checked on what it
 * restores (test/domain/rule-descriptions.test.ts has the clear case in full).
 */
import { randomUUID } from "node:crypto";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  type EC2Client,
  ModifySecurityGroupRulesCommand,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { createEc2Client } from "../../src/adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import { requestIdFor } from "../../src/adapters/ids.js";
import { handleHubMessage, type MemberDeps, revertChange } from "../../src/app/member/index.js";
import { MalformedEventError } from "../../src/domain/cloudtrail.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { type DynamoClients, dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";
import { loadFixture } from "../support/domain-fixtures.js";
import { memberDepsOn, RecordingHubLink } from "../support/member-deps.js";

/** moto keeps every resource in its default account: the member governs that one. */
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const CIDR = "10.20.0.0/16";
const APPROVED = "HTTPS from the office - OPS-1";

let moto: MotoServer;
let db: { endpoint: string; stop(): Promise<void> };
let dynamo: DynamoClients;
let admin: EC2Client;
let serial = 0;

beforeAll(async () => {
  [moto, db] = await Promise.all([startMoto(), startDynalite()]);
  dynamo = dynamoClients(db.endpoint);
  admin = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "admin", secretAccessKey: "x" },
    maxAttempts: 1,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), db?.stop()]);
});

/** A member on its own table, its EC2 writes counted, and a group whose HTTPS rule is approved. */
async function world(policy: Partial<MemberDeps["config"]["policy"]> = {}) {
  serial += 1;
  const table = `baselines-desc-${serial}`;
  await ensureTables(dynamo.client, { requests: `requests-desc-${serial}`, baselines: table });
  const hub = new RecordingHubLink();
  const client = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "member", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  const base = memberDepsOn(dynamo.doc, {
    account: ACCOUNT,
    region: REGION,
    securityGroups: new Ec2SecurityGroups(client),
    hub,
    table,
  });
  const deps: MemberDeps = {
    ...base,
    config: { ...base.config, policy: { ...base.config.policy, ...policy } },
  };
  const writes: string[] = [];
  const execute = deps.securityGroups.execute.bind(deps.securityGroups);
  deps.securityGroups.execute = (op) => {
    writes.push(op.action);
    return execute(op);
  };

  const { GroupId: groupId = "" } = await admin.send(
    new CreateSecurityGroupCommand({ GroupName: `desc-${serial}`, Description: "descriptions" }),
  );
  await admin.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: CIDR, Description: APPROVED }],
        },
      ],
    }),
  );
  const live = await https(groupId);
  const rules = [];
  for await (const { rule } of deps.securityGroups.describeRules([groupId])) rules.push(rule);
  await deps.baselines.adopt(
    groupId,
    rules,
    { at: new Date().toISOString(), by: "install:test" },
    { name: `desc-${serial}` },
  );
  return { deps, hub, writes, groupId, ruleId: live.ruleId };
}

/** The group's HTTPS rule as moto has it. */
async function https(groupId: string): Promise<{ ruleId: string; description?: string }> {
  const { SecurityGroupRules = [] } = await admin.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  const rule = SecurityGroupRules.find((r) => !r.IsEgress && r.FromPort === 443);
  if (!rule?.SecurityGroupRuleId) throw new Error(`no HTTPS rule in ${groupId}`);
  return { ruleId: rule.SecurityGroupRuleId, description: rule.Description };
}

type Json = Record<string, unknown>;
type Event = { detail: Json } & Json;

/** A fixture as moto's account made it: the account, region, alice, a fresh event id, now. */
function fromFixture(name: string, requestParameters: Record<string, unknown>): Event {
  const e = structuredClone(loadFixture(name)) as Event;
  e.account = ACCOUNT;
  e.region = REGION;
  Object.assign(e.detail, {
    eventID: randomUUID(),
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    recipientAccountId: ACCOUNT,
    awsRegion: REGION,
    userIdentity: {
      type: "IAMUser",
      principalId: "AIDAEXAMPLEALICE",
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      userName: "alice",
    },
    requestParameters,
  });
  return e;
}

const byPermissions = (groupId: string, description: string) =>
  fromFixture("UpdateSecurityGroupRuleDescriptionsIngress/by-permissions.json", {
    groupId,
    ipPermissions: {
      items: [
        {
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          groups: {},
          ipRanges: { items: [{ cidrIp: CIDR, description }] },
          ipv6Ranges: {},
          prefixListIds: {},
        },
      ],
    },
  });

const byRuleId = (groupId: string, ruleId: string, description?: string) =>
  fromFixture("UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json", {
    groupId,
    ipPermissions: {},
    securityGroupRuleDescriptions: {
      items: [{ securityGroupRuleId: ruleId, ...(description ? { description } : {}) }],
    },
  });

/** The person's edit, made on moto as EC2 would carry it out. */
async function describeAs(groupId: string, description: string): Promise<void> {
  await admin.send(
    new UpdateSecurityGroupRuleDescriptionsIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: CIDR, Description: description }],
        },
      ],
    }),
  );
}

describe("UpdateSecurityGroupRuleDescriptionsIngress on an approved rule", () => {
  it("by ipPermissions: the approved description is put back with one ModifySecurityGroupRules, the edit filed; Approve sets the new one and the baseline takes it", async () => {
    const { deps, hub, writes, groupId, ruleId } = await world();
    await describeAs(groupId, "HTTPS for everyone in the office");
    expect((await https(groupId)).description).toBe("HTTPS for everyone in the office");

    const status = await createRevertHandler(() => deps)(
      byPermissions(groupId, "HTTPS for everyone in the office"),
    );
    expect(status).toBe("reverted");
    expect(writes).toEqual(["modify"]);
    expect(await https(groupId)).toEqual({ ruleId, description: APPROVED });

    const [message] = hub.changes();
    expect(message?.revertError).toBeUndefined();
    const change = message?.change;
    if (change?.kind !== "modify") throw new Error(`filed ${change?.kind}`);
    expect(change.eventName).toBe("UpdateSecurityGroupRuleDescriptionsIngress");
    expect(change).not.toHaveProperty("descriptions");
    expect(change.modifications).toEqual([
      {
        ruleId,
        rule: {
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          peer: { kind: "cidrIpv4", cidr: CIDR },
          description: "HTTPS for everyone in the office",
        },
        before: expect.objectContaining({ ruleId, direction: "ingress", description: APPROVED }),
      },
    ]);

    const result = await handleHubMessage(deps, {
      type: "apply",
      requestId: requestIdFor(change),
      change,
    });
    expect(result?.outcome).toBe("applied");
    expect(await https(groupId)).toEqual({
      ruleId,
      description: "HTTPS for everyone in the office",
    });
    const approved = (await deps.baselines.read(groupId))?.rules ?? [];
    expect(approved.find((r) => r.ruleId === ruleId)?.description).toBe(
      "HTTPS for everyone in the office",
    );
  });

  it("by rule id: the rule comes from the baseline, its approved description is put back", async () => {
    const { deps, hub, writes, groupId, ruleId } = await world();
    await admin.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: groupId,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: ruleId,
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 443,
              ToPort: 443,
              CidrIpv4: CIDR,
              Description: "renamed by hand",
            },
          },
        ],
      }),
    );
    const outcome = await revertChange(deps, byRuleId(groupId, ruleId, "renamed by hand"));
    expect(outcome.status).toBe("reverted");
    expect(writes).toEqual(["modify"]);
    expect(await https(groupId)).toEqual({ ruleId, description: APPROVED });
    expect(hub.changes()[0]?.change).toMatchObject({
      kind: "modify",
      modifications: [{ ruleId, rule: { description: "renamed by hand" } }],
    });
  });

  it("a cleared description: the description rule denies it, and the approved one is put back", async () => {
    const { deps, hub, writes, groupId, ruleId } = await world({
      autoDenyWithoutDescription: true,
    });
    const outcome = await revertChange(deps, byRuleId(groupId, ruleId));
    expect(outcome.status).toBe("reverted");
    expect(writes).toEqual(["modify"]);
    expect(await https(groupId)).toEqual({ ruleId, description: APPROVED });
    const [message] = hub.changes();
    expect(message?.policy).toMatchObject({ status: "auto_denied", rule: "require-description" });
  });

  it("the description it already has: nothing to revert, nothing filed", async () => {
    const { deps, hub, writes, groupId } = await world();
    const outcome = await revertChange(deps, byPermissions(groupId, APPROVED));
    expect(outcome).toEqual({
      status: "ignored",
      reason: "it leaves every approved rule as it was",
    });
    expect(writes).toEqual([]);
    expect(hub.sent).toHaveLength(0);
  });
});

describe("UpdateSecurityGroupRuleDescriptionsIngress on a rule never approved", () => {
  it("is filed as not reverted (BaselineGap), as an edit of an unknown rule is, and kept open; Approve writes nothing and approves the rule as it stands", async () => {
    const { deps, hub, writes, groupId } = await world();
    // A rule the baseline does not have (left live for a person, say), its description edited.
    await admin.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 8443,
            ToPort: 8443,
            IpRanges: [{ CidrIp: CIDR, Description: "someone's rule, described" }],
          },
        ],
      }),
    );
    const event = byPermissions(groupId, "someone's rule, described");
    const items = (event.detail.requestParameters as { ipPermissions: { items: Json[] } })
      .ipPermissions.items;
    Object.assign(items[0] as Json, { fromPort: 8443, toPort: 8443 });
    const outcome = await revertChange(deps, event);
    expect(outcome.status).toBe("revert_failed");
    expect(writes).toEqual([]);
    // The hub's schema takes it as the call named it.
    const [message] = hub.changes();
    expect(message?.revertError?.code).toBe("BaselineGap");
    expect(message?.revertError?.message).toContain("ingress tcp 8443 10.20.0.0/16");
    const change = message?.change;
    if (change?.kind !== "modify") throw new Error(`filed ${change?.kind}`);
    expect(change.modifications).toEqual([]);
    expect(change.descriptions).toHaveLength(1);
    const record = await deps.baselines.read(groupId);
    expect(record?.open.map((o) => o.eventId)).toEqual([change.eventId]);

    const result = await handleHubMessage(deps, {
      type: "apply",
      requestId: requestIdFor(change),
      change,
      ...(message?.revertError ? { revertError: message.revertError } : {}),
    });
    expect(result?.outcome).toBe("applied");
    expect(writes).toEqual([]);
    const after = await deps.baselines.read(groupId);
    expect(after?.open).toEqual([]);
    expect(after?.rules?.find((r) => r.fromPort === 8443)?.description).toBe(
      "someone's rule, described",
    );
  });
});

describe("a malformed description update", () => {
  it("is a MalformedEventError: no EC2 write, nothing filed, the baseline as it was", async () => {
    const { deps, hub, writes, groupId, ruleId } = await world();
    const before = (await deps.baselines.read(groupId))?.rules;
    const event = byRuleId(groupId, ruleId, "x");
    (event.detail.requestParameters as Record<string, unknown>).ipPermissions = {
      items: [
        { ipProtocol: "tcp", fromPort: 443, toPort: 443, ipRanges: { items: [{ cidrIp: CIDR }] } },
      ],
    };
    await expect(revertChange(deps, event)).rejects.toThrow(MalformedEventError);
    await expect(revertChange(deps, event)).rejects.toThrow(/both by id and by ipPermissions/);
    expect(writes).toEqual([]);
    expect(hub.sent).toHaveLength(0);
    expect((await deps.baselines.read(groupId))?.rules).toEqual(before);
    expect(await https(groupId)).toEqual({ ruleId, description: APPROVED });
  });
});
