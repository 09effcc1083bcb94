/**
 * The whole flow on the local stack: a change made with the real AWS SDK EC2 client (through the
 * CloudTrail proxy in front of moto) -> revertSecurityGroup -> SNS -> storeSecurityGroupRequest
 * -> Slack -> a signed click into buttonClick -> applySecurityGroupChange ->
 * errorHandlerSecurityGroupChange, with DynamoDB on dynalite. Nothing is mocked.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { type LocalStack, SANDBOX, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";
import { waitFor } from "../support/wait.js";

let stack: LocalStack;
const log = new MemoryLog();
const as = (identity: string, region = "us-east-1") =>
  new EC2Client({
    endpoint: stack.ec2Endpoint,
    region,
    credentials: { accessKeyId: identity, secretAccessKey: "x" },
    maxAttempts: 1,
  });

beforeAll(async () => {
  stack = await startLocalStack({ signingSecret: "e2e-secret", log, retryBackoffMs: () => 20 });
}, 60_000);
afterAll(async () => stack?.stop());

async function newGroup(name: string): Promise<string> {
  const { GroupId } = await as("admin").send(
    new CreateSecurityGroupCommand({ GroupName: `${name}-${Date.now()}`, Description: name }),
  );
  if (!GroupId) throw new Error("no group id");
  await stack.sweep();
  return GroupId;
}

async function rules(groupId: string): Promise<SecurityGroupRule[]> {
  const { SecurityGroupRules = [] } = await as("admin").send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return SecurityGroupRules;
}
const ingress = async (groupId: string) => (await rules(groupId)).filter((r) => !r.IsEgress);
const cidrs = async (groupId: string, egress = false) =>
  (await rules(groupId))
    .filter((r) => Boolean(r.IsEgress) === egress)
    .map((r) => `${r.IpProtocol}:${r.FromPort}:${r.CidrIpv4 ?? r.CidrIpv6}`)
    .sort();

/** The request filed for a group, once its approval message is posted. */
async function requestFor(groupId: string, status = "pending"): Promise<ApprovalRequest> {
  return waitFor(`a ${status} request for ${groupId}`, async () => {
    const list = await stack.hubDeps.requests.listByStatus(status as ApprovalRequest["status"]);
    const found = list.filter((r) => r.change.groupId === groupId).at(-1);
    return found && (status !== "pending" || found.slack?.approval) ? found : undefined;
  });
}

async function click(user: string, action: "approve" | "deny", request: ApprovalRequest) {
  const body = clickBody(user, action, request, { teamId: SANDBOX.teamId, appId: SANDBOX.appId });
  const res = await stack.buttonClick(stack.signedRequest(body));
  expect(res.statusCode).toBe(200);
}

/**
 * The request once it reaches `status` and the deliveries it set off are done: the outcome is
 * stored before the Slack messages are updated from the outbox, so a test that reads a message
 * must wait for both.
 */
async function finalStatus(requestId: string, status: string): Promise<ApprovalRequest> {
  const reached = await waitFor(`request ${requestId} to be ${status}`, async () => {
    const r = await stack.hubDeps.requests.get(requestId);
    return r?.status === status ? r : undefined;
  });
  await stack.idle();
  return (await stack.hubDeps.requests.get(requestId)) ?? reached;
}

function messageText(request: ApprovalRequest, kind: "approval" | "monitoring"): string {
  const ref = request.slack?.[kind];
  return JSON.stringify(
    stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks ?? null,
  );
}

describe("the approval flow, end to end", () => {
  it("add ingress -> reverted -> approved -> applied; both messages updated", async () => {
    const groupId = await newGroup("e2e-add");
    await as("alice").send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: "198.51.100.7/32", Description: "on-call" }],
          },
        ],
      }),
    );
    const request = await requestFor(groupId);
    expect(await ingress(groupId)).toEqual([]);
    expect(request.change.requester).toMatchObject({ type: "IAMUser", name: "alice" });
    expect(messageText(request, "approval")).toContain('"action_id":"approve"');
    // The group's name, as the sweep read it, beside its id.
    expect(request.groupName).toMatch(/^e2e-add-\d+$/);
    expect(messageText(request, "approval")).toContain(`${groupId} (${request.groupName})`);

    await click("U0BOB", "approve", request);
    const done = await finalStatus(request.requestId, "applied");
    expect(await cidrs(groupId)).toEqual(["tcp:22:198.51.100.7/32"]);
    for (const kind of ["approval", "monitoring"] as const) {
      expect(messageText(done, kind)).not.toContain('"type":"actions"');
      expect(messageText(done, kind)).toMatch(/[Aa]pplied/);
    }
    // The system's own apply is not governed: no second request appears for this group.
    await stack.idle();
    expect(
      (await stack.hubDeps.requests.listByStatus("pending")).filter(
        (r) => r.change.groupId === groupId,
      ),
    ).toEqual([]);
  });

  it("add egress -> denied -> stays reverted", async () => {
    const groupId = await newGroup("e2e-deny");
    const before = await cidrs(groupId, true);
    await as("sso-bob").send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 25, ToPort: 25, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const request = await requestFor(groupId);
    expect(request.change.requester).toMatchObject({
      type: "AssumedRole",
      name: "bob@example.com",
    });
    expect(await cidrs(groupId, true)).toEqual(before);
    await click("U0CAROL", "deny", request);
    const done = await finalStatus(request.requestId, "denied");
    await stack.idle();
    expect(await cidrs(groupId, true)).toEqual(before);
    expect(messageText(done, "monitoring")).toMatch(/Denied by <@U0CAROL>/);
  });

  it("remove by permissions and remove by rule id are restored, then applied on approval", async () => {
    const groupId = await newGroup("e2e-remove");
    await as("admin").send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "https" }],
          },
          {
            IpProtocol: "tcp",
            FromPort: 5432,
            ToPort: 5432,
            IpRanges: [{ CidrIp: "10.1.0.0/16" }],
          },
        ],
      }),
    );
    await stack.idle();
    await stack.sweep();
    const original = await cidrs(groupId);

    await as("alice").send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
        ],
      }),
    );
    const byPerms = await requestFor(groupId);
    await waitFor(
      "the rule to come back",
      async () => JSON.stringify(await cidrs(groupId)) === JSON.stringify(original),
    );
    expect((await ingress(groupId)).find((r) => r.FromPort === 443)?.Description).toBe("https");

    const pg = (await ingress(groupId)).find((r) => r.FromPort === 5432)
      ?.SecurityGroupRuleId as string;
    await as("alice").send(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [pg] }),
    );
    const byId = await waitFor("the revoke-by-id request", async () => {
      const list = await stack.hubDeps.requests.listByStatus("pending");
      return list.find(
        (r) =>
          r.change.groupId === groupId && r.requestId !== byPerms.requestId && r.slack?.approval,
      );
    });
    await waitFor(
      "the rule to come back",
      async () => JSON.stringify(await cidrs(groupId)) === JSON.stringify(original),
    );

    await click("U0BOB", "approve", byPerms);
    await finalStatus(byPerms.requestId, "applied");
    await click("U0BOB", "approve", byId);
    await finalStatus(byId.requestId, "applied");
    expect(await cidrs(groupId)).toEqual([]);
  });

  it("modify is restored from the baseline, then applied on approval", async () => {
    const groupId = await newGroup("e2e-modify");
    await as("admin").send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 80,
            ToPort: 80,
            IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "http" }],
          },
        ],
      }),
    );
    await stack.idle();
    await stack.sweep();
    const [rule] = await ingress(groupId);
    await as("alice").send(
      new ModifySecurityGroupRulesCommand({
        GroupId: groupId,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: rule?.SecurityGroupRuleId,
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 8080,
              ToPort: 8080,
              CidrIpv4: "0.0.0.0/0",
              Description: "wide open",
            },
          },
        ],
      }),
    );
    const request = await requestFor(groupId);
    await waitFor("the old content back", async () => (await ingress(groupId))[0]?.FromPort === 80);
    expect((await ingress(groupId))[0]).toMatchObject({
      SecurityGroupRuleId: rule?.SecurityGroupRuleId,
      CidrIpv4: "10.0.0.0/8",
      Description: "http",
    });
    await click("U0BOB", "approve", request);
    await finalStatus(request.requestId, "applied");
    expect((await ingress(groupId))[0]).toMatchObject({
      SecurityGroupRuleId: rule?.SecurityGroupRuleId,
      FromPort: 8080,
      CidrIpv4: "0.0.0.0/0",
      Description: "wide open",
    });
  });

  it("a multi-rule change is reverted and applied as one request", async () => {
    const groupId = await newGroup("e2e-multi");
    await as("alice").send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: "0.0.0.0/0" }],
            Ipv6Ranges: [{ CidrIpv6: "::/0" }],
          },
          { IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
          { IpProtocol: "icmp", FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
        ],
      }),
    );
    const request = await requestFor(groupId);
    expect(request.change.kind === "add" && request.change.rules).toHaveLength(4);
    expect(await ingress(groupId)).toEqual([]);
    await click("U0BOB", "approve", request);
    await finalStatus(request.requestId, "applied");
    expect(await ingress(groupId)).toHaveLength(4);
  });

  it("approving a rule that meanwhile exists fails with InvalidPermission.Duplicate, recorded and reported", async () => {
    const groupId = await newGroup("e2e-dup");
    const perm = {
      IpProtocol: "tcp",
      FromPort: 3389,
      ToPort: 3389,
      IpRanges: [{ CidrIp: "192.0.2.0/24" }],
    };
    await as("alice").send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [perm] }),
    );
    const request = await requestFor(groupId);
    await waitFor("the revert", async () => (await ingress(groupId)).length === 0);
    // The exempt admin adds the same rule; it stands.
    await as("admin").send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [perm] }),
    );
    await stack.idle();
    expect(await ingress(groupId)).toHaveLength(1);
    await click("U0BOB", "approve", request);
    const failed = await finalStatus(request.requestId, "failed");
    expect(failed.error?.code).toBe("InvalidPermission.Duplicate");
    expect(messageText(failed, "monitoring")).toContain("InvalidPermission.Duplicate");
  });

  it("a default-VPC group named by name is governed: add reverted and applied, a remove by name restored with its description", async () => {
    const { SecurityGroups = [] } = await as("admin").send(
      new DescribeSecurityGroupsCommand({ GroupNames: ["default"] }),
    );
    const groupId = SecurityGroups[0]?.GroupId as string;
    const perm = {
      IpProtocol: "tcp",
      FromPort: 8443,
      ToPort: 8443,
      IpRanges: [{ CidrIp: "10.9.0.0/16", Description: "by name" }],
    };
    const has8443 = async () => (await ingress(groupId)).filter((r) => r.FromPort === 8443);

    await as("alice").send(
      new AuthorizeSecurityGroupIngressCommand({ GroupName: "default", IpPermissions: [perm] }),
    );
    const added = await requestFor(groupId);
    expect(await has8443()).toEqual([]);
    await click("U0CAROL", "approve", added);
    await finalStatus(added.requestId, "applied");
    expect((await has8443()).map((r) => r.Description)).toEqual(["by name"]);

    // The system's apply stood; alice now removes it by name: it comes back, description and all.
    await as("alice").send(
      new RevokeSecurityGroupIngressCommand({
        GroupName: "default",
        IpPermissions: [{ ...perm, IpRanges: [{ CidrIp: "10.9.0.0/16" }] }],
      }),
    );
    const removed = await waitFor("the revoke-by-name request", async () => {
      const list = await stack.hubDeps.requests.listByStatus("pending");
      return list.find(
        (r) => r.change.groupId === groupId && r.change.kind === "remove" && r.slack?.approval,
      );
    });
    await waitFor("the rule to come back", async () => (await has8443()).length === 1);
    expect((await has8443())[0]?.Description).toBe("by name");
    await click("U0CAROL", "deny", removed);
    await finalStatus(removed.requestId, "denied");
  });

  it("a late event: left in place and posted as live; Deny reverts it, Approve keeps it with no EC2 write", async () => {
    const policy = stack.memberDeps.config.policy;
    const limit = policy.maxEventAgeSeconds;
    policy.maxEventAgeSeconds = -1; // every event counts as late
    try {
      const groupId = await newGroup("e2e-late");
      const add = (port: number) =>
        as("alice").send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: [
              {
                IpProtocol: "tcp",
                FromPort: port,
                ToPort: port,
                IpRanges: [{ CidrIp: "10.20.0.0/16", Description: `late ${port}` }],
              },
            ],
          }),
        );

      await add(9001);
      const denied = await requestFor(groupId);
      expect(denied.revertError?.code).toBe("EventTooLate");
      expect(await cidrs(groupId)).toEqual(["tcp:9001:10.20.0.0/16"]);
      expect(messageText(denied, "approval")).toContain("its event arrived late");
      await click("U0CAROL", "deny", denied);
      const after = await waitFor("the revert after the deny", async () => {
        const r = await stack.hubDeps.requests.get(denied.requestId);
        return r?.followUpRevert ? r : undefined;
      });
      expect(after.status).toBe("denied");
      expect(after.followUpRevert?.error).toBeUndefined();
      expect(await cidrs(groupId)).toEqual([]);
      await waitFor("both messages to say it was reverted", async () =>
        (["approval", "monitoring"] as const).every((k) =>
          messageText(after, k).includes("the change was reverted"),
        ),
      );

      await add(9002);
      const approved = await waitFor("the second late request", async () => {
        const list = await stack.hubDeps.requests.listByStatus("pending");
        return list.find((r) => r.change.groupId === groupId && r.slack?.approval);
      });
      await click("U0CAROL", "approve", approved);
      await finalStatus(approved.requestId, "applied");
      expect(await cidrs(groupId)).toEqual(["tcp:9002:10.20.0.0/16"]);
    } finally {
      policy.maxEventAgeSeconds = limit;
    }
  });

  it("a change in a region with no governed member is not reverted and posts nothing", async () => {
    const region = "eu-west-1";
    const { GroupId: groupId = "" } = await as("admin", region).send(
      new CreateSecurityGroupCommand({ GroupName: `e2e-region-${Date.now()}`, Description: "eu" }),
    );
    const published = stack.sns.published.length;
    const events = stack.bus.events.length;
    await as("alice", region).send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    // The proxy emits the event after the answer: wait for the stack to have seen it.
    const dropped = await waitFor("the event to be dropped", async () =>
      log.lines.find(
        (l) =>
          l.message === "event not delivered" &&
          l.attributes?.region === region &&
          l.attributes?.eventName === "AuthorizeSecurityGroupIngress",
      ),
    );
    expect(dropped.attributes).toMatchObject({
      reason: `no governed member in 111122223333 ${region}`,
      eventName: "AuthorizeSecurityGroupIngress",
    });
    await stack.idle();
    const { SecurityGroupRules = [] } = await as("admin", region).send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
    );
    expect(SecurityGroupRules.filter((r) => !r.IsEgress).map((r) => r.CidrIpv4)).toEqual([
      "0.0.0.0/0",
    ]);
    expect(stack.sns.published.slice(published)).toEqual([]);
    expect(stack.bus.events.slice(events)).toEqual([]);
    expect(JSON.stringify(stack.slack.state.messages())).not.toContain(groupId);
    expect(stack.deliveries.deadLetters).toEqual([]);
  });
});
