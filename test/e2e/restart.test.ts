/**
 * The sandbox restarted on the same data folder: DynamoDB, the Slack fake's messages and EC2 (moto's
 * recording, replayed with the same ids) are kept, so a pending request still points at its Slack
 * messages and at its group, and an approval after the restart is applied.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { type LocalStack, SANDBOX, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";
import { waitFor } from "../support/wait.js";

let dataDir: string;
let stack: LocalStack | undefined;
const start = () =>
  startLocalStack({
    dataDir,
    signingSecret: "restart",
    log: new MemoryLog(),
    retryBackoffMs: () => 20,
  });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sandbox-restart-"));
});
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("a sandbox restarted on the same data folder", () => {
  it("keeps pending requests and their Slack messages; a click after the restart updates them", async () => {
    stack = await start();
    const alice = new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "alice", secretAccessKey: "x" },
    });
    const { GroupId } = await alice.send(
      new CreateSecurityGroupCommand({ GroupName: "restart", Description: "restart" }),
    );
    await stack.sweep();
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const first = stack;
    const describe = async () => {
      const { SecurityGroupRules = [] } = await alice.send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: "group-id", Values: [GroupId ?? ""] }],
        }),
      );
      return SecurityGroupRules.map((r) => `${r.IsEgress ? "out" : "in"}:${r.CidrIpv4}`);
    };
    const pending = await waitFor("the request's messages", async () => {
      const [r] = await first.hubDeps.requests.listByStatus("pending");
      return r?.slack?.approval && r.slack.monitoring ? r : undefined;
    });
    await stack.idle();
    const rulesBefore = await describe();
    expect(rulesBefore).toEqual(["out:0.0.0.0/0"]);
    const messages = stack.slack.state.messages();
    await stack.stop();
    stack = undefined;
    expect((await readdir(dataDir)).sort()).toEqual(["dynamodb", "ec2.jsonl", "slack.json"]);

    stack = await start();
    expect(stack.ec2Replayed).toBeGreaterThan(0);
    expect(stack.slack.state.messages()).toEqual(messages);
    // The group is back under its id, with the rules it had (the change was reverted).
    const again = new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "alice", secretAccessKey: "x" },
    });
    const { SecurityGroupRules = [] } = await again.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [GroupId ?? ""] }],
      }),
    );
    expect(SecurityGroupRules.map((r) => `${r.IsEgress ? "out" : "in"}:${r.CidrIpv4}`)).toEqual(
      rulesBefore,
    );
    const request = (await stack.hubDeps.requests.get(pending.requestId)) as ApprovalRequest;
    expect(request.status).toBe("pending");
    const ref = request.slack?.approval;
    expect(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")).toBeDefined();

    const res = await stack.buttonClick(
      stack.signedRequest(
        clickBody("U0BOB", "approve", request, { teamId: SANDBOX.teamId, appId: SANDBOX.appId }),
      ),
    );
    expect(res.statusCode).toBe(200);
    const second = stack;
    await waitFor("the apply", async () => {
      const r = await second.hubDeps.requests.get(request.requestId);
      return r?.status === "applied" ? r : undefined;
    });
    await stack.idle();
    const { SecurityGroupRules: after = [] } = await again.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [GroupId ?? ""] }],
      }),
    );
    expect(after.map((r) => `${r.IsEgress ? "out" : "in"}:${r.CidrIpv4}`).sort()).toEqual([
      "in:0.0.0.0/0",
      "out:0.0.0.0/0",
    ]);
    expect(stack.slack.state.calls("chat.update").filter((c) => !c.ok)).toEqual([]);
    expect(JSON.stringify(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? ""))).toMatch(
      /[Aa]pplied/,
    );
  });
});
