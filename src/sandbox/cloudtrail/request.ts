/**
 * EC2 Query API parameters (the form body the AWS SDK v3 and the AWS CLI send) and CloudTrail's
 * `requestParameters` for the governed calls.
 *
 * Names the SDK v3 (3.1168) and the AWS CLI (botocore 1.43) send, captured through the proxy:
 *   GroupId
 *   IpPermissions.N.IpProtocol / FromPort / ToPort
 *   IpPermissions.N.IpRanges.M.CidrIp / Description
 *   IpPermissions.N.Ipv6Ranges.M.CidrIpv6 / Description
 *   IpPermissions.N.PrefixListIds.M.PrefixListId / Description
 *   IpPermissions.N.Groups.M.GroupId / UserId / Description   (UserIdGroupPairs in the model)
 *   SecurityGroupRuleId.N                                      (revoke by rule ids)
 *   SecurityGroupRule.N.SecurityGroupRuleId
 *   SecurityGroupRule.N.SecurityGroupRule.IpProtocol / FromPort / ToPort / CidrIpv4 / CidrIpv6 /
 *     PrefixListId / ReferencedGroupId / Description          (ModifySecurityGroupRules)
 *   SecurityGroupRuleDescription.N.SecurityGroupRuleId / Description
 *                   (UpdateSecurityGroupRuleDescriptions* by rule id: the SDK v3 serializer's name)
 * The model's member names (UserIdGroupPairs, SecurityGroupRuleIds, SecurityGroupRules,
 * SecurityGroupRuleDescriptions) are accepted too, as is the legacy flat form
 * (IpProtocol/FromPort/ToPort/CidrIp at the top).
 */

import {
  CREATE_GROUP_EVENT_NAME,
  DESCRIPTION_EVENT_NAMES,
  GOVERNED_EVENT_NAMES,
  type GovernedEventName,
  PREFIX_LIST_EVENT_NAME,
} from "../../domain/cloudtrail.js";

export type Json = Record<string, unknown>;
export type QueryParams = ReadonlyMap<string, string>;

/**
 * The Authorize, Revoke and ModifySecurityGroupRules calls, whose events the proxy builds from its
 * before/after rule snapshots. The proxy emits events for every EVENT_ACTIONS call:
 * CreateSecurityGroup, ModifyManagedPrefixList and the two description updates too, their
 * requestParameters built below and their responseElements by response.ts's eventResponseElements.
 */

/** Every governed action, the two that widen rules without naming one included. */
export const EVENT_ACTIONS = GOVERNED_EVENT_NAMES;
export type EventAction = GovernedEventName;

export function isEventAction(action: string | undefined): action is EventAction {
  return (EVENT_ACTIONS as readonly (string | undefined)[]).includes(action);
}

/** Form parameters from a URL's query string and an x-www-form-urlencoded body (body wins). */
export function parseQueryParams(body: string, search = ""): Map<string, string> {
  const params = new Map<string, string>();
  for (const source of [search, body]) {
    for (const [k, v] of new URLSearchParams(source)) params.set(k, v);
  }
  return params;
}

/** The members of a Query list, `prefix.1`, `prefix.2`, ..., in numeric order. */
export function listMembers(params: QueryParams, ...prefixes: string[]): string[] {
  const members: string[] = [];
  for (const prefix of prefixes) {
    const indexes = new Set<number>();
    for (const key of params.keys()) {
      if (!key.startsWith(`${prefix}.`)) continue;
      const index = key.slice(prefix.length + 1).split(".")[0] ?? "";
      if (/^\d+$/.test(index)) indexes.add(Number(index));
    }
    members.push(...[...indexes].sort((a, b) => a - b).map((i) => `${prefix}.${i}`));
  }
  return members;
}

/** CloudTrail's list form: `{}` when empty, `{items: [...]}` otherwise. */
export function ctList(items: unknown[]): Json {
  return items.length > 0 ? { items } : {};
}

/** A port as CloudTrail records it: a number (what EC2 parsed), or the raw text if not one. */
function port(raw: string | undefined): number | string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  return Number.isInteger(n) ? n : raw;
}

/** Copies the present (defined) values of `pairs`, in order. */
function defined(pairs: [string, unknown][]): Json {
  const out: Json = {};
  for (const [k, v] of pairs) if (v !== undefined) out[k] = v;
  return out;
}

function ipPermission(params: QueryParams, p: string): Json {
  const get = (name: string) => params.get(`${p}.${name}`);
  const sub = (list: string, fields: [string, string][]) =>
    listMembers(params, `${p}.${list}`).map((m) =>
      defined(fields.map(([query, ct]) => [ct, params.get(`${m}.${query}`)])),
    );
  const groups = listMembers(params, `${p}.Groups`, `${p}.UserIdGroupPairs`).map((m) =>
    defined(
      (
        [
          ["UserId", "userId"],
          ["GroupId", "groupId"],
          ["GroupName", "groupName"],
          ["VpcId", "vpcId"],
          ["VpcPeeringConnectionId", "vpcPeeringConnectionId"],
          ["Description", "description"],
        ] as const
      ).map(([query, ct]) => [ct, params.get(`${m}.${query}`)]),
    ),
  );
  return defined([
    ["ipProtocol", get("IpProtocol")],
    ["fromPort", port(get("FromPort"))],
    ["toPort", port(get("ToPort"))],
    ["groups", ctList(groups)],
    [
      "ipRanges",
      ctList(
        sub("IpRanges", [
          ["CidrIp", "cidrIp"],
          ["Description", "description"],
        ]),
      ),
    ],
    [
      "ipv6Ranges",
      ctList(
        sub("Ipv6Ranges", [
          ["CidrIpv6", "cidrIpv6"],
          ["Description", "description"],
        ]),
      ),
    ],
    [
      "prefixListIds",
      ctList(
        sub("PrefixListIds", [
          ["PrefixListId", "prefixListId"],
          ["Description", "description"],
        ]),
      ),
    ],
  ]);
}

/** `TagSpecification.N.ResourceType` / `.Tag.M.Key|Value` as CloudTrail's tagSpecificationSet. */
function tagSpecifications(params: QueryParams): Json | undefined {
  const specs = listMembers(params, "TagSpecification", "TagSpecifications").map((s) =>
    defined([
      ["resourceType", params.get(`${s}.ResourceType`)],
      [
        "tags",
        listMembers(params, `${s}.Tag`, `${s}.Tags`).map((t) =>
          defined([
            ["key", params.get(`${t}.Key`)],
            ["value", params.get(`${t}.Value`)],
          ]),
        ),
      ],
    ]),
  );
  return specs.length > 0 ? { items: specs } : undefined;
}

/** requestParameters of Authorize/Revoke Ingress/Egress. */
export function permissionsRequestParameters(params: QueryParams): Json {
  const ruleIds = listMembers(params, "SecurityGroupRuleId", "SecurityGroupRuleIds").map((m) => ({
    securityGroupRuleId: params.get(m),
  }));
  return defined([
    ["groupId", params.get("GroupId")],
    ["groupName", params.get("GroupName")],
    [
      "ipPermissions",
      ctList(listMembers(params, "IpPermissions").map((p) => ipPermission(params, p))),
    ],
    // The legacy flat form (one rule given at the top level).
    ["ipProtocol", params.get("IpProtocol")],
    ["fromPort", port(params.get("FromPort"))],
    ["toPort", port(params.get("ToPort"))],
    ["cidrIp", params.get("CidrIp")],
    ["sourceSecurityGroupName", params.get("SourceSecurityGroupName")],
    ["sourceSecurityGroupOwnerId", params.get("SourceSecurityGroupOwnerId")],
    ["securityGroupRuleIds", ruleIds.length > 0 ? { items: ruleIds } : undefined],
    ["tagSpecificationSet", tagSpecifications(params)],
  ]);
}

/**
 * requestParameters of ModifySecurityGroupRules: CloudTrail keeps the request's PascalCase inside
 * a `ModifySecurityGroupRulesRequest` wrapper, numbers each rule with `tag` (1..n) and writes one
 * rule as an object, several as an array.
 */
export function modifyRequestParameters(params: QueryParams): Json {
  const rules = listMembers(params, "SecurityGroupRule", "SecurityGroupRules").map((m, i) => {
    const get = (name: string) => params.get(`${m}.SecurityGroupRule.${name}`);
    return defined([
      ["SecurityGroupRuleId", params.get(`${m}.SecurityGroupRuleId`)],
      ["tag", i + 1],
      [
        "SecurityGroupRule",
        defined([
          ["CidrIpv4", get("CidrIpv4")],
          ["CidrIpv6", get("CidrIpv6")],
          ["PrefixListId", get("PrefixListId")],
          ["ReferencedGroupId", get("ReferencedGroupId")],
          ["FromPort", port(get("FromPort"))],
          ["ToPort", port(get("ToPort"))],
          ["IpProtocol", get("IpProtocol")],
          ["Description", get("Description")],
        ]),
      ],
    ]);
  });
  return {
    ModifySecurityGroupRulesRequest: defined([
      ["GroupId", params.get("GroupId")],
      ["SecurityGroupRule", rules.length === 1 ? rules[0] : rules],
    ]),
  };
}

/**
 * requestParameters of UpdateSecurityGroupRuleDescriptionsIngress/Egress: the group, and the rules
 * by content (`ipPermissions`, each peer with its new description) or by id
 * (`securityGroupRuleDescriptions: {items: [{securityGroupRuleId, description?}]}`, with
 * `ipPermissions: {}` as CloudTrail writes a list not sent). An item without a description clears it.
 */
export function descriptionsRequestParameters(params: QueryParams): Json {
  const described = listMembers(
    params,
    "SecurityGroupRuleDescription",
    "SecurityGroupRuleDescriptions",
  ).map((m) =>
    defined([
      ["securityGroupRuleId", params.get(`${m}.SecurityGroupRuleId`)],
      ["description", params.get(`${m}.Description`)],
    ]),
  );
  return defined([
    ["groupId", params.get("GroupId")],
    ["groupName", params.get("GroupName")],
    [
      "ipPermissions",
      ctList(listMembers(params, "IpPermissions").map((p) => ipPermission(params, p))),
    ],
    ["securityGroupRuleDescriptions", described.length > 0 ? { items: described } : undefined],
  ]);
}

/** requestParameters of CreateSecurityGroup: {groupName, groupDescription, vpcId?} (a real record). */
export function createGroupRequestParameters(params: QueryParams): Json {
  return defined([
    ["groupName", params.get("GroupName")],
    ["groupDescription", params.get("GroupDescription")],
    ["vpcId", params.get("VpcId")],
    ["tagSpecificationSet", tagSpecifications(params)],
  ]);
}

/**
 * requestParameters of ModifyManagedPrefixList: the PascalCase `ModifyManagedPrefixListRequest`
 * wrapper, each entry numbered with `tag` (a string, as the real record has it), its CIDR as
 * `cidr` (lower case in the real record), one entry an object and several an array.
 */
export function prefixListRequestParameters(params: QueryParams): Json {
  const entries = (prefixes: string[], withDescription: boolean) => {
    const list = listMembers(params, ...prefixes).map((m, i) =>
      defined([
        ...(withDescription
          ? ([["Description", params.get(`${m}.Description`)]] as [string, unknown][])
          : []),
        ["cidr", params.get(`${m}.Cidr`)],
        ["tag", String(i + 1)],
      ]),
    );
    return list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
  };
  const version = params.get("CurrentVersion");
  const max = params.get("MaxEntries");
  return {
    ModifyManagedPrefixListRequest: defined([
      ["CurrentVersion", version === undefined ? undefined : Number(version)],
      ["PrefixListName", params.get("PrefixListName")],
      ["MaxEntries", max === undefined ? undefined : Number(max)],
      ["AddEntry", entries(["AddEntry", "AddEntries"], true)],
      ["RemoveEntry", entries(["RemoveEntry", "RemoveEntries"], false)],
      ["PrefixListId", params.get("PrefixListId")],
    ]),
  };
}

export function requestParameters(action: EventAction, params: QueryParams): Json {
  if (action === CREATE_GROUP_EVENT_NAME) return createGroupRequestParameters(params);
  if (action === PREFIX_LIST_EVENT_NAME) return prefixListRequestParameters(params);
  if ((DESCRIPTION_EVENT_NAMES as readonly string[]).includes(action))
    return descriptionsRequestParameters(params);
  return action === "ModifySecurityGroupRules"
    ? modifyRequestParameters(params)
    : permissionsRequestParameters(params);
}

const PROTOCOLS: Record<string, string> = {
  "-1": "-1",
  all: "-1",
  "1": "icmp",
  "6": "tcp",
  "17": "udp",
  "58": "icmpv6",
};

/** A protocol as EC2 reports it back: "tcp", "udp", "icmp", "icmpv6", "-1" or a number. */
export function reportedProtocol(raw: string | undefined): string {
  const p = (raw ?? "").trim().toLowerCase();
  return PROTOCOLS[p] ?? p;
}

/**
 * One rule's identity as "protocol|from|to|peer" (ports empty for protocol -1), where peer is
 * "v4:<cidr>", "v6:<cidr>", "pl:<id>" or "sg:<group id>". Rules of a request and rules EC2
 * reports are matched by it.
 */
export function ruleMatchKey(
  protocol: string | undefined,
  fromPort: unknown,
  toPort: unknown,
  peer: string,
): string {
  const p = reportedProtocol(protocol);
  return p === "-1"
    ? `-1|||${peer}`
    : `${p}|${String(fromPort ?? "")}|${String(toPort ?? "")}|${peer}`;
}

/** A rule named by a request, in request order, with its description. */
export interface RequestedRule {
  key: string;
  description?: string;
}

/** The rules an Authorize/Revoke request names (one per peer), in the order EC2 creates them. */
export function requestedRules(params: QueryParams): RequestedRule[] {
  const rules: RequestedRule[] = [];
  for (const p of listMembers(params, "IpPermissions")) {
    const protocol = params.get(`${p}.IpProtocol`);
    const from = port(params.get(`${p}.FromPort`));
    const to = port(params.get(`${p}.ToPort`));
    const each = (lists: string[], field: string, kind: string) => {
      for (const m of listMembers(params, ...lists)) {
        const value = params.get(`${m}.${field}`);
        if (!value) continue;
        const key = ruleMatchKey(protocol, from, to, `${kind}${value}`);
        const description = params.get(`${m}.Description`);
        rules.push(description === undefined ? { key } : { key, description });
      }
    };
    each([`${p}.IpRanges`], "CidrIp", "v4:");
    each([`${p}.Ipv6Ranges`], "CidrIpv6", "v6:");
    each([`${p}.PrefixListIds`], "PrefixListId", "pl:");
    each([`${p}.Groups`, `${p}.UserIdGroupPairs`], "GroupId", "sg:");
  }
  return rules;
}
