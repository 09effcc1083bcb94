/**
 * revertSecurityGroup for CreateSecurityGroup: the member adopts the new group at once, with its
 * creation defaults, so the drift check meets a governed group from its first sweep on; then the
 * policy says whether the default egress (all traffic to 0.0.0.0/0) stays. See
 * src/domain/create-group.ts for the decision: by default it stays and nothing is filed; a rule
 * matching `{"kind": "create"}` with auto_deny revokes it and files an auto_denied notice (nobody
 * is asked), with require_approval revokes it and files it for a person (Approve puts it back:
 * apply.ts's applyPlan authorizes the egress again and moves the baseline, as for any add).
 *
 * The revoked egress is left out of the adopted baseline, so the drift check does not bring it
 * back; when the revoke fails, the egress is adopted (it stands) and the change is filed live.
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
import { liveRules, type MemberDeps, perform, screenCall, why } from "./deps.js";
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
  const seen = await deps.ledger.receive(eventId, started.toISOString());
  if (seen?.handledAt) {
    if (seen.pending) await publishOutbox(deps, seen.eventId, seen.pending);
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

  if (!decision.revoke) {
    // The sweep may have met the group first: its adoption stands.
    if (record?.rules === undefined) {
      await deps.baselines.adopt(groupId, defaults, why(deps, `creation:${eventId}`), meta);
    }
    // Handled: a redelivery adopts nothing twice. Nothing is filed, so nothing is pending.
    await deps.ledger
      .record({
        eventId,
        handledAt: started.toISOString(),
        change,
        requestId: deps.ids.requestIdFor(change),
      })
      .catch((err: unknown) => deps.log.warn("could not record the event", { error: String(err) }));
    return { status: "adopted", groupId, reason: decision.reason };
  }

  const ops = revertPlan(change);
  const performed = await perform(deps, ops, true);
  const revoked = new Set(performed.error ? [] : egress.map((r) => contentKey(r)));
  const approved = defaults.filter((r) => !revoked.has(contentKey(r)));
  if (record?.rules === undefined) {
    await deps.baselines.adopt(groupId, approved, why(deps, `creation:${eventId}`), meta);
  } else {
    const gone = record.rules.filter((r) => r.ruleId && revoked.has(contentKey(r)));
    if (gone.length > 0) {
      await deps.baselines.update(
        groupId,
        { removeIds: gone.map((r) => r.ruleId as string) },
        why(deps, `creation:${eventId}`),
      );
    }
  }
  const left = performed.error;
  if (left) {
    await deps.baselines
      .openChange(groupId, { eventId, change }, started.toISOString())
      .catch((err: unknown) =>
        deps.log.error("could not record the change as open", { groupId, error: String(err) }),
      );
  }
  const finished = deps.clock();
  const message: ChangeMessage = {
    type: "change",
    change,
    ...(groupName ? { groupName } : {}),
    revertedAt: finished.toISOString(),
    revertMs: finished.getTime() - started.getTime(),
    ...(left ? { revertError: left } : {}),
    ...(decision.action === "auto_deny"
      ? { policy: { status: "auto_denied" as const, rule: decision.rule, reason: decision.reason } }
      : {}),
  };
  await file(deps, change, message);
  return left
    ? { status: "revert_failed", message, calls: ops.length }
    : { status: "reverted", message, calls: ops.length };
}
