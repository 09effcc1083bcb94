/**
 * `check-plan`: every security-group rule a Terraform plan would add or remove, each judged by the
 * policy engine (`decide`) as the live deployment would judge the same call. Pure: the parsed
 * plan, the policy and the requester's facts in; changes, decisions and an exit code out.
 *
 * - One change per rule: an added rule is an `add`, a removed one a `remove`. An update is the
 *   difference of the rule sets before and after (by group, rule and description): a rule edited in
 *   place is a remove and an add. A replace likewise: the old group's rules go, the new group's
 *   come (under its stand-in id, see rules.ts).
 * - The requester is who applies the plan: `principal` (the pipeline's role ARN), else unknown;
 *   unverified unless the config's `people` map it. Account and region are the given ones, else
 *   "unknown", and policy rules with an `account` or `region` matcher then do not match.
 * - The group's name, VPC and tags come from the plan (the group's resource, or the prior state)
 *   when the plan has them; a rule needing what the plan does not tell does not match.
 * - A rule with a value known only after apply (a CIDR, a prefix list, the protocol or ports) is
 *   not judged: require_approval, rule "unknown", and the reason names the values.
 * - Exit code: 2 when a decision is auto_deny, 1 when one is require_approval (0 with
 *   `allowApproval`), else 0. An account the policy rolls out in notify mode has nothing reverted:
 *   its decisions count as notify (enforcedAction).
 */
import type { AddChange, RemoveChange } from "../change.js";
import { type RuleJson, ruleToJson } from "../explain.js";
import { minimumApprovals, NO_PEOPLE, type PeopleConfig, verifyRequester } from "../identity.js";
import {
  accountMode,
  decide,
  enforcedAction,
  type GroupFacts,
  type Policy,
  type PolicyAction,
  type PolicyDecision,
  type PolicyFacts,
  unknownFacts,
} from "../policy/index.js";
import type { Requester } from "../requester.js";
import { contentKey } from "../rule.js";
import { isUnknownAt, type PlanAction, type ResourceChange, type TerraformPlan } from "./plan.js";
import {
  type PlannedRule,
  type ReadContext,
  RULE_RESOURCE_TYPES,
  rulesOfResource,
  SECURITY_GROUP,
} from "./rules.js";

/** Where account or region is not given. */
export const UNKNOWN = "unknown";

/** The rule name of the decision on a rule with values known only after apply. */
export const UNKNOWN_RULE = "unknown";

export interface PlanFacts {
  /** The ARN that applies the plan (the pipeline's role); none: an unknown requester. */
  principal?: string;
  account?: string;
  region?: string;
}

/** One rule the plan adds or removes, as a change the policy engine judges. */
export interface PlanChange {
  /** The resource's address, e.g. module.net.aws_security_group.web. */
  address: string;
  type: string;
  actions: PlanAction[];
  change: AddChange | RemoveChange;
  /** The rule's values known only after apply: the rule cannot be judged before apply. */
  unknowns: string[];
  /** What else to know (a group named by its Terraform address until it exists). */
  notes: string[];
  /** The group's name, VPC and tags, when the plan tells them. */
  group?: GroupFacts;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

// ---- the requester ----

/**
 * The requester a principal ARN stands for. An assumed-role session's role is kept as `roleArn`
 * (what principal matchers also test), so `arn:aws:iam::*:role/terraform-ci` matches the session
 * `arn:aws:sts::123456789012:assumed-role/terraform-ci/run-42`.
 */
export function requesterFromPrincipal(arn: string | undefined): Requester {
  if (arn === undefined || arn === "") {
    return { arn: UNKNOWN, type: "Unknown", name: "unknown: no --principal given" };
  }
  const parts = arn.split(":");
  const account = /^\d{12}$/.test(parts[4] ?? "") ? parts[4] : undefined;
  const resource = parts.slice(5).join(":");
  const last = resource.split("/").pop() ?? arn;
  const withAccount = (r: Requester): Requester => (account ? { ...r, accountId: account } : r);
  if (parts[2] === "sts" && resource.startsWith("assumed-role/")) {
    const [, roleName = "", session = ""] = resource.split("/");
    return withAccount({
      arn,
      type: "AssumedRole",
      name: session || roleName,
      roleArn: `${parts.slice(0, 2).join(":")}:iam::${parts[4] ?? ""}:role/${roleName}`,
      roleName,
    });
  }
  if (parts[2] === "iam" && resource.startsWith("role/")) {
    return withAccount({ arn, type: "AssumedRole", name: last, roleArn: arn, roleName: last });
  }
  if (parts[2] === "iam" && resource.startsWith("user/")) {
    return withAccount({ arn, type: "IAMUser", name: last });
  }
  if (parts[2] === "iam" && resource === "root") {
    return withAccount({ arn, type: "Root", name: "root" });
  }
  return withAccount({ arn, type: "Unknown", name: last });
}

// ---- what the plan tells about groups ----

/** Resources of a state's module tree (`prior_state.values.root_module`). */
function stateResources(module: unknown): Record<string, unknown>[] {
  if (!isObject(module)) return [];
  const own = Array.isArray(module.resources) ? module.resources.filter(isObject) : [];
  const children = Array.isArray(module.child_modules) ? module.child_modules : [];
  return [...own, ...children.flatMap(stateResources)];
}

function tagsOf(values: Record<string, unknown>): Record<string, string> | undefined {
  const tags = isObject(values.tags_all) ? values.tags_all : values.tags;
  if (!isObject(tags)) return undefined;
  return Object.fromEntries(
    Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

function groupFactsOf(values: Record<string, unknown>, afterUnknown?: unknown): GroupFacts {
  const known = (key: string) => !isUnknownAt(afterUnknown, [key]);
  const facts: GroupFacts = {};
  if (typeof values.name === "string" && known("name")) facts.name = values.name;
  if (typeof values.vpc_id === "string" && known("vpc_id")) facts.vpcId = values.vpc_id;
  const tags = known("tags_all") ? tagsOf(values) : undefined;
  if (tags) facts.tags = tags;
  return facts;
}

/** The groups' facts by id (or stand-in address): prior state first, the plan's values over it. */
function groupFactsIndex(plan: TerraformPlan): Map<string, GroupFacts> {
  const index = new Map<string, GroupFacts>();
  const prior = isObject(plan.priorState) ? plan.priorState.values : undefined;
  for (const r of stateResources(isObject(prior) ? prior.root_module : undefined)) {
    if (r.type !== SECURITY_GROUP || r.mode === "data" || !isObject(r.values)) continue;
    if (typeof r.values.id === "string") index.set(r.values.id, groupFactsOf(r.values));
  }
  for (const rc of plan.resourceChanges) {
    if (rc.type !== SECURITY_GROUP || rc.mode === "data") continue;
    const { before, after, after_unknown } = rc.change;
    if (before && typeof before.id === "string") index.set(before.id, groupFactsOf(before));
    if (after && rc.change.actions.some((a) => a === "create" || a === "update")) {
      const id =
        typeof after.id === "string" && !isUnknownAt(after_unknown, ["id"]) ? after.id : rc.address;
      index.set(id, groupFactsOf(after, after_unknown));
    }
  }
  return index;
}

// ---- which group a rule resource's unknown security_group_id refers to ----

interface ConfigResource {
  address: string;
  expressions: Record<string, unknown>;
}

/** The configuration's resources, addressed from the root ("module.net.aws_…", no instance keys). */
function configResources(module: unknown, prefix = ""): ConfigResource[] {
  if (!isObject(module)) return [];
  const own = (Array.isArray(module.resources) ? module.resources : [])
    .filter(isObject)
    .filter((r) => typeof r.address === "string")
    .map((r) => ({
      address: (r.address as string).startsWith("module.")
        ? (r.address as string)
        : `${prefix}${r.address as string}`,
      expressions: isObject(r.expressions) ? r.expressions : {},
    }));
  const calls = isObject(module.module_calls) ? module.module_calls : {};
  const children = Object.entries(calls).flatMap(([name, call]) =>
    isObject(call) ? configResources(call.module, `${prefix}module.${name}.`) : [],
  );
  return [...own, ...children];
}

const withoutKeys = (address: string) => address.replace(/\[[^\]]*\]/g, "");

/**
 * The address of the aws_security_group a rule resource's `security_group_id` refers to, from the
 * configuration's references (`aws_security_group.web.id`); undefined when it names none.
 */
function groupAddressResolver(
  plan: TerraformPlan,
  byAddress: ReadonlyMap<string, ConfigResource>,
): (rc: ResourceChange) => string | undefined {
  const groups = new Set(
    plan.resourceChanges.filter((r) => r.type === SECURITY_GROUP).map((r) => r.address),
  );
  return (rc) => {
    const resource = byAddress.get(withoutKeys(rc.address));
    const expression = resource?.expressions.security_group_id;
    const references =
      isObject(expression) && Array.isArray(expression.references)
        ? expression.references.filter((r): r is string => typeof r === "string")
        : [];
    const prefix = rc.address.slice(0, rc.address.lastIndexOf(`${rc.type}.`));
    const candidates = references
      .map((r) => /^aws_security_group\.[\w-]+(\[[^\]]+\])?/.exec(r)?.[0])
      .filter((r): r is string => r !== undefined)
      .map((r) => `${prefix}${r}`);
    return candidates.find((c) => groups.has(c)) ?? candidates[0];
  };
}

// ---- the plan's rule changes ----

const governed = (rc: ResourceChange) =>
  rc.mode !== "data" &&
  RULE_RESOURCE_TYPES.includes(rc.type) &&
  rc.change.actions.some((a) => a === "create" || a === "update" || a === "delete");

/** What makes two planned rules the same: group, content (description included), unknowns. */
const plannedKey = (p: PlannedRule) =>
  `${p.groupId}|${contentKey(p.rule)}|${p.rule.description ?? ""}|${p.unknowns.join(",")}`;

/** How many resource changes the plan has, and how many of them are security-group ones. */
export function countResourceChanges(plan: TerraformPlan): { all: number; governed: number } {
  const changing = plan.resourceChanges.filter((rc) =>
    rc.change.actions.some((a) => a !== "no-op" && a !== "read"),
  );
  return { all: changing.length, governed: changing.filter(governed).length };
}

/**
 * Every security-group rule the plan adds or removes, one change each, in plan order (per
 * resource: removals first). Throws PlanError for values the provider would not accept.
 */
export function planChanges(
  plan: TerraformPlan,
  facts: PlanFacts = {},
  source = "plan",
): PlanChange[] {
  const requester = requesterFromPrincipal(facts.principal);
  const groups = groupFactsIndex(plan);
  const config = isObject(plan.configuration) ? plan.configuration.root_module : undefined;
  const byAddress = new Map(configResources(config).map((r) => [r.address, r]));
  const groupAddress = groupAddressResolver(plan, byAddress);
  const out: PlanChange[] = [];
  plan.resourceChanges.forEach((rc, i) => {
    if (!governed(rc)) return;
    const { actions, before, after, after_unknown } = rc.change;
    const ctx = (side: "before" | "after"): ReadContext => {
      const resolved = groupAddress(rc);
      const resource = byAddress.get(withoutKeys(rc.address));
      return {
        ...(resource ? { configured: new Set(Object.keys(resource.expressions)) } : {}),
        address: rc.address,
        type: rc.type,
        ...(side === "after" ? { afterUnknown: after_unknown } : {}),
        ...(resolved !== undefined ? { groupAddress: resolved } : {}),
        where: ["resource_changes", i, "change", side],
        source,
      };
    };
    const takesAway = actions.includes("delete") || actions.includes("update");
    const puts = actions.includes("create") || actions.includes("update");
    const old = takesAway && before ? rulesOfResource(before, ctx("before")) : [];
    const now = puts && after ? rulesOfResource(after, ctx("after")) : [];
    const oldKeys = new Set(old.map(plannedKey));
    const nowKeys = new Set(now.map(plannedKey));
    const removed = old.filter((p) => !nowKeys.has(plannedKey(p)));
    const added = now.filter((p) => !oldKeys.has(plannedKey(p)));
    const entries: [PlannedRule, "add" | "remove"][] = [
      ...removed.map((p): [PlannedRule, "remove"] => [p, "remove"]),
      ...added.map((p): [PlannedRule, "add"] => [p, "add"]),
    ];
    entries.forEach(([p, kind], n) => {
      const direction = p.rule.direction;
      const verb = kind === "add" ? "Authorize" : "Revoke";
      const base = {
        eventName: `${verb}SecurityGroup${direction === "ingress" ? "Ingress" : "Egress"}` as const,
        eventId: `${rc.address}#${kind === "add" ? "+" : "-"}${n}`,
        eventTime: plan.timestamp ?? "",
        account: facts.account ?? UNKNOWN,
        region: facts.region ?? UNKNOWN,
        groupId: p.groupId,
        requester,
        direction,
        rules: [p.rule],
      };
      const change: AddChange | RemoveChange =
        kind === "add" ? { ...base, kind } : { ...base, kind, ruleIds: [] };
      const group = groups.get(p.groupId);
      out.push({
        address: rc.address,
        type: rc.type,
        actions,
        change,
        unknowns: p.unknowns,
        notes: p.notes,
        ...(group ? { group } : {}),
      });
    });
  });
  return out;
}

// ---- judging them ----

export interface CheckDecision {
  action: PolicyAction;
  rule: string;
  reason: string;
  /** require_approval only. */
  approvals?: number;
  /** Only for an account the policy rolls out in notify mode (nothing is reverted). */
  mode?: "notify";
}

/** One rule change and its decision, as `check-plan --json` prints it. */
export interface CheckResultJson {
  address: string;
  type: string;
  /** Terraform's planned actions for the resource, e.g. ["delete", "create"] for a replace. */
  actions: PlanAction[];
  change: "add" | "remove";
  direction: "ingress" | "egress";
  /** The group's id, or the Terraform address standing in for one not created yet. */
  groupId: string;
  rule: RuleJson;
  decision: CheckDecision;
  unknowns: string[];
  notes: string[];
}

export interface CheckPlanResult {
  results: CheckResultJson[];
  exitCode: 0 | 1 | 2;
  /** For the text view: how many resources change, the requester, facts not known offline. */
  resources: { all: number; governed: number };
  notes: string[];
}

export interface CheckPlanOptions extends PlanFacts {
  policy: Policy;
  /** The deployment config's people mapping, when the policy came from a config. */
  people?: PeopleConfig;
  /** require_approval passes (exit 0) instead of failing (exit 1). */
  allowApproval?: boolean;
  source?: string;
}

/**
 * The policy as the engine is given it offline: rules with an `account` (`region`) matcher are
 * left out when the account (region) is not known, so that they do not match it, as any matcher
 * whose fact is missing.
 */
export function offlinePolicy(policy: Policy, facts: PlanFacts): Policy {
  const accountKnown = facts.account !== undefined;
  const regionKnown = facts.region !== undefined;
  if (accountKnown && regionKnown) return policy;
  return {
    ...policy,
    rules: policy.rules.filter(
      (r) =>
        (accountKnown || r.match.account === undefined) &&
        (regionKnown || r.match.region === undefined),
    ),
  };
}

function toJson(d: PolicyDecision): CheckDecision {
  return {
    action: d.action,
    rule: d.rule,
    reason: d.reason,
    ...(d.action === "require_approval" ? { approvals: d.approvals } : {}),
    ...(d.mode === "notify" ? { mode: "notify" as const } : {}),
  };
}

/** The decision on one planned rule change: the engine's, or "unknown" for an unjudgeable rule. */
export function decidePlanChange(
  pc: PlanChange,
  facts: PolicyFacts,
  policy: Policy,
): PolicyDecision {
  if (pc.unknowns.length === 0) {
    return decide(pc.change, pc.group ? { ...facts, group: pc.group } : facts, policy);
  }
  return {
    action: "require_approval",
    rule: UNKNOWN_RULE,
    reason: `${pc.unknowns.join(", ")} known only after apply: the rule cannot be judged before it exists, a person decides`,
    mode: accountMode(policy, pc.change.account, facts),
    approvals: minimumApprovals(facts.verification),
  };
}

/** Stands for a group whose every fact is known: unknownFacts then names only the others. */
const ALL_GROUP_FACTS: GroupFacts = { name: "", vpcId: "", tags: {} };

/** What the plan does not tell about the change's group, when a policy rule needs it. */
function groupNotes(policy: Policy, facts: PolicyFacts, pc: PlanChange): string[] {
  const missing = unknownFacts(policy, { ...facts, group: pc.group ?? {} }).filter((f) =>
    f.startsWith("the group's"),
  );
  return missing.length > 0
    ? [`not in the plan: ${missing.join(", ")}: policy rules needing them did not match`]
    : [];
}

/** Exit code of one decision: 2 auto_deny, 1 require_approval (unless allowed), else 0. */
function exitOf(d: PolicyDecision, allowApproval: boolean): 0 | 1 | 2 {
  const action = enforcedAction(d);
  if (action === "auto_deny") return 2;
  if (action === "require_approval") return allowApproval ? 0 : 1;
  return 0;
}

/** The plan's rule changes, each judged by the policy, and the exit code they make. */
export function checkPlan(plan: TerraformPlan, options: CheckPlanOptions): CheckPlanResult {
  const changes = planChanges(plan, options, options.source);
  const requester = requesterFromPrincipal(options.principal);
  const verification = verifyRequester(requester, options.people ?? NO_PEOPLE);
  const facts: PolicyFacts = { verification };
  const policy = offlinePolicy(options.policy, options);
  let exitCode: 0 | 1 | 2 = 0;
  const results = changes.map((pc): CheckResultJson => {
    const decision = decidePlanChange(pc, facts, policy);
    exitCode = Math.max(exitCode, exitOf(decision, options.allowApproval ?? false)) as 0 | 1 | 2;
    return {
      address: pc.address,
      type: pc.type,
      actions: pc.actions,
      change: pc.change.kind,
      direction: pc.change.direction,
      groupId: pc.change.groupId,
      rule: ruleToJson(pc.change.rules[0] as (typeof pc.change.rules)[number]),
      decision: toJson(decision),
      unknowns: pc.unknowns,
      notes: [...pc.notes, ...groupNotes(policy, facts, pc)],
    };
  });
  const notes = [
    `requester: ${requester.arn === UNKNOWN ? "unknown (no --principal)" : requester.arn}, ${
      verification.verified
        ? `verified (${verification.via}: ${verification.identity})`
        : `unverified (${verification.reason})`
    }`,
  ];
  const uses = (key: "account" | "region") =>
    options.policy.rules.some((r) => r.match[key] !== undefined);
  const unknown = [
    options.account === undefined && uses("account") && "the account (account, give --account)",
    options.region === undefined && uses("region") && "the region (region, give --region)",
    ...unknownFacts(policy, { ...facts, group: ALL_GROUP_FACTS }),
  ].filter((m): m is string => typeof m === "string");
  if (unknown.length > 0) {
    notes.push(`not known: ${unknown.join(", ")}: policy rules needing them did not match`);
  }
  return { results, exitCode, resources: countResourceChanges(plan), notes };
}
