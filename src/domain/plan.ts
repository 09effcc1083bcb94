/**
 * Revert and apply plans: the EC2 calls that undo a change, and those that make it again. One
 * call per direction (EC2 takes ingress and egress separately), one ModifySecurityGroupRules for
 * all edited rules. Each operation also names the rules it touches, so a baseline can follow it.
 */
import {
  afterRule,
  BaselineGapError,
  type Change,
  type DriftChange,
  describedAs,
  isResolved,
  type Modification,
  type ModifyChange,
  type PrefixListChange,
  type PrefixListEntry,
} from "./change.js";
import {
  contentKey,
  type Direction,
  type Ec2IpPermission,
  type Ec2SecurityGroupRuleRequest,
  type Rule,
  ruleKey,
  toIpPermissions,
  toSecurityGroupRuleRequest,
} from "./rule.js";

export type Ec2Operation =
  | {
      action: "authorize";
      groupId: string;
      direction: Direction;
      ipPermissions: Ec2IpPermission[];
      rules: Rule[];
    }
  | {
      action: "revoke";
      groupId: string;
      direction: Direction;
      securityGroupRuleIds: string[];
      rules: Rule[];
    }
  | {
      action: "revoke";
      groupId: string;
      direction: Direction;
      ipPermissions: Ec2IpPermission[];
      rules: Rule[];
    }
  | {
      /**
       * Moves a managed prefix list's entries (ModifyManagedPrefixList). The adapter asks the
       * list's version and entries first and sends only what is still to do, so a step done
       * already is no error.
       */
      action: "modifyPrefixList";
      prefixListId: string;
      addEntries: PrefixListEntry[];
      removeEntries: PrefixListEntry[];
      /** None: no group's rules change. */
      rules: Rule[];
    }
  | {
      action: "modify";
      groupId: string;
      securityGroupRules: {
        SecurityGroupRuleId: string;
        SecurityGroupRule: Ec2SecurityGroupRuleRequest;
      }[];
      /** The rules as they will be after the call, ids kept. */
      rules: Rule[];
    };

const DIRECTIONS: Direction[] = ["ingress", "egress"];

function byDirection(rules: readonly Rule[]): [Direction, Rule[]][] {
  return DIRECTIONS.map(
    (d) => [d, rules.filter((r) => r.direction === d)] as [Direction, Rule[]],
  ).filter(([, rs]) => rs.length > 0);
}

function authorize(groupId: string, rules: readonly Rule[]): Ec2Operation[] {
  return byDirection(rules).map(([direction, rs]) => ({
    action: "authorize",
    groupId,
    direction,
    ipPermissions: toIpPermissions(rs.map(({ ruleId: _id, ...r }) => r)),
    rules: rs.map(({ ruleId: _id, ...r }) => r),
  }));
}

/** Revoke by rule id when every rule's id is known (exact, and immune to look-alikes), else by content. */
function revoke(groupId: string, rules: readonly Rule[]): Ec2Operation[] {
  return byDirection(rules).map(([direction, rs]): Ec2Operation => {
    const ids = rs.map((r) => r.ruleId);
    if (ids.every((id): id is string => id !== undefined)) {
      return { action: "revoke", groupId, direction, securityGroupRuleIds: ids, rules: rs };
    }
    return { action: "revoke", groupId, direction, ipPermissions: toIpPermissions(rs), rules: rs };
  });
}

function modify(groupId: string, rules: Rule[]): Ec2Operation[] {
  return [
    {
      action: "modify",
      groupId,
      securityGroupRules: rules.map((r) => ({
        SecurityGroupRuleId: r.ruleId as string,
        SecurityGroupRule: toSecurityGroupRuleRequest(r),
      })),
      rules,
    },
  ];
}

function requireResolved(change: Change): void {
  if (isResolved(change)) return;
  const ids =
    change.kind === "remove"
      ? change.ruleIds
      : change.kind === "modify"
        ? [
            ...change.modifications.filter((m) => !m.before).map((m) => m.ruleId),
            ...(change.descriptions ?? []).map(describedAs),
          ]
        : [];
  throw new BaselineGapError(change.groupId, ids);
}

function beforeRules(change: ModifyChange | DriftChange): Rule[] {
  return change.modifications.map((m) => m.before as Rule);
}

/** One ModifyManagedPrefixList adding `add` and removing `remove`, or nothing when both are empty. */
function movePrefixList(
  change: PrefixListChange,
  add: readonly PrefixListEntry[],
  remove: readonly PrefixListEntry[],
): Ec2Operation[] {
  if (add.length === 0 && remove.length === 0) return [];
  return [
    {
      action: "modifyPrefixList",
      prefixListId: change.prefixListId,
      addEntries: add.map((e) => ({ ...e })),
      // RemovePrefixListEntry has only the CIDR.
      removeEntries: remove.map((e) => ({ cidr: e.cidr })),
      rules: [],
    },
  ];
}

/** The calls that undo `change` in the member account. */
export function revertPlan(change: Change): Ec2Operation[] {
  requireResolved(change);
  switch (change.kind) {
    case "add":
      return revoke(change.groupId, change.rules);
    case "remove":
      // The removed rules come back with new ids; their descriptions are restored too.
      return authorize(change.groupId, change.rules);
    case "modify":
      return modify(change.groupId, beforeRules(change));
    case "prefixList":
      return movePrefixList(change, change.removed, change.added);
    case "drift":
      // Take away what drifted in, put edited rules back, then give back what went (see inSafeOrder).
      return inSafeOrder([
        ...revoke(change.groupId, change.added),
        ...authorize(change.groupId, change.removed),
        ...(change.modifications.length ? modify(change.groupId, beforeRules(change)) : []),
      ]);
  }
}

/** Revokes by content: rules the revert re-added have new ids, which the change does not know. */
function revokeByContent(groupId: string, rules: readonly Rule[]): Ec2Operation[] {
  return byDirection(rules).map(([direction, rs]) => ({
    action: "revoke",
    groupId,
    direction,
    ipPermissions: toIpPermissions(rs),
    rules: rs,
  }));
}

/**
 * The calls that make `change` again after it was reverted. Removed rules are revoked by content:
 * the revert gave them new ids, which the change does not know.
 */
export function applyPlan(change: Change): Ec2Operation[] {
  requireResolved(change);
  switch (change.kind) {
    case "add":
      return authorize(change.groupId, change.rules);
    case "remove":
      return revokeByContent(change.groupId, change.rules);
    case "modify":
      return modify(change.groupId, change.modifications.map(afterRule));
    case "prefixList":
      return movePrefixList(change, change.added, change.removed);
    case "drift":
      // Take away what was given back, make the edits, then add what drifted in.
      return inSafeOrder([
        ...revokeByContent(change.groupId, change.removed),
        ...authorize(change.groupId, change.added),
        ...(change.modifications.length
          ? modify(change.groupId, change.modifications.map(afterRule))
          : []),
      ]);
  }
}

/**
 * A group's rule set after one EC2 operation. `created` are the rules EC2 reported creating
 * (with their new ids) for an authorize; without it the planned rules are added without ids.
 */
export function applyOperationToRules(
  state: readonly Rule[],
  op: Ec2Operation,
  created?: readonly Rule[],
): Rule[] {
  switch (op.action) {
    case "authorize":
      return [...state, ...(created ?? op.rules)];
    case "revoke": {
      if ("securityGroupRuleIds" in op) {
        const ids = new Set(op.securityGroupRuleIds);
        return state.filter((r) => !(r.ruleId && ids.has(r.ruleId)));
      }
      const keys = new Set(op.rules.map(ruleKey));
      return state.filter((r) => !keys.has(ruleKey(r)));
    }
    case "modify": {
      const byId = new Map(op.rules.map((r) => [r.ruleId, r]));
      return state.map((r) => (r.ruleId && byId.get(r.ruleId)) || r);
    }
    case "modifyPrefixList":
      return [...state];
  }
}

/** An operation as the explain CLI and logs show it: the EC2 call's parameters, no bookkeeping. */
export function describeOperation(op: Ec2Operation): Record<string, unknown> {
  const { rules: _rules, ...call } = op;
  return call;
}

/**
 * The calls that make an approved change again, with its edits pointed at the rules as they are
 * now: after a later revert re-created an edited rule, its id is another. Each edit goes to the
 * approved rule with the old content (by id when that still holds, else by content); an edit
 * whose rule cannot be found at all becomes a revoke of the old content and an authorize of the
 * new.
 */
export function applyPlanAgainst(change: Change, approved: readonly Rule[]): Ec2Operation[] {
  if (change.kind !== "modify" && change.kind !== "drift") return applyPlan(change);
  requireResolved(change);
  const kept: Modification[] = [];
  const replaced: { before: Rule; after: Rule }[] = [];
  for (const m of change.modifications) {
    const before = m.before as Rule;
    const target =
      approved.find((r) => r.ruleId === m.ruleId && contentKey(r) === contentKey(before)) ??
      approved.find((r) => contentKey(r) === contentKey(before)) ??
      approved.find((r) => ruleKey(r) === ruleKey(before));
    if (target?.ruleId) kept.push({ ...m, ruleId: target.ruleId });
    else replaced.push({ before, after: afterRule(m) });
  }
  const rebased = { ...change, modifications: kept };
  const base =
    rebased.kind === "drift"
      ? applyPlan(rebased)
      : kept.length
        ? modify(change.groupId, kept.map(afterRule))
        : [];
  const fallback = replaced.length
    ? [
        ...revokeByContent(
          change.groupId,
          replaced.map((x) => x.before),
        ),
        ...authorize(
          change.groupId,
          replaced.map((x) => x.after),
        ),
      ]
    : [];
  return inSafeOrder([...base, ...fallback]);
}

/**
 * Operations in an order EC2 accepts whatever the change: revokes, then edits, then
 * authorizations. A rule may take the content of a removed one, or an edit the content of a rule
 * that goes; authorizing that content before the revoke or the edit moved it away is
 * InvalidPermission.Duplicate, which would leave a rule out. The sort is stable.
 */
export function inSafeOrder(ops: readonly Ec2Operation[]): Ec2Operation[] {
  const rank = { revoke: 0, modify: 1, authorize: 2, modifyPrefixList: 3 } as const;
  return [...ops].sort((a, b) => rank[a.action] - rank[b.action]);
}
