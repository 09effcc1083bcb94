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
import {
  GroupNamedOnlyError,
  governedEventRoute,
  parseCloudTrailEvent,
  withGroupId,
} from "./cloudtrail.js";
import {
  type CreatedGroup,
  createChange,
  createGroupDecision,
  defaultEgress,
  parseCreateGroupEvent,
} from "./create-group.js";
import { creationDefaults } from "./drift.js";
import { NO_PEOPLE, type PeopleConfig, verifyRequester } from "./identity.js";
import { describeOperation, revertPlan } from "./plan.js";
import {
  DEFAULT_RULE,
  decide,
  isConfigWithPolicy,
  type Policy,
  type PolicyAction,
  type PolicyDecision,
  type PolicyFacts,
  parsePolicyText,
  unknownFacts,
} from "./policy/index.js";
import { policyKind } from "./policy/matchers/kind.js";
import {
  type PrefixListFacts,
  parsePrefixListEvent,
  prefixListChange,
  prefixListChangeOf,
  referencesTo,
  reportedPrefixList,
  unfitPrefixList,
} from "./prefix-list.js";
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
  /**
   * The kind as the policy's `kind` matcher sees it: a CreateSecurityGroup's default egress is
   * `create` (the member files it as an add of the egress rule, eventName CreateSecurityGroup).
   */
  kind: ReturnType<typeof policyKind>;
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
  /**
   * ModifyManagedPrefixList: the list, its entries added and removed, the groups whose rules name
   * it (with those rules). The member finds them in the account when it runs; offline they come
   * from `--baseline`, and without it `references` is null and `referencesNote` says so.
   */
  prefixList?: {
    prefixListId: string;
    prefixListName?: string;
    added: { cidr: string; description?: string }[];
    removed: { cidr: string }[];
    references: { groupId: string; rules: RuleJson[] }[] | null;
    referencesNote?: string;
  };
  /** CreateSecurityGroup (text view only): the new group, and where its egress rule was read. */
  created?: { groupName?: string; vpcId?: string; egressFrom: "baseline" | "creation" };
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
    kind: policyKind(change),
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
        ...(change.prefixListName ? { prefixListName: change.prefixListName } : {}),
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

/**
 * `--baseline`: rules as DescribeSecurityGroupRules lists them, with ids, each with the group it
 * belongs to (a rule without one counts for every group). A change meets only its own group's
 * rules; a prefix list change looks in all of them for the rules naming the list, as the member
 * reads every rule of the region.
 */
export type ExplainBaseline = readonly { groupId?: string; rule: Rule }[];

/** The baseline's rules of one group. */
function rulesOf(baseline: ExplainBaseline, groupId: string): Rule[] {
  return baseline
    .filter((r) => r.groupId === undefined || r.groupId === groupId)
    .map((r) => r.rule);
}

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

/** The approvals line of the text view: how many, from whom, where, for how long. */
function approvalsNote(d: PolicyDecision): string {
  const who = [
    d.approvers?.userGroup && `user group ${d.approvers.userGroup}`,
    d.approvers?.users && `users ${d.approvers.users.join(", ")}`,
  ].filter(Boolean);
  return `approvals: ${d.approvals}${who.length ? ` from ${who.join(" or ")}` : ""}${d.channel ? ` in ${d.channel}` : ""}${d.expiryHours !== undefined ? `, expires after ${d.expiryHours} h` : ""}`;
}

/** The notes every decision carries: who asked, then `more`, then what explain could not know. */
function factNotes(policy: Policy, facts: PolicyFacts, more: string[] = []): string[] {
  const v = facts.verification;
  const notes = [
    v.verified
      ? `requester: verified (${v.via}: ${v.identity})`
      : `requester: unverified (${v.reason})`,
    ...more,
  ];
  const unknown = unknownFacts(policy, facts);
  if (unknown.length > 0) {
    notes.push(`not known offline: ${unknown.join(", ")}: rules needing them did not match`);
  }
  return notes;
}

/**
 * The policy's decision on a change, offline: explain knows neither the group (name, VPC, tags)
 * nor when the event was received, so matchers needing them do not match, and the notes say so.
 * `notes` go first among the notes (what explain could not see of the change itself).
 */
function policyOf(
  change: Change,
  given: ExplainPolicy,
  notes: string[] = [],
): Pick<ExplainJsonExplained, "policy" | "policyNotes"> {
  const facts: PolicyFacts = {
    verification: verifyRequester(change.requester, given.people ?? NO_PEOPLE),
  };
  const d = decide(change, facts, given.policy);
  const policy: PolicyJson = {
    action: d.action,
    rule: d.rule,
    reason: d.reason,
    ...(d.action === "require_approval" ? { approvals: d.approvals } : {}),
    ...(d.mode === "notify" ? { mode: "notify" as const } : {}),
  };
  const mode =
    d.mode === "notify"
      ? [
          `mode: notify: account ${change.account} is being rolled out, nothing is reverted (the decision is only reported)`,
        ]
      : [];
  const lines = [
    ...(d.action === "require_approval" ? [approvalsNote(d)] : []),
    ...notes,
    ...factNotes(given.policy, facts, mode),
  ];
  return { policy, policyNotes: lines };
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
 * Explains one event, read by the reader the member uses for it (governedEventRoute): a rule
 * call, a group's creation (its default egress), or a prefix list's entries moved. `baseline`
 * (rules with ids, by group) is needed for a revoke by rule id or a modify, and tells which rules
 * name a prefix list; without it the revert plan of a modify is empty and `revertError` says why.
 * With `policy`, the result carries the decision the member makes (the same functions decide).
 * Throws MalformedEventError for input that is not an event.
 */
export function explainEvent(
  event: unknown,
  baseline?: ExplainBaseline,
  policy?: ExplainPolicy,
): ExplainJson {
  switch (governedEventRoute(event)) {
    case "createGroup":
      return explainCreateGroup(event, baseline, policy);
    case "prefixList":
      return explainPrefixList(event, baseline, policy);
    case "rules":
      return explainRuleCall(event, baseline, policy);
  }
}

function explainRuleCall(
  event: unknown,
  baseline: ExplainBaseline | undefined,
  policy: ExplainPolicy | undefined,
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
    if (baseline) change = resolveChange(change, rulesOf(baseline, change.groupId));
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

/**
 * CreateSecurityGroup, as the member takes it (src/app/member/create-group.ts): the change is the
 * new group's default egress (createChange), and createGroupDecision says whether it stays. The
 * member reads the egress from the new group's live rules; offline it is the baseline's, when
 * `--baseline` holds the group, else what EC2 gives every new group (without a rule id, so the
 * revoke names it by content). `revert` is the revoke the member makes when the policy says so.
 */
function explainCreateGroup(
  event: unknown,
  baseline: ExplainBaseline | undefined,
  policy: ExplainPolicy | undefined,
): ExplainJson {
  const parsed = parseCreateGroupEvent(event);
  if (parsed.ignored) return { ignored: true, reason: parsed.reason };
  const created = parsed.created;
  const live = baseline ? rulesOf(baseline, created.groupId) : [];
  const egress = defaultEgress(created, live.length > 0 ? live : creationDefaults(created));
  const change = createChange(created, egress);
  const json: ChangeJson = {
    ...changeToJson(change),
    created: {
      ...(created.groupName ? { groupName: created.groupName } : {}),
      ...(created.vpcId ? { vpcId: created.vpcId } : {}),
      egressFrom: live.length > 0 ? "baseline" : "creation",
    },
  };
  const revert = revertPlan(change).map(describeOperation);
  const decided = policy ? createPolicyOf(change, created, policy) : {};
  return { ignored: false, change: json, revert, ...decided };
}

/**
 * createGroupDecision's word as `policy` (a kept egress with no rule matching: exempt, "default"),
 * with `mode: "notify"` for an account in notify mode, as for any other change.
 */
function createPolicyOf(
  change: ReturnType<typeof createChange>,
  created: CreatedGroup,
  given: ExplainPolicy,
): Pick<ExplainJsonExplained, "policy" | "policyNotes"> {
  // What the member knows of a new group: its name and VPC (the event names them; the member
  // asks EC2), not its tags, and when it received the event (not known here).
  const facts: PolicyFacts = {
    verification: verifyRequester(change.requester, given.people ?? NO_PEOPLE),
    group: {
      ...(created.groupName ? { name: created.groupName } : {}),
      ...(created.vpcId ? { vpcId: created.vpcId } : {}),
    },
  };
  const d = createGroupDecision(change, facts, given.policy);
  const notify = d.mode === "notify" ? { mode: "notify" as const } : {};
  const mode =
    d.mode === "notify"
      ? [
          `mode: notify: account ${change.account} is being rolled out, nothing is reverted (the decision is only reported)`,
        ]
      : [];
  if (!d.revoke && !("notEnforced" in d)) {
    return {
      policy: {
        action: d.action ?? "exempt",
        rule: d.rule ?? DEFAULT_RULE,
        reason: d.reason,
        ...notify,
      },
      policyNotes: [
        "the default egress stays: the member adopts the group with it and files nothing",
        ...factNotes(given.policy, facts, mode),
      ],
    };
  }
  const notes =
    "notEnforced" in d
      ? [
          `the default egress stays (not enforced in this account): the member files it for a person, marked "not enforced in this account"; Approve keeps it, Deny revokes it`,
        ]
      : d.action === "auto_deny"
        ? ["the default egress is revoked and an auto_denied notice is filed: nobody is asked"]
        : ["the default egress is revoked and put to a person: Approve puts it back"];
  return {
    policy: {
      action: d.action,
      rule: d.rule,
      reason: d.reason,
      ...(d.approvals !== undefined ? { approvals: d.approvals } : {}),
      ...notify,
    },
    policyNotes: [
      // Who approves, where and how long: the hub routes from decide on the filed change.
      ...(d.action === "require_approval"
        ? [approvalsNote(decide(change, facts, given.policy))]
        : []),
      ...notes,
      ...factNotes(given.policy, facts, mode),
    ],
  };
}

/**
 * ModifyManagedPrefixList, as the member takes it (src/app/member/prefix-list.ts): the member
 * finds the rules naming the list among every rule of the region (referencesTo) and files the
 * change only when a governed rule names it (prefixListChange), else it ignores it. Offline the
 * list is as the call's response reports it, and the rules naming it come from `--baseline`;
 * without it they are not known: `references` is null, and the decision is the policy's on the
 * entries alone (rule-level matchers see no rule).
 */
function explainPrefixList(
  event: unknown,
  baseline: ExplainBaseline | undefined,
  policy: ExplainPolicy | undefined,
): ExplainJson {
  const parsed = parsePrefixListEvent(event);
  if (parsed.ignored) return { ignored: true, reason: parsed.reason };
  const modification = parsed.modification;
  const id = modification.prefixListId;
  const list: PrefixListFacts = reportedPrefixList(event) ?? { prefixListId: id };
  if (baseline) {
    const named = baseline.flatMap((r) =>
      r.groupId === undefined ? [] : [{ groupId: r.groupId, rule: r.rule }],
    );
    const decided = prefixListChange(modification, list, referencesTo(id, named));
    if (decided.ignored) return { ignored: true, reason: decided.reason };
    const change = decided.change;
    return {
      ignored: false,
      change: changeToJson(change),
      revert: revertPlan(change).map(describeOperation),
      ...(policy ? policyOf(change, policy) : {}),
    };
  }
  const unfit = unfitPrefixList(id, list);
  if (unfit) return { ignored: true, reason: unfit };
  const change = prefixListChangeOf(modification, list, [], UNRESOLVED_GROUP);
  const json = changeToJson(change);
  const note = `not known offline: the member finds the rules naming ${id} among every rule of ${change.account} ${change.region} when it runs, and ignores the change when none does; pass --baseline with \`aws ec2 describe-security-group-rules --region ${change.region}\` output to list them`;
  return {
    ignored: false,
    change: {
      ...json,
      groupId: null,
      ...(json.prefixList
        ? { prefixList: { ...json.prefixList, references: null, referencesNote: note } }
        : {}),
    },
    revert: revertPlan(change).map(describeOperation),
    // No group is known: a groupId matcher does not match an empty id.
    ...(policy
      ? policyOf({ ...change, groupId: "" }, policy, [
          `the rules naming ${id} are not known offline: rule-level matchers saw none, and the risk is that of no rule, so the member, which knows them, may decide otherwise (pass --baseline)`,
        ])
      : {}),
  };
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
 * only for "notify"}). A prefix list change (kind "prefixList") adds `prefixList` to the change:
 * {prefixListId, prefixListName?, added, removed, references (each group's rules naming the
 * list, with their direction; null when not known offline), referencesNote?}. The text view
 * shows the rest (event name, rule ids named by the call, the rules before a modify, the
 * policy's notes).
 */
export function explainContract(result: ExplainJson): Record<string, unknown> {
  if (result.ignored) return { ignored: true, reason: result.reason };
  const c = result.change;
  const rule = (r: RuleJson) =>
    Object.fromEntries(CONTRACT_RULE_KEYS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
  const pl = c.prefixList;
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
      ...(pl
        ? {
            prefixList: {
              prefixListId: pl.prefixListId,
              ...(pl.prefixListName !== undefined ? { prefixListName: pl.prefixListName } : {}),
              added: pl.added,
              removed: pl.removed,
              references:
                pl.references?.map((ref) => ({
                  groupId: ref.groupId,
                  rules: ref.rules.map((r) => ({ ...rule(r), direction: r.direction })),
                })) ?? null,
              ...(pl.referencesNote !== undefined ? { referencesNote: pl.referencesNote } : {}),
            },
          }
        : {}),
    },
    revert: result.revert,
    ...(result.revertError !== undefined ? { revertError: result.revertError } : {}),
    ...(result.policy !== undefined ? { policy: result.policy } : {}),
  };
}
