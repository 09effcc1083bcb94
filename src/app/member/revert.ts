/**
 * revertSecurityGroup: undo a governed change at once and file it with the hub.
 *
 * Fail closed: the revert does not wait on DynamoDB. The event's receipt (kept with its group, it
 * holds the group as a lease: the drift check leaves it alone until the event is recorded) and the
 * group's approved baseline are asked for together; whatever of them fails, a change that adds rules
 * is still reverted, and the request still goes to the hub (which keeps it by its id, so a retry
 * files nothing twice). What needs the baseline to be undone exactly (a removal, an edit) is
 * reported as not reverted when the baseline cannot be read, for a person to decide. A failure
 * that outlasts the invocation's retries reaches revertFailed, and the drift check is the last net.
 */
import { approvedAfter, withLiveIds } from "../../domain/baseline.js";
import {
  afterRule,
  BaselineGapError,
  type Change,
  resolveChange,
  resolveDescriptions,
} from "../../domain/change.js";
import {
  GroupNamedOnlyError,
  MalformedEventError,
  type ParseResult,
  parseCloudTrailEvent,
  withGroupId,
} from "../../domain/cloudtrail.js";
import { adoptedAtCreation, explainsDrift } from "../../domain/drift.js";
import type { ChangeMessage } from "../../domain/messages.js";
import { type Ec2Operation, revertPlan } from "../../domain/plan.js";
import type { ApplyError } from "../../domain/request.js";
import { contentKey, type Rule, ruleKey } from "../../domain/rule.js";
import type { GroupRecord } from "../../ports/baselines.js";
import { decideChange, groupFacts, groupField, policyField, standingError } from "./decide.js";
import {
  eventRef,
  leaseUntil,
  liveRules,
  type MemberDeps,
  type Performed,
  perform,
  screenCall,
  toApplyError,
  why,
  writeBaseline,
} from "./deps.js";
import { publishOutbox } from "./outbox.js";

export type RevertOutcome =
  | { status: "ignored"; reason: string }
  | { status: "exempt"; reason: string }
  /** A policy rule approved it before any EC2 write: it stands, the baseline took it in. */
  | { status: "auto_approved"; reason: string; rule: string }
  | { status: "duplicate"; eventId: string; republished: boolean }
  /** The change is one the drift check reverted and filed already: its request learns who. */
  | { status: "joined"; eventId: string; requestId: string }
  | { status: "reverted"; message: ChangeMessage; calls: number }
  | { status: "revert_failed"; message: ChangeMessage; calls: number };

/** The member could not read the group's approved baseline (DynamoDB failed). */
export const BASELINE_UNAVAILABLE = "BaselineUnavailable";

/**
 * Parses the event; a call that named its group only by name (a default VPC allows it) gets the
 * id looked up in this account, as EC2 itself resolved it.
 */
async function parseEvent(deps: MemberDeps, event: unknown): Promise<ParseResult> {
  try {
    return parseCloudTrailEvent(event);
  } catch (err) {
    if (!(err instanceof GroupNamedOnlyError)) throw err;
    const group = await deps.securityGroups.findGroupByName(err.groupName);
    if (!group) {
      throw new MalformedEventError(
        `${err.eventName} named group ${JSON.stringify(err.groupName)}, and the default VPC has no group of that name now`,
      );
    }
    return parseCloudTrailEvent(withGroupId(event, group.groupId));
  }
}

/** Settled: the value, or undefined with the failure logged. */
function settled<T>(
  deps: MemberDeps,
  what: string,
  result: PromiseSettledResult<T>,
): T | undefined {
  if (result.status === "fulfilled") return result.value;
  deps.log.error(`${what} failed; the revert goes on without it`, { error: String(result.reason) });
  return undefined;
}

interface Plan {
  change: Change;
  ops: Ec2Operation[];
  /** Why nothing (or not all) can be reverted: the change stays live, for a person to decide. */
  live?: ApplyError;
}

/**
 * What to undo, judged against the approved baseline (undefined: it could not be read): an add
 * loses the rules that are not approved; a removal gets back only rules that were approved; an
 * edit gets back the approved content.
 */
function planRevert(change: Change, approved: readonly Rule[] | undefined): Plan {
  if (approved === undefined && change.kind !== "add") {
    return {
      change,
      ops: [],
      live: {
        code: BASELINE_UNAVAILABLE,
        message: "the group's approved rules could not be read, so what to restore is not known",
      },
    };
  }
  try {
    let resolved = approved ? resolveChange(change, approved) : change;
    if (resolved.kind === "add" && approved) {
      const keys = new Set(approved.map(ruleKey));
      resolved = { ...resolved, rules: resolved.rules.filter((r) => !keys.has(ruleKey(r))) };
    }
    if (resolved.kind === "remove" && approved) {
      const keys = new Set(approved.map(ruleKey));
      resolved = { ...resolved, rules: resolved.rules.filter((r) => keys.has(ruleKey(r))) };
    }
    if (resolved.kind === "modify") {
      // An edit that leaves the approved rule as it was (a description set to what it is) undoes nothing.
      const modifications = resolved.modifications.filter(
        (m) => !m.before || contentKey(m.before) !== contentKey(afterRule(m)),
      );
      resolved = { ...resolved, modifications };
    }
    const nothing =
      ((resolved.kind === "add" || resolved.kind === "remove") && resolved.rules.length === 0) ||
      (resolved.kind === "modify" && resolved.modifications.length === 0);
    return { change: resolved, ops: nothing ? [] : revertPlan(resolved) };
  } catch (err) {
    if (!(err instanceof BaselineGapError)) throw err;
    // The old rule is unknown: it was never approved, so nothing approved can be restored.
    return { change, ops: [], live: toApplyError(err) };
  }
}

/**
 * A description update as the modify it makes of the approved rules it names. Named rules the
 * baseline lacks (never approved) or a baseline that could not be read leave it as the call said
 * it: planRevert then reports it as not reverted, as any edit of an unknown rule.
 */
function withDescribedRules(change: Change, approved: readonly Rule[] | undefined): Change {
  if (change.kind !== "modify" || !change.descriptions || approved === undefined) return change;
  try {
    return resolveDescriptions(change, approved);
  } catch (err) {
    if (err instanceof BaselineGapError) return change;
    throw err;
  }
}

/** Why a change needs nothing reverted (it only moves toward the approved state), or undefined. */
function nothingToRevert(plan: Plan): string | undefined {
  if (plan.live || plan.ops.length > 0) return undefined;
  if (plan.change.kind === "add") return "every rule it adds is approved already";
  if (plan.change.kind === "remove") return "it removes only rules that were never approved";
  if (plan.change.kind === "modify") return "it leaves every approved rule as it was";
  return undefined;
}

export async function revertChange(deps: MemberDeps, event: unknown): Promise<RevertOutcome> {
  const parsed = await parseEvent(deps, event);
  if (parsed.ignored) return { status: "ignored", reason: parsed.reason };
  let change = parsed.change;
  const ignored = screenCall(deps, change);
  if (ignored) return { status: "ignored", reason: ignored };
  const started = deps.clock();
  const { groupId, eventId } = change;

  // Receipt (which holds the group) and baseline together; each may fail without stopping the
  // revert.
  const ref = eventRef(change);
  const [receipt, read] = await Promise.allSettled([
    deps.ledger.receive(ref, started.toISOString(), { busyUntil: leaseUntil(deps) }),
    deps.baselines.read(groupId),
  ]);
  const seen = settled(deps, "the event's receipt", receipt);
  const group: GroupRecord | undefined | null =
    read.status === "fulfilled" ? read.value : (settled(deps, "the baseline", read) ?? null);
  // Recording the event lets its group go; every way out that records nothing does it here.
  let recorded = false;
  const record = async (entry: Omit<Parameters<typeof deps.ledger.record>[0], "ref">) => {
    await deps.ledger.record({ ref, ...entry });
    recorded = true;
  };
  const filed = async (message: ChangeMessage) => {
    await file(deps, change, message);
    recorded = true;
  };
  try {
    // A retry of an event reverted before only delivers its outbox message.
    if (seen?.handledAt) {
      recorded = true; // it was, and the receipt did not hold the group again
      if (seen.pending) await publishOutbox(deps, ref, seen.pending);
      return {
        status: "duplicate",
        eventId: seen.eventId,
        republished: seen.pending !== undefined,
      };
    }
    // The age rule measures to the first receipt, so a slow retry is not taken for a late event.
    const receivedAt = seen ? new Date(seen.receivedAt) : started;
    const approved = group === null ? undefined : (group?.rules ?? []);
    // A description update names a rule without its content: the policy judges the whole rule.
    change = withDescribedRules(change, approved);
    const facts = groupFacts(group);
    const decided = decideChange(deps, change, facts, receivedAt);
    const { action } = decided;
    if (action === "ignore") return { status: "ignored", reason: decided.reason };

    // The drift check reverted and filed this change already (its event came late): its request
    // learns who made it, whoever that was.
    const drift = group?.drifts.find((d) => explainsDrift(change, d.change, d.at));
    if (drift) {
      await filed({
        type: "change",
        change,
        joinsDrift: drift.requestId,
        revertedAt: started.toISOString(),
        revertMs: 0,
      });
      return { status: "joined", eventId, requestId: drift.requestId };
    }
    const extra = {
      ...(group?.name ? { groupName: group.name } : {}),
      ...(groupField(facts) ? { group: groupField(facts) } : {}),
      receivedAt: receivedAt.toISOString(),
    };
    if (action === "exempt" || action === "auto_approve") {
      // Decided before any EC2 write: the change stands, the baseline takes it in (with who, or
      // the rule), and the hub is told: it posts to the monitoring channel only, never silent.
      const by =
        action === "exempt" ? `exempt:${change.requester.arn}` : `policy:${decided.decision.rule}`;
      await adoptStanding(deps, change, group === null ? undefined : group, by);
      const finished = deps.clock();
      await filed({
        type: "change",
        change,
        ...extra,
        revertedAt: finished.toISOString(),
        revertMs: 0,
        policy: policyField(decided, action === "exempt" ? "exempt" : "auto_approved"),
      });
      return action === "exempt"
        ? { status: "exempt", reason: decided.reason }
        : { status: "auto_approved", reason: decided.reason, rule: decided.decision.rule };
    }

    let plan: Plan;
    let performed: Performed = { done: [], resync: false };
    const nothing = nothingToRevert(planRevert(change, approved));
    if (nothing) {
      await record({
        handledAt: started.toISOString(),
        change,
        requestId: deps.ids.requestIdFor(change),
      }).catch((err: unknown) =>
        deps.log.warn("could not record the event", { error: String(err) }),
      );
      return { status: "ignored", reason: nothing };
    }
    if (action === "notify") {
      // Left standing for a person (a late event, a notify rule, an account in notify mode):
      // Approve keeps it, Deny reverts it.
      plan = { ...planRevert(change, approved), ops: [] };
      plan.live = standingError(decided);
    } else {
      plan = planRevert(change, approved);
      performed = await perform(deps, plan.ops, true);
    }
    change = plan.change;
    const live = plan.live ?? performed.error;
    if (approved !== undefined && group !== null) {
      await followIds(deps, groupId, approved, performed, `revert:${eventId}`).catch(
        (err: unknown) =>
          deps.log.error("could not record the restored rules' ids", {
            groupId,
            error: String(err),
          }),
      );
    }
    if (live) {
      // Left live for a person: the drift check must not take it for drift meanwhile.
      await deps.baselines
        .openChange(groupId, { eventId, change, code: live.code }, started.toISOString())
        .catch((err: unknown) =>
          deps.log.error("could not record the change as open", { groupId, error: String(err) }),
        );
    }

    const finished = deps.clock();
    const message: ChangeMessage = {
      type: "change",
      change,
      ...extra,
      revertedAt: finished.toISOString(),
      revertMs: finished.getTime() - started.getTime(),
      ...(live ? { revertError: live } : {}),
      policy: policyField(decided, action === "auto_deny" ? "auto_denied" : undefined),
    };
    await filed(message);
    const calls = plan.ops.length;
    return live
      ? { status: "revert_failed", message, calls }
      : { status: "reverted", message, calls };
  } finally {
    if (!recorded) {
      await deps.ledger
        .release(ref)
        .catch((err: unknown) =>
          deps.log.warn("could not release the group", { groupId, error: String(err) }),
        );
    }
  }
}

/**
 * Sends the message, then records the event as handled. A message the hub took needs no outbox
 * entry, so the usual case costs one ledger write; one it did not take is recorded with the
 * message as pending, for the retry (and the drift check's outbox flush) to send. The ledger
 * failing does not hold the request back either; the failure is thrown afterwards so that the
 * invocation is retried until the ledger has it. A crash between the two sends the message again
 * on the retry: the hub keeps one request per event, so nothing is filed or posted twice.
 */
export async function file(
  deps: MemberDeps,
  change: Change,
  message: ChangeMessage,
): Promise<void> {
  const raw = JSON.stringify(message);
  let notSent: { error: unknown } | undefined;
  try {
    await deps.hub.send("change", raw);
  } catch (error) {
    notSent = { error };
  }
  let notRecorded: unknown;
  try {
    // false: a concurrent delivery of the same event recorded it first, with its own outcome.
    await deps.ledger.record({
      ref: eventRef(change),
      ...(notSent ? { pending: raw } : {}),
      handledAt: deps.clock().toISOString(),
      change,
      requestId: deps.ids.requestIdFor(change),
    });
  } catch (err) {
    notRecorded = err instanceof Error ? err : new Error(String(err));
  }
  if (notSent) {
    if (notRecorded) {
      deps.log.error("could not record the event either; the retry reverts and sends again", {
        eventId: change.eventId,
        error: String(notRecorded),
      });
    }
    throw notSent.error;
  }
  if (notRecorded) throw notRecorded;
}

/**
 * The approved baseline after a revert: the same rules, some under the ids EC2 gave them when the
 * revert re-created them (from the authorize's answer, or from EC2 when that was not exact).
 */
async function followIds(
  deps: MemberDeps,
  groupId: string,
  approved: readonly Rule[],
  performed: Performed,
  by: string,
): Promise<void> {
  const created = performed.done.flatMap((d) => d.created);
  if (created.length === 0 && !performed.resync) return;
  const source = performed.resync ? await liveRules(deps, groupId) : created;
  await writeBaseline(deps, groupId, approved, withLiveIds(approved, source), why(deps, by));
}

/**
 * A change that stands by policy (an exempt principal's, an auto-approved one): the approved
 * baseline takes it in, recorded with who (`exempt:<arn>`) or the rule (`policy:<rule>`), so a
 * later revert restores exactly that. Its rules' ids come from EC2. A group never adopted is
 * adopted now, with its creation defaults.
 */
export async function adoptStanding(
  deps: MemberDeps,
  change: Change,
  group: GroupRecord | undefined,
  byWhom: string,
): Promise<void> {
  const live = await liveRules(deps, change.groupId);
  const liveKeys = new Set(live.map(contentKey));
  const by = why(deps, byWhom);
  if (group?.rules === undefined) {
    const info = await deps.securityGroups.describeGroup(change.groupId);
    const base = adoptedAtCreation({ groupId: change.groupId, groupName: info?.groupName }, live);
    const after = withLiveIds(approvedAfter(base, change), live).filter(
      (r) => r.ruleId && liveKeys.has(contentKey(r)),
    );
    await deps.baselines.adopt(change.groupId, after, by, {
      name: info?.groupName,
      vpcId: info?.vpcId,
      ...(info?.tags ? { tags: info.tags } : {}),
    });
    return;
  }
  const base = group.rules;
  // Only what is live now: a rule the exempt call added and someone removed since is not adopted.
  const after = withLiveIds(approvedAfter(base, change), live).filter(
    (r) => r.ruleId && (liveKeys.has(contentKey(r)) || base.some((b) => b.ruleId === r.ruleId)),
  );
  await writeBaseline(deps, change.groupId, base, after, by);
}
