/**
 * Ec2SecurityGroups against a real moto server (python3 -m moto.server). The last block pins down
 * where moto 5.2.1 answers differently from EC2, so the sandbox's users know what it cannot show.
 */
import { createServer } from "node:net";
import {
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEc2Client } from "../../src/adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import type { Ec2Operation } from "../../src/domain/plan.js";
import {
  type Rule,
  ruleKey,
  toIpPermissions,
  toSecurityGroupRuleRequest,
} from "../../src/domain/rule.js";
import { SecurityGroupApiError } from "../../src/ports/errors.js";
import type { GroupInfo } from "../../src/ports/security-groups.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";

const ACCOUNT = "123456789012"; // moto's default account
const RULE_ID = /^sgr-[0-9a-f]{17}$/;

let moto: MotoServer;
let client: EC2Client;
let sgs: Ec2SecurityGroups;
let vpcId: string;
let describePages = 0;

beforeAll(async () => {
  moto = await startMoto();
  client = createEc2Client({
    region: "us-east-1",
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "DescribeSecurityGroupRulesCommand") describePages++;
      return next(args);
    },
    { step: "initialize", name: "countDescribePages" },
  );
  const vpc = await client.send(new CreateVpcCommand({ CidrBlock: "10.10.0.0/16" }));
  vpcId = vpc.Vpc?.VpcId ?? "";
  // A small page size, so that a server which pages would be paged through.
  sgs = new Ec2SecurityGroups(client, { pageSize: 5 });
});

afterAll(async () => {
  await moto?.stop();
});

let groupCount = 0;
async function newGroup(): Promise<string> {
  groupCount += 1;
  const name = `moto-test-${groupCount}`;
  const out = await client.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId }),
  );
  if (!out.GroupId) throw new Error("CreateSecurityGroup returned no GroupId");
  return out.GroupId;
}

async function rulesOf(groupId: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  for await (const { rule } of sgs.describeRules([groupId])) rules.push(rule);
  return rules;
}

function authorize(groupId: string, rules: Rule[]): Ec2Operation {
  const direction = rules[0]?.direction ?? "ingress";
  return { action: "authorize", groupId, direction, ipPermissions: toIpPermissions(rules), rules };
}

function revokeByContent(groupId: string, rules: Rule[]): Ec2Operation {
  const direction = rules[0]?.direction ?? "ingress";
  return { action: "revoke", groupId, direction, ipPermissions: toIpPermissions(rules), rules };
}

function revokeByIds(groupId: string, rules: Rule[]): Ec2Operation {
  const direction = rules[0]?.direction ?? "ingress";
  const securityGroupRuleIds = rules.map((r) => r.ruleId ?? "");
  return { action: "revoke", groupId, direction, securityGroupRuleIds, rules };
}

const withoutId = ({ ruleId: _, ...rule }: Rule): Rule => rule;
const withoutDescription = ({ description: _, ...rule }: Rule): Rule => rule;
const byKey = (a: Rule, b: Rule) => ruleKey(a).localeCompare(ruleKey(b));
const sorted = (rules: Rule[]) => [...rules].sort(byKey);

async function apiError(p: Promise<unknown>): Promise<SecurityGroupApiError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecurityGroupApiError);
  return error as SecurityGroupApiError;
}

const ssh: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
  description: "ssh from the office",
};
const echo: Rule = {
  direction: "ingress",
  protocol: "icmp",
  fromPort: 8,
  toPort: -1,
  peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
};
const everything: Rule = {
  direction: "ingress",
  protocol: "all",
  fromPort: null,
  toPort: null,
  peer: { kind: "cidrIpv4", cidr: "192.168.0.0/16" },
};
const ssh6: Rule = { ...ssh, peer: { kind: "cidrIpv6", cidr: "2001:db8:22::/48" } };
const https6: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 443,
  toPort: 443,
  peer: { kind: "cidrIpv6", cidr: "2001:db8::/32" },
  description: "https v6",
};

describe("Ec2SecurityGroups on moto", () => {
  it("authorize returns the created rules with real sgr- ids, as describeRules lists them", async () => {
    const groupId = await newGroup();
    // One IpPermission (one port range, two peers): see the moto notes below for several.
    const { created } = await sgs.execute(authorize(groupId, [ssh, ssh6]));

    expect(created).toHaveLength(2);
    for (const rule of created) expect(rule.ruleId).toMatch(RULE_ID);
    expect(sorted(created.map(withoutId))).toEqual(sorted([ssh, ssh6]));
    const described = (await rulesOf(groupId)).filter((r) => r.direction === "ingress");
    expect(sorted(described)).toEqual(sorted(created));
  });

  it("ICMP and all-protocol rules round-trip", async () => {
    const groupId = await newGroup();
    const [icmp] = (await sgs.execute(authorize(groupId, [echo]))).created as [Rule];
    const [all] = (await sgs.execute(authorize(groupId, [everything]))).created as [Rule];

    expect(withoutId(icmp)).toEqual(echo);
    expect(withoutId(all)).toEqual(everything);
    const described = (await rulesOf(groupId)).filter((r) => r.direction === "ingress");
    expect(sorted(described)).toEqual(sorted([icmp, all]));
  });

  it("authorizing an existing rule again is InvalidPermission.Duplicate", async () => {
    const groupId = await newGroup();
    await sgs.execute(authorize(groupId, [ssh]));
    const error = await apiError(sgs.execute(authorize(groupId, [ssh])));

    expect(error.code).toBe("InvalidPermission.Duplicate");
    expect(error.retryable).toBe(false);
  });

  it("revoke by rule ids removes exactly those rules", async () => {
    const groupId = await newGroup();
    const { created } = await sgs.execute(authorize(groupId, [ssh, ssh6]));
    const [first, second] = created as [Rule, Rule];
    await sgs.execute(revokeByIds(groupId, [first]));

    const ids = (await rulesOf(groupId)).map((r) => r.ruleId);
    expect(ids).not.toContain(first.ruleId);
    expect(ids).toContain(second.ruleId);
  });

  it("revoke by permissions removes the matching rules, egress too", async () => {
    const groupId = await newGroup();
    const out: Rule = {
      ...ssh,
      direction: "egress",
      peer: { kind: "cidrIpv4", cidr: "10.1.0.0/16" },
    };
    await sgs.execute(authorize(groupId, [out]));
    await sgs.execute(revokeByContent(groupId, [out]));

    const keys = (await rulesOf(groupId)).map(ruleKey);
    expect(keys).not.toContain(ruleKey(out));
    expect(keys).toHaveLength(1); // the default egress rule of a new group
  });

  it("revoking a rule that is not there is InvalidPermission.NotFound", async () => {
    const groupId = await newGroup();
    const byContent = await apiError(sgs.execute(revokeByContent(groupId, [ssh])));
    expect(byContent.code).toBe("InvalidPermission.NotFound");

    const missing = { ...ssh, ruleId: "sgr-0123456789abcdef0" };
    const byId = await apiError(sgs.execute(revokeByIds(groupId, [missing])));
    // moto says InvalidPermission.NotFound here; EC2 says InvalidSecurityGroupRuleId.NotFound.
    expect(byId.code).toBe("InvalidPermission.NotFound");
  });

  it("modify changes a rule's content and keeps its id", async () => {
    const groupId = await newGroup();
    const [rule] = (await sgs.execute(authorize(groupId, [ssh]))).created as [Rule];
    const after: Rule = {
      ...rule,
      protocol: "udp",
      fromPort: 53,
      toPort: 53,
      peer: { kind: "cidrIpv4", cidr: "172.16.0.0/12" },
      description: "dns",
    };
    const result = await sgs.execute({
      action: "modify",
      groupId,
      securityGroupRules: [
        {
          SecurityGroupRuleId: rule.ruleId ?? "",
          SecurityGroupRule: toSecurityGroupRuleRequest(after),
        },
      ],
      rules: [after],
    });

    expect(result.created).toEqual([]);
    const ingress = (await rulesOf(groupId)).filter((r) => r.direction === "ingress");
    expect(ingress).toEqual([after]);
  });

  it("modifying a rule id that does not exist is InvalidSecurityGroupRuleId.NotFound", async () => {
    const groupId = await newGroup();
    const error = await apiError(
      sgs.execute({
        action: "modify",
        groupId,
        securityGroupRules: [
          {
            SecurityGroupRuleId: "sgr-0123456789abcdef0",
            SecurityGroupRule: toSecurityGroupRuleRequest(ssh),
          },
        ],
        rules: [],
      }),
    );
    expect(error.code).toBe("InvalidSecurityGroupRuleId.NotFound");
  });

  it("describeRules lists every rule of 30 groups", async () => {
    const groupIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const groupId = await newGroup();
      groupIds.push(groupId);
      const cidr = (n: number): Rule["peer"] => ({ kind: "cidrIpv4", cidr: `10.${i}.${n}.0/24` });
      await sgs.execute(
        authorize(groupId, [
          { ...ssh, peer: cidr(1) },
          { ...ssh, peer: cidr(2) },
          { ...https6, peer: { kind: "cidrIpv6", cidr: `2001:db8:${i}::/48` } },
        ]),
      );
    }

    const seen = new Map<string, Rule[]>();
    for await (const { groupId, rule } of sgs.describeRules(groupIds)) {
      seen.set(groupId, [...(seen.get(groupId) ?? []), rule]);
    }
    expect([...seen.keys()].sort()).toEqual([...groupIds].sort());
    for (const rules of seen.values()) {
      // Three authorized ingress rules plus the default egress rule.
      expect(rules.map((r) => r.direction).sort()).toEqual([
        "egress",
        "ingress",
        "ingress",
        "ingress",
      ]);
    }
    const ids = [...seen.values()].flat().map((r) => r.ruleId);
    expect(new Set(ids).size).toBe(120);

    let regionWide = 0;
    for await (const { groupId } of sgs.describeRules())
      if (groupIds.includes(groupId)) regionWide++;
    expect(regionWide).toBe(120);
  });

  it("describeGroup: name and VPC of a group; undefined for a missing one", async () => {
    const groupId = await newGroup();
    expect(await sgs.describeGroup(groupId)).toEqual({
      groupId,
      groupName: `moto-test-${groupCount}`,
      vpcId,
      tags: {},
    });
    expect(await sgs.describeGroup("sg-0123456789abcdef0")).toBeUndefined();
  });

  it("describeGroups names the given groups, or every group in the region; findGroupByName finds the default VPC's", async () => {
    const ids = [await newGroup(), await newGroup()];
    const named: GroupInfo[] = [];
    for await (const g of sgs.describeGroups(ids)) named.push(g);
    expect(named.map((g) => g.groupId).sort()).toEqual([...ids].sort());
    expect(named.every((g) => g.groupName?.startsWith("moto-test-") && g.vpcId === vpcId)).toBe(
      true,
    );
    const all: string[] = [];
    for await (const g of sgs.describeGroups()) all.push(g.groupId);
    expect(all).toEqual(expect.arrayContaining(ids));
    const byName = await sgs.findGroupByName(named[0]?.groupName ?? "");
    expect(byName?.groupId).toBe(named[0]?.groupId);
    expect(await sgs.findGroupByName("no-such-group-name")).toBeUndefined();
  });

  it("a group-reference rule with its owner's userId round-trips", async () => {
    const groupId = await newGroup();
    const source = await newGroup();
    const fromApp: Rule = {
      direction: "ingress",
      protocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      peer: { kind: "group", groupId: source, userId: ACCOUNT },
    };
    const [created] = (await sgs.execute(authorize(groupId, [fromApp]))).created as [Rule];
    expect(withoutId(created)).toEqual(fromApp);
    expect((await rulesOf(groupId)).filter((r) => r.direction === "ingress")).toEqual([created]);

    await sgs.execute(revokeByContent(groupId, [fromApp]));
    expect((await rulesOf(groupId)).map(ruleKey)).not.toContain(ruleKey(fromApp));
  });

  it("IPv6 and managed prefix list rules round-trip and revoke by id", async () => {
    const groupId = await newGroup();
    const list = await client.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: `offices-${groupId}`,
        AddressFamily: "IPv4",
        MaxEntries: 5,
        Entries: [{ Cidr: "198.51.100.0/24", Description: "office" }],
      }),
    );
    const prefixListId = list.PrefixList?.PrefixListId ?? "";
    expect(prefixListId).toMatch(/^pl-/);
    const fromOffices: Rule = {
      direction: "egress",
      protocol: "tcp",
      fromPort: 443,
      toPort: 443,
      peer: { kind: "prefixList", prefixListId },
    };
    const https6Out: Rule = { ...https6, direction: "egress" };

    const { created } = await sgs.execute(authorize(groupId, [fromOffices, https6Out]));
    expect(sorted(created.map(withoutId))).toEqual(sorted([fromOffices, https6Out]));
    const described = await rulesOf(groupId);
    for (const rule of created) expect(described).toContainEqual(rule);

    await sgs.execute(revokeByIds(groupId, created));
    expect((await rulesOf(groupId)).map((r) => r.ruleId)).toEqual(
      described.filter((r) => !created.some((c) => c.ruleId === r.ruleId)).map((r) => r.ruleId),
    );
  });
});

describe("where moto 5.2.1 differs from EC2 (fails when moto changes: then update the notes)", () => {
  it("answers a revoke of a missing rule with an error, never with UnknownIpPermissions", async () => {
    // EC2 revokes the rules that match and lists the others in UnknownIpPermissions; moto fails
    // the whole IpPermission and revokes none of it.
    const groupId = await newGroup();
    await sgs.execute(authorize(groupId, [ssh]));
    const missing: Rule = { ...ssh, peer: { kind: "cidrIpv4", cidr: "10.9.0.0/16" } };
    const error = await apiError(sgs.execute(revokeByContent(groupId, [ssh, missing])));

    expect(error.code).toBe("InvalidPermission.NotFound");
    expect((await rulesOf(groupId)).map(ruleKey)).toContain(ruleKey(ssh));
  });

  it("Authorize answers with the rules of its last IpPermission only", async () => {
    // EC2 lists every rule the call created. Here three port ranges make three IpPermissions.
    const groupId = await newGroup();
    const { created } = await sgs.execute(authorize(groupId, [ssh, echo, everything]));

    expect(created.map(withoutId)).toEqual([everything]);
    const described = (await rulesOf(groupId)).filter((r) => r.direction === "ingress");
    expect(sorted(described.map(withoutId))).toEqual(sorted([ssh, echo, everything]));
  });

  it("applies an Authorize IpPermission by IpPermission, not all or nothing", async () => {
    // EC2 rejects the whole call when one rule is a duplicate; moto keeps the ones before it.
    const groupId = await newGroup();
    await sgs.execute(authorize(groupId, [echo]));
    const error = await apiError(sgs.execute(authorize(groupId, [ssh, echo])));

    expect(error.code).toBe("InvalidPermission.Duplicate");
    expect((await rulesOf(groupId)).map(ruleKey)).toContain(ruleKey(ssh));
  });

  it("ignores MaxResults: DescribeSecurityGroupRules answers in one page", async () => {
    const before = describePages;
    let count = 0;
    for await (const _ of sgs.describeRules()) count++;

    expect(count).toBeGreaterThan(5);
    expect(describePages - before).toBe(1);
  });

  it("ModifySecurityGroupRules changes only protocol, ports, description and an IPv4 CIDR", async () => {
    const groupId = await newGroup();
    const [rule] = (await sgs.execute(authorize(groupId, [https6]))).created as [Rule];
    const after: Rule = {
      ...rule,
      fromPort: 8443,
      toPort: 8443,
      peer: { kind: "cidrIpv6", cidr: "2001:db8:1::/48" },
    };
    await sgs.execute({
      action: "modify",
      groupId,
      securityGroupRules: [
        {
          SecurityGroupRuleId: rule.ruleId ?? "",
          SecurityGroupRule: toSecurityGroupRuleRequest(after),
        },
      ],
      rules: [after],
    });

    const [now] = (await rulesOf(groupId)).filter((r) => r.direction === "ingress");
    expect(now).toEqual({ ...after, peer: https6.peer }); // the new IPv6 CIDR was dropped
  });

  it("ModifySecurityGroupRules wants ports even for protocol all: our request sends -1/-1", async () => {
    const groupId = await newGroup();
    const [rule] = (await sgs.execute(authorize(groupId, [everything]))).created as [Rule];
    const request = toSecurityGroupRuleRequest({ ...rule, description: "x" });
    expect(request).toMatchObject({ IpProtocol: "-1", FromPort: -1, ToPort: -1 });
    const modify = (r: typeof request) =>
      sgs.execute({
        action: "modify",
        groupId,
        securityGroupRules: [{ SecurityGroupRuleId: rule.ruleId ?? "", SecurityGroupRule: r }],
        rules: [],
      });
    await modify(request);
    const { FromPort: _f, ToPort: _t, ...withoutPorts } = request;
    expect((await apiError(modify(withoutPorts))).code).toBe("InvalidParameterValue");
  });

  it("drops the description of group-reference and prefix-list rules", async () => {
    const groupId = await newGroup();
    const source = await newGroup();
    const described: Rule = {
      direction: "ingress",
      protocol: "tcp",
      fromPort: 80,
      toPort: 80,
      peer: { kind: "group", groupId: source, userId: ACCOUNT },
      description: "from the web tier",
    };
    const [created] = (await sgs.execute(authorize(groupId, [described]))).created as [Rule];
    expect(withoutId(created)).toEqual(withoutDescription(described));
  });

  it("says InvalidGroup.NotFound for a malformed group id (EC2: InvalidGroupId.Malformed)", async () => {
    expect(await sgs.describeGroup("not-a-group")).toBeUndefined();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("startMoto", () => {
  it("rejects with a one-line install hint when moto cannot be imported", async () => {
    await expect(startMoto({ python: "/nonexistent/python3" })).rejects.toThrow(
      /^moto server is not installed: pip install 'moto\[server\]'$/,
    );
  });

  it("listens on the port it is given, and stop() ends it (twice is fine)", async () => {
    const port = await freePort();
    const other = await startMoto({ port });
    expect(other).toMatchObject({ port, endpoint: `http://127.0.0.1:${port}` });
    expect((await fetch(`${other.endpoint}/moto-api/`)).ok).toBe(true);

    await other.stop();
    await other.stop();
    await expect(fetch(`${other.endpoint}/moto-api/`)).rejects.toThrow();
  });
});
