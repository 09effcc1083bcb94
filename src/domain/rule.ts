/**
 * The rule model: one security-group rule is one direction, one protocol, one port range and
 * exactly one peer. EC2 packs several peers into one `IpPermission`; we unpack them so that a set
 * of rules can be compared, diffed and reverted one by one, and pack them back into the fewest
 * `IpPermissions` when we call EC2.
 *
 * The EC2 shapes below mirror the AWS SDK v3 types structurally, so adapters can pass SDK objects
 * straight in without this module importing the SDK.
 */

export type Direction = "ingress" | "egress";

export type Peer =
  | { kind: "cidrIpv4"; cidr: string }
  | { kind: "cidrIpv6"; cidr: string }
  | { kind: "prefixList"; prefixListId: string }
  | { kind: "group"; groupId: string; userId?: string; vpcPeeringConnectionId?: string };

export interface Rule {
  direction: Direction;
  /** "tcp" | "udp" | "icmp" | "icmpv6" | "all", or the IANA number as a string for others. */
  protocol: string;
  /** tcp/udp: first port. icmp/icmpv6: the type (-1 = all types). Others: null. */
  fromPort: number | null;
  /** tcp/udp: last port. icmp/icmpv6: the code (-1 = all codes). Others: null. */
  toPort: number | null;
  peer: Peer;
  description?: string;
  ruleId?: string;
}

/** A rule's content without its direction or id: what ModifySecurityGroupRules sets. */
export type RuleBody = Omit<Rule, "direction" | "ruleId">;

// ---- EC2 API shapes (structural twins of @aws-sdk/client-ec2 types) ----

export interface Ec2IpPermission {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp?: string; Description?: string }[];
  Ipv6Ranges?: { CidrIpv6?: string; Description?: string }[];
  PrefixListIds?: { PrefixListId?: string; Description?: string }[];
  UserIdGroupPairs?: {
    GroupId?: string;
    UserId?: string;
    VpcPeeringConnectionId?: string;
    Description?: string;
  }[];
}

export interface Ec2SecurityGroupRule {
  SecurityGroupRuleId?: string;
  GroupId?: string;
  IsEgress?: boolean;
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  CidrIpv4?: string;
  CidrIpv6?: string;
  PrefixListId?: string;
  ReferencedGroupInfo?: { GroupId?: string; UserId?: string; VpcPeeringConnectionId?: string };
  Description?: string;
}

/** What ModifySecurityGroupRules takes for one rule (SecurityGroupRuleRequest). */
export interface Ec2SecurityGroupRuleRequest {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  CidrIpv4?: string;
  CidrIpv6?: string;
  PrefixListId?: string;
  ReferencedGroupId?: string;
  Description?: string;
}

export class RuleModelError extends Error {
  override readonly name = "RuleModelError";
}

// ---- protocols ----

const PROTOCOL_NAMES: Record<string, string> = {
  "-1": "all",
  all: "all",
  "1": "icmp",
  icmp: "icmp",
  "6": "tcp",
  tcp: "tcp",
  "17": "udp",
  udp: "udp",
  "58": "icmpv6",
  icmpv6: "icmpv6",
};

/** Normalises "6", "TCP", "tcp" to "tcp"; "-1" to "all"; other numbers stay numbers as strings. */
export function normaliseProtocol(raw: string | number): string {
  const key = String(raw).trim().toLowerCase();
  if (key === "") throw new RuleModelError("protocol is empty");
  const name = PROTOCOL_NAMES[key];
  if (name) return name;
  if (/^\d+$/.test(key)) {
    const n = Number(key);
    if (n > 255) throw new RuleModelError(`protocol number ${key} is out of range 0-255`);
    return String(n);
  }
  // EC2 accepts a few other names (e.g. "esp"); keep them as given, lower-cased.
  return key;
}

/** The protocol as EC2 wants it in a request: "-1" for all, names for the four named ones. */
export function ec2Protocol(protocol: string): string {
  return protocol === "all" ? "-1" : protocol;
}

export function hasPorts(protocol: string): boolean {
  return protocol === "tcp" || protocol === "udp";
}

export function isIcmp(protocol: string): boolean {
  return protocol === "icmp" || protocol === "icmpv6";
}

function toPortNumber(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n))
    throw new RuleModelError(`${field} is not a whole number: ${JSON.stringify(raw)}`);
  if (n < -1 || n > 65535) throw new RuleModelError(`${field} ${n} is out of range -1..65535`);
  return n;
}

/**
 * Ports as the rule model keeps them: numbers for tcp/udp (missing means the whole range, as
 * EC2 treats it), type/code for ICMP (-1 = all), null for protocols without ports (EC2 ignores any
 * ports given for them, and describes them as -1).
 */
export function normalisePorts(
  protocol: string,
  rawFrom: unknown,
  rawTo: unknown,
): { fromPort: number | null; toPort: number | null } {
  const from = toPortNumber(rawFrom, "fromPort");
  const to = toPortNumber(rawTo, "toPort");
  if (hasPorts(protocol)) {
    if (from === undefined && to === undefined) return { fromPort: 0, toPort: 65535 };
    const f = from ?? to ?? 0;
    const t = to ?? from ?? 65535;
    if (f === -1 && t === -1) return { fromPort: 0, toPort: 65535 };
    if (f < 0 || t < 0)
      throw new RuleModelError(`${protocol} ports must be 0-65535, got ${f}-${t}`);
    if (f > t) throw new RuleModelError(`fromPort ${f} is greater than toPort ${t}`);
    return { fromPort: f, toPort: t };
  }
  if (isIcmp(protocol)) {
    if (from !== undefined && from > 255)
      throw new RuleModelError(`ICMP type ${from} is out of range`);
    if (to !== undefined && to > 255) throw new RuleModelError(`ICMP code ${to} is out of range`);
    return { fromPort: from ?? -1, toPort: to ?? -1 };
  }
  return { fromPort: null, toPort: null };
}

// ---- identity and comparison ----

export function peerKey(peer: Peer): string {
  switch (peer.kind) {
    case "cidrIpv4":
      return `v4:${peer.cidr}`;
    case "cidrIpv6":
      return `v6:${peer.cidr.toLowerCase()}`;
    case "prefixList":
      return `pl:${peer.prefixListId}`;
    case "group":
      return `sg:${peer.groupId}${peer.vpcPeeringConnectionId ? `@${peer.vpcPeeringConnectionId}` : ""}`;
  }
}

/**
 * What makes two rules the same rule to EC2 (re-adding it is InvalidPermission.Duplicate):
 * direction, protocol, ports and peer. The description and the rule id are not part of it.
 */
export function ruleKey(rule: Omit<Rule, "ruleId" | "description">): string {
  return `${rule.direction}|${rule.protocol}|${rule.fromPort ?? ""}|${rule.toPort ?? ""}|${peerKey(rule.peer)}`;
}

/** A rule's whole content: what EC2 compares, plus the description (the id aside). */
export function contentKey(rule: Rule): string {
  return `${ruleKey(rule)}|${rule.description ?? ""}`;
}

export function sameRule(a: Rule, b: Rule): boolean {
  return ruleKey(a) === ruleKey(b);
}

/** Drops rules whose key was already seen, keeping the first. */
export function uniqueRules(rules: readonly Rule[]): Rule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const k = ruleKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- from and to EC2 shapes ----

/** `base` plus the fields of `extra` that have a value: optional fields stay absent, never undefined. */
export function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== "") out[k] = v;
  return out as T;
}

/** One EC2 IpPermission into one rule per peer. */
export function rulesFromIpPermission(direction: Direction, perm: Ec2IpPermission): Rule[] {
  if (perm.IpProtocol === undefined) throw new RuleModelError("IpPermission has no IpProtocol");
  const protocol = normaliseProtocol(perm.IpProtocol);
  const ports = normalisePorts(protocol, perm.FromPort, perm.ToPort);
  const base = { direction, protocol, ...ports };
  const rules: Rule[] = [];
  for (const r of perm.IpRanges ?? []) {
    if (!r.CidrIp) throw new RuleModelError("IpRanges item has no CidrIp");
    rules.push(
      withOptional(
        { ...base, peer: { kind: "cidrIpv4", cidr: r.CidrIp } },
        { description: r.Description },
      ),
    );
  }
  for (const r of perm.Ipv6Ranges ?? []) {
    if (!r.CidrIpv6) throw new RuleModelError("Ipv6Ranges item has no CidrIpv6");
    rules.push(
      withOptional(
        { ...base, peer: { kind: "cidrIpv6", cidr: r.CidrIpv6 } },
        { description: r.Description },
      ),
    );
  }
  for (const r of perm.PrefixListIds ?? []) {
    if (!r.PrefixListId) throw new RuleModelError("PrefixListIds item has no PrefixListId");
    rules.push(
      withOptional(
        { ...base, peer: { kind: "prefixList", prefixListId: r.PrefixListId } },
        { description: r.Description },
      ),
    );
  }
  for (const g of perm.UserIdGroupPairs ?? []) {
    if (!g.GroupId) throw new RuleModelError("UserIdGroupPairs item has no GroupId");
    const peer = withOptional<Peer>(
      { kind: "group", groupId: g.GroupId },
      { userId: g.UserId, vpcPeeringConnectionId: g.VpcPeeringConnectionId },
    );
    rules.push(withOptional({ ...base, peer }, { description: g.Description }));
  }
  return rules;
}

/** An EC2 SecurityGroupRule (DescribeSecurityGroupRules) into our rule, id included. */
export function ruleFromSecurityGroupRule(r: Ec2SecurityGroupRule): Rule {
  const direction: Direction = r.IsEgress ? "egress" : "ingress";
  const body = ruleBodyFromRequest(
    { ...r, IpProtocol: r.IpProtocol ?? "", ReferencedGroupId: r.ReferencedGroupInfo?.GroupId },
    r.ReferencedGroupInfo,
  );
  return withOptional({ direction, ...body }, { ruleId: r.SecurityGroupRuleId });
}

/** A SecurityGroupRuleRequest (ModifySecurityGroupRules) into a rule body. */
export function ruleBodyFromRequest(
  r: Ec2SecurityGroupRuleRequest,
  groupInfo?: { UserId?: string; VpcPeeringConnectionId?: string },
): RuleBody {
  const protocol = normaliseProtocol(r.IpProtocol);
  const ports = normalisePorts(protocol, r.FromPort, r.ToPort);
  const peers: Peer[] = [];
  if (r.CidrIpv4) peers.push({ kind: "cidrIpv4", cidr: r.CidrIpv4 });
  if (r.CidrIpv6) peers.push({ kind: "cidrIpv6", cidr: r.CidrIpv6 });
  if (r.PrefixListId) peers.push({ kind: "prefixList", prefixListId: r.PrefixListId });
  if (r.ReferencedGroupId) {
    peers.push(
      withOptional<Peer>(
        { kind: "group", groupId: r.ReferencedGroupId },
        { userId: groupInfo?.UserId, vpcPeeringConnectionId: groupInfo?.VpcPeeringConnectionId },
      ),
    );
  }
  const [peer, ...extra] = peers;
  if (!peer || extra.length > 0) {
    throw new RuleModelError(`a security group rule needs exactly one peer, found ${peers.length}`);
  }
  return withOptional({ protocol, ...ports, peer }, { description: r.Description });
}

function ec2Ports(rule: Pick<Rule, "protocol" | "fromPort" | "toPort">): {
  FromPort?: number;
  ToPort?: number;
} {
  if (rule.fromPort === null || rule.toPort === null) return {};
  return { FromPort: rule.fromPort, ToPort: rule.toPort };
}

/**
 * Rules into the fewest EC2 IpPermissions: one per (protocol, ports), each holding every peer of
 * that range. Order follows the first appearance of each range. Directions must not be mixed:
 * EC2 takes ingress and egress in separate calls.
 */
export function toIpPermissions(rules: readonly Rule[]): Ec2IpPermission[] {
  const directions = new Set(rules.map((r) => r.direction));
  if (directions.size > 1)
    throw new RuleModelError("cannot pack ingress and egress rules into one call");
  const byRange = new Map<string, Ec2IpPermission>();
  for (const rule of rules) {
    const rangeKey = `${rule.protocol}|${rule.fromPort}|${rule.toPort}`;
    let perm = byRange.get(rangeKey);
    if (!perm) {
      perm = { IpProtocol: ec2Protocol(rule.protocol), ...ec2Ports(rule) };
      byRange.set(rangeKey, perm);
    }
    const d = rule.description !== undefined ? { Description: rule.description } : {};
    const p = rule.peer;
    switch (p.kind) {
      case "cidrIpv4":
        perm.IpRanges ??= [];
        perm.IpRanges.push({ CidrIp: p.cidr, ...d });
        break;
      case "cidrIpv6":
        perm.Ipv6Ranges ??= [];
        perm.Ipv6Ranges.push({ CidrIpv6: p.cidr, ...d });
        break;
      case "prefixList":
        perm.PrefixListIds ??= [];
        perm.PrefixListIds.push({ PrefixListId: p.prefixListId, ...d });
        break;
      case "group":
        perm.UserIdGroupPairs ??= [];
        perm.UserIdGroupPairs.push(
          withOptional(
            { GroupId: p.groupId },
            { UserId: p.userId, VpcPeeringConnectionId: p.vpcPeeringConnectionId, ...d },
          ),
        );
        break;
    }
  }
  return [...byRange.values()];
}

/** A rule's content as ModifySecurityGroupRules takes it. */
export function toSecurityGroupRuleRequest(rule: RuleBody): Ec2SecurityGroupRuleRequest {
  // Ports -1/-1 for protocols without ports: what DescribeSecurityGroupRules reports for them
  // and what ModifySecurityGroupRules accepts (moto even requires them).
  const ports =
    rule.fromPort === null || rule.toPort === null ? { FromPort: -1, ToPort: -1 } : ec2Ports(rule);
  const out: Ec2SecurityGroupRuleRequest = { IpProtocol: ec2Protocol(rule.protocol), ...ports };
  const p = rule.peer;
  if (p.kind === "cidrIpv4") out.CidrIpv4 = p.cidr;
  else if (p.kind === "cidrIpv6") out.CidrIpv6 = p.cidr;
  else if (p.kind === "prefixList") out.PrefixListId = p.prefixListId;
  else out.ReferencedGroupId = p.groupId;
  if (rule.description !== undefined) out.Description = rule.description;
  return out;
}

// ---- display ----

const ICMP_TYPES: Record<number, string> = {
  0: "Echo Reply",
  3: "Destination Unreachable",
  4: "Source Quench",
  5: "Redirect",
  6: "Alternate Host Address",
  8: "Echo Request",
  9: "Router Advertisement",
  10: "Router Solicitation",
  11: "Time Exceeded",
  12: "Parameter Problem",
  13: "Timestamp",
  14: "Timestamp Reply",
  15: "Information Request",
  16: "Information Reply",
  17: "Address Mask Request",
  18: "Address Mask Reply",
  30: "Traceroute",
  31: "Datagram Conversion Error",
  32: "Mobile Host Redirect",
  33: "IPv6 Where-Are-You",
  34: "IPv6 I-Am-Here",
  35: "Mobile Registration Request",
  36: "Mobile Registration Reply",
  37: "Domain Name Request",
  38: "Domain Name Reply",
  39: "SKIP",
  40: "Photuris",
};

const ICMPV6_TYPES: Record<number, string> = {
  1: "Destination Unreachable",
  2: "Packet Too Big",
  3: "Time Exceeded",
  4: "Parameter Problem",
  128: "Echo Request",
  129: "Echo Reply",
  130: "Multicast Listener Query",
  131: "Multicast Listener Report",
  132: "Multicast Listener Done",
  133: "Router Solicitation",
  134: "Router Advertisement",
  135: "Neighbor Solicitation",
  136: "Neighbor Advertisement",
  137: "Redirect",
};

/** "22", "1024-2048", "All", "Echo Request", "Destination Unreachable (code 3)", "N/A". */
export function describePorts(rule: Pick<Rule, "protocol" | "fromPort" | "toPort">): string {
  const { protocol, fromPort, toPort } = rule;
  if (isIcmp(protocol)) {
    if (fromPort === null || fromPort === -1) return "All";
    const names = protocol === "icmp" ? ICMP_TYPES : ICMPV6_TYPES;
    const name = names[fromPort] ?? `Type ${fromPort}`;
    return toPort === null || toPort === -1 ? name : `${name} (code ${toPort})`;
  }
  if (fromPort === null || toPort === null) return "All";
  if (fromPort === 0 && toPort === 65535) return "All";
  return fromPort === toPort ? String(fromPort) : `${fromPort}-${toPort}`;
}

export function describeProtocol(protocol: string): string {
  switch (protocol) {
    case "all":
      return "All traffic";
    case "tcp":
    case "udp":
      return protocol.toUpperCase();
    case "icmp":
      return "ICMP";
    case "icmpv6":
      return "ICMPv6";
    default:
      return `Protocol ${protocol}`;
  }
}

export function describePeer(peer: Peer): string {
  switch (peer.kind) {
    case "cidrIpv4":
    case "cidrIpv6":
      return peer.cidr;
    case "prefixList":
      return peer.prefixListId;
    case "group": {
      const owner = peer.userId ? `${peer.userId}/` : "";
      const via = peer.vpcPeeringConnectionId ? ` via ${peer.vpcPeeringConnectionId}` : "";
      return `${owner}${peer.groupId}${via}`;
    }
  }
}
