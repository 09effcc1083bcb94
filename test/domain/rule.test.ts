import { describe, expect, it } from "vitest";
import {
  describePeer,
  describePorts,
  describeProtocol,
  type Ec2IpPermission,
  normalisePorts,
  normaliseProtocol,
  type Peer,
  type Rule,
  RuleModelError,
  ruleFromSecurityGroupRule,
  ruleKey,
  rulesFromIpPermission,
  sameRule,
  toIpPermissions,
  toSecurityGroupRuleRequest,
  uniqueRules,
} from "../../src/domain/rule.js";
import { v4, v6 } from "../support/domain-builders.js";

const tcp = (from: number, to: number, peer: Peer, extra: Partial<Rule> = {}): Rule => ({
  direction: "ingress",
  protocol: "tcp",
  fromPort: from,
  toPort: to,
  peer,
  ...extra,
});

function expectRuleError(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(RuleModelError);
  expect(fn).toThrow(message);
}

describe("normaliseProtocol", () => {
  it.each<[string | number, string]>([
    [6, "tcp"],
    ["6", "tcp"],
    ["TCP", "tcp"],
    ["tcp", "tcp"],
    [" Tcp ", "tcp"],
    [17, "udp"],
    ["17", "udp"],
    ["UDP", "udp"],
    [1, "icmp"],
    ["1", "icmp"],
    ["ICMP", "icmp"],
    [58, "icmpv6"],
    ["58", "icmpv6"],
    ["ICMPv6", "icmpv6"],
    [-1, "all"],
    ["-1", "all"],
    ["all", "all"],
    ["ALL", "all"],
    ["50", "50"],
    [50, "50"],
    ["050", "50"],
    [0, "0"],
    [255, "255"],
    ["esp", "esp"],
  ])("%j -> %s", (raw, expected) => {
    expect(normaliseProtocol(raw)).toBe(expected);
  });

  it.each<[string | number, RegExp]>([
    [256, /protocol number 256 is out of range 0-255/],
    ["1000", /protocol number 1000 is out of range/],
    ["", /protocol is empty/],
    ["  ", /protocol is empty/],
  ])("%j is refused", (raw, message) => {
    expectRuleError(() => normaliseProtocol(raw), message);
  });
});

describe("normalisePorts", () => {
  it.each<[string, unknown, unknown, number | null, number | null]>([
    ["tcp", 22, 22, 22, 22],
    ["tcp", "22", "80", 22, 80],
    ["udp", 53, "53", 53, 53],
    ["tcp", undefined, undefined, 0, 65535],
    ["tcp", null, "", 0, 65535],
    ["tcp", -1, -1, 0, 65535],
    ["tcp", 22, undefined, 22, 22],
    ["tcp", undefined, 8080, 8080, 8080],
    ["tcp", 0, 65535, 0, 65535],
    ["icmp", 8, -1, 8, -1],
    ["icmp", "3", "4", 3, 4],
    ["icmp", undefined, undefined, -1, -1],
    ["icmp", -1, -1, -1, -1],
    ["icmpv6", 128, 0, 128, 0],
    ["all", undefined, undefined, null, null],
    ["all", 0, 65535, null, null],
    ["all", -1, -1, null, null],
    ["50", 5, 6, null, null],
  ])("%s %j-%j -> %j-%j", (protocol, from, to, fromPort, toPort) => {
    expect(normalisePorts(protocol, from, to)).toStrictEqual({ fromPort, toPort });
  });

  it.each<[string, unknown, unknown, RegExp]>([
    ["tcp", 70000, 70000, /fromPort 70000 is out of range -1\.\.65535/],
    ["tcp", 22, 70000, /toPort 70000 is out of range/],
    ["tcp", -2, 22, /fromPort -2 is out of range/],
    ["tcp", 100, 22, /fromPort 100 is greater than toPort 22/],
    ["tcp", -1, 22, /tcp ports must be 0-65535, got -1-22/],
    ["tcp", "ssh", 22, /fromPort is not a whole number: "ssh"/],
    ["udp", 1.5, 2, /fromPort is not a whole number: 1\.5/],
    ["icmp", 256, -1, /ICMP type 256 is out of range/],
    ["icmp", 8, 300, /ICMP code 300 is out of range/],
  ])("%s %j-%j is refused", (protocol, from, to, message) => {
    expectRuleError(() => normalisePorts(protocol, from, to), message);
  });
});

describe("rule identity", () => {
  it("ignores description and rule id, and the case of an IPv6 CIDR", () => {
    const a = tcp(22, 22, v6("2001:DB8::/32"), { description: "a", ruleId: "sgr-1" });
    const b = tcp(22, 22, v6("2001:db8::/32"), { description: "b", ruleId: "sgr-2" });
    expect(sameRule(a, b)).toBe(true);
  });

  it("tells apart direction, protocol, ports, peer kind and peering connection", () => {
    const base = tcp(22, 22, v4("10.0.0.0/8"));
    const others: Rule[] = [
      { ...base, direction: "egress" },
      { ...base, protocol: "udp" },
      { ...base, toPort: 23 },
      { ...base, fromPort: 21 },
      { ...base, peer: v6("10.0.0.0/8") },
      { ...base, peer: { kind: "group", groupId: "sg-1" } },
    ];
    for (const o of others) expect(sameRule(base, o)).toBe(false);
    const viaPeering: Rule = {
      ...base,
      peer: { kind: "group", groupId: "sg-1", vpcPeeringConnectionId: "pcx-1" },
    };
    expect(ruleKey(viaPeering)).not.toBe(
      ruleKey({ ...base, peer: { kind: "group", groupId: "sg-1" } }),
    );
  });

  it("uniqueRules keeps the first of each rule", () => {
    const a = tcp(22, 22, v4("10.0.0.0/8"), { description: "first" });
    const b = tcp(22, 22, v4("10.0.0.0/8"), { description: "second" });
    const c = tcp(80, 80, v4("10.0.0.0/8"));
    expect(uniqueRules([a, b, c, a])).toStrictEqual([a, c]);
  });
});

describe("toIpPermissions", () => {
  it("packs every peer of one range into one permission, of several kinds", () => {
    const rules: Rule[] = [
      tcp(443, 443, v4("0.0.0.0/0"), { description: "web" }),
      tcp(443, 443, v6("::/0")),
      tcp(443, 443, { kind: "prefixList", prefixListId: "pl-1" }, { description: "vpn" }),
      tcp(443, 443, { kind: "group", groupId: "sg-1", userId: "444455556666" }),
      tcp(443, 443, { kind: "group", groupId: "sg-2", vpcPeeringConnectionId: "pcx-1" }),
      tcp(443, 443, v4("10.0.0.0/8"), { ruleId: "sgr-dropped" }),
    ];
    expect(toIpPermissions(rules)).toStrictEqual([
      {
        IpProtocol: "tcp",
        FromPort: 443,
        ToPort: 443,
        IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "web" }, { CidrIp: "10.0.0.0/8" }],
        Ipv6Ranges: [{ CidrIpv6: "::/0" }],
        PrefixListIds: [{ PrefixListId: "pl-1", Description: "vpn" }],
        UserIdGroupPairs: [
          { GroupId: "sg-1", UserId: "444455556666" },
          { GroupId: "sg-2", VpcPeeringConnectionId: "pcx-1" },
        ],
      },
    ]);
  });

  it("makes one permission per (protocol, ports), in order of first appearance", () => {
    const rules: Rule[] = [
      tcp(22, 22, v4("10.0.0.0/8")),
      { ...tcp(0, 0, v4("10.0.0.0/8")), protocol: "all", fromPort: null, toPort: null },
      tcp(22, 23, v4("10.0.0.0/8")),
      { ...tcp(53, 53, v4("10.0.0.0/8")), protocol: "udp" },
      tcp(22, 22, v4("10.1.0.0/16")),
      { ...tcp(8, -1, v4("10.0.0.0/8")), protocol: "icmp" },
    ];
    expect(toIpPermissions(rules)).toStrictEqual([
      {
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: "10.0.0.0/8" }, { CidrIp: "10.1.0.0/16" }],
      },
      { IpProtocol: "-1", IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      { IpProtocol: "tcp", FromPort: 22, ToPort: 23, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      { IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      { IpProtocol: "icmp", FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
    ]);
  });

  it("refuses to mix ingress and egress", () => {
    expectRuleError(
      () =>
        toIpPermissions([
          tcp(22, 22, v4("10.0.0.0/8")),
          { ...tcp(22, 22, v4("10.0.0.0/8")), direction: "egress" },
        ]),
      /cannot pack ingress and egress/,
    );
  });

  it("packs nothing into nothing", () => {
    expect(toIpPermissions([])).toEqual([]);
  });
});

describe("rulesFromIpPermission", () => {
  it("unpacks one rule per peer, keeping descriptions and group details", () => {
    const perm: Ec2IpPermission = {
      IpProtocol: "6",
      FromPort: 5432,
      ToPort: 5432,
      IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "" }],
      UserIdGroupPairs: [{ GroupId: "sg-1", UserId: "444455556666", Description: "db" }],
    };
    expect(rulesFromIpPermission("egress", perm)).toStrictEqual([
      {
        direction: "egress",
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        peer: v4("10.0.0.0/8"),
      },
      {
        direction: "egress",
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        peer: { kind: "group", groupId: "sg-1", userId: "444455556666" },
        description: "db",
      },
    ]);
  });

  it.each<[Ec2IpPermission, RegExp]>([
    [{ IpRanges: [{ CidrIp: "10.0.0.0/8" }] }, /has no IpProtocol/],
    [{ IpProtocol: "tcp", IpRanges: [{ Description: "x" }] }, /IpRanges item has no CidrIp/],
    [{ IpProtocol: "tcp", Ipv6Ranges: [{}] }, /Ipv6Ranges item has no CidrIpv6/],
    [{ IpProtocol: "tcp", PrefixListIds: [{}] }, /PrefixListIds item has no PrefixListId/],
    [
      { IpProtocol: "tcp", UserIdGroupPairs: [{ UserId: "1" }] },
      /UserIdGroupPairs item has no GroupId/,
    ],
  ])("refuses %j", (perm, message) => {
    expectRuleError(() => rulesFromIpPermission("ingress", perm), message);
  });
});

describe("describePorts / describeProtocol / describePeer", () => {
  it.each<[string, number | null, number | null, string]>([
    ["icmp", 8, -1, "Echo Request"],
    ["icmp", 0, -1, "Echo Reply"],
    ["icmp", 3, 4, "Destination Unreachable (code 4)"],
    ["icmp", -1, -1, "All"],
    ["icmp", 99, -1, "Type 99"],
    ["icmpv6", 128, -1, "Echo Request"],
    ["icmpv6", 1, 0, "Destination Unreachable (code 0)"],
    ["icmpv6", -1, -1, "All"],
    ["tcp", 22, 22, "22"],
    ["tcp", 1024, 2048, "1024-2048"],
    ["udp", 0, 65535, "All"],
    ["all", null, null, "All"],
    ["50", null, null, "All"],
  ])("%s %j/%j -> %s", (protocol, fromPort, toPort, expected) => {
    expect(describePorts({ protocol, fromPort, toPort })).toBe(expected);
  });

  it.each([
    ["all", "All traffic"],
    ["tcp", "TCP"],
    ["udp", "UDP"],
    ["icmp", "ICMP"],
    ["icmpv6", "ICMPv6"],
    ["50", "Protocol 50"],
  ])("describeProtocol(%s) = %s", (protocol, expected) => {
    expect(describeProtocol(protocol)).toBe(expected);
  });

  it.each<[Peer, string]>([
    [v4("0.0.0.0/0"), "0.0.0.0/0"],
    [v6("::/0"), "::/0"],
    [{ kind: "prefixList", prefixListId: "pl-0c2d4e6f" }, "pl-0c2d4e6f"],
    [{ kind: "group", groupId: "sg-1" }, "sg-1"],
    [{ kind: "group", groupId: "sg-1", userId: "444455556666" }, "444455556666/sg-1"],
    [
      { kind: "group", groupId: "sg-1", userId: "444455556666", vpcPeeringConnectionId: "pcx-9" },
      "444455556666/sg-1 via pcx-9",
    ],
  ])("describePeer(%j) = %s", (peer, expected) => {
    expect(describePeer(peer)).toBe(expected);
  });
});

describe("ruleFromSecurityGroupRule", () => {
  it("reads an egress all-traffic rule (-1/-1 ports) with its id and description", () => {
    expect(
      ruleFromSecurityGroupRule({
        SecurityGroupRuleId: "sgr-1",
        GroupId: "sg-0",
        IsEgress: true,
        IpProtocol: "-1",
        FromPort: -1,
        ToPort: -1,
        CidrIpv4: "0.0.0.0/0",
        Description: "out",
      }),
    ).toStrictEqual({
      direction: "egress",
      protocol: "all",
      fromPort: null,
      toPort: null,
      peer: v4("0.0.0.0/0"),
      description: "out",
      ruleId: "sgr-1",
    });
  });

  it("reads an ingress group reference with owner and peering connection", () => {
    expect(
      ruleFromSecurityGroupRule({
        SecurityGroupRuleId: "sgr-2",
        IsEgress: false,
        IpProtocol: "tcp",
        FromPort: 5432,
        ToPort: 5432,
        ReferencedGroupInfo: {
          GroupId: "sg-1",
          UserId: "444455556666",
          VpcPeeringConnectionId: "pcx-1",
        },
      }),
    ).toStrictEqual({
      direction: "ingress",
      protocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      peer: {
        kind: "group",
        groupId: "sg-1",
        userId: "444455556666",
        vpcPeeringConnectionId: "pcx-1",
      },
      ruleId: "sgr-2",
    });
  });

  it("reads a prefix list and an IPv6 rule; an absent IsEgress is ingress", () => {
    expect(
      ruleFromSecurityGroupRule({
        IpProtocol: "icmpv6",
        FromPort: 128,
        ToPort: -1,
        CidrIpv6: "::/0",
      }),
    ).toStrictEqual({
      direction: "ingress",
      protocol: "icmpv6",
      fromPort: 128,
      toPort: -1,
      peer: v6("::/0"),
    });
    expect(
      ruleFromSecurityGroupRule({
        IpProtocol: "17",
        FromPort: 53,
        ToPort: 53,
        PrefixListId: "pl-1",
      }),
    ).toMatchObject({ protocol: "udp", peer: { kind: "prefixList", prefixListId: "pl-1" } });
  });

  it("refuses no peer, two peers, or no protocol", () => {
    expectRuleError(
      () => ruleFromSecurityGroupRule({ IpProtocol: "tcp", FromPort: 1, ToPort: 1 }),
      /exactly one peer, found 0/,
    );
    expectRuleError(
      () =>
        ruleFromSecurityGroupRule({ IpProtocol: "tcp", CidrIpv4: "0.0.0.0/0", CidrIpv6: "::/0" }),
      /exactly one peer, found 2/,
    );
    expectRuleError(
      () => ruleFromSecurityGroupRule({ CidrIpv4: "0.0.0.0/0" }),
      /protocol is empty/,
    );
  });
});

describe("toSecurityGroupRuleRequest", () => {
  it("writes tcp with ports, CIDR and description", () => {
    expect(
      toSecurityGroupRuleRequest({
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: v4("10.0.0.0/8"),
        description: "ssh",
      }),
    ).toStrictEqual({
      IpProtocol: "tcp",
      FromPort: 22,
      ToPort: 22,
      CidrIpv4: "10.0.0.0/8",
      Description: "ssh",
    });
  });

  it("writes protocols without ports as -1 with ports -1/-1, as EC2 describes them", () => {
    const all = { protocol: "all", fromPort: null, toPort: null, peer: v6("::/0") };
    expect(toSecurityGroupRuleRequest(all)).toStrictEqual({
      IpProtocol: "-1",
      FromPort: -1,
      ToPort: -1,
      CidrIpv6: "::/0",
    });
    const esp = { protocol: "50", fromPort: null, toPort: null, peer: v4("10.0.0.0/8") };
    expect(toSecurityGroupRuleRequest(esp)).toMatchObject({
      IpProtocol: "50",
      FromPort: -1,
      ToPort: -1,
    });
    // and they read back as "no ports"
    expect(ruleFromSecurityGroupRule(toSecurityGroupRuleRequest(all))).toStrictEqual({
      direction: "ingress",
      ...all,
    });
  });

  it("writes ICMP type/code, a prefix list and a referenced group", () => {
    expect(
      toSecurityGroupRuleRequest({
        protocol: "icmp",
        fromPort: 8,
        toPort: -1,
        peer: { kind: "prefixList", prefixListId: "pl-1" },
      }),
    ).toStrictEqual({ IpProtocol: "icmp", FromPort: 8, ToPort: -1, PrefixListId: "pl-1" });
    expect(
      toSecurityGroupRuleRequest({
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        peer: { kind: "group", groupId: "sg-1", userId: "444455556666" },
      }),
    ).toStrictEqual({ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, ReferencedGroupId: "sg-1" });
  });

  it("round-trips through ruleFromSecurityGroupRule", () => {
    const body = {
      protocol: "udp",
      fromPort: 53,
      toPort: 53,
      peer: v4("10.0.0.0/8"),
      description: "dns",
    };
    const back = ruleFromSecurityGroupRule({ ...toSecurityGroupRuleRequest(body), IsEgress: true });
    expect(back).toStrictEqual({ direction: "egress", ...body });
  });
});
