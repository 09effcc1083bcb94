/**
 * The explain view: a CloudTrail event in, the normalised change and its revert plan out, as the
 * stable JSON shape the CLI prints (`secgroup-approval explain --json`).
 */

import * as z from "zod";
import {
  BaselineGapError,
  type Change,
  changeDirection,
  changedRules,
  describedRules,
  isResolved,
  resolveChange,
} from "./change.js";
import { GroupNamedOnlyError, parseCloudTrailEvent, withGroupId } from "./cloudtrail.js";
import { NO_PEOPLE, type PeopleConfig, verifyRequester } from "./identity.js";
import { describeOperation, revertPlan } from "./plan.js";
import {
  decide,
  isConfigWithPolicy,
  type Policy,
  type PolicyAction,
  parsePolicyText,
  unknownFacts,
} from "./policy/index.js";
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
  /** Remove by rule id, or a description update by rule id: the ids named by the call. */
  ruleIds?: string[];
  /** Modify: the rules as they were (from the baseline). */
  before?: RuleJson[];
  /** ModifyManagedPrefixList: the list, its entries added and removed, the groups naming it. */
  prefixList?: {
    prefixListId: string;
    added: { cidr: string; description?: string }[];
    removed: { cidr: string }[];
    references: { groupId: string; rules: RuleJson[] }[];
  };
}

/** `explain --policy`: the policy's decision, as `--json` prints it. */
export interface PolicyJson {
  action: PolicyAction;
  /** The matching rule's name, or "default". */
  rule: string;
  reason: string;
  /** require_approval only. */
  approvals?: number;
  /** Only for an account the policy rolls out in notify mode (nothing is reverted). */
  mode?: "notify";
}

export type ExplainJson =
  | { ignored: true; reason: string }
  | {
      ignored: false;
      change: ChangeJson;
      revert: Record<string, unknown>[];
      revertError?: string;
      /** With a policy only. */
      policy?: PolicyJson;
      /** With a policy only: what the text view says beside the decision. */
      policyNotes?: string[];
    };

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
  if (change.kind === "prefixList") {
    // `rules`: each rule naming the list as if it named each added CIDR.
    return {
      ...base,
      rules: changedRules(change).map((r) => ruleToJson(r, true)),
      prefixList: {
        prefixListId: change.prefixListId,
        added: change.added.map((e) => ({ ...e })),
        removed: change.removed.map((e) => ({ cidr: e.cidr })),
        references: change.references.map((ref) => ({
          groupId: ref.groupId,
          rules: ref.rules.map((r) => ruleToJson(r, true)),
        })),
      },
    };
  }
  const resolved = isResolved(change);
  const mixed = new Set(change.modifications.map((m) => m.before?.direction)).size > 1;
  // A description update the baseline has not resolved: the rules it names by content, and the
  // ids it names (with only a description each).
  const edits = change.kind === "modify" ? (change.descriptions ?? []) : [];
  const namedIds = edits.flatMap((e) => ("ruleId" in e ? [e.ruleId] : []));
  return {
    ...base,
    rules: resolved
      ? changedRules(change).map((r) => ruleToJson(r, mixed))
      : [
          ...change.modifications.map((m) => ruleToJson({ ...m.rule, ruleId: m.ruleId })),
          ...describedRules(change).map((r) => ruleToJson(r)),
        ],
    ...(namedIds.length ? { ruleIds: namedIds } : {}),
    ...(resolved
      ? { before: change.modifications.map((m) => ruleToJson(m.before as Rule, mixed)) }
      : {}),
  };
}

/** The rules of a group before the change, with ids; a function picks them by the change's group. */
export type ExplainBaseline = readonly Rule[] | ((groupId: string) => readonly Rule[]);

/**
 * The reason a change cannot be planned without (enough of) a baseline, worded for the CLI user,
 * who gives it with `--baseline`. The member's own wording (BaselineGapError) stays as it is.
 */
function baselineGapReason(err: BaselineGapError, given: boolean, descriptions: boolean): string {
  const ids = err.missingRuleIds.join(", ");
  const describe = `aws ec2 describe-security-group-rules --filters Name=group-id,Values=${err.groupId}`;
  const names = descriptions ? `sets only the description of ${ids}` : `names ${ids} by id only`;
  return given
    ? `the baseline of ${err.groupId} lacks ${ids}: the old rule cannot be known, so the change cannot be reverted exactly (give --baseline the group's rules from before the change: ${describe})`
    : `no baseline given for ${err.groupId}: the call ${names}, so the old rules cannot be known and the change cannot be reverted exactly (pass --baseline with the group's rules: ${describe})`;
}

/** `explain --policy`: the policy, and who is verified (the config's people, when given). */
export interface ExplainPolicy {
  policy: Policy;
  people?: PeopleConfig;
}

const lenientPeople = z.object({
  people: z
    .array(
      z.object({
        slackUserId: z.string(),
        principals: z.array(z.string()).optional(),
        identityCenterUsers: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  sourceIdentityRoles: z.array(z.string()).optional(),
});

/**
 * A policy file's text, or a deployment config's holding `policy` (whose `people` and
 * `sourceIdentityRoles`, when well-formed, then tell who is verified). Throws PolicyError.
 */
export function explainPolicyFromText(text: string, source: string): ExplainPolicy {
  const policy = parsePolicyText(text, source);
  const json: unknown = JSON.parse(text);
  if (!isConfigWithPolicy(json)) return { policy };
  const people = lenientPeople.safeParse(json);
  if (!people.success || (!people.data.people && !people.data.sourceIdentityRoles))
    return { policy };
  return {
    policy,
    people: {
      people: people.data.people ?? [],
      sourceIdentityRoles: people.data.sourceIdentityRoles ?? [],
    },
  };
}

/**
 * The policy's decision on a change, offline: explain knows neither the group (name, VPC, tags)
 * nor when the event was received, so matchers needing them do not match, and the notes say so.
 */
function policyOf(
  change: Change,
  given: ExplainPolicy,
): Pick<ExplainJsonExplained, "policy" | "policyNotes"> {
  const verification = verifyRequester(change.requester, given.people ?? NO_PEOPLE);
  const facts = { verification };
  const d = decide(change, facts, given.policy);
  const policy: PolicyJson = {
    action: d.action,
    rule: d.rule,
    reason: d.reason,
    ...(d.action === "require_approval" ? { approvals: d.approvals } : {}),
    ...(d.mode === "notify" ? { mode: "notify" as const } : {}),
  };
  const notes: string[] = [];
  if (d.action === "require_approval") {
    const who = [
      d.approvers?.userGroup && `user group ${d.approvers.userGroup}`,
      d.approvers?.users && `users ${d.approvers.users.join(", ")}`,
    ].filter(Boolean);
    notes.push(
      `approvals: ${d.approvals}${who.length ? ` from ${who.join(" or ")}` : ""}${d.channel ? ` in ${d.channel}` : ""}${d.expiryHours !== undefined ? `, expires after ${d.expiryHours} h` : ""}`,
    );
  }
  notes.push(
    verification.verified
      ? `requester: verified (${verification.via}: ${verification.identity})`
      : `requester: unverified (${verification.reason})`,
  );
  if (d.mode === "notify") {
    notes.push(
      `mode: notify: account ${change.account} is being rolled out, nothing is reverted (the decision is only reported)`,
    );
  }
  const unknown = unknownFacts(given.policy, facts);
  if (unknown.length > 0) {
    notes.push(`not known offline: ${unknown.join(", ")}: rules needing them did not match`);
  }
  return { policy, policyNotes: notes };
}

type ExplainJsonExplained = Extract<ExplainJson, { ignored: false }>;

/** The text view's lines for the policy's decision (none without a policy). */
export function policyText(result: ExplainJson): string[] {
  if (result.ignored || !result.policy) return [];
  const p = result.policy;
  return [
    `policy: ${p.action} (rule "${p.rule}"): ${p.reason}`,
    ...(result.policyNotes ?? []).map((n) => `  ${n}`),
  ];
}

/**
 * Explains one event. `baseline` (the group's rules before the change, with ids) is needed only
 * for a revoke by rule id or a modify; without it the revert plan is empty and `revertError` says why.
 * With `policy`, the result carries the policy's decision on the change.
 * Throws MalformedEventError for input that is not an event.
 */
export function explainEvent(
  event: unknown,
  baseline?: ExplainBaseline,
  policy?: ExplainPolicy,
): ExplainJson {
  let parsed: ReturnType<typeof parseCloudTrailEvent>;
  try {
    parsed = parseCloudTrailEvent(event);
  } catch (err) {
    if (!(err instanceof GroupNamedOnlyError)) throw err;
    // The member looks the id up in the account; offline the change is shown without it.
    const named = parseCloudTrailEvent(withGroupId(event, UNRESOLVED_GROUP));
    if (named.ignored) return { ignored: true, reason: named.reason };
    const change = { ...changeToJson(named.change), groupId: null };
    // The group is not known: a groupId matcher does not match an empty id.
    const decided = policy ? policyOf({ ...named.change, groupId: "" }, policy) : {};
    return { ignored: false, change, revert: [], revertError: err.message, ...decided };
  }
  if (parsed.ignored) return { ignored: true, reason: parsed.reason };
  let change = parsed.change;
  try {
    if (baseline) {
      const rules = typeof baseline === "function" ? baseline(change.groupId) : baseline;
      change = resolveChange(change, rules);
    }
    const revert = revertPlan(change).map(describeOperation);
    const decided = policy ? policyOf(change, policy) : {};
    return { ignored: false, change: changeToJson(change), revert, ...decided };
  } catch (err) {
    if (!(err instanceof BaselineGapError)) throw err;
    const descriptions = change.kind === "modify" && change.descriptions !== undefined;
    const revertError = baselineGapReason(err, baseline !== undefined, descriptions);
    const decided = policy ? policyOf(change, policy) : {};
    return { ignored: false, change: changeToJson(change), revert: [], revertError, ...decided };
  }
}

/** A well-formed stand-in id, replaced by `null` in the output: the parser checks ids strictly. */
const UNRESOLVED_GROUP = "sg-00000000";

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
 * The `explain --json` contract: exactly the keys issue 2 fixed, nothing more, and with
 * `--policy` a `policy` key last ({action, rule, reason, approvals for require_approval, mode
 * only for "notify"}). The text view shows the rest (event name, rule ids named by the call, the
 * rules before a modify, the policy's notes).
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
    ...(result.policy !== undefined ? { policy: result.policy } : {}),
  };
}
