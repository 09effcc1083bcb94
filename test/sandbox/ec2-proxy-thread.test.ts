/**
 * The EC2 proxy as the sandbox runs it, in a thread of its own, against real moto server: each
 * governed call's event comes back to this thread, in the order emitted; `sync` resolves once
 * every event emitted before it has arrived; a port in use fails the start with the reason.
 */
import { createServer } from "node:net";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";
import type { EventBridgeEvent } from "../../src/sandbox/ec2-proxy.js";
import { startEc2ProxyThread, type ThreadedEc2Proxy } from "../../src/sandbox/ec2-proxy-thread.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";

let moto: MotoServer;
let proxy: ThreadedEc2Proxy;
const events: EventBridgeEvent[] = [];
const client = (key: string) =>
  new EC2Client({
    endpoint: proxy.url,
    region: REGION,
    credentials: { accessKeyId: key, secretAccessKey: "x" },
  });

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startEc2ProxyThread({
    upstream: moto.endpoint,
    account: ACCOUNT,
    region: REGION,
    pinUpstreamAccount: true,
    onEvent: (event) => events.push(event),
  });
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe("the EC2 proxy in its own thread", () => {
  it("brings each governed call's event back, in call order; sync waits for those on their way", async () => {
    const alice = client("alice");
    const { GroupId = "" } = await alice.send(
      new CreateSecurityGroupCommand({ GroupName: "thread-1", Description: "t" }),
    );
    const permission = {
      IpProtocol: "tcp",
      FromPort: 8443,
      ToPort: 8443,
      IpRanges: [{ CidrIp: "198.51.100.0/24", Description: "t" }],
    };
    const added = await alice.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [permission] }),
    );
    await alice.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId,
        SecurityGroupRuleIds: (added.SecurityGroupRules ?? []).map(
          (r) => r.SecurityGroupRuleId ?? "",
        ),
      }),
    );
    await proxy.sync();
    const ours = events.filter(
      (e) =>
        JSON.stringify(e.detail.requestParameters ?? {}).includes(GroupId) ||
        e.detail.eventName === "CreateSecurityGroup",
    );
    expect(ours.map((e) => e.detail.eventName)).toEqual([
      "CreateSecurityGroup",
      "AuthorizeSecurityGroupIngress",
      "RevokeSecurityGroupIngress",
    ]);
    const parsed = parseCloudTrailEvent(ours[1]);
    expect(parsed.ignored === false && parsed.change.kind).toBe("add");
    expect(parsed.ignored === false && parsed.change.groupId).toBe(GroupId);
  });

  it("a port in use fails the start with the reason, and leaves no thread behind", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    await expect(
      startEc2ProxyThread({
        upstream: moto.endpoint,
        port,
        account: ACCOUNT,
        region: REGION,
        onEvent: () => {},
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    await new Promise((resolve) => taken.close(resolve));
  });
});
