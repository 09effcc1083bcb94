/**
 * The member's policy decision on a change: the engine's `decide` (the function `explain
 * --policy` uses) on the merged policy (the config's switches and the policy file), with the facts
 * the member knows — who the requester is verified as (its people config), the group's name, VPC
 * and tags (its baseline record; the sweep reads the tags), when the event was first received,
 * and the account's mode. What each action makes the member do is in revert.ts and sweep.ts.
 */
import type { Change } from "../../domain/change.js";
import { verifyRequester } from "../../domain/identity.js";
import type { ChangeMessage } from "../../domain/messages.js";
import {
  decide,
  EXEMPT_PRINCIPALS_RULE,
  enforcedAction,
  type GroupFacts,
  MAX_EVENT_AGE_RULE,
  type PolicyAction,
  type PolicyDecision,
  REQUIRE_DESCRIPTION_RULE,
  SYSTEM_ROLES_RULE,
} from "../../domain/policy/index.js";
import { evaluatePolicy } from "../../domain/policy.js";
import type { ApplyError } from "../../domain/request.js";
import { LATE_EVENT_CODE, NOT_ENFORCED_CODE, NOTIFY_CODE } from "../../domain/slack/messages.js";
import type { GroupRecord } from "../../ports/baselines.js";
import { type MemberDeps, memberPolicy } from "./deps.js";

/** revertError codes of a change left standing by policy for a person (not by a failure). */
export const LEFT_BY_POLICY: ReadonlySet<string> = new Set([
  LATE_EVENT_CODE,
  NOTIFY_CODE,
  NOT_ENFORCED_CODE,
]);

export interface MemberDecision {
  decision: PolicyDecision;
  /** What to do, the account's mode considered (enforcedAction). */
  action: PolicyAction;
  /** The reason to show: the switches keep their own wording (the pattern, the age, the count). */
  reason: string;
}

/** The group facts the member keeps (undefined: the baseline could not be read). */
export function groupFacts(record: GroupRecord | undefined | null): GroupFacts | undefined {
  if (!record) return undefined;
  return {
    ...(record.name !== undefined ? { name: record.name } : {}),
    ...(record.vpcId !== undefined ? { vpcId: record.vpcId } : {}),
    ...(record.tags !== undefined ? { tags: record.tags } : {}),
  };
}

const LEGACY_RULE: Record<string, string> = {
  ignore: SYSTEM_ROLES_RULE,
  exempt: EXEMPT_PRINCIPALS_RULE,
  leave: MAX_EVENT_AGE_RULE,
  auto_deny: REQUIRE_DESCRIPTION_RULE,
};

/**
 * Decides a change. `receivedAt` is the event's first receipt (absent for drift: no event was
 * received, so the age rule never matches it).
 */
export function decideChange(
  deps: MemberDeps,
  change: Change,
  group: GroupFacts | undefined,
  receivedAt?: Date,
): MemberDecision {
  const decision = decide(
    change,
    {
      verification: verifyRequester(change.requester, deps.config.people),
      ...(group ? { group } : {}),
      ...(receivedAt ? { receivedAt } : {}),
    },
    memberPolicy(deps),
  );
  let reason = decision.reason;
  if (receivedAt && Object.values(LEGACY_RULE).includes(decision.rule)) {
    const legacy = evaluatePolicy(change, deps.config.policy, receivedAt);
    if (LEGACY_RULE[legacy.action] === decision.rule && "reason" in legacy) reason = legacy.reason;
  }
  return { decision, action: enforcedAction(decision), reason };
}

/** Why a change that policy leaves standing is live: the late-event, notify or notify-mode code. */
export function standingError(d: MemberDecision): ApplyError {
  if (d.decision.rule === MAX_EVENT_AGE_RULE) return { code: LATE_EVENT_CODE, message: d.reason };
  if (d.decision.action === "notify") return { code: NOTIFY_CODE, message: d.reason };
  return {
    code: NOT_ENFORCED_CODE,
    message: `this account is in notify mode: policy rule "${d.decision.rule}" would ${
      d.decision.action === "auto_deny" ? "deny it" : "revert it for approval"
    } (${d.reason})`,
  };
}

/** The message's `policy`: what the member decided (and, for a final decision, its status). */
export function policyField(
  d: MemberDecision,
  status?: "auto_denied" | "auto_approved" | "exempt",
): NonNullable<ChangeMessage["policy"]> {
  return {
    ...(status ? { status } : {}),
    action: d.action,
    rule: d.decision.rule,
    reason: d.reason,
    ...(d.decision.mode === "notify" ? { mode: "notify" as const } : {}),
  };
}

/** The message's `group`: the facts the hub evaluates the policy on. */
export function groupField(group: GroupFacts | undefined): ChangeMessage["group"] {
  if (!group || (group.vpcId === undefined && group.tags === undefined)) return undefined;
  return {
    ...(group.vpcId !== undefined ? { vpcId: group.vpcId } : {}),
    ...(group.tags !== undefined ? { tags: { ...group.tags } } : {}),
  };
}
