/**
 * revertSecurityGroup for ModifyManagedPrefixList: a customer-managed prefix list that governed
 * groups' rules name had entries added (or removed), which widens (or narrows) every such rule
 * with no security-group call at all. The member modifies the list back at once (removes what
 * was added, adds back what was removed) and files the change with the hub, naming the groups and
 * rules it touches ("widens 3 rules in 2 groups"). Approve makes the modification again, Deny
 * keeps it reverted: apply.ts carries both out unchanged, as plan.ts's revertPlan / applyPlan
 * plan the list's `modifyPrefixList` for a change of kind `prefixList`, and the approved
 * baseline does not move (no group's rules changed).
 *
 * Ignored, with a reason: AWS-managed lists (customers cannot modify them), lists no governed
 * group's rule names (they widen nothing governed), a call that moved no entry, the system's own
 * calls. Every group in this member's account and region is governed (the sweep adopts them all).
 */
import type { ChangeMessage } from "../../domain/messages.js";
import { revertPlan } from "../../domain/plan.js";
import {
  type PrefixListParse,
  parsePrefixListEvent,
  prefixListChange,
  referencesTo,
} from "../../domain/prefix-list.js";
import type { Rule } from "../../domain/rule.js";
import type { GroupInfo } from "../../ports/security-groups.js";
import { decideChange, policyField, standingError } from "./decide.js";
import { type MemberDeps, type Performed, perform, screenCall } from "./deps.js";
import { publishOutbox } from "./outbox.js";
import { file, type RevertOutcome } from "./revert.js";

/** The change could not be looked at (the adapter lacks prefix list calls). */
export const PREFIX_LIST_UNSUPPORTED = "PrefixListUnsupported";

/** Every rule in the region naming the list, by group, with the groups' names. */
async function referencingRules(deps: MemberDeps, prefixListId: string) {
  // DescribeSecurityGroupRules has no prefix-list filter (EC2 filters by group id, rule id and
  // tag only), so every rule of the region is read, as the sweep does.
  const rules: { groupId: string; rule: Rule }[] = [];
  for await (const r of deps.securityGroups.describeRules()) {
    if (r.rule.peer.kind === "prefixList" && r.rule.peer.prefixListId === prefixListId) {
      rules.push(r);
    }
  }
  const names = new Map<string, string>();
  const groupIds = [...new Set(rules.map((r) => r.groupId))];
  if (groupIds.length > 0) {
    for await (const g of deps.securityGroups.describeGroups(
      groupIds,
    ) as AsyncIterable<GroupInfo>) {
      if (g.groupName) names.set(g.groupId, g.groupName);
    }
  }
  return referencesTo(prefixListId, rules, names);
}

export async function revertPrefixListChange(
  deps: MemberDeps,
  event: unknown,
): Promise<RevertOutcome> {
  const parsed: PrefixListParse = parsePrefixListEvent(event);
  if (parsed.ignored) return { status: "ignored", reason: parsed.reason };
  const modification = parsed.modification;
  const ignored = screenCall(deps, modification);
  if (ignored) return { status: "ignored", reason: ignored };
  const { describePrefixList } = deps.securityGroups;
  if (!describePrefixList) {
    return {
      status: "ignored",
      reason: `${PREFIX_LIST_UNSUPPORTED}: this member's EC2 adapter cannot read prefix lists`,
    };
  }
  const started = deps.clock();
  const { eventId } = modification;
  // No one group keeps a prefix list's event (eventRef).
  const ref = { eventId };
  const seen = await deps.ledger.receive(ref, started.toISOString());
  if (seen?.handledAt) {
    if (seen.pending) await publishOutbox(deps, ref, seen.pending);
    return { status: "duplicate", eventId: seen.eventId, republished: seen.pending !== undefined };
  }

  const [list, references] = await Promise.all([
    describePrefixList.call(deps.securityGroups, modification.prefixListId),
    referencingRules(deps, modification.prefixListId),
  ]);
  const widening = prefixListChange(modification, list, references);
  if (widening.ignored) return { status: "ignored", reason: widening.reason };
  const change = widening.change;

  const receivedAt = seen ? new Date(seen.receivedAt) : started;
  // The same engine as every other change: a `kind: prefixList` rule decides it.
  const decided = decideChange(deps, change, undefined, receivedAt);
  const { action } = decided;
  if (action === "ignore") return { status: "ignored", reason: decided.reason };
  const first = change.references[0];
  const groupName = first?.groupName ? { groupName: first.groupName } : {};
  if (action === "exempt" || action === "auto_approve") {
    // The list stands (a group's approved rules do not move: they name the list, not its
    // entries); the hub is told, and posts it to the monitoring channel: never silent.
    const finished = deps.clock();
    await file(deps, change, {
      type: "change",
      change,
      ...groupName,
      revertedAt: finished.toISOString(),
      revertMs: 0,
      policy: policyField(decided, action === "exempt" ? "exempt" : "auto_approved"),
    });
    return { status: "exempt", reason: decided.reason };
  }

  let performed: Performed = { done: [], resync: false };
  const ops = revertPlan(change);
  if (action === "notify") {
    performed.error = standingError(decided);
  } else {
    performed = await perform(deps, ops, true);
  }
  const live = performed.error;
  const finished = deps.clock();
  const message: ChangeMessage = {
    type: "change",
    change,
    ...groupName,
    revertedAt: finished.toISOString(),
    revertMs: finished.getTime() - started.getTime(),
    ...(live ? { revertError: live } : {}),
    policy: policyField(decided, action === "auto_deny" ? "auto_denied" : undefined),
  };
  await file(deps, change, message);
  const calls = action === "notify" ? 0 : ops.length;
  return live
    ? { status: "revert_failed", message, calls }
    : { status: "reverted", message, calls };
}
