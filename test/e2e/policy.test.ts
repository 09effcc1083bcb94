/**
 * policy.example.json in the sandbox, end to end (the stack `npm start` runs): each of its
 * examples made with the real AWS SDK through the CloudTrail proxy, as the README's table says.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import {
  examplePolicy,
  type LocalStack,
  SANDBOX,
  startLocalStack,
} from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";
import { waitFor } from "../support/wait.js";

let stack: LocalStack;
const log = new MemoryLog();
const as = (identity: string) =>
  new EC2Client({
    endpoint: stack.ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: identity, secretAccessKey: "x" },
    maxAttempts: 1,
  });

beforeAll(async () => {
  stack = await startLocalStack({
    signingSecret: "e2e-policy",
    log,
    retryBackoffMs: () => 20,
    policy: examplePolicy(),
  });
}, 60_000);
afterAll(async () => stack?.stop());

let serial = 0;
async function newGroup(admin: string, tags?: Record<string, string>): Promise<string> {
  const { GroupId } = await as(admin).send(
    new CreateSecurityGroupCommand({
      GroupName: `e2e-policy-${Date.now()}-${serial++}`,
      Description: "e2e policy",
      ...(tags
        ? {
            TagSpecifications: [
              {
                ResourceType: "security-group",
                Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
              },
            ],
          }
        : {}),
    }),
  );
  if (!GroupId) throw new Error("no group id");
  await stack.idle();
  await stack.sweep(); // reads the group's name, VPC and tags into its record
  return GroupId;
}

const add = (identity: string, groupId: string, port: number, cidr: string, description: string) =>
  as(identity).send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          IpRanges: [{ CidrIp: cidr, Description: description }],
        },
      ],
    }),
  );

async function ports(groupId: string, admin = "admin"): Promise<number[]> {
  const { SecurityGroupRules = [] } = await as(admin).send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return SecurityGroupRules.filter((r) => !r.IsEgress).map((r) => r.FromPort ?? -1);
}

async function requestFor(
  groupId: string,
  status: ApprovalRequest["status"],
): Promise<ApprovalRequest> {
  const posted = status === "pending" ? "approval" : "monitoring";
  return waitFor(`a ${status} request for ${groupId}`, async () => {
    await stack.idle();
    const list = await stack.hubDeps.requests.listByStatus(status);
    const found = list
      .filter((r) => r.change.groupId === groupId && r.change.eventName !== "CreateSecurityGroup")
      .at(-1);
    return found?.slack?.[posted] ? found : undefined;
  });
}

const text = (request: ApprovalRequest, kind: "approval" | "monitoring") => {
  const ref = request.slack?.[kind];
  return JSON.stringify(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? "") ?? null);
};

async function click(user: string, action: "approve" | "deny", request: ApprovalRequest) {
  const body = clickBody(user, action, request, { teamId: SANDBOX.teamId, appId: SANDBOX.appId });
  const res = await stack.buttonClick(stack.signedRequest(body));
  expect(res.statusCode).toBe(200);
  await stack.idle();
}

describe("policy.example.json in the sandbox", () => {
  it("the pipeline's change is auto-approved: it stands, a monitoring line only", async () => {
    const groupId = await newGroup("admin");
    await add("terraform-ci", groupId, 443, "10.0.0.0/8", "JIRA-123 internal https");
    const request = await requestFor(groupId, "applied");
    expect(await ports(groupId)).toEqual([443]);
    expect(request.decidedBy?.id).toBe("policy:pipeline-auto-approve");
    expect(request.slack?.approval).toBeUndefined();
    expect(request.slack?.monitoring?.channel).toBe(SANDBOX.monitoringChannel);
    expect(text(request, "monitoring")).toContain("Auto-approved by policy");
    expect(text(request, "monitoring")).toContain("pipeline-auto-approve");
  });

  it("SSH from 0.0.0.0/0 is auto-denied: reverted, the rule's reason, a monitoring line only", async () => {
    const groupId = await newGroup("admin");
    await add("alice", groupId, 22, "0.0.0.0/0", "ssh for the on-call laptop");
    const request = await requestFor(groupId, "auto_denied");
    expect(await ports(groupId)).toEqual([]);
    expect(request.decidedBy?.id).toBe("policy:no-ssh-rdp-from-internet");
    expect(request.slack?.approval).toBeUndefined();
    expect(text(request, "monitoring")).toContain("SSH and RDP must not be open to the internet");
  });

  it("a group tagged env=production needs two approvers of @security, in #sg-prod", async () => {
    const groupId = await newGroup("admin", { env: "production" });
    expect((await stack.memberDeps.baselines.read(groupId))?.tags).toEqual({ env: "production" });
    await add("alice", groupId, 8443, "10.0.0.0/8", "JIRA-7 payments callback");
    const request = await requestFor(groupId, "pending");
    expect(await ports(groupId)).toEqual([]);
    expect(request.requiredApprovals).toBe(2);
    expect(request.slack?.approval?.channel).toBe("C0SGPROD001");
    expect(text(request, "approval")).toContain("production-two-approvers");
    await click("U0BOB", "approve", request);
    const one = await waitFor("1 of 2", async () => {
      const r = await stack.hubDeps.requests.get(request.requestId);
      return r?.approvals?.length === 1 ? r : undefined;
    });
    expect(text(one, "approval")).toContain("1 of 2 approvals");
    await click("U0CAROL", "approve", one);
    await waitFor("applied", async () => {
      await stack.idle();
      return (await stack.hubDeps.requests.get(request.requestId))?.status === "applied";
    });
    expect(await ports(groupId)).toEqual([8443]);
  });

  it("a group alice creates keeps its default egress (new-group-default-egress): adopted with it, nothing filed", async () => {
    const name = `e2e-policy-alice-${Date.now()}`;
    const { GroupId = "" } = await as("alice").send(
      new CreateSecurityGroupCommand({ GroupName: name, Description: "alice's group" }),
    );
    const record = await waitFor("the group's adoption", async () => {
      await stack.idle();
      const r = await stack.memberDeps.baselines.read(GroupId);
      return r?.rules ? r : undefined;
    });
    expect(
      record.rules?.map((r) => `${r.direction} ${r.protocol} ${JSON.stringify(r.peer)}`),
    ).toEqual(['egress all {"kind":"cidrIpv4","cidr":"0.0.0.0/0"}']);
    const { SecurityGroupRules = [] } = await as("admin").send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [GroupId] }] }),
    );
    expect(SecurityGroupRules.filter((r) => r.IsEgress).map((r) => r.CidrIpv4)).toEqual([
      "0.0.0.0/0",
    ]);
    const filed = [];
    for (const status of ["auto_denied", "pending"] as const) {
      filed.push(
        ...(await stack.hubDeps.requests.listByStatus(status)).filter(
          (r) => r.change.groupId === GroupId,
        ),
      );
    }
    expect(filed).toEqual([]);
    // The member's word: the example's own rule kept it (no rule matching would keep it too).
    await stack.idle();
    const adopted = log.lines.find(
      (l) => l.message === "adopted" && l.attributes?.groupId === GroupId,
    );
    expect(adopted?.attributes?.reason).toBe(
      "a new group keeps its default egress (all traffic out), as EC2 creates it",
    );
  });

  it("the staging account is in notify mode: the change stands, marked not enforced", async () => {
    const groupId = await newGroup("staging-admin");
    await add("staging-dev", groupId, 8080, "10.0.0.0/8", "JIRA-9 staging preview");
    const request = await requestFor(groupId, "pending");
    expect(await ports(groupId, "staging-admin")).toEqual([8080]);
    expect(request.revertError?.code).toBe("NotEnforced");
    expect(request.policy).toMatchObject({ mode: "notify" });
    expect(text(request, "approval")).toContain("not enforced in this account");
    // Deny reverts it, as it would a late event.
    await click("U0BOB", "deny", request);
    await waitFor("reverted", async () => (await ports(groupId, "staging-admin")).length === 0);
  });
});
