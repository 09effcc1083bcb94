/**
 * Builds CloudTrail security-group events the way CloudTrail writes them (camelCase, `{}` for an
 * empty collection, `{items: [...]}` otherwise), wrapped in the EventBridge envelope.
 */
import type { Direction, Rule } from "../../src/domain/rule.js";
import type { Json } from "./domain-fixtures.js";

export const ACCOUNT = "111122223333";
export const REGION = "us-east-1";
export const EVENT_TIME = "2025-02-11T09:01:44Z";

export const ALICE_IDENTITY: Json = {
  type: "IAMUser",
  principalId: "AIDAYEXAMPLEALICE7Q3X",
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accountId: ACCOUNT,
  accessKeyId: "AKIAYEXAMPLEALICE7Q3",
  userName: "alice",
};

export interface EventParts {
  eventName: string;
  requestParameters: unknown;
  responseElements?: unknown;
  /** Extra or replaced fields of the CloudTrail record. */
  detail?: Json;
  /** Extra or replaced fields of the envelope. */
  envelope?: Json;
}

/** A CloudTrail record (the envelope's `detail`). */
export function cloudTrailRecord(parts: EventParts): Json {
  return {
    eventVersion: "1.08",
    userIdentity: ALICE_IDENTITY,
    eventTime: EVENT_TIME,
    eventSource: "ec2.amazonaws.com",
    eventName: parts.eventName,
    awsRegion: REGION,
    sourceIPAddress: "203.0.113.45",
    userAgent: "aws-cli/2.15.30",
    requestParameters: parts.requestParameters,
    responseElements: parts.responseElements ?? { requestId: "req-1", _return: true },
    requestID: "8a9b0c1d-2e3f-4a4b-b5c6-d7e8f9a0b1c2",
    eventID: "9b0c1d2e-3f4a-4b5c-86d7-e8f9a0b1c2d3",
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    ...parts.detail,
  };
}

/** The EventBridge envelope around a CloudTrail record. */
export function cloudTrailEvent(parts: EventParts): Json {
  return {
    version: "0",
    id: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.ec2",
    account: ACCOUNT,
    time: EVENT_TIME,
    region: REGION,
    resources: [],
    detail: cloudTrailRecord(parts),
    ...parts.envelope,
  };
}

/** `{}` when empty, `{items}` otherwise: CloudTrail's way with lists. */
export function collection(items: readonly unknown[]): Json {
  return items.length === 0 ? {} : { items: [...items] };
}

const SPELLINGS: Record<string, readonly string[]> = {
  tcp: ["tcp", "6", "TCP"],
  udp: ["udp", "17", "UDP"],
  icmp: ["icmp", "1"],
  icmpv6: ["icmpv6", "58"],
  all: ["-1"],
};

export interface AuthorizeOptions {
  direction: Direction;
  groupId: string;
  /** Picks how each protocol is spelt ("6", "tcp", "TCP"...). */
  spelling: number;
  /** Ports as JSON strings, as some console records have them. */
  stringPorts: boolean;
  /** One `ipPermissions` item per rule, or one per (protocol, ports) holding every peer. */
  onePerRule: boolean;
  /** "-1" written with the old console's 0/65535 ports. */
  legacyAllPorts: boolean;
  /** When given (one per rule), a responseElements.securityGroupRuleSet with these rule ids. */
  ruleIds?: readonly string[];
}

function peerEntry(rule: Rule): [keyof PermissionItems, Json] {
  const d = rule.description !== undefined ? { description: rule.description } : {};
  const p = rule.peer;
  switch (p.kind) {
    case "cidrIpv4":
      return ["ipRanges", { cidrIp: p.cidr, ...d }];
    case "cidrIpv6":
      return ["ipv6Ranges", { cidrIpv6: p.cidr, ...d }];
    case "prefixList":
      return ["prefixListIds", { prefixListId: p.prefixListId, ...d }];
    case "group": {
      const g: Json = { groupId: p.groupId };
      if (p.userId) g.userId = p.userId;
      if (p.vpcPeeringConnectionId) g.vpcPeeringConnectionId = p.vpcPeeringConnectionId;
      return ["groups", { ...g, ...d }];
    }
  }
}

interface PermissionItems {
  groups: Json[];
  ipRanges: Json[];
  ipv6Ranges: Json[];
  prefixListIds: Json[];
}

function permissionHead(rule: Rule, o: AuthorizeOptions): Json {
  const spellings = SPELLINGS[rule.protocol] ?? [rule.protocol];
  const head: Json = { ipProtocol: spellings[o.spelling % spellings.length] };
  const port = (n: number) => (o.stringPorts ? String(n) : n);
  if (rule.fromPort !== null && rule.toPort !== null) {
    head.fromPort = port(rule.fromPort);
    head.toPort = port(rule.toPort);
  } else if (rule.protocol === "all" && o.legacyAllPorts) {
    head.fromPort = port(0);
    head.toPort = port(65535);
  }
  return head;
}

function responseRule(rule: Rule, ruleId: string, groupId: string): Json {
  const out: Json = {
    groupOwnerId: ACCOUNT,
    groupId,
    securityGroupRuleId: ruleId,
    isEgress: rule.direction === "egress",
    ipProtocol: rule.protocol === "all" ? "-1" : rule.protocol,
    fromPort: rule.fromPort ?? -1,
    toPort: rule.toPort ?? -1,
  };
  const p = rule.peer;
  if (p.kind === "cidrIpv4") out.cidrIpv4 = p.cidr;
  else if (p.kind === "cidrIpv6") out.cidrIpv6 = p.cidr;
  else if (p.kind === "prefixList") out.prefixListId = p.prefixListId;
  else {
    const info: Json = { groupId: p.groupId, userId: p.userId ?? ACCOUNT };
    if (p.vpcPeeringConnectionId) info.vpcPeeringConnectionId = p.vpcPeeringConnectionId;
    out.referencedGroupInfo = info;
  }
  if (rule.description !== undefined) out.description = rule.description;
  return out;
}

/** An Authorize{Ingress,Egress} event that adds `rules` (all of `o.direction`). */
export function authorizeEvent(rules: readonly Rule[], o: AuthorizeOptions): Json {
  const items = new Map<string, { head: Json; peers: PermissionItems }>();
  rules.forEach((rule, i) => {
    const head = permissionHead(rule, o);
    const key = o.onePerRule ? String(i) : JSON.stringify(head);
    let entry = items.get(key);
    if (!entry) {
      entry = { head, peers: { groups: [], ipRanges: [], ipv6Ranges: [], prefixListIds: [] } };
      items.set(key, entry);
    }
    const [field, value] = peerEntry(rule);
    entry.peers[field].push(value);
  });
  const ipPermissions = [...items.values()].map(({ head, peers }) => ({
    ...head,
    groups: collection(peers.groups),
    ipRanges: collection(peers.ipRanges),
    ipv6Ranges: collection(peers.ipv6Ranges),
    prefixListIds: collection(peers.prefixListIds),
  }));
  const responseElements: Json = { requestId: "req-1", _return: true };
  if (o.ruleIds) {
    const ids = o.ruleIds;
    responseElements.securityGroupRuleSet = collection(
      rules.map((r, i) => responseRule(r, ids[i] ?? `sgr-missing${i}`, o.groupId)),
    );
  }
  return cloudTrailEvent({
    eventName:
      o.direction === "ingress" ? "AuthorizeSecurityGroupIngress" : "AuthorizeSecurityGroupEgress",
    requestParameters: { groupId: o.groupId, ipPermissions: { items: ipPermissions } },
    responseElements,
  });
}
