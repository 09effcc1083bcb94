/**
 * The sandbox restarted on the same data folder: DynamoDB and the Slack fake's messages are kept
 * (EC2, moto, starts empty), so a pending request still points at its Slack messages and a click
 * on it updates them.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { type LocalStack, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";

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

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

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
    const pending = await waitFor("the request's messages", async () => {
      const [r] = await first.hubDeps.requests.listByStatus("pending");
      return r?.slack?.approval && r.slack.monitoring ? r : undefined;
    });
    await stack.idle();
    const messages = stack.slack.state.messages();
    await stack.stop();
    stack = undefined;
    expect((await readdir(dataDir)).sort()).toEqual(["dynamodb", "slack.json"]);

    stack = await start();
    expect(stack.slack.state.messages()).toEqual(messages);
    const request = (await stack.hubDeps.requests.get(pending.requestId)) as ApprovalRequest;
    expect(request.status).toBe("pending");
    const ref = request.slack?.approval;
    expect(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")).toBeDefined();

    const res = await stack.buttonClick(
      stack.signedRequest(clickBody("U0CAROL", "deny", request.requestId)),
    );
    expect(res.statusCode).toBe(200);
    const second = stack;
    await waitFor("the denial", async () => {
      const r = await second.hubDeps.requests.get(request.requestId);
      return r?.status === "denied" ? r : undefined;
    });
    await stack.idle();
    expect(stack.slack.state.calls("chat.update").filter((c) => !c.ok)).toEqual([]);
    expect(JSON.stringify(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? ""))).toMatch(
      /Denied by <@U0CAROL>/,
    );
  });
});
