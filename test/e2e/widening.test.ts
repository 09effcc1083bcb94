/**
 * What widens a rule without naming one, end to end on the sandbox: a customer-managed prefix
 * list that a governed group's rule names gets an entry added (ModifyManagedPrefixList, through
 * the CloudTrail proxy in front of moto) -> the member puts the list back and files the change,
 * naming the rules it widened; a group created by someone (CreateSecurityGroup) is adopted at
 * once, with its default egress; an approved rule's description changed in place
 * (UpdateSecurityGroupRuleDescriptionsIngress) is put back and filed, and Approve applies it.
 * Real handlers, moto, dynalite.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../src/domain/request.js";
import { type LocalStack, SANDBOX, startLocalStack } from "../../src/sandbox/stack.js";
import { clickBody, MemoryLog } from "../support/hub-harness.js";
import { waitFor } from "../support/wait.js";

let stack: LocalStack;
const as = (identity: string) =>
  new EC2Client({
    endpoint: stack.ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: identity, secretAccessKey: "x" },
    maxAttempts: 1,
  });

beforeAll(async () => {
  stack = await startLocalStack({
    signingSecret: "widening",
    log: new MemoryLog(),
    retryBackoffMs: () => 20,
  });
}, 60_000);
afterAll(async () => stack?.stop());

const entries = async (prefixListId: string) => {
  const { Entries = [] } = await as("admin").send(
    new GetManagedPrefixListEntriesCommand({ PrefixListId: prefixListId }),
  );
  return Entries.map((e) => e.Cidr).sort();
};

describe("changes that widen rules without naming one", () => {
  it("an entry added to a prefix list a governed rule names is taken out again and filed, naming the rule", async () => {
    const admin = as("admin");
    const { PrefixList } = await admin.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: "office",
        AddressFamily: "IPv4",
        MaxEntries: 5,
        Entries: [{ Cidr: "10.1.0.0/16", Description: "office" }],
      }),
    );
    const listId = PrefixList?.PrefixListId ?? "";
    const { GroupId } = await admin.send(
      new CreateSecurityGroupCommand({ GroupName: `office-${Date.now()}`, Description: "office" }),
    );
    await admin.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            PrefixListIds: [{ PrefixListId: listId, Description: "office HTTPS" }],
          },
        ],
      }),
    );
    await stack.idle();

    await as("alice").send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: listId,
        CurrentVersion: 1,
        AddEntries: [{ Cidr: "0.0.0.0/0", Description: "everyone" }],
      }),
    );
    const request = await waitFor("the prefix-list request", async () => {
      const [r] = (await stack.hubDeps.requests.listByStatus("pending")).filter(
        (x: ApprovalRequest) => x.change.kind === "prefixList",
      );
      return r?.slack?.approval ? r : undefined;
    });
    await stack.idle();
    expect(await entries(listId)).toEqual(["10.1.0.0/16"]);
    if (request.change.kind !== "prefixList") throw new Error("not a prefix-list change");
    expect(request.change.requester.name).toBe("alice");
    expect(request.change.references.map((r) => r.groupId)).toEqual([GroupId]);
    const ref = request.slack?.approval;
    const text = JSON.stringify(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? ""));
    expect(text).toContain(listId);
    expect(text).toMatch(/0\.0\.0\.0\/0/);
  });

  it("a group someone creates is adopted at once, its default egress kept", async () => {
    const { GroupId = "" } = await as("alice").send(
      new CreateSecurityGroupCommand({ GroupName: `new-${Date.now()}`, Description: "new" }),
    );
    const record = await waitFor("the group's adoption", async () => {
      await stack.idle();
      const r = await stack.memberDeps.baselines.read(GroupId);
      return r?.rules ? r : undefined;
    });
    expect(record.rules?.map((r) => `${r.direction}:${r.protocol}`)).toEqual(["egress:all"]);
  });

  it("an approved rule's description changed in place is put back and filed; Approve sets it", async () => {
    const admin = as("admin");
    const { GroupId = "" } = await admin.send(
      new CreateSecurityGroupCommand({ GroupName: `described-${Date.now()}`, Description: "web" }),
    );
    const https = {
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      IpRanges: [{ CidrIp: "10.20.0.0/16", Description: "HTTPS from the office - OPS-1" }],
    };
    // The exempt admin's rule: it stands, and the baseline takes it in.
    await admin.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [https] }));
    await waitFor("the HTTPS rule approved", async () => {
      await stack.idle();
      const r = await stack.memberDeps.baselines.read(GroupId);
      return r?.rules?.some((x) => x.fromPort === 443) ? r : undefined;
    });
    const description = async () => {
      const { SecurityGroupRules = [] } = await admin.send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: "group-id", Values: [GroupId] }],
        }),
      );
      return SecurityGroupRules.find((r) => r.FromPort === 443)?.Description;
    };

    await as("alice").send(
      new UpdateSecurityGroupRuleDescriptionsIngressCommand({
        GroupId,
        IpPermissions: [
          { ...https, IpRanges: [{ CidrIp: "10.20.0.0/16", Description: "HTTPS for all staff" }] },
        ],
      }),
    );
    const request = await waitFor("the description request", async () => {
      const [r] = (await stack.hubDeps.requests.listByStatus("pending")).filter(
        (x: ApprovalRequest) => x.change.groupId === GroupId,
      );
      return r?.slack?.approval ? r : undefined;
    });
    await stack.idle();
    expect(await description()).toBe("HTTPS from the office - OPS-1");
    expect(request.change).toMatchObject({
      kind: "modify",
      eventName: "UpdateSecurityGroupRuleDescriptionsIngress",
      requester: { name: "alice" },
    });
    const ref = request.slack?.approval;
    const text = JSON.stringify(stack.slack.state.message(ref?.channel ?? "", ref?.ts ?? ""));
    expect(text).toContain("HTTPS for all staff");

    const click = clickBody("U0BOB", "approve", request, {
      teamId: SANDBOX.teamId,
      appId: SANDBOX.appId,
    });
    expect((await stack.buttonClick(stack.signedRequest(click))).statusCode).toBe(200);
    await waitFor("the description applied", async () => {
      await stack.idle();
      const r = await stack.hubDeps.requests.get(request.requestId);
      return r?.status === "applied" ? r : undefined;
    });
    expect(await description()).toBe("HTTPS for all staff");
    const approved = (await stack.memberDeps.baselines.read(GroupId))?.rules ?? [];
    expect(approved.find((r) => r.fromPort === 443)?.description).toBe("HTTPS for all staff");
  });
});
