import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  type DescribeSecurityGroupRulesCommandInput,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type EC2ClientResolvedConfig,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/client-ec2";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEc2Client, EC2_MAX_ATTEMPTS } from "../../src/adapters/ec2/client.js";
import { translateError } from "../../src/adapters/ec2/errors.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import type { Ec2Operation } from "../../src/domain/plan.js";
import { type Rule, toIpPermissions } from "../../src/domain/rule.js";
import { SecurityGroupApiError } from "../../src/ports/errors.js";

const GROUP = "sg-0123456789abcdef0";
const ssh: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
  description: "ssh",
};
const https6: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 443,
  toPort: 443,
  peer: { kind: "cidrIpv6", cidr: "2001:db8::/32" },
};
const dnsOut: Rule = {
  direction: "egress",
  protocol: "udp",
  fromPort: 53,
  toPort: 53,
  peer: { kind: "group", groupId: "sg-0fedcba9876543210", userId: "111122223333" },
};

function revokeOp(direction: "ingress" | "egress", rules: Rule[]): Ec2Operation {
  return {
    action: "revoke",
    groupId: GROUP,
    direction,
    ipPermissions: toIpPermissions(rules),
    rules,
  };
}

/** An SDK-style EC2 error as the client throws it. */
function awsError(name: string, fault: "client" | "server" = "client", message = `${name}!`) {
  return Object.assign(new Error(message), {
    name,
    Code: name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === "client" ? 400 : 500 },
  });
}

// Each test mocks its own client instance, so the real SDK stays untouched for the retry tests.
let client: EC2Client;
let ec2: AwsStub<ServiceInputTypes, ServiceOutputTypes, EC2ClientResolvedConfig>;
let groups: Ec2SecurityGroups;

beforeEach(() => {
  client = new EC2Client({ region: "us-east-1" });
  ec2 = mockClient(client);
  groups = new Ec2SecurityGroups(client);
});
afterEach(() => ec2.restore());

describe("execute: exactly one EC2 write call, with the plan's parameters", () => {
  it("authorize ingress sends AuthorizeSecurityGroupIngress and maps the created rules", async () => {
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({
      Return: true,
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-1",
          GroupId: GROUP,
          IsEgress: false,
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: "10.0.0.0/8",
          Description: "ssh",
        },
        {
          SecurityGroupRuleId: "sgr-2",
          GroupId: GROUP,
          IsEgress: false,
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          CidrIpv6: "2001:db8::/32",
        },
      ],
    });
    const ipPermissions = toIpPermissions([ssh, https6]);
    const result = await groups.execute({
      action: "authorize",
      groupId: GROUP,
      direction: "ingress",
      ipPermissions,
      rules: [ssh, https6],
    });

    expect(result.created).toEqual([
      { ...ssh, ruleId: "sgr-1" },
      { ...https6, ruleId: "sgr-2" },
    ]);
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input).toEqual({
      GroupId: GROUP,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "ssh" }],
        },
        {
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          Ipv6Ranges: [{ CidrIpv6: "2001:db8::/32" }],
        },
      ],
    });
  });

  it("authorize egress sends AuthorizeSecurityGroupEgress; no rules reported means none created", async () => {
    ec2.on(AuthorizeSecurityGroupEgressCommand).resolves({ Return: true });
    const ipPermissions = toIpPermissions([dnsOut]);
    const result = await groups.execute({
      action: "authorize",
      groupId: GROUP,
      direction: "egress",
      ipPermissions,
      rules: [dnsOut],
    });

    expect(result.created).toEqual([]);
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2.commandCalls(AuthorizeSecurityGroupEgressCommand)[0]?.args[0].input).toEqual({
      GroupId: GROUP,
      IpPermissions: [
        {
          IpProtocol: "udp",
          FromPort: 53,
          ToPort: 53,
          UserIdGroupPairs: [{ GroupId: "sg-0fedcba9876543210", UserId: "111122223333" }],
        },
      ],
    });
  });

  it.each([
    ["ingress", RevokeSecurityGroupIngressCommand],
    ["egress", RevokeSecurityGroupEgressCommand],
  ] as const)(
    "revoke %s by rule ids sends only GroupId and SecurityGroupRuleIds",
    async (direction, Command) => {
      ec2.onAnyCommand().resolves({ Return: true });
      const result = await groups.execute({
        action: "revoke",
        groupId: GROUP,
        direction,
        securityGroupRuleIds: ["sgr-1", "sgr-2"],
        rules: [],
      });

      expect(result).toEqual({ created: [] });
      expect(ec2.calls()).toHaveLength(1);
      const command = ec2.call(0).args[0];
      expect(command).toBeInstanceOf(Command);
      expect(command.input).toEqual({ GroupId: GROUP, SecurityGroupRuleIds: ["sgr-1", "sgr-2"] });
    },
  );

  it.each([
    ["ingress", RevokeSecurityGroupIngressCommand],
    ["egress", RevokeSecurityGroupEgressCommand],
  ] as const)(
    "revoke %s by content sends only GroupId and IpPermissions",
    async (direction, Command) => {
      ec2.onAnyCommand().resolves({ Return: true, UnknownIpPermissions: [] });
      const rule = { ...ssh, direction };
      const ipPermissions = toIpPermissions([rule]);
      await groups.execute({
        action: "revoke",
        groupId: GROUP,
        direction,
        ipPermissions,
        rules: [rule],
      });

      expect(ec2.calls()).toHaveLength(1);
      const command = ec2.call(0).args[0];
      expect(command).toBeInstanceOf(Command);
      expect(command.input).toEqual({ GroupId: GROUP, IpPermissions: ipPermissions });
    },
  );

  it("a revoke EC2 answers with UnknownIpPermissions is InvalidPermission.NotFound naming the rules", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({
      Return: true,
      UnknownIpPermissions: [
        { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      ],
    });
    const op: Ec2Operation = {
      action: "revoke",
      groupId: GROUP,
      direction: "ingress",
      ipPermissions: toIpPermissions([ssh, https6]),
      rules: [ssh, https6],
    };

    const error = await groups.execute(op).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecurityGroupApiError);
    expect(error).toMatchObject({ code: "InvalidPermission.NotFound", retryable: false });
    expect((error as SecurityGroupApiError).detail).toBe(
      `${GROUP} has no ingress rule TCP 22 10.0.0.0/8 (EC2 revoked the call's other rules)`,
    );
    expect(ec2.calls()).toHaveLength(1);
  });

  it("says nothing of other rules when none of the call's rules matched", async () => {
    ec2.on(RevokeSecurityGroupEgressCommand).resolves({
      Return: false,
      UnknownIpPermissions: toIpPermissions([dnsOut]),
    });
    const error = await groups.execute(revokeOp("egress", [dnsOut])).catch((e: unknown) => e);
    expect((error as SecurityGroupApiError).detail).toBe(
      `${GROUP} has no egress rule UDP 53 111122223333/sg-0fedcba9876543210`,
    );
  });

  it("modify sends ModifySecurityGroupRules with the rule updates as planned", async () => {
    ec2.on(ModifySecurityGroupRulesCommand).resolves({ Return: true });
    const securityGroupRules = [
      {
        SecurityGroupRuleId: "sgr-1",
        SecurityGroupRule: {
          IpProtocol: "tcp",
          FromPort: 2222,
          ToPort: 2222,
          CidrIpv4: "10.0.0.0/8",
          Description: "ssh",
        },
      },
    ];
    const result = await groups.execute({
      action: "modify",
      groupId: GROUP,
      securityGroupRules,
      rules: [{ ...ssh, fromPort: 2222, toPort: 2222, ruleId: "sgr-1" }],
    });

    expect(result).toEqual({ created: [] });
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2.commandCalls(ModifySecurityGroupRulesCommand)[0]?.args[0].input).toEqual({
      GroupId: GROUP,
      SecurityGroupRules: securityGroupRules,
    });
  });
});

describe("error translation", () => {
  const authorize: Ec2Operation = {
    action: "authorize",
    groupId: GROUP,
    direction: "ingress",
    ipPermissions: toIpPermissions([ssh]),
    rules: [ssh],
  };

  it.each([
    "InvalidPermission.Duplicate",
    "InvalidPermission.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
    "RulesPerSecurityGroupLimitExceeded",
    "UnauthorizedOperation",
  ])("%s becomes a SecurityGroupApiError with that code, not retryable", async (code) => {
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(awsError(code, "client", "as EC2 said"));
    const error = await groups.execute(authorize).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecurityGroupApiError);
    expect(error).toMatchObject({ code, retryable: false, detail: "as EC2 said" });
    expect(ec2.calls()).toHaveLength(1);
  });

  it("takes the code from `name` when the error has no Code", async () => {
    ec2
      .on(ModifySecurityGroupRulesCommand)
      .rejects({ name: "InvalidSecurityGroupRuleId.NotFound", $fault: "client", message: "gone" });
    const error = await groups
      .execute({ action: "modify", groupId: GROUP, securityGroupRules: [], rules: [] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidSecurityGroupRuleId.NotFound", detail: "gone" });
  });

  it("server faults and throttling left over from the SDK's retries are retryable", () => {
    expect(translateError(awsError("InternalError", "server"))).toMatchObject({
      code: "InternalError",
      retryable: true,
    });
    expect(translateError(awsError("RequestLimitExceeded", "client"))).toMatchObject({
      code: "RequestLimitExceeded",
      retryable: true,
    });
  });

  it("errors that are not AWS service errors propagate unchanged", async () => {
    const bug = new TypeError("boom");
    ec2.on(RevokeSecurityGroupEgressCommand).rejects(bug);
    const error = await groups
      .execute({
        action: "revoke",
        groupId: GROUP,
        direction: "egress",
        securityGroupRuleIds: ["sgr-1"],
        rules: [],
      })
      .catch((e: unknown) => e);
    expect(error).toBe(bug);
  });
});

describe("describeRules", () => {
  const sgRule = (id: string, groupId = GROUP) => ({
    SecurityGroupRuleId: id,
    GroupId: groupId,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: 22,
    ToPort: 22,
    CidrIpv4: "10.0.0.0/8",
  });

  async function collect(it: AsyncIterable<{ groupId: string; rule: Rule }>) {
    const out: { groupId: string; rule: Rule }[] = [];
    for await (const x of it) out.push(x);
    return out;
  }

  /** Records each call's input as it was at call time (the paginator reuses one input object). */
  function recordInputs(
    pages: { SecurityGroupRules: ReturnType<typeof sgRule>[]; NextToken?: string }[],
  ) {
    const inputs: DescribeSecurityGroupRulesCommandInput[] = [];
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .callsFake((input: DescribeSecurityGroupRulesCommandInput) => {
        inputs.push(structuredClone(input));
        return pages[inputs.length - 1];
      });
    return inputs;
  }

  it("follows NextToken over every page, filtering by group id, 1000 per page", async () => {
    const inputs = recordInputs([
      { SecurityGroupRules: [sgRule("sgr-1"), sgRule("sgr-2", "sg-2")], NextToken: "t1" },
      { SecurityGroupRules: [sgRule("sgr-3")], NextToken: "t2" },
      { SecurityGroupRules: [sgRule("sgr-4", "sg-2")] },
    ]);
    const got = await collect(groups.describeRules([GROUP, "sg-2"]));

    expect(got.map((x) => [x.groupId, x.rule.ruleId])).toEqual([
      [GROUP, "sgr-1"],
      ["sg-2", "sgr-2"],
      [GROUP, "sgr-3"],
      ["sg-2", "sgr-4"],
    ]);
    const { description: _, ...sshWithoutDescription } = ssh;
    expect(got[0]?.rule).toStrictEqual({ ...sshWithoutDescription, ruleId: "sgr-1" });
    const filter = { Filters: [{ Name: "group-id", Values: [GROUP, "sg-2"] }], MaxResults: 1000 };
    expect(inputs).toEqual([
      { ...filter, NextToken: undefined },
      { ...filter, NextToken: "t1" },
      { ...filter, NextToken: "t2" },
    ]);
  });

  it("describes the whole region without a filter when no ids are given; pageSize sets MaxResults", async () => {
    const inputs = recordInputs([{ SecurityGroupRules: [sgRule("sgr-1")] }]);
    const small = new Ec2SecurityGroups(client, { pageSize: 5 });
    expect(await collect(small.describeRules())).toHaveLength(1);
    expect(inputs).toEqual([{ MaxResults: 5, NextToken: undefined }]);
  });

  it("an empty list of ids describes nothing", async () => {
    expect(await collect(groups.describeRules([]))).toEqual([]);
    expect(ec2.calls()).toHaveLength(0);
  });

  it("splits more than 200 group ids into several filtered listings", async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `sg-${i}`);
    const inputs = recordInputs([
      { SecurityGroupRules: [] },
      { SecurityGroupRules: [] },
      { SecurityGroupRules: [] },
    ]);
    await collect(groups.describeRules(ids));
    expect(inputs.map((i) => i.Filters?.[0]?.Values?.length)).toEqual([200, 200, 50]);
  });

  it("translates errors thrown while paging", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(collect(groups.describeRules())).rejects.toMatchObject({
      name: "SecurityGroupApiError",
      code: "UnauthorizedOperation",
    });
  });
});

describe("describeGroup", () => {
  it("returns id, name, VPC and tags (for the policy) from one DescribeSecurityGroups call", async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP,
          GroupName: "web",
          VpcId: "vpc-1",
          Description: "x",
          Tags: [
            { Key: "env", Value: "production" },
            { Key: "team", Value: "payments" },
          ],
        },
      ],
    });
    expect(await groups.describeGroup(GROUP)).toEqual({
      groupId: GROUP,
      groupName: "web",
      vpcId: "vpc-1",
      tags: { env: "production", team: "payments" },
    });
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[0]?.args[0].input).toEqual({
      GroupIds: [GROUP],
    });
  });

  it("is undefined when EC2 answers InvalidGroup.NotFound", async () => {
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError("InvalidGroup.NotFound"));
    expect(await groups.describeGroup(GROUP)).toBeUndefined();
  });

  it("throws other EC2 errors translated", async () => {
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError("InvalidGroupId.Malformed"));
    await expect(groups.describeGroup("nope")).rejects.toMatchObject({
      code: "InvalidGroupId.Malformed",
    });
  });
});

/**
 * aws-sdk-client-mock stubs `send`, which skips the SDK's middleware and so its retries. These
 * tests put a tiny HTTP server speaking the EC2 query protocol behind the real client instead.
 */
describe("createEc2Client retries throttling (real SDK middleware, fake EC2 endpoint)", () => {
  let server: Server;
  let endpoint: string;
  let replies: { status: number; body: string }[] = [];
  let received: { action: string | null; attempt: string | undefined }[] = [];

  const throttled = {
    status: 503,
    body: `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`,
  };
  const duplicate = {
    status: 400,
    body: `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidPermission.Duplicate</Code><Message>the specified rule already exists</Message></Error></Errors><RequestID>r-2</RequestID></Response>`,
  };
  const authorized = {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?>
<AuthorizeSecurityGroupIngressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-3</requestId><return>true</return>
  <securityGroupRuleSet><item>
    <securityGroupRuleId>sgr-0aaaabbbbccccdddd</securityGroupRuleId><groupId>${GROUP}</groupId>
    <isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort>
    <cidrIpv4>10.0.0.0/8</cidrIpv4><description>ssh</description>
  </item></securityGroupRuleSet>
</AuthorizeSecurityGroupIngressResponse>`,
  };

  async function readBody(req: IncomingMessage): Promise<string> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    return body;
  }

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const params = new URLSearchParams(await readBody(req));
      received.push({
        action: params.get("Action"),
        attempt: req.headers["amz-sdk-request"] as string | undefined,
      });
      const reply = replies.shift() ?? { status: 500, body: "<Response/>" };
      res.writeHead(reply.status, { "content-type": "text/xml" }).end(reply.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    replies = [];
    received = [];
  });

  const fastClient = (maxAttempts?: number) =>
    createEc2Client({
      region: "us-east-1",
      endpoint,
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
      backoff: () => 1,
      ...(maxAttempts ? { maxAttempts } : {}),
    });
  const authorize: Ec2Operation = {
    action: "authorize",
    groupId: GROUP,
    direction: "ingress",
    ipPermissions: toIpPermissions([ssh]),
    rules: [ssh],
  };

  it("RequestLimitExceeded twice, then success: execute resolves after three attempts", async () => {
    replies = [throttled, throttled, authorized];
    const result = await new Ec2SecurityGroups(fastClient()).execute(authorize);

    expect(result.created).toEqual([{ ...ssh, ruleId: "sgr-0aaaabbbbccccdddd" }]);
    expect(received).toEqual([
      { action: "AuthorizeSecurityGroupIngress", attempt: `attempt=1; max=${EC2_MAX_ATTEMPTS}` },
      { action: "AuthorizeSecurityGroupIngress", attempt: `attempt=2; max=${EC2_MAX_ATTEMPTS}` },
      { action: "AuthorizeSecurityGroupIngress", attempt: `attempt=3; max=${EC2_MAX_ATTEMPTS}` },
    ]);
  });

  it("throttling beyond maxAttempts surfaces as a retryable RequestLimitExceeded", async () => {
    replies = [throttled, throttled, throttled];
    const error = await new Ec2SecurityGroups(fastClient(3))
      .execute(authorize)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecurityGroupApiError);
    expect(error).toMatchObject({ code: "RequestLimitExceeded", retryable: true });
    expect(received).toHaveLength(3);
  });

  it("an outcome error is not retried", async () => {
    replies = [duplicate, authorized];
    const error = await new Ec2SecurityGroups(fastClient())
      .execute(authorize)
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: "InvalidPermission.Duplicate",
      detail: "the specified rule already exists",
      retryable: false,
    });
    expect(received).toHaveLength(1);
  });

  it("the default back-off (standard mode, jittered) retries RequestLimitExceeded too", async () => {
    replies = [throttled, authorized];
    const real = createEc2Client({
      region: "us-east-1",
      endpoint,
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
    });
    const result = await new Ec2SecurityGroups(real).execute(authorize);

    expect(result.created).toHaveLength(1);
    expect(received).toHaveLength(2);
  });

  it("defaults to the standard retry mode with EC2_MAX_ATTEMPTS attempts", async () => {
    const c = createEc2Client({ region: "us-east-1" });
    expect(EC2_MAX_ATTEMPTS).toBe(8);
    expect(await c.config.maxAttempts()).toBe(8);
    const strategy = (await c.config.retryStrategy()) as { mode?: string };
    expect(strategy.mode).toBe("standard");
  });
});
