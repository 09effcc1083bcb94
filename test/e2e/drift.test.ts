/**
 * Drift end to end, through the sandbox's own contract: a change made with the header
 * `x-sandbox-untracked: 1` (or under the endpoint's /untracked path, as the AWS CLI would) is
 * carried out by moto but makes no CloudTrail event; `POST /sandbox/sweep` on the page's port runs
 * the members' drift check, which reverts it and files a drift request in both channels. Nobody
 * knows who made it, so it needs two approvers; once approved it is put back and the approved
 * baseline keeps it (the next sweep finds nothing). Real handlers, moto, dynalite, HTTP.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { ruleKey } from "../../src/domain/rule.js";
import { UNTRACKED_HEADER } from "../../src/sandbox/ec2-proxy.js";
import { type SandboxServer, startSandboxServer } from "../../src/sandbox/server.js";
import { type LocalStack, SANDBOX, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";

let stack: LocalStack;
let server: SandboxServer;

beforeAll(async () => {
  stack = await startLocalStack({
    signingSecret: "drift-e2e",
    log: new MemoryLog(),
    retryBackoffMs: () => 20,
    driftGraceSeconds: 0,
  });
  server = await startSandboxServer({ stack, port: 0 });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await stack?.stop();
});

/** alice's EC2 client; `untracked` adds the sandbox's header, `path` goes under the endpoint. */
function alice(options: { untracked?: boolean; path?: string } = {}) {
  const client = new EC2Client({
    endpoint: `${stack.ec2Endpoint}${options.path ?? ""}`,
    region: SANDBOX.region,
    credentials: { accessKeyId: "alice", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  if (options.untracked) {
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers[UNTRACKED_HEADER] = "1";
        return next(args);
      },
      { step: "build", name: "untracked" },
    );
  }
  return client;
}

const ssh = (cidr: string, port = 22) => ({
  IpProtocol: "tcp",
  FromPort: port,
  ToPort: port,
  IpRanges: [{ CidrIp: cidr, Description: "untracked" }],
});

async function newGroup(name: string): Promise<string> {
  const admin = new EC2Client({
    endpoint: stack.ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: "admin", secretAccessKey: "x" },
  });
  const { GroupId } = await admin.send(
    new CreateSecurityGroupCommand({ GroupName: `${name}-${Date.now()}`, Description: name }),
  );
  if (!GroupId) throw new Error("no group id");
  await sweepNow();
  return GroupId;
}

async function ingressCidrs(groupId: string): Promise<string[]> {
  const { SecurityGroupRules = [] } = await alice().send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return SecurityGroupRules.filter((r) => !r.IsEgress)
    .map((r) => `${r.FromPort}:${r.CidrIpv4}`)
    .sort();
}

async function sweepNow(): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/sandbox/sweep`, { method: "POST" });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  await stack.idle();
  return body;
}

async function requestsFor(groupId: string): Promise<ApprovalRequest[]> {
  const all = await Promise.all(
    (["pending", "approved", "applied", "denied"] as const).map((s) =>
      stack.hubDeps.requests.listByStatus(s),
    ),
  );
  return all.flat().filter((r) => r.change.groupId === groupId);
}

async function click(user: string, action: "approve" | "deny", request: ApprovalRequest) {
  const body = clickBody(user, action, request, { teamId: SANDBOX.teamId, appId: SANDBOX.appId });
  const res = await stack.buttonClick(stack.signedRequest(body));
  expect(res.statusCode).toBe(200);
  await stack.idle();
}

describe("drift: a change CloudTrail missed", () => {
  it("an untracked add stands until POST /sandbox/sweep, which reverts it and files a drift request; two approvals put it back for good", async () => {
    const groupId = await newGroup("drift-add");
    await alice({ untracked: true }).send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [ssh("10.9.0.0/16")],
      }),
    );
    await stack.idle();
    // No event: nothing reverted it, nothing was filed.
    expect(await ingressCidrs(groupId)).toEqual(["22:10.9.0.0/16"]);
    expect(await requestsFor(groupId)).toEqual([]);

    const swept = await sweepNow();
    expect(swept).toMatchObject({ drift: 1 });
    expect(swept.groups).toBeGreaterThanOrEqual(1);
    expect(await ingressCidrs(groupId)).toEqual([]);

    const [request] = await requestsFor(groupId);
    expect(request?.change.kind).toBe("drift");
    expect(request?.status).toBe("pending");
    expect(request?.requiredApprovals).toBe(2);
    if (request?.change.kind !== "drift") throw new Error("not a drift request");
    expect(request.change.requester.arn).toMatch(/unknown/i);
    expect(request.change.added.map((r) => r.description)).toEqual(["untracked"]);
    expect(request.change.added.map((r) => ruleKey(r))).toEqual([
      ruleKey({
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "10.9.0.0/16" },
      }),
    ]);
    expect(request.slack?.approval?.channel).toBe(SANDBOX.approvalChannel);
    expect(request.slack?.monitoring?.channel).toBe(SANDBOX.monitoringChannel);

    // A second sweep files nothing more: the drift is reverted and its request open.
    expect(await sweepNow()).toMatchObject({ drift: 0 });
    expect(await requestsFor(groupId)).toHaveLength(1);

    await click("U0BOB", "approve", request);
    expect((await stack.hubDeps.requests.get(request.requestId))?.status).toBe("pending");
    await click("U0CAROL", "approve", request);
    const done = await stack.hubDeps.requests.get(request.requestId);
    expect(done?.status).toBe("applied");
    expect(await ingressCidrs(groupId)).toEqual(["22:10.9.0.0/16"]);

    const baseline = await stack.memberDeps.baselines.read(groupId);
    expect(baseline?.rules?.filter((r) => r.direction === "ingress").map((r) => r.peer)).toEqual([
      { kind: "cidrIpv4", cidr: "10.9.0.0/16" },
    ]);
    expect(baseline?.lastChange?.by).toBe(`request:${request.requestId}`);
    expect(await sweepNow()).toMatchObject({ drift: 0 });
    expect(await ingressCidrs(groupId)).toEqual(["22:10.9.0.0/16"]);
  });

  it("the AWS CLI's way (endpoint URL + /untracked): a missed remove comes back at the sweep; Deny keeps it back", async () => {
    const groupId = await newGroup("drift-remove");
    // An approved rule: the exempt admin's change, which the baseline takes in.
    const admin = new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: SANDBOX.region,
      credentials: { accessKeyId: "admin", secretAccessKey: "x" },
    });
    await admin.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [ssh("10.1.0.0/16", 443)],
      }),
    );
    await stack.idle();
    await alice({ path: "/untracked" }).send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [ssh("10.1.0.0/16", 443)],
      }),
    );
    await stack.idle();
    expect(await ingressCidrs(groupId)).toEqual([]);
    expect(await requestsFor(groupId)).toEqual([]);

    expect(await sweepNow()).toMatchObject({ drift: 1 });
    expect(await ingressCidrs(groupId)).toEqual(["443:10.1.0.0/16"]);
    const [request] = await requestsFor(groupId);
    if (request?.change.kind !== "drift") throw new Error("no drift request");
    expect(request.change.removed.map((r) => r.peer)).toEqual([
      { kind: "cidrIpv4", cidr: "10.1.0.0/16" },
    ]);
    await click("U0BOB", "deny", request);
    expect((await stack.hubDeps.requests.get(request.requestId))?.status).toBe("denied");
    expect(await ingressCidrs(groupId)).toEqual(["443:10.1.0.0/16"]);
    expect(await sweepNow()).toMatchObject({ drift: 0 });
  });
});
