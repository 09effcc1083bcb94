/**
 * The explain view: a CloudTrail event in, the normalised change and its revert plan out, as the
 * stable JSON shape the CLI prints (`secgroup-approval explain --json`).
 */
import {
  BaselineGapError,
  type Change,
  changeDirection,
  changedRules,
  isResolved,
  resolveChange,
} from "./change.js";
import { GroupNamedOnlyError, parseCloudTrailEvent, withGroupId } from "./cloudtrail.js";
import { describeOperation, revertPlan } from "./plan.js";
import type { Rule, RuleBody } from "./rule.js";

export interface RuleJson {
  protocol: string;
  fromPort: number | null;
  toPort: number | null;
  cidrIpv4?: string;
  cidrIpv6?: string;
  prefixListId?: string;
  referencedGroupId?: string;
  referencedUserId?: string;
  referencedVpcPeeringConnectionId?: string;
  description?: string;
  ruleId?: string;
  direction?: string;
}

export interface ChangeJson {
  kind: Change["kind"];
  /** "unknown" only for a ModifySecurityGroupRules whose rules the baseline does not hold. */
  direction: "ingress" | "egress" | "unknown";
  /** null only for a call that named its group by name alone: the id is looked up in the account. */
  groupId: string | null;
  account: string;
  region: string;
  eventId: string;
  eventName: string;
  eventTime: string;
  requester: Change["requester"];
  rules: RuleJson[];
  /** Remove by rule id: the ids named by the call. */
  ruleIds?: string[];
  /** Modify: the rules as they were (from the baseline). */
  before?: RuleJson[];
}

export type ExplainJson =
  | { ignored: true; reason: string }
  | { ignored: false; change: ChangeJson; revert: Record<string, unknown>[]; revertError?: string };

export function ruleToJson(
  rule: RuleBody & Partial<Pick<Rule, "ruleId" | "direction">>,
  withDirection = false,
): RuleJson {
  const out: RuleJson = { protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort };
  const p = rule.peer;
  if (p.kind === "cidrIpv4") out.cidrIpv4 = p.cidr;
  else if (p.kind === "cidrIpv6") out.cidrIpv6 = p.cidr;
  else if (p.kind === "prefixList") out.prefixListId = p.prefixListId;
  else {
    out.referencedGroupId = p.groupId;
    if (p.userId) out.referencedUserId = p.userId;
    if (p.vpcPeeringConnectionId) out.referencedVpcPeeringConnectionId = p.vpcPeeringConnectionId;
  }
  if (rule.description !== undefined) out.description = rule.description;
  if (rule.ruleId !== undefined) out.ruleId = rule.ruleId;
  if (withDirection && rule.direction) out.direction = rule.direction;
  return out;
}

export function changeToJson(change: Change): ChangeJson {
  const base = {
    kind: change.kind,
    direction: changeDirection(change) ?? "unknown",
    groupId: change.groupId,
    account: change.account,
    region: change.region,
    eventId: change.eventId,
    eventName: change.eventName,
    eventTime: change.eventTime,
    requester: change.requester,
  } as const;
  if (change.kind === "add") return { ...base, rules: change.rules.map((r) => ruleToJson(r)) };
  if (change.kind === "remove") {
    return {
      ...base,
      rules: change.rules.map((r) => ruleToJson(r)),
      ...(change.ruleIds.length ? { ruleIds: change.ruleIds } : {}),
    };
  }
  const resolved = isResolved(change);
  const mixed = new Set(change.modifications.map((m) => m.before?.direction)).size > 1;
  return {
    ...base,
    rules: resolved
      ? changedRules(change).map((r) => ruleToJson(r, mixed))
      : change.modifications.map((m) => ruleToJson({ ...m.rule, ruleId: m.ruleId })),
    ...(resolved
      ? { before: change.modifications.map((m) => ruleToJson(m.before as Rule, mixed)) }
      : {}),
  };
}

/**
 * Explains one event. `baseline` (the group's rules before the change, with ids) is needed only
 * for a revoke by rule id or a modify; without it the revert plan is empty and `revertError` says why.
 * Throws MalformedEventError for input that is not an event.
 */
export function explainEvent(event: unknown, baseline?: readonly Rule[]): ExplainJson {
  let parsed: ReturnType<typeof parseCloudTrailEvent>;
  try {
    parsed = parseCloudTrailEvent(event);
  } catch (err) {
    if (!(err instanceof GroupNamedOnlyError)) throw err;
    // The member looks the id up in the account; offline the change is shown without it.
    const named = parseCloudTrailEvent(withGroupId(event, UNRESOLVED_GROUP));
    if (named.ignored) return { ignored: true, reason: named.reason };
    const change = { ...changeToJson(named.change), groupId: null };
    return { ignored: false, change, revert: [], revertError: err.message };
  }
  if (parsed.ignored) return { ignored: true, reason: parsed.reason };
  let change = parsed.change;
  try {
    if (baseline) change = resolveChange(change, baseline);
    const revert = revertPlan(change).map(describeOperation);
    return { ignored: false, change: changeToJson(change), revert };
  } catch (err) {
    if (!(err instanceof BaselineGapError)) throw err;
    return { ignored: false, change: changeToJson(change), revert: [], revertError: err.message };
  }
}

const UNRESOLVED_GROUP = "sg-unresolved";

const CONTRACT_RULE_KEYS = [
  "protocol",
  "fromPort",
  "toPort",
  "cidrIpv4",
  "cidrIpv6",
  "prefixListId",
  "referencedGroupId",
  "referencedUserId",
  "description",
  "ruleId",
] as const satisfies readonly (keyof RuleJson)[];

/**
 * The `explain --json` contract: exactly the keys issue 2 fixed, nothing more. The text view
 * shows the rest (event name, rule ids named by the call, the rules before a modify).
 */
export function explainContract(result: ExplainJson): Record<string, unknown> {
  if (result.ignored) return { ignored: true, reason: result.reason };
  const c = result.change;
  const rule = (r: RuleJson) =>
    Object.fromEntries(CONTRACT_RULE_KEYS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
  return {
    ignored: false,
    change: {
      kind: c.kind,
      direction: c.direction,
      groupId: c.groupId,
      account: c.account,
      region: c.region,
      eventId: c.eventId,
      eventTime: c.eventTime,
      requester: { arn: c.requester.arn, type: c.requester.type, name: c.requester.name },
      rules: c.rules.map(rule),
    },
    revert: result.revert,
    ...(result.revertError !== undefined ? { revertError: result.revertError } : {}),
  };
}
