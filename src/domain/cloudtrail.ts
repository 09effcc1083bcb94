/**
 * CloudTrail "AWS API Call via CloudTrail" events (as EventBridge delivers them) for the seven
 * security-group rule calls, turned into a normalised change. Anything else is ignored with a
 * reason; input that cannot be an event at all is a MalformedEventError.
 */
import {
  type Change,
  type ChangeBase,
  type DescriptionEdit,
  describedRules,
  type ModifyChange,
  type PrefixListChange,
  type RemoveChange,
} from "./change.js";
import { isObject, type Json, str } from "./json.js";
import { type Requester, requesterFromCloudTrail } from "./requester.js";
import {
  type Direction,
  type Ec2IpPermission,
  type Rule,
  RuleModelError,
  ruleBodyFromRequest,
  ruleFromSecurityGroupRule,
  ruleKey,
  rulesFromIpPermission,
} from "./rule.js";
import {
  ACCOUNT_ID,
  GROUP_ID,
  isIpv4Cidr,
  isIpv6Cidr,
  PREFIX_LIST_ID,
  quoted,
  REGION,
  RULE_ID,
  VPC_PEERING_ID,
} from "./validate.js";

/**
 * The two calls that set only rules' descriptions. A description matters to policy (a rule may
 * need one), so an edit of an approved rule's description is governed like any edit.
 */
export const DESCRIPTION_EVENT_NAMES = [
  "UpdateSecurityGroupRuleDescriptionsIngress",
  "UpdateSecurityGroupRuleDescriptionsEgress",
] as const;

/** The seven calls that change a security group's rules: parseCloudTrailEvent reads these. */
export const RULE_EVENT_NAMES = [
  "AuthorizeSecurityGroupIngress",
  "AuthorizeSecurityGroupEgress",
  "RevokeSecurityGroupIngress",
  "RevokeSecurityGroupEgress",
  "ModifySecurityGroupRules",
  ...DESCRIPTION_EVENT_NAMES,
] as const;
export type RuleEventName = (typeof RULE_EVENT_NAMES)[number];

/** A new group: its default egress rule is adopted, or revoked by policy (create-group.ts). */
export const CREATE_GROUP_EVENT_NAME = "CreateSecurityGroup";
/** A customer-managed prefix list's entries changed: every rule naming it widens (prefix-list.ts). */
export const PREFIX_LIST_EVENT_NAME = "ModifyManagedPrefixList";

/**
 * Every call the member governs: the seven rule calls, and the two that widen rules without
 * naming one. The EventBridge rule (GOVERNED_EVENT_PATTERN) and the sandbox's proxy use it;
 * governedEventRoute says which reader takes an event.
 */
export const GOVERNED_EVENT_NAMES = [
  ...RULE_EVENT_NAMES,
  CREATE_GROUP_EVENT_NAME,
  PREFIX_LIST_EVENT_NAME,
] as const;
export type GovernedEventName = (typeof GOVERNED_EVENT_NAMES)[number];

export type GovernedEventRoute = "rules" | "createGroup" | "prefixList";

/**
 * Which reader takes an event: the prefix list's and the group creation's have their own; every
 * other event (the seven rule calls, and anything else, which parseCloudTrailEvent ignores with a
 * reason) goes to parseCloudTrailEvent. Reads only the event name and source.
 */
export function governedEventRoute(event: unknown): GovernedEventRoute {
  if (!isObject(event)) return "rules";
  const detail = isObject(event.detail) ? event.detail : event;
  if (detail.eventSource !== undefined && detail.eventSource !== "ec2.amazonaws.com")
    return "rules";
  if (detail.eventName === CREATE_GROUP_EVENT_NAME) return "createGroup";
  if (detail.eventName === PREFIX_LIST_EVENT_NAME) return "prefixList";
  return "rules";
}

export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";

export class MalformedEventError extends Error {
  override readonly name = "MalformedEventError";
}

/**
 * A call that named its group only by name (allowed in a default VPC) and whose response does not
 * give the id either. The caller looks the id up (`withGroupId`) and parses again.
 */
export class GroupNamedOnlyError extends MalformedEventError {
  constructor(
    readonly eventName: string,
    readonly groupName: string,
  ) {
    super(
      `${eventName} named its group only by name (${JSON.stringify(groupName)}); the group id must be looked up`,
    );
  }
}

/** `event` with the id of the group its request named only by name. */
export function withGroupId(event: unknown, groupId: string): unknown {
  if (!isObject(event)) return event;
  const enveloped = isObject(event.detail);
  const detail = (enveloped ? event.detail : event) as Json;
  const params = isObject(detail.requestParameters) ? detail.requestParameters : {};
  const patched = { ...detail, requestParameters: { ...params, groupId } };
  return enveloped ? { ...event, detail: patched } : patched;
}

export type ParseResult =
  | { ignored: true; reason: string; eventId?: string }
  | { ignored: false; change: Change };

function isRuleEvent(name: string): name is RuleEventName {
  return (RULE_EVENT_NAMES as readonly string[]).includes(name);
}

function isGoverned(name: string): name is GovernedEventName {
  return (GOVERNED_EVENT_NAMES as readonly string[]).includes(name);
}

/**
 * CloudTrail writes a list as `{items: [...]}`, an empty one as `{}` (or leaves it out), and a few
 * newer APIs as a plain array or a single object. All become an array.
 */
function items(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (isObject(value)) {
    if (Array.isArray(value.items)) return value.items;
    if (value.items === undefined && Object.keys(value).length === 0) return [];
    if (value.items === undefined) return [value];
  }
  throw new MalformedEventError(`${where} is neither a list nor {items: [...]}`);
}

function objects(value: unknown, where: string): Json[] {
  return items(value, where).map((v, i) => {
    if (!isObject(v)) throw new MalformedEventError(`${where}[${i}] is not an object`);
    return v;
  });
}

/** A CloudTrail `ipPermissions` item (camelCase) as an EC2 IpPermission. */
function ipPermissionFromCloudTrail(item: Json, where: string): Ec2IpPermission {
  const protocol = item.ipProtocol;
  if (typeof protocol !== "string" && typeof protocol !== "number") {
    throw new MalformedEventError(`${where}.ipProtocol is missing`);
  }
  const port = (v: unknown) =>
    v === undefined || v === null || v === "" ? undefined : (v as number);
  return {
    IpProtocol: String(protocol),
    FromPort: port(item.fromPort),
    ToPort: port(item.toPort),
    IpRanges: objects(item.ipRanges, `${where}.ipRanges`).map((r) => ({
      CidrIp: str(r.cidrIp),
      Description: str(r.description),
    })),
    Ipv6Ranges: objects(item.ipv6Ranges, `${where}.ipv6Ranges`).map((r) => ({
      CidrIpv6: str(r.cidrIpv6),
      Description: str(r.description),
    })),
    PrefixListIds: objects(item.prefixListIds, `${where}.prefixListIds`).map((r) => ({
      PrefixListId: str(r.prefixListId),
      Description: str(r.description),
    })),
    UserIdGroupPairs: objects(item.groups, `${where}.groups`).map((g) => ({
      GroupId: str(g.groupId),
      UserId: str(g.userId),
      VpcPeeringConnectionId: str(g.vpcPeeringConnectionId),
      Description: str(g.description),
    })),
  };
}

function rulesFromPermissions(direction: Direction, params: Json): Rule[] {
  const perms = objects(params.ipPermissions, "requestParameters.ipPermissions");
  const rules = perms.flatMap((p, i) =>
    rulesFromIpPermission(direction, ipPermissionFromCloudTrail(p, `ipPermissions[${i}]`)),
  );
  // The legacy flat form: cidrIp/fromPort/toPort/ipProtocol at the top, ipPermissions empty.
  if (rules.length === 0 && (params.cidrIp !== undefined || params.ipProtocol !== undefined)) {
    const cidr = str(params.cidrIp);
    if (!cidr) {
      throw new MalformedEventError(
        "the flat form names a source group by name only; only cidrIp is supported",
      );
    }
    return rulesFromIpPermission(direction, {
      IpProtocol: String(params.ipProtocol ?? "-1"),
      FromPort: params.fromPort as number | undefined,
      ToPort: params.toPort as number | undefined,
      IpRanges: [{ CidrIp: cidr }],
    });
  }
  return rules;
}

/**
 * responseElements rule sets carry what EC2 did, rule ids included: `securityGroupRuleSet` for an
 * authorize (the new rules), `revokedSecurityGroupRuleSet` for a revoke (the removed rules, whose
 * group references are `referencedGroupId` rather than `referencedGroupInfo`).
 */
function rulesFromResponseSet(set: unknown, where: string): Rule[] {
  return objects(set, `responseElements.${where}`).map((r) => {
    const info = isObject(r.referencedGroupInfo) ? r.referencedGroupInfo : undefined;
    const referencedGroupId = str(info?.groupId) ?? str(r.referencedGroupId);
    return ruleFromSecurityGroupRule({
      SecurityGroupRuleId: str(r.securityGroupRuleId),
      GroupId: str(r.groupId),
      IsEgress: r.isEgress === true || r.isEgress === "true",
      IpProtocol: String(r.ipProtocol ?? ""),
      FromPort: r.fromPort as number | undefined,
      ToPort: r.toPort as number | undefined,
      CidrIpv4: str(r.cidrIpv4),
      CidrIpv6: str(r.cidrIpv6),
      PrefixListId: str(r.prefixListId),
      ReferencedGroupInfo: referencedGroupId
        ? {
            GroupId: referencedGroupId,
            UserId: str(info?.userId),
            VpcPeeringConnectionId: str(info?.vpcPeeringConnectionId),
          }
        : undefined,
      Description: str(r.description),
    });
  });
}

/**
 * Attaches what EC2's response knows to the rules the request named: the rule id, and the
 * description (a revoke need not repeat it, but the revert must restore it).
 */
function withRuleIds(rules: Rule[], fromResponse: Rule[]): Rule[] {
  const byKey = new Map(fromResponse.filter((r) => r.ruleId).map((r) => [ruleKey(r), r]));
  return rules.map((r) => {
    const found = byKey.get(ruleKey(r));
    if (!found) return r;
    const description = r.description ?? found.description;
    return {
      ...r,
      ruleId: found.ruleId as string,
      ...(description !== undefined ? { description } : {}),
    };
  });
}

/** The ids of a revoke by rule id: `securityGroupRuleIds` as `{items:[{securityGroupRuleId}]}` or strings. */
function ruleIdsFrom(value: unknown): string[] {
  return items(value, "requestParameters.securityGroupRuleIds").map((v, i) => {
    const id = typeof v === "string" ? v : isObject(v) ? str(v.securityGroupRuleId) : undefined;
    if (!id) throw new MalformedEventError(`securityGroupRuleIds[${i}] has no rule id`);
    return id;
  });
}

function parseModify(base: Omit<ChangeBase, "groupId">, params: Json): Change {
  const req = params.ModifySecurityGroupRulesRequest;
  if (!isObject(req)) {
    throw new MalformedEventError("requestParameters.ModifySecurityGroupRulesRequest is missing");
  }
  const groupId = str(req.GroupId);
  if (!groupId) throw new MalformedEventError("ModifySecurityGroupRulesRequest.GroupId is missing");
  const entries = objects(
    req.SecurityGroupRule,
    "ModifySecurityGroupRulesRequest.SecurityGroupRule",
  );
  if (entries.length === 0) throw new MalformedEventError("ModifySecurityGroupRules names no rule");
  const modifications = entries.map((e, i) => {
    const ruleId = str(e.SecurityGroupRuleId);
    const body = e.SecurityGroupRule;
    if (!ruleId || !isObject(body)) {
      throw new MalformedEventError(
        `SecurityGroupRule[${i}] needs SecurityGroupRuleId and SecurityGroupRule`,
      );
    }
    const num = (v: unknown) => (v === undefined || v === null || v === "" ? undefined : Number(v));
    return {
      ruleId,
      rule: ruleBodyFromRequest({
        IpProtocol: String(body.IpProtocol ?? ""),
        FromPort: num(body.FromPort),
        ToPort: num(body.ToPort),
        CidrIpv4: str(body.CidrIpv4),
        CidrIpv6: str(body.CidrIpv6),
        PrefixListId: str(body.PrefixListId),
        ReferencedGroupId: str(body.ReferencedGroupId),
        Description: typeof body.Description === "string" ? body.Description : undefined,
      }),
    };
  });
  return { ...base, groupId, kind: "modify", modifications };
}

/**
 * UpdateSecurityGroupRuleDescriptions*: the rules named by id (`securityGroupRuleDescriptions:
 * {items: [{securityGroupRuleId, description?}]}`) or by content (`ipPermissions`, each peer with
 * its new description); EC2 refuses both in one call. No description: cleared. The modify it
 * makes is known once the baseline gives the rules (resolveChange).
 */
function parseDescriptions(
  eventName: RuleEventName,
  base: Omit<ChangeBase, "groupId">,
  params: Json,
  response: Json,
): ModifyChange {
  const direction: Direction = eventName.endsWith("Egress") ? "egress" : "ingress";
  const groupId = groupIdFrom(params, response, eventName);
  const where = "requestParameters.securityGroupRuleDescriptions";
  const byId = objects(params.securityGroupRuleDescriptions, where).map((d, i): DescriptionEdit => {
    const ruleId = str(d.securityGroupRuleId);
    if (!ruleId) throw new MalformedEventError(`${where}[${i}] has no securityGroupRuleId`);
    if (d.description !== undefined && d.description !== null && typeof d.description !== "string")
      throw new MalformedEventError(`${where}[${i}].description is not a string`);
    const description = str(d.description);
    return description === undefined ? { direction, ruleId } : { direction, ruleId, description };
  });
  const byContent = rulesFromPermissions(direction, params).map(
    (rule): DescriptionEdit => ({ rule }),
  );
  if (byId.length > 0 && byContent.length > 0) {
    throw new MalformedEventError(
      `${eventName} names rules both by id and by ipPermissions, which EC2 refuses`,
    );
  }
  const descriptions = [...byId, ...byContent];
  if (descriptions.length === 0) throw new MalformedEventError(`${eventName} names no rule`);
  return { ...base, groupId, kind: "modify", modifications: [], descriptions };
}

/**
 * The group's id: from the request, else from the rules EC2's response lists (a call that named
 * the group by name still gets rule entries carrying its id).
 */
function groupIdFrom(params: Json, response: Json, eventName: string): string {
  const id = str(params.groupId) ?? str(params.GroupId);
  if (id) return id;
  for (const key of ["securityGroupRuleSet", "revokedSecurityGroupRuleSet"]) {
    const fromResponse = objects(response[key], `responseElements.${key}`)
      .map((r) => str(r.groupId))
      .find((g) => g !== undefined);
    if (fromResponse) return fromResponse;
  }
  const name = str(params.groupName);
  if (name) throw new GroupNamedOnlyError(eventName, name);
  throw new MalformedEventError(`${eventName} has no requestParameters.groupId or groupName`);
}

/**
 * The heart of the parser. `event` is what EventBridge hands the Lambda; a bare CloudTrail
 * record (no envelope) is accepted too.
 */
export function parseCloudTrailEvent(event: unknown): ParseResult {
  if (!isObject(event)) throw new MalformedEventError("the event is not a JSON object");
  const enveloped = isObject(event.detail);
  const detail = enveloped ? (event.detail as Json) : event;
  if (enveloped) {
    if (event["detail-type"] !== CLOUDTRAIL_DETAIL_TYPE) {
      return {
        ignored: true,
        reason: `detail-type is ${JSON.stringify(event["detail-type"])}, not a CloudTrail API call`,
      };
    }
    if (event.source !== "aws.ec2") {
      return { ignored: true, reason: `source is ${JSON.stringify(event.source)}, not aws.ec2` };
    }
  } else if (detail.eventSource === undefined && detail.eventName === undefined) {
    throw new MalformedEventError(
      "the event has neither an EventBridge detail nor a CloudTrail record",
    );
  }

  const eventName = str(detail.eventName);
  if (!eventName) throw new MalformedEventError("detail.eventName is missing");
  const eventId = str(detail.eventID) ?? str(event.id);
  const ignore = (reason: string): ParseResult => ({
    ignored: true,
    reason,
    ...(eventId ? { eventId } : {}),
  });

  if (detail.eventSource !== undefined && detail.eventSource !== "ec2.amazonaws.com") {
    return ignore(`eventSource is ${String(detail.eventSource)}, not ec2.amazonaws.com`);
  }
  if (!isRuleEvent(eventName)) return ignore(`${eventName} does not change security group rules`);
  if (detail.readOnly === true) return ignore(`${eventName} was recorded as read-only`);
  if (detail.errorCode !== undefined && detail.errorCode !== null) {
    const msg = str(detail.errorMessage);
    return ignore(
      `the call failed (${String(detail.errorCode)}${msg ? `: ${msg}` : ""}); nothing changed`,
    );
  }

  if (!eventId) throw new MalformedEventError("detail.eventID is missing");
  const eventTime = str(detail.eventTime) ?? str(event.time);
  if (!eventTime || Number.isNaN(Date.parse(eventTime))) {
    throw new MalformedEventError("detail.eventTime is missing or not a time");
  }
  const account = str(detail.recipientAccountId) ?? str(event.account);
  if (!account) throw new MalformedEventError("the account (recipientAccountId) is missing");
  const region = str(detail.awsRegion) ?? str(event.region);
  if (!region) throw new MalformedEventError("the region (awsRegion) is missing");
  const params = detail.requestParameters;
  if (!isObject(params)) throw new MalformedEventError(`${eventName} has no requestParameters`);
  const response = isObject(detail.responseElements) ? detail.responseElements : {};
  const requester: Requester = requesterFromCloudTrail(detail);
  const base = { eventName, eventId, eventTime, account, region, requester };

  try {
    const parsed = parseChange(eventName, base, params, response, ignore);
    if (!parsed.ignored) validateChange(parsed.change);
    return parsed;
  } catch (err) {
    if (err instanceof RuleModelError)
      throw new MalformedEventError(`${eventName}: ${err.message}`);
    throw err;
  }
}

const EVENT_ID = /^[0-9A-Za-z][0-9A-Za-z-]{0,127}$/;

/** Throws MalformedEventError naming the first field that is not what AWS would send. */
export function validateChange(change: Change): void {
  const bad = (field: string, value: unknown, what: string): never => {
    throw new MalformedEventError(`${field} is ${quoted(value)}: ${what}`);
  };
  if (!ACCOUNT_ID.test(change.account))
    bad("recipientAccountId", change.account, "an AWS account id is 12 digits");
  if (!REGION.test(change.region))
    bad("awsRegion", change.region, "not an AWS region name such as us-east-1");
  if (!GROUP_ID.test(change.groupId))
    bad("groupId", change.groupId, "a security group id is sg- and 8 or 17 hex digits");
  if (!EVENT_ID.test(change.eventId)) bad("eventID", change.eventId, "not a CloudTrail event id");
  if (change.kind === "prefixList") {
    validatePrefixListChange(change, bad);
    return;
  }
  const rules =
    change.kind === "modify" || change.kind === "drift"
      ? [
          ...change.modifications.map((m, i) => ({
            where: `SecurityGroupRule[${i}]`,
            rule: m.rule,
            ruleId: m.ruleId,
          })),
          ...(change.kind === "drift" ? [...change.added, ...change.removed] : []).map((r, i) => ({
            where: `rules[${i}]`,
            rule: r,
            ruleId: r.ruleId,
          })),
        ]
      : change.rules.map((r, i) => ({ where: `rules[${i}]`, rule: r, ruleId: r.ruleId }));
  rules.push(
    ...describedRules(change).map((r, i) => ({
      where: `ipPermissions[${i}]`,
      rule: r,
      ruleId: undefined,
    })),
  );
  if (change.kind === "modify") {
    change.descriptions?.forEach((e, i) => {
      if ("ruleId" in e && !RULE_ID.test(e.ruleId))
        bad(
          `securityGroupRuleDescriptions[${i}].securityGroupRuleId`,
          e.ruleId,
          "a rule id is sgr- and 8 or 17 hex digits",
        );
    });
  }
  if (change.kind === "remove") {
    change.ruleIds.forEach((id, i) => {
      if (!RULE_ID.test(id))
        bad(`securityGroupRuleIds[${i}]`, id, "a rule id is sgr- and 8 or 17 hex digits");
    });
  }
  for (const { where, rule, ruleId } of rules) {
    if (ruleId !== undefined && !RULE_ID.test(ruleId))
      bad(`${where}.securityGroupRuleId`, ruleId, "a rule id is sgr- and 8 or 17 hex digits");
    const p = rule.peer;
    switch (p.kind) {
      case "cidrIpv4":
        if (!isIpv4Cidr(p.cidr))
          bad(`${where}.cidrIp`, p.cidr, "not an IPv4 CIDR (four octets 0-255, prefix /0-/32)");
        break;
      case "cidrIpv6":
        if (!isIpv6Cidr(p.cidr))
          bad(`${where}.cidrIpv6`, p.cidr, "not an IPv6 CIDR (prefix /0-/128)");
        break;
      case "prefixList":
        if (!PREFIX_LIST_ID.test(p.prefixListId))
          bad(`${where}.prefixListId`, p.prefixListId, "a prefix list id is pl- and hex digits");
        break;
      case "group":
        if (!GROUP_ID.test(p.groupId))
          bad(`${where}.groups.groupId`, p.groupId, "a security group id is sg- and hex digits");
        if (p.userId !== undefined && !ACCOUNT_ID.test(p.userId))
          bad(`${where}.groups.userId`, p.userId, "an AWS account id is 12 digits");
        if (
          p.vpcPeeringConnectionId !== undefined &&
          !VPC_PEERING_ID.test(p.vpcPeeringConnectionId)
        )
          bad(
            `${where}.groups.vpcPeeringConnectionId`,
            p.vpcPeeringConnectionId,
            "a peering connection id is pcx- and hex digits",
          );
        break;
    }
  }
}

function validatePrefixListChange(
  change: PrefixListChange,
  bad: (field: string, value: unknown, what: string) => never,
): void {
  if (!PREFIX_LIST_ID.test(change.prefixListId))
    bad("PrefixListId", change.prefixListId, "a prefix list id is pl- and hex digits");
  const entries = [
    ...change.added.map((e, i) => ({ where: `AddEntry[${i}]`, e })),
    ...change.removed.map((e, i) => ({ where: `RemoveEntry[${i}]`, e })),
  ];
  for (const { where, e } of entries) {
    if (!isIpv4Cidr(e.cidr) && !isIpv6Cidr(e.cidr))
      bad(`${where}.Cidr`, e.cidr, "not an IPv4 or IPv6 CIDR");
  }
  change.references.forEach((ref, i) => {
    if (!GROUP_ID.test(ref.groupId))
      bad(`references[${i}].groupId`, ref.groupId, "a security group id is sg- and hex digits");
    for (const r of ref.rules) {
      if (r.ruleId !== undefined && !RULE_ID.test(r.ruleId))
        bad(`references[${i}].ruleId`, r.ruleId, "a rule id is sgr- and 8 or 17 hex digits");
    }
  });
}

function parseChange(
  eventName: RuleEventName,
  base: Omit<ChangeBase, "groupId">,
  params: Json,
  response: Json,
  ignore: (reason: string) => ParseResult,
): ParseResult {
  {
    if (eventName === "ModifySecurityGroupRules")
      return { ignored: false, change: parseModify(base, params) };
    if ((DESCRIPTION_EVENT_NAMES as readonly string[]).includes(eventName))
      return { ignored: false, change: parseDescriptions(eventName, base, params, response) };

    const direction: Direction = eventName.endsWith("Egress") ? "egress" : "ingress";
    if (eventName.startsWith("Authorize")) {
      const responseRules = rulesFromResponseSet(
        response.securityGroupRuleSet,
        "securityGroupRuleSet",
      );
      const groupId = groupIdFrom(params, response, eventName);
      const rules = withRuleIds(rulesFromPermissions(direction, params), responseRules);
      if (rules.length === 0) throw new MalformedEventError(`${eventName} names no rule`);
      return { ignored: false, change: { ...base, groupId, kind: "add", direction, rules } };
    }

    // Revoke: by rule ids, or by permissions.
    const groupId = groupIdFrom(params, response, eventName);
    const revoked = rulesFromResponseSet(
      response.revokedSecurityGroupRuleSet,
      "revokedSecurityGroupRuleSet",
    );
    const ruleIds = ruleIdsFrom(params.securityGroupRuleIds);
    if (ruleIds.length > 0) {
      // The response names the removed rules; without it, resolveChange fills them from the baseline.
      const byId = new Map(revoked.map((r) => [r.ruleId, r]));
      const known = ruleIds.map((id) => byId.get(id)).filter((r): r is Rule => r !== undefined);
      const rules = known.length === ruleIds.length ? known : [];
      const change: RemoveChange = { ...base, groupId, kind: "remove", direction, rules, ruleIds };
      return { ignored: false, change };
    }
    // EC2 answers a revoke of rules that do not exist with success and lists them as unknown.
    const unknown = new Set(
      objects(response.unknownIpPermissionSet, "responseElements.unknownIpPermissionSet").flatMap(
        (p, i) =>
          rulesFromIpPermission(
            direction,
            ipPermissionFromCloudTrail(p, `unknownIpPermissionSet[${i}]`),
          ).map(ruleKey),
      ),
    );
    const requested = rulesFromPermissions(direction, params);
    if (requested.length === 0) throw new MalformedEventError(`${eventName} names no rule`);
    const rules = withRuleIds(
      requested.filter((r) => !unknown.has(ruleKey(r))),
      revoked,
    );
    if (rules.length === 0) return ignore(`${eventName} matched no existing rule; nothing changed`);
    return {
      ignored: false,
      change: { ...base, groupId, kind: "remove", direction, rules, ruleIds: [] },
    };
  }
}

/**
 * The member account's EventBridge rule: the governed calls from EC2 (the seven rule calls,
 * CreateSecurityGroup, ModifyManagedPrefixList), every identity type, failed calls dropped. The CDK app deploys it; the sandbox routes events by it.
 */
export const GOVERNED_EVENT_PATTERN = {
  source: ["aws.ec2"],
  "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
  detail: {
    eventSource: ["ec2.amazonaws.com"],
    eventName: [...GOVERNED_EVENT_NAMES],
    errorCode: [{ exists: false }],
  },
} as const;

/** True when an event matches GOVERNED_EVENT_PATTERN (as EventBridge would decide). */
export function matchesGovernedPattern(event: unknown): boolean {
  if (!isObject(event) || !isObject(event.detail)) return false;
  const d = event.detail;
  return (
    event.source === "aws.ec2" &&
    event["detail-type"] === CLOUDTRAIL_DETAIL_TYPE &&
    d.eventSource === "ec2.amazonaws.com" &&
    typeof d.eventName === "string" &&
    isGoverned(d.eventName) &&
    d.errorCode === undefined
  );
}
