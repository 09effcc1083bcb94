/**
 * EC2 Query API responses (XML, as moto answers) into CloudTrail's `responseElements` for the
 * governed calls.
 */
import { DESCRIPTION_EVENT_NAMES } from "../../domain/cloudtrail.js";
import { ctList, type EventAction, type Json } from "./request.js";
import { child, childText, type XmlElement } from "./xml.js";

/** A security-group rule as EC2 reports it (SecurityGroupRule). */
export interface ReportedRule {
  securityGroupRuleId: string;
  groupId: string;
  groupOwnerId?: string;
  isEgress: boolean;
  ipProtocol: string;
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  prefixListId?: string;
  referencedGroupInfo?: { groupId: string; userId?: string; vpcPeeringConnectionId?: string };
  description?: string;
  tags: { key: string; value: string }[];
}

export interface Ec2Error {
  code: string;
  message: string;
  requestId?: string;
}

const nonEmpty = (s: string | undefined): string | undefined => (s ? s : undefined);

function int(s: string | undefined, fallback: number): number {
  const n = Number(s);
  return s !== undefined && s !== "" && Number.isInteger(n) ? n : fallback;
}

function items(element: XmlElement | undefined): XmlElement[] {
  return element?.children.filter((c) => c.name === "item") ?? [];
}

/** `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. */
export function parseEc2Error(root: XmlElement): Ec2Error | undefined {
  // EC2: <Response><Errors><Error>; other Query services: <ErrorResponse><Error>.
  const error = child(child(root, "Errors"), "Error") ?? child(root, "Error");
  if (!error) return undefined;
  const code = childText(error, "Code");
  if (!code) return undefined;
  const requestId = nonEmpty(childText(root, "RequestID") ?? childText(root, "RequestId"));
  return {
    code,
    message: childText(error, "Message") ?? "",
    ...(requestId ? { requestId } : {}),
  };
}

/** The `<item>`s of a securityGroupRuleSet (Authorize*, DescribeSecurityGroupRules). */
export function reportedRules(set: XmlElement | undefined): ReportedRule[] {
  return items(set).flatMap((item): ReportedRule[] => {
    const id = childText(item, "securityGroupRuleId");
    const groupId = childText(item, "groupId");
    if (!id || !groupId) return [];
    const ref = child(item, "referencedGroupInfo");
    const refGroupId = childText(ref, "groupId");
    const rule: ReportedRule = {
      securityGroupRuleId: id,
      groupId,
      isEgress: childText(item, "isEgress") === "true",
      ipProtocol: childText(item, "ipProtocol") ?? "-1",
      // EC2 reports -1/-1 for protocols without ports; moto leaves them out.
      fromPort: int(childText(item, "fromPort"), -1),
      toPort: int(childText(item, "toPort"), -1),
      tags: items(child(item, "tagSet")).map((t) => ({
        key: childText(t, "key") ?? "",
        value: childText(t, "value") ?? "",
      })),
    };
    const optional: Partial<ReportedRule> = {
      groupOwnerId: nonEmpty(childText(item, "groupOwnerId")),
      cidrIpv4: nonEmpty(childText(item, "cidrIpv4")),
      cidrIpv6: nonEmpty(childText(item, "cidrIpv6")),
      prefixListId: nonEmpty(childText(item, "prefixListId")),
      referencedGroupInfo: refGroupId
        ? {
            groupId: refGroupId,
            ...(nonEmpty(childText(ref, "userId")) ? { userId: childText(ref, "userId") } : {}),
            ...(nonEmpty(childText(ref, "vpcPeeringConnectionId"))
              ? { vpcPeeringConnectionId: childText(ref, "vpcPeeringConnectionId") }
              : {}),
          }
        : nonEmpty(childText(item, "referencedGroupId"))
          ? { groupId: childText(item, "referencedGroupId") ?? "" }
          : undefined,
      description: childText(item, "description"),
    };
    for (const [k, v] of Object.entries(optional)) {
      if (v !== undefined) Object.assign(rule, { [k]: v });
    }
    return [rule];
  });
}

/** The rule's peer as the match key's peer part ("v4:…", "v6:…", "pl:…", "sg:…"). */
export function reportedPeer(rule: ReportedRule): string {
  if (rule.cidrIpv4) return `v4:${rule.cidrIpv4}`;
  if (rule.cidrIpv6) return `v6:${rule.cidrIpv6}`;
  if (rule.prefixListId) return `pl:${rule.prefixListId}`;
  return `sg:${rule.referencedGroupInfo?.groupId ?? ""}`;
}

function peerFields(rule: ReportedRule): [string, unknown][] {
  if (rule.cidrIpv4) return [["cidrIpv4", rule.cidrIpv4]];
  if (rule.cidrIpv6) return [["cidrIpv6", rule.cidrIpv6]];
  if (rule.prefixListId) return [["prefixListId", rule.prefixListId]];
  const ref = rule.referencedGroupInfo;
  if (!ref) return [];
  return [
    [
      "referencedGroupInfo",
      {
        ...(ref.userId ? { userId: ref.userId } : {}),
        groupId: ref.groupId,
        ...(ref.vpcPeeringConnectionId
          ? { vpcPeeringConnectionId: ref.vpcPeeringConnectionId }
          : {}),
      },
    ],
  ];
}

function object(pairs: [string, unknown][]): Json {
  const out: Json = {};
  for (const [k, v] of pairs) if (v !== undefined) out[k] = v;
  return out;
}

/** An item of an Authorize response's securityGroupRuleSet, as CloudTrail writes it. */
export function authorizedRuleItem(rule: ReportedRule, account: string, region: string): Json {
  return object([
    ["groupOwnerId", rule.groupOwnerId ?? account],
    ["groupId", rule.groupId],
    ["securityGroupRuleId", rule.securityGroupRuleId],
    ["description", rule.description],
    ["isEgress", rule.isEgress],
    ["ipProtocol", rule.ipProtocol],
    ["fromPort", rule.fromPort],
    ["toPort", rule.toPort],
    ...peerFields(rule),
    ["tagSet", rule.tags.length > 0 ? { items: rule.tags } : undefined],
    [
      "securityGroupRuleArn",
      `arn:aws:ec2:${region}:${rule.groupOwnerId ?? account}:security-group-rule/${rule.securityGroupRuleId}`,
    ],
  ]);
}

/**
 * An item of a Revoke response's revokedSecurityGroupRuleSet (RevokedSecurityGroupRule): no
 * groupOwnerId, and a group peer is `referencedGroupId`, not `referencedGroupInfo`.
 */
export function revokedRuleItem(rule: ReportedRule): Json {
  const peer = peerFields(rule).map(([k, v]): [string, unknown] =>
    k === "referencedGroupInfo" ? ["referencedGroupId", rule.referencedGroupInfo?.groupId] : [k, v],
  );
  return object([
    ["securityGroupRuleId", rule.securityGroupRuleId],
    ["groupId", rule.groupId],
    ["isEgress", rule.isEgress],
    ["ipProtocol", rule.ipProtocol],
    ["fromPort", rule.fromPort],
    ["toPort", rule.toPort],
    ...peer,
    ["description", rule.description],
  ]);
}

/** An IpPermission in XML (unknownIpPermissionSet) as a CloudTrail ipPermissions item. */
export function ipPermissionItem(item: XmlElement): Json {
  const list = (name: string, fields: string[]) =>
    ctList(
      items(child(item, name)).map((i) =>
        object(fields.map((f): [string, unknown] => [f, nonEmpty(childText(i, f))])),
      ),
    );
  const from = childText(item, "fromPort");
  const to = childText(item, "toPort");
  return object([
    ["ipProtocol", childText(item, "ipProtocol")],
    ["fromPort", from === undefined ? undefined : int(from, -1)],
    ["toPort", to === undefined ? undefined : int(to, -1)],
    ["groups", list("groups", ["userId", "groupId", "vpcPeeringConnectionId", "description"])],
    ["ipRanges", list("ipRanges", ["cidrIp", "description"])],
    ["ipv6Ranges", list("ipv6Ranges", ["cidrIpv6", "description"])],
    ["prefixListIds", list("prefixListIds", ["prefixListId", "description"])],
  ]);
}

/** `<return>` as a boolean (EC2 writes "true"/"false"). */
export function returnValue(root: XmlElement): boolean {
  return childText(root, "return") !== "false";
}

export function authorizeResponseElements(
  requestId: string,
  root: XmlElement,
  rules: ReportedRule[],
  account: string,
  region: string,
): Json {
  return {
    requestId,
    _return: returnValue(root),
    securityGroupRuleSet: ctList(rules.map((r) => authorizedRuleItem(r, account, region))),
  };
}

export function revokeResponseElements(
  requestId: string,
  root: XmlElement,
  revoked: ReportedRule[] | undefined,
): Json {
  const unknown = items(child(root, "unknownIpPermissionSet")).map(ipPermissionItem);
  return object([
    ["requestId", requestId],
    ["_return", returnValue(root)],
    [
      "revokedSecurityGroupRuleSet",
      revoked && revoked.length > 0 ? { items: revoked.map(revokedRuleItem) } : undefined,
    ],
    ["unknownIpPermissionSet", unknown.length > 0 ? { items: unknown } : undefined],
  ]);
}

export const EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

export function modifyResponseElements(requestId: string, root: XmlElement): Json {
  return {
    ModifySecurityGroupRulesResponse: {
      xmlns: EC2_XMLNS,
      requestId,
      return: returnValue(root),
    },
  };
}

/** CreateSecurityGroup's responseElements: {requestId, _return, groupId} (a real record). */
export function createGroupResponseElements(requestId: string, root: XmlElement): Json {
  return object([
    ["requestId", requestId],
    ["_return", returnValue(root)],
    ["groupId", nonEmpty(childText(root, "groupId"))],
  ]);
}

/**
 * ModifyManagedPrefixList's responseElements: the `ModifyManagedPrefixListResponse` wrapper with
 * `xmlns` (as ModifySecurityGroupRules'), holding the prefixList EC2 answered with.
 */
export function prefixListResponseElements(requestId: string, root: XmlElement): Json {
  const list = child(root, "prefixList");
  const num = (name: string) => {
    const text = childText(list, name);
    return text === undefined || text === "" ? undefined : int(text, 0);
  };
  return {
    ModifyManagedPrefixListResponse: object([
      ["xmlns", EC2_XMLNS],
      ["requestId", requestId],
      [
        "prefixList",
        list
          ? object([
              ["addressFamily", nonEmpty(childText(list, "addressFamily"))],
              ["maxEntries", num("maxEntries")],
              ["ownerId", nonEmpty(childText(list, "ownerId"))],
              ["prefixListArn", nonEmpty(childText(list, "prefixListArn"))],
              ["prefixListId", nonEmpty(childText(list, "prefixListId"))],
              ["prefixListName", nonEmpty(childText(list, "prefixListName"))],
              ["state", nonEmpty(childText(list, "state"))],
              ["version", num("version")],
            ])
          : undefined,
      ],
    ]),
  };
}

/**
 * UpdateSecurityGroupRuleDescriptions*'s responseElements: {requestId, _return}, the answer being
 * only `return` (the EC2 API reference; `_return` as in every unwrapped EC2 record).
 */
export function descriptionsResponseElements(requestId: string, root: XmlElement): Json {
  return { requestId, _return: returnValue(root) };
}

/**
 * responseElements of the governed calls that need no rule snapshots (group creation, prefix
 * list, description updates), or undefined for the Authorize, Revoke and ModifySecurityGroupRules
 * calls (their builders need the proxy's rule snapshots). The proxy's buildEvent asks this first.
 */
export function eventResponseElements(
  action: EventAction,
  requestId: string,
  root: XmlElement,
): Json | undefined {
  if (action === "CreateSecurityGroup") return createGroupResponseElements(requestId, root);
  if (action === "ModifyManagedPrefixList") return prefixListResponseElements(requestId, root);
  if ((DESCRIPTION_EVENT_NAMES as readonly string[]).includes(action)) {
    return descriptionsResponseElements(requestId, root);
  }
  return undefined;
}
