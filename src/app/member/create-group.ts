/**
 * revertSecurityGroup for CreateSecurityGroup: the member adopts the new group at once, with its
 * creation defaults, so the drift check meets a governed group from its first sweep on; then the
 * policy says whether the default egress (all traffic to 0.0.0.0/0) stays. See
 * src/domain/create-group.ts for the decision: by default it stays and nothing is filed; a rule
 * matching `{"kind": "create"}` with auto_deny revokes it and files an auto_denied notice (nobody
 * is asked), with require_approval revokes it and files it for a person (Approve puts it back:
 * apply.ts's applyPlan authorizes the egress again and moves the baseline, as for any add).
 * In an account in notify mode such a rule is not carried out, as nothing is reverted there: the
 * egress stays, it is filed live (revertError NotEnforced, the policy's word with mode "notify")
 * and recorded as an open change; Approve adopts it with no EC2 write, Deny revokes it.
 *
 * The revoked egress, or the egress left for a person, is left out of the adopted baseline, so
 * the drift check neither brings it back nor takes it for drift; when the revoke fails, the egress
 * is adopted (it stands) and the change is filed live.
 */
import type { Change } from "../../domain/change.js";
import {
  createChange,
  createGroupDecision,
  defaultEgress,
  parseCreateGroupEvent,
} from "../../domain/create-group.js";
import { adoptedAtCreation } from "../../domain/drift.js";
import { verifyRequester } from "../../domain/identity.js";
import type { ChangeMessage } from "../../domain/messages.js";
import { revertPlan } from "../../domain/plan.js";
import { type Policy, type PolicyFacts, policyFromLegacy } from "../../domain/policy/index.js";
import { contentKey } from "../../domain/rule.js";
import { groupField, type MemberDecision, policyField, standingError } from "./decide.js";
import { liveRules, type MemberDeps, type Performed, perform, screenCall, why } from "./deps.js";
import { publishOutbox } from "./outbox.js";
import { file, type RevertOutcome } from "./revert.js";

export type CreateGroupOutcome =
  | RevertOutcome
  /** Adopted with its default egress kept (the policy's word, or no rule about creations). */
  | { status: "adopted"; groupId: string; reason: string };

/**
 * `policy`: the engine's policy the member runs (a policy file merged with the config's
 * switches). Without one, the config's switches alone (policyFromLegacy): no rule matches a
 * creation, so the default egress stays.
 */
export async function adoptCreatedGroup(
  deps: MemberDeps,
  event: unknown,
  policy: Policy = policyFromLegacy(deps.config.policy),
): Promise<CreateGroupOutcome> {
  const parsed = parseCreateGroupEvent(event);
  if (parsed.ignored) return { status: "ignored", reason: parsed.reason };
  const created = parsed.created;
  const ignored = screenCall(deps, created);
  if (ignored) return { status: "ignored", reason: ignored };
  const started = deps.clock();
  const { groupId, eventId } = created;
  const ref = { eventId, groupId };
  const seen = await deps.ledger.receive(ref, started.toISOString());
  if (seen?.handledAt) {
    if (seen.pending) await publishOutbox(deps, ref, seen.pending);
    return { status: "duplicate", eventId: seen.eventId, republished: seen.pending !== undefined };
  }
  const [live, info, record] = await Promise.all([
    liveRules(deps, groupId),
    deps.securityGroups.describeGroup(groupId),
    deps.baselines.read(groupId),
  ]);
  if (!info) return { status: "ignored", reason: `group ${groupId} no longer exists` };
  const groupName = info.groupName ?? created.groupName;
  const egress = defaultEgress({ ...created, ...(groupName ? { groupName } : {}) }, live);
  const change: Change = createChange(created, egress);
  const facts: PolicyFacts = {
    verification: verifyRequester(created.requester, deps.config.people),
    group: {
      ...(groupName ? { name: groupName } : {}),
      ...(info.vpcId ? { vpcId: info.vpcId } : {}),
    },
    receivedAt: seen ? new Date(seen.receivedAt) : started,
  };
  const decision = createGroupDecision(change, facts, policy);
  const defaults = adoptedAtCreation({ groupId, groupName }, live);
  const meta = { name: groupName, vpcId: info.vpcId };

  if (!decision.revoke && !("notEnforced" in decision)) {
    // The sweep may have met the group first: its adoption stands.
    if (record?.rules === undefined) {
      await deps.baselines.adopt(groupId, defaults, why(deps, `creation:${eventId}`), meta);
    }
    // Handled: a redelivery adopts nothing twice. Nothing is filed, so nothing is pending.
    await deps.ledger
      .record({
        ref,
        handledAt: started.toISOString(),
        change,
        requestId: deps.ids.requestIdFor(change),
      })
      .catch((err: unknown) => deps.log.warn("could not record the event", { error: String(err) }));
    return { status: "adopted", groupId, reason: decision.reason };
  }

  // A notify-mode account: the rule's word is reported, not carried out (as revert.ts does).
  const notEnforced: MemberDecision | undefined =
    "notEnforced" in decision
      ? {
          decision: {
            action: decision.action,
            rule: decision.rule,
            reason: decision.reason,
            mode: decision.mode,
            ...(decision.approvals !== undefined ? { approvals: decision.approvals } : {}),
          },
          action: "notify",
          reason: decision.reason,
        }
      : undefined;
  const ops = revertPlan(change);
  const performed: Performed = notEnforced
    ? { done: [], resync: false }
    : await perform(deps, ops, true);
  // Not approved: revoked, or left for a person to decide. A failed revoke leaves it adopted.
  const unapproved = new Set(performed.error ? [] : egress.map((r) => contentKey(r)));
  const approved = defaults.filter((r) => !unapproved.has(contentKey(r)));
  if (record?.rules === undefined) {
    await deps.baselines.adopt(groupId, approved, why(deps, `creation:${eventId}`), meta);
  } else {
    const gone = record.rules.filter((r) => r.ruleId && unapproved.has(contentKey(r)));
    if (gone.length > 0) {
      await deps.baselines.update(
        groupId,
        { removeIds: gone.map((r) => r.ruleId as string) },
        why(deps, `creation:${eventId}`),
      );
    }
  }
  const left = notEnforced ? standingError(notEnforced) : performed.error;
  if (left) {
    // Left live: the drift check must not take it for drift (nor, when by policy, retry it).
    await deps.baselines
      .openChange(
        groupId,
        { eventId, change, ...(notEnforced ? { code: left.code } : {}) },
        started.toISOString(),
      )
      .catch((err: unknown) =>
        deps.log.error("could not record the change as open", { groupId, error: String(err) }),
      );
  }
  const finished = deps.clock();
  const group = groupField(facts.group);
  const message: ChangeMessage = {
    type: "change",
    change,
    ...(groupName ? { groupName } : {}),
    // The facts the member decided on, for the hub's own decision.
    ...(group ? { group } : {}),
    receivedAt: (facts.receivedAt ?? started).toISOString(),
    revertedAt: finished.toISOString(),
    revertMs: finished.getTime() - started.getTime(),
    ...(left ? { revertError: left } : {}),
    ...(notEnforced
      ? { policy: policyField(notEnforced) }
      : decision.action === "auto_deny"
        ? {
            policy: {
              status: "auto_denied" as const,
              rule: decision.rule,
              reason: decision.reason,
            },
          }
        : {}),
  };
  await file(deps, change, message);
  const calls = notEnforced ? 0 : ops.length;
  return left
    ? { status: "revert_failed", message, calls }
    : { status: "reverted", message, calls };
}
