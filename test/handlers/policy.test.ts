/**
 * The policy engine in production, action by action, on real components: the handlers wired as
 * the CDK app wires them (the local stack: dynalite, moto behind the CloudTrail proxy, the
 * loopback Slack API), with a test policy given as the functions' POLICY would give it. The
 * member's EC2 writes are counted at its SecurityGroups adapter.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeRequest } from "../../src/app/hub/index.js";
import type { MemberDeps } from "../../src/app/member/index.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import { parsePolicy } from "../../src/domain/policy/index.js";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { type LocalStack, SANDBOX, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";
import { waitFor } from "../support/wait.js";

const STAGING = "444455556666";
const PROD_CHANNEL = "C0SGPROD001";

const POLICY = parsePolicy({
  accounts: { [STAGING]: { mode: "notify" } },
  rules: [
    {
      // Only groups staging-dev (IAM user dev) creates: the exempt admins' groups keep theirs.
      name: "closed-new-groups",
      match: { kind: "create", principal: "arn:aws:iam::*:user/dev" },
      action: "auto_deny",
      reason: "new groups start with no egress",
    },
    {
      name: "pipeline",
      match: { principal: "arn:aws:iam::*:role/terraform-ci" },
      action: "auto_approve",
      reason: "applied by the pipeline",
    },
    {
      name: "no-telnet",
      match: { direction: "ingress", portsOverlap: [23] },
      action: "auto_deny",
      reason: "telnet is never allowed",
    },
    {
      name: "watch-8081",
      match: { ports: 8081 },
      action: "notify",
      reason: "8081 is only watched",
    },
    {
      name: "two-approvers",
      match: { ports: 9443 },
      action: "require_approval",
      approvals: 2,
      approvers: { users: ["U0BOB", "U0CAROL"] },
      channel: PROD_CHANNEL,
      expiryHours: 2,
      reason: "9443 needs two approvers",
    },
  ],
});

let stack: LocalStack;
const log = new MemoryLog();
/** The member EC2 writes (execute calls), by account. */
const writes = new Map<string, number>();

const as = (identity: string) =>
  new EC2Client({
    endpoint: stack.ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: identity, secretAccessKey: "x" },
    maxAttempts: 1,
  });

function countWrites(deps: MemberDeps, account: string): void {
  const sg = deps.securityGroups;
  const execute = sg.execute.bind(sg);
  sg.execute = (op) => {
    writes.set(account, (writes.get(account) ?? 0) + 1);
    return execute(op);
  };
}

beforeAll(async () => {
  stack = await startLocalStack({
    signingSecret: "policy-secret",
    log,
    retryBackoffMs: () => 20,
    policy: POLICY,
  });
  for (const { member, deps } of stack.members) countWrites(deps, member.account);
}, 60_000);
afterAll(async () => stack?.stop());

let serial = 0;
/** A group made by the exempt admin of the account, adopted by a sweep. */
async function newGroup(admin = "admin"): Promise<string> {
  const { GroupId } = await as(admin).send(
    new CreateSecurityGroupCommand({
      GroupName: `policy-${Date.now()}-${serial++}`,
      Description: "policy test",
    }),
  );
  if (!GroupId) throw new Error("no group id");
  await stack.idle();
  await stack.sweep();
  return GroupId;
}

async function add(identity: string, groupId: string, port: number, cidr = "10.1.0.0/16") {
  await as(identity).send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          IpRanges: [{ CidrIp: cidr, Description: `port ${port}` }],
        },
      ],
    }),
  );
}

async function ports(groupId: string, admin = "admin"): Promise<number[]> {
  const { SecurityGroupRules = [] } = await as(admin).send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return SecurityGroupRules.filter((r: SecurityGroupRule) => !r.IsEgress)
    .map((r) => r.FromPort ?? -1)
    .sort((a, b) => a - b);
}

/** The group's egress rules, as "protocol cidr", read as staging's admin. */
async function egress(groupId: string, admin = "staging-admin"): Promise<string[]> {
  const { SecurityGroupRules = [] } = await as(admin).send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return SecurityGroupRules.filter((r: SecurityGroupRule) => r.IsEgress).map(
    (r) => `${r.IpProtocol} ${r.CidrIpv4 ?? r.CidrIpv6}`,
  );
}

async function requestFor(
  groupId: string,
  status: ApprovalRequest["status"],
  posted: "approval" | "monitoring" = status === "pending" ? "approval" : "monitoring",
): Promise<ApprovalRequest> {
  return waitFor(`a ${status} request for ${groupId}`, async () => {
    await stack.idle();
    const list = await stack.hubDeps.requests.listByStatus(status);
    const found = list
      .filter((r) => r.change.groupId === groupId && r.change.eventName !== "CreateSecurityGroup")
      .at(-1);
    return found?.slack?.[posted] ? found : undefined;
  });
}

const statusOf = (requestId: string, status: string) =>
  waitFor(`request ${requestId} to be ${status}`, async () => {
    await stack.idle();
    const r = await stack.hubDeps.requests.get(requestId);
    return r?.status === status ? r : undefined;
  });

async function click(
  user: string,
  action: "approve" | "deny",
  request: ApprovalRequest,
  channel?: string,
) {
  const body = clickBody(user, action, request, {
    teamId: SANDBOX.teamId,
    appId: SANDBOX.appId,
    ...(channel ? { channel } : {}),
  });
  const res = await stack.buttonClick(stack.signedRequest(body));
  expect(res.statusCode).toBe(200);
  await stack.idle();
}

const text = (request: ApprovalRequest, kind: "approval" | "monitoring") => {
  const ref = request.slack?.[kind];
  const message = stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? "");
  return JSON.stringify(message?.blocks ?? null);
};
const lastEphemeral = (user: string) =>
  stack.slack.state
    .ephemerals()
    .filter((e) => e.user === user)
    .at(-1)?.text ?? "";
const writesIn = (account: string) => writes.get(account) ?? 0;

describe("policy actions, member and hub", () => {
  it("exempt: the change stands, the baseline keeps who, the monitoring channel only", async () => {
    const groupId = await newGroup();
    await add("admin", groupId, 8443);
    const request = await requestFor(groupId, "exempt");
    expect(await ports(groupId)).toEqual([8443]);
    expect(request.slack?.approval).toBeUndefined();
    expect(request.decidedBy?.id).toBe("policy:exempt-principals");
    expect(text(request, "monitoring")).toContain("Exempt");
    const record = await stack.memberDeps.baselines.read(groupId);
    expect(record?.rules?.map((r) => r.fromPort)).toContain(8443);
    expect(record?.lastChange?.by).toMatch(
      /^exempt:arn:aws:sts::111122223333:assumed-role\/BreakGlassAdmin\//,
    );
  });

  it("auto_approve: no EC2 write, filed applied, the baseline records the rule", async () => {
    const groupId = await newGroup();
    const before = writesIn(SANDBOX.account);
    await add("terraform-ci", groupId, 8080);
    const request = await requestFor(groupId, "applied");
    expect(writesIn(SANDBOX.account)).toBe(before);
    expect(await ports(groupId)).toEqual([8080]);
    expect(request.history.map((h) => h.status)).toEqual(["auto_approved", "applied"]);
    expect(request.decidedBy?.id).toBe("policy:pipeline");
    expect(request.slack?.approval).toBeUndefined();
    expect(text(request, "monitoring")).toContain(
      "Auto-approved by policy: applied by the pipeline",
    );
    expect(text(request, "monitoring")).toContain("pipeline");
    const record = await stack.memberDeps.baselines.read(groupId);
    expect(record?.lastChange?.by).toBe("policy:pipeline");
    expect(record?.rules?.map((r) => r.fromPort)).toContain(8080);
    // Nothing is ever sent to apply it.
    await stack.expire();
    expect((await stack.hubDeps.requests.get(request.requestId))?.status).toBe("applied");
  });

  it("auto_deny: reverted, the rule's reason, the monitoring channel only", async () => {
    const groupId = await newGroup();
    await add("alice", groupId, 23);
    const request = await requestFor(groupId, "auto_denied");
    expect(await ports(groupId)).toEqual([]);
    expect(request.decidedBy?.id).toBe("policy:no-telnet");
    expect(request.policyReason).toBe("telnet is never allowed");
    expect(request.slack?.approval).toBeUndefined();
    expect(text(request, "monitoring")).toContain("telnet is never allowed");
  });

  describe("require_approval with approvals 2, its approvers and its channel", () => {
    it('"1 of 2"; the same person twice counts once; a second approver applies it', async () => {
      const groupId = await newGroup();
      await add("alice", groupId, 9443);
      const request = await requestFor(groupId, "pending");
      expect(await ports(groupId)).toEqual([]);
      expect(request.requiredApprovals).toBe(2);
      expect(request.slack?.approval?.channel).toBe(PROD_CHANNEL);
      expect(request.channel).toBe(PROD_CHANNEL);
      expect(Date.parse(request.expiresAt) - Date.parse(request.createdAt)).toBe(2 * 3_600_000);
      expect(text(request, "approval")).toContain("two-approvers");
      expect(text(request, "approval")).toContain("0 of 2 approvals");

      await click("U0BOB", "approve", request);
      const once = await waitFor("one approval", async () => {
        const r = await stack.hubDeps.requests.get(request.requestId);
        return r?.approvals?.length === 1 ? r : undefined;
      });
      expect(once.status).toBe("pending");
      expect(text(once, "approval")).toContain("1 of 2 approvals");
      await click("U0BOB", "approve", once);
      expect(lastEphemeral("U0BOB")).toContain("approved this already");
      expect((await stack.hubDeps.requests.get(request.requestId))?.approvals).toHaveLength(1);

      await click("U0CAROL", "approve", once);
      await statusOf(request.requestId, "applied");
      expect(await ports(groupId)).toEqual([9443]);
    });

    it("any Deny ends it", async () => {
      const groupId = await newGroup();
      await add("alice", groupId, 9443, "10.2.0.0/16");
      const request = await requestFor(groupId, "pending");
      await click("U0BOB", "approve", request);
      await waitFor("one approval", async () => {
        const r = await stack.hubDeps.requests.get(request.requestId);
        return r?.approvals?.length === 1;
      });
      await click("U0CAROL", "deny", request);
      await statusOf(request.requestId, "denied");
      expect(await ports(groupId)).toEqual([]);
    });

    it("a click in another channel (the deployment's approval channel) is refused", async () => {
      const groupId = await newGroup();
      await add("alice", groupId, 9443, "10.3.0.0/16");
      const request = await requestFor(groupId, "pending");
      const refused = stack.metrics.get("RefusedClick");
      await click("U0BOB", "approve", request, SANDBOX.approvalChannel);
      expect(stack.metrics.get("RefusedClick")).toBe(refused + 1);
      const after = await stack.hubDeps.requests.get(request.requestId);
      expect(after?.status).toBe("pending");
      expect(after?.approvals ?? []).toHaveLength(0);
      // Not one of its approvers: mallory is refused in the right channel too.
      await click("U0MALLORY", "approve", request);
      expect(lastEphemeral("U0MALLORY")).toContain("not an approver");
    });
  });

  describe("notify (a rule)", () => {
    it("stands; Approve keeps it with no EC2 write and the baseline adopts it", async () => {
      const groupId = await newGroup();
      await add("alice", groupId, 8081);
      const request = await requestFor(groupId, "pending");
      expect(await ports(groupId)).toEqual([8081]);
      expect(request.revertError?.code).toBe("PolicyNotify");
      expect(text(request, "approval")).toContain("notify");
      const before = writesIn(SANDBOX.account);
      await click("U0BOB", "approve", request);
      await statusOf(request.requestId, "applied");
      expect(writesIn(SANDBOX.account)).toBe(before);
      expect(await ports(groupId)).toEqual([8081]);
      const record = await stack.memberDeps.baselines.read(groupId);
      expect(record?.rules?.map((r) => r.fromPort)).toContain(8081);
      expect(record?.open).toEqual([]);
      // The drift check does not take it for drift.
      expect((await stack.sweep()).drift).toBe(0);
    });

    it("Deny reverts it", async () => {
      const groupId = await newGroup();
      await add("alice", groupId, 8081, "10.4.0.0/16");
      const request = await requestFor(groupId, "pending");
      expect((await stack.sweep()).drift).toBe(0);
      await click("U0BOB", "deny", request);
      const denied = await statusOf(request.requestId, "denied");
      await waitFor("the revert", async () => (await ports(groupId)).length === 0);
      await waitFor("the follow-up revert recorded", async () =>
        Boolean((await stack.hubDeps.requests.get(denied.requestId))?.followUpRevert),
      );
    });
  });

  describe("an account in notify mode", () => {
    it("a change stands, marked not enforced; Approve keeps it, Deny reverts it", async () => {
      const groupId = await newGroup("staging-admin");
      await add("staging-dev", groupId, 5000);
      const request = await requestFor(groupId, "pending");
      expect(await ports(groupId, "staging-admin")).toEqual([5000]);
      expect(request.revertError?.code).toBe("NotEnforced");
      expect(text(request, "approval")).toContain("not enforced in this account");
      const before = writesIn(STAGING);
      await click("U0BOB", "approve", request);
      await click("U0CAROL", "approve", request);
      await statusOf(request.requestId, "applied");
      expect(writesIn(STAGING)).toBe(before);
      expect(await ports(groupId, "staging-admin")).toEqual([5000]);

      await add("staging-dev", groupId, 5001);
      const second = await waitFor("a second request", async () => {
        await stack.idle();
        const list = await stack.hubDeps.requests.listByStatus("pending");
        return list.find((r) => r.change.groupId === groupId && r.slack?.approval);
      });
      await click("U0BOB", "deny", second);
      await statusOf(second.requestId, "denied");
      await waitFor("5001 reverted", async () => {
        const now = await ports(groupId, "staging-admin");
        return now.length === 1 && now[0] === 5000;
      });
    });

    it("a new group's default egress is not revoked: posted as not enforced; Approve keeps it, Deny revokes it", async () => {
      const mismatches = stack.metrics.get("PolicyMismatch");
      const created = async () => {
        const { GroupId } = await as("staging-dev").send(
          new CreateSecurityGroupCommand({
            GroupName: `policy-new-${Date.now()}-${serial++}`,
            Description: "policy test",
          }),
        );
        if (!GroupId) throw new Error("no group id");
        const request = await waitFor(`the creation of ${GroupId} posted`, async () => {
          await stack.idle();
          const list = await stack.hubDeps.requests.listByStatus("pending");
          return list.find((r) => r.change.groupId === GroupId && r.slack?.approval);
        });
        return { groupId: GroupId, request };
      };

      const kept = await created();
      expect(kept.request.change.eventName).toBe("CreateSecurityGroup");
      expect(await egress(kept.groupId)).toEqual(["-1 0.0.0.0/0"]);
      expect(kept.request.revertError?.code).toBe("NotEnforced");
      expect(kept.request.policy).toMatchObject({ rule: "closed-new-groups", mode: "notify" });
      expect(text(kept.request, "approval")).toContain("not enforced in this account");
      // The hub routed it from its own policy to the member's decision.
      expect(stack.metrics.get("PolicyMismatch")).toBe(mismatches);
      // Open: the drift check leaves it.
      expect((await stack.sweep()).drift).toBe(0);
      expect(await egress(kept.groupId)).toEqual(["-1 0.0.0.0/0"]);
      const before = writesIn(STAGING);
      await click("U0BOB", "approve", kept.request);
      await click("U0CAROL", "approve", kept.request);
      await statusOf(kept.request.requestId, "applied");
      expect(writesIn(STAGING)).toBe(before);
      expect(await egress(kept.groupId)).toEqual(["-1 0.0.0.0/0"]);
      const record = await stack.members
        .find((m) => m.member.account === STAGING)
        ?.deps.baselines.read(kept.groupId);
      expect(record?.rules?.map((r) => `${r.direction} ${r.protocol}`)).toEqual(["egress all"]);

      const denied = await created();
      await click("U0BOB", "deny", denied.request);
      await statusOf(denied.request.requestId, "denied");
      await waitFor("the egress revoked", async () => (await egress(denied.groupId)).length === 0);
    });

    it("drift is not reverted, only posted", async () => {
      const groupId = await newGroup("staging-admin");
      const untracked = new EC2Client({
        endpoint: `${stack.ec2Endpoint}/untracked`,
        region: SANDBOX.region,
        credentials: { accessKeyId: "staging-dev", secretAccessKey: "x" },
        maxAttempts: 1,
      });
      await untracked.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 6000,
              ToPort: 6000,
              IpRanges: [{ CidrIp: "10.5.0.0/16", Description: "untracked" }],
            },
          ],
        }),
      );
      expect((await stack.sweep()).drift).toBe(1);
      const request = await requestFor(groupId, "pending");
      expect(request.change.kind).toBe("drift");
      expect(request.revertError?.code).toBe("NotEnforced");
      expect(await ports(groupId, "staging-admin")).toEqual([6000]);
      // Open: the next sweep neither files it again nor reverts it.
      expect((await stack.sweep()).drift).toBe(0);
      expect(await ports(groupId, "staging-admin")).toEqual([6000]);
    });
  });
});

describe("the trust boundary: the hub routes from its own policy", () => {
  it("a member's message body cannot lower approvals, nor pick the channel", async () => {
    const groupId = await newGroup();
    const [base] = await (async () => {
      await add("alice", groupId, 9443, "10.6.0.0/16");
      return [await requestFor(groupId, "pending")];
    })();
    if (!base) throw new Error("no request");
    const change = { ...base.change, eventId: `forged-${Date.now()}` };
    const forged = {
      type: "change",
      change,
      revertedAt: new Date().toISOString(),
      revertMs: 1,
      policy: {
        action: "require_approval",
        rule: "default",
        reason: "trust me",
        approvals: 1,
        channel: SANDBOX.approvalChannel,
      },
      approvals: 1,
      requiredApprovals: 1,
    } as unknown as ChangeMessage;
    const stored = await storeRequest(stack.hubDeps, forged, {
      account: SANDBOX.account,
      region: SANDBOX.region,
    });
    expect(stored?.request.requiredApprovals).toBe(2);
    expect(stored?.request.channel).toBe(PROD_CHANNEL);
    expect(stored?.request.policy?.rule).toBe("two-approvers");
    expect(stack.metrics.get("PolicyMismatch")).toBeGreaterThan(0);
  });
});
