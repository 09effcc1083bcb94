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
import { parseCloudTrailEvent } from "./cloudtrail.js";
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
  groupId: string;
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
  const parsed = parseCloudTrailEvent(event);
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
