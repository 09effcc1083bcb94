/**
 * A normalised security-group change, and how a group's rule set moves under it. A change is
 * plain JSON: it travels from the member account to the hub and is stored in the request.
 */
import type { GovernedEventName } from "./cloudtrail.js";
import type { Requester } from "./requester.js";
import {
  type Direction,
  describePeer,
  describePorts,
  type Peer,
  type Rule,
  type RuleBody,
  ruleKey,
} from "./rule.js";

/** The eventName of a drift change: no CloudTrail event recorded it. */
export const DRIFT_EVENT_NAME = "DriftDetected";

/** Who made a drift change: nobody knows, as no event recorded it. */
export const UNKNOWN_REQUESTER: Requester = {
  arn: "unknown",
  type: "Unknown",
  name: "unknown: no CloudTrail event",
};

export interface ChangeBase {
  eventName: GovernedEventName | typeof DRIFT_EVENT_NAME;
  eventId: string;
  eventTime: string;
  account: string;
  region: string;
  groupId: string;
  requester: Requester;
}

/** Rules added; `ruleId`s are the ones EC2 gave them, when the event carried them. */
export interface AddChange extends ChangeBase {
  kind: "add";
  direction: Direction;
  rules: Rule[];
}

/**
 * Rules removed. A revoke by permissions names the rules; a revoke by rule id names only
 * `ruleIds`, and `rules` is filled from the group's baseline by `resolveChange`.
 */
export interface RemoveChange extends ChangeBase {
  kind: "remove";
  direction: Direction;
  rules: Rule[];
  ruleIds: string[];
}

export interface Modification {
  ruleId: string;
  /** The rule's new content, as the caller sent it. */
  rule: RuleBody;
  /** The rule as it was, from the baseline (filled by `resolveChange`). */
  before?: Rule;
}

/**
 * A rule's new description as UpdateSecurityGroupRuleDescriptions* names it: by the rule's id
 * (`securityGroupRuleDescriptions`), or by its content (`ipPermissions`: direction, protocol, ports
 * and peer, with the new description). No description: the call clears it. Neither form says the
 * whole rule, so it is resolved against the baseline (resolveChange) into a modification.
 */
export type DescriptionEdit =
  | { direction: Direction; ruleId: string; description?: string }
  | { rule: Rule };

/**
 * Rules edited in place (ModifySecurityGroupRules, UpdateSecurityGroupRuleDescriptions*).
 * Directions come from the baseline. A description update first names its rules in
 * `descriptions` only (`modifications` empty); resolveChange turns each into a modification (the
 * baseline's rule, with the new description) and drops `descriptions`.
 */
export interface ModifyChange extends ChangeBase {
  kind: "modify";
  modifications: Modification[];
  descriptions?: DescriptionEdit[];
}

/**
 * A difference between a group's live rules and its approved baseline that no CloudTrail event
 * explained (a missed event, a change made while the member was down, an ungoverned API path).
 * Found by the drift check; `eventId` is derived from the group and the difference, so the same
 * drift always gets the same request.
 */
export interface DriftChange extends ChangeBase {
  kind: "drift";
  /** Live rules the baseline does not have, with their live ids. */
  added: Rule[];
  /** Approved rules missing from the live group, with their baseline ids. */
  removed: Rule[];
  /** Rules edited in place (same id): `before` is the approved rule, always known. */
  modifications: Modification[];
}

/** One entry of a managed prefix list: a CIDR, and what it is for. */
export interface PrefixListEntry {
  cidr: string;
  description?: string;
}

/** A group whose rules name a prefix list, and those rules (with their ids). */
export interface PrefixListReference {
  groupId: string;
  groupName?: string;
  rules: Rule[];
}

/**
 * A customer-managed prefix list's entries changed (ModifyManagedPrefixList): every rule naming
 * the list now admits the added CIDRs and no longer the removed ones. No group's rules change,
 * so the revert and the apply modify the list, never a group. `groupId` is the first group
 * referencing it (where the request is shown and held); `references` lists them all.
 */
export interface PrefixListChange extends ChangeBase {
  kind: "prefixList";
  prefixListId: string;
  prefixListName?: string;
  /** The list's version before the call (the request's CurrentVersion), when it gave one. */
  fromVersion?: number;
  added: PrefixListEntry[];
  removed: PrefixListEntry[];
  references: PrefixListReference[];
}

export type Change = AddChange | RemoveChange | ModifyChange | DriftChange | PrefixListChange;
export type ChangeKind = Change["kind"];

export class BaselineGapError extends Error {
  override readonly name = "BaselineGapError";
  constructor(
    readonly groupId: string,
    readonly missingRuleIds: string[],
  ) {
    super(
      `the baseline of ${groupId} lacks ${missingRuleIds.join(", ")}: the old rule cannot be known, so the change cannot be reverted exactly (run the baseline sweep)`,
    );
  }
}

/** True when the change needs nothing more from a baseline to be reverted. */
export function isResolved(change: Change): boolean {
  if (change.kind === "add" || change.kind === "drift" || change.kind === "prefixList") return true;
  if (change.kind === "remove")
    return change.ruleIds.length === 0 || change.rules.length === change.ruleIds.length;
  return !change.descriptions?.length && change.modifications.every((m) => m.before !== undefined);
}

/** How a description edit names its rule, for a message: its id, or what it is. */
export function describedAs(edit: DescriptionEdit): string {
  if ("ruleId" in edit) return edit.ruleId;
  const { direction, protocol, peer } = edit.rule;
  return `${direction} ${protocol} ${describePorts(edit.rule)} ${describePeer(peer)}`;
}

/** The baseline's rule a description edit names (by id and direction, or by what it is). */
function describedRule(edit: DescriptionEdit, baseline: readonly Rule[]): Rule | undefined {
  if ("ruleId" in edit) {
    return baseline.find((r) => r.ruleId === edit.ruleId && r.direction === edit.direction);
  }
  return baseline.find((r) => r.ruleId && ruleKey(r) === ruleKey(edit.rule));
}

/**
 * A description update as a modify: each rule it names, from the baseline, becomes a modification
 * to the same rule with the new description (none: cleared). Throws BaselineGapError naming every
 * rule the baseline lacks. A change without `descriptions` is returned as it is.
 */
export function resolveDescriptions(change: ModifyChange, baseline: readonly Rule[]): ModifyChange {
  const edits = change.descriptions ?? [];
  if (edits.length === 0) return change;
  const found = edits.map((edit) => ({ edit, before: describedRule(edit, baseline) }));
  const missing = found.filter((f) => !f.before).map((f) => describedAs(f.edit));
  if (missing.length > 0) throw new BaselineGapError(change.groupId, missing);
  const byId = new Map<string, Modification>();
  for (const { edit, before } of found) {
    const old = before as Rule;
    const { direction: _d, ruleId, description: _old, ...body } = old;
    const description = "ruleId" in edit ? edit.description : edit.rule.description;
    // The same rule named twice: the last edit is the one EC2 keeps.
    byId.set(ruleId as string, {
      ruleId: ruleId as string,
      rule: description === undefined ? body : { ...body, description },
      before: old,
    });
  }
  const { descriptions: _named, ...rest } = change;
  return { ...rest, modifications: [...change.modifications, ...byId.values()] };
}

/**
 * Fills what a revoke by rule id or a modify does not carry: the old rules, from `baseline` (the
 * group's rules as they were before the change, with their ids). Throws BaselineGapError naming
 * every rule id the baseline lacks.
 */
export function resolveChange(change: Change, baseline: readonly Rule[]): Change {
  if (change.kind === "remove" && change.ruleIds.length === 0) {
    return restoreDescriptions(change, baseline);
  }
  if (change.kind === "modify" && change.descriptions?.length) {
    return resolveChange(resolveDescriptions(change, baseline), baseline);
  }
  if (isResolved(change)) return change;
  const byId = new Map(baseline.filter((r) => r.ruleId).map((r) => [r.ruleId as string, r]));
  const ids =
    change.kind === "remove"
      ? change.ruleIds
      : change.kind === "modify"
        ? change.modifications.map((m) => m.ruleId)
        : [];
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new BaselineGapError(change.groupId, missing);
  if (change.kind === "remove") {
    const rules = change.ruleIds.map((id) => byId.get(id) as Rule);
    const wrong = rules.filter((r) => r.direction !== change.direction);
    if (wrong.length > 0) {
      throw new BaselineGapError(
        change.groupId,
        wrong.map((r) => `${r.ruleId} (an ${r.direction} rule, revoked as ${change.direction})`),
      );
    }
    return { ...change, rules };
  }
  if (change.kind === "modify") {
    return {
      ...change,
      modifications: change.modifications.map((m) => ({ ...m, before: byId.get(m.ruleId) })),
    };
  }
  return change;
}

/**
 * A revoke by permissions need not repeat the rules' descriptions, and CloudTrail rarely records
 * what was revoked: the baseline's copy of each rule gives back its description and its id.
 */
function restoreDescriptions(change: RemoveChange, baseline: readonly Rule[]): RemoveChange {
  const byKey = new Map(baseline.map((r) => [ruleKey(r), r]));
  const rules = change.rules.map((r): Rule => {
    const known = byKey.get(ruleKey(r));
    if (!known) return r;
    // The rule that went is the baseline's: its description, whatever the request repeated.
    const description = known.description ?? r.description;
    const ruleId = r.ruleId ?? known.ruleId;
    return {
      ...r,
      ...(description !== undefined ? { description } : {}),
      ...(ruleId !== undefined ? { ruleId } : {}),
    };
  });
  return { ...change, rules };
}

/** The direction of a change; for a modify or a drift, that of its first rule. */
export function changeDirection(change: Change): Direction | undefined {
  if (change.kind === "add" || change.kind === "remove") return change.direction;
  if (change.kind === "prefixList") return change.references[0]?.rules[0]?.direction;
  const first = change.kind === "drift" ? [...change.added, ...change.removed][0] : undefined;
  const edit = change.kind === "modify" ? change.descriptions?.[0] : undefined;
  return (
    first?.direction ??
    change.modifications.find((m) => m.before)?.before?.direction ??
    (edit && ("ruleId" in edit ? edit.direction : edit.rule.direction))
  );
}

/**
 * Whether a live rule is one the change edits without the baseline knowing its old content (an
 * edit of a rule never approved): by its id, or, for a description update named by content, by
 * what it is.
 */
export function editsUnknownRule(change: Change, rule: Rule): boolean {
  if (change.kind !== "modify") return false;
  return (
    change.modifications.some((m) => !m.before && m.ruleId === rule.ruleId) ||
    (change.descriptions ?? []).some((e) =>
      "ruleId" in e ? e.ruleId === rule.ruleId : ruleKey(e.rule) === ruleKey(rule),
    )
  );
}

/** The rules a description update names by content, while the baseline has not resolved it. */
export function describedRules(change: Change): Rule[] {
  if (change.kind !== "modify") return [];
  return (change.descriptions ?? []).flatMap((e) => ("rule" in e ? [e.rule] : []));
}

/**
 * The rules as the change left them: added rules, removed rules, or the new content of modified
 * ones; for a drift, what it added and what it edited.
 */
export function changedRules(change: Change): Rule[] {
  switch (change.kind) {
    case "add":
    case "remove":
      return change.rules;
    case "modify":
      return [...change.modifications.map((m) => afterRule(m)), ...describedRules(change)];
    case "drift":
      return [...change.added, ...change.modifications.map((m) => afterRule(m))];
    case "prefixList":
      return entryRules(change, change.added);
  }
}

/** The rules a change takes away: removed rules, and the old content of edited ones. */
export function takenRules(change: Change): Rule[] {
  switch (change.kind) {
    case "add":
      return [];
    case "remove":
      return change.rules;
    case "modify":
      return change.modifications.flatMap((m) => (m.before ? [m.before] : []));
    case "drift":
      return [
        ...change.removed,
        ...change.modifications.flatMap((m) => (m.before ? [m.before] : [])),
      ];
    case "prefixList":
      return entryRules(change, change.removed);
  }
}

/** A prefix list entry's CIDR as a rule's peer. */
export function entryPeer(entry: PrefixListEntry): Peer {
  return entry.cidr.includes(":")
    ? { kind: "cidrIpv6", cidr: entry.cidr }
    : { kind: "cidrIpv4", cidr: entry.cidr };
}

/**
 * What a prefix list change means for the rules naming the list: for each such rule and each
 * entry, the rule as if it named the entry's CIDR (the rule's own description, no id). This is
 * how risk, policy and Slack see a list change: "TCP 22 from 0.0.0.0/0" when 0.0.0.0/0 was added
 * to a list an SSH rule names.
 */
export function entryRules(change: PrefixListChange, entries: readonly PrefixListEntry[]): Rule[] {
  return change.references.flatMap((ref) =>
    ref.rules.flatMap((rule) =>
      entries.map((entry): Rule => {
        const { ruleId: _id, ...body } = rule;
        return { ...body, peer: entryPeer(entry) };
      }),
    ),
  );
}

/** How many rules name the list, and in how many groups. */
export function prefixListReach(change: PrefixListChange): { rules: number; groups: number } {
  return {
    rules: change.references.reduce((n, ref) => n + ref.rules.length, 0),
    groups: change.references.length,
  };
}

/** A modification's resulting rule: the new content, keeping the old rule's id and direction. */
export function afterRule(m: Modification): Rule {
  return { ...m.rule, direction: m.before?.direction ?? "ingress", ruleId: m.ruleId };
}

/**
 * The group's rule set after the person's change, from the set before it. `rules` must be
 * resolved for removes by id and modifies.
 */
export function applyChangeToRules(state: readonly Rule[], change: Change): Rule[] {
  switch (change.kind) {
    case "add":
      return [...state, ...change.rules];
    case "remove": {
      const ids = new Set(change.ruleIds);
      const keys = new Set(change.rules.map(ruleKey));
      return state.filter(
        (r) =>
          !(r.ruleId && ids.has(r.ruleId)) &&
          !(change.ruleIds.length === 0 && keys.has(ruleKey(r))),
      );
    }
    case "modify":
      return modifyRules(state, change.modifications);
    case "drift": {
      const gone = new Set(change.removed.map((r) => r.ruleId));
      const kept = state.filter((r) => !(r.ruleId && gone.has(r.ruleId)));
      return [...modifyRules(kept, change.modifications), ...change.added];
    }
    case "prefixList":
      // The list changed, not the group: its rules still name the list.
      return [...state];
  }
}

function modifyRules(state: readonly Rule[], modifications: readonly Modification[]): Rule[] {
  const byId = new Map(modifications.map((m) => [m.ruleId, m]));
  return state.map((r) => {
    const m = r.ruleId ? byId.get(r.ruleId) : undefined;
    return m ? { ...m.rule, direction: r.direction, ruleId: m.ruleId } : r;
  });
}
