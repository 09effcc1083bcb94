/**
 * applySecurityGroupChange: what the hub sends a member — make an approved change again, or
 * revert a denied (or expired) change that was still live — and the result it reports back.
 *
 * A member acts only on what it knows: the message must name a change this member recorded
 * itself (its ledger has the event, under the same request id, with the same content). Anything
 * else — a hand-made invocation, a message for another account — is refused, counted and logged,
 * and nothing is written to EC2. Each request's EC2 work runs once: a redelivered or re-sent
 * message reports the result kept the first time.
 */
import { approvedAfter, withLiveIds, withoutIds } from "../../domain/baseline.js";
import {
  BaselineGapError,
  type Change,
  editsUnknownRule,
  isResolved,
  resolveChange,
} from "../../domain/change.js";
import { canonicalChange } from "../../domain/fingerprint.js";
import {
  type ApplyMessage,
  type MemberMessage,
  parseResultMessage,
  type ResultMessage,
  type RevertMessage,
} from "../../domain/messages.js";
import { applyPlanAgainst, type Ec2Operation, revertPlan } from "../../domain/plan.js";
import { contentKey, type Rule, ruleKey } from "../../domain/rule.js";
import { LATE_EVENT_CODE, NOT_ENFORCED_CODE, NOTIFY_CODE } from "../../domain/slack/messages.js";
import {
  eventRef,
  leaseUntil,
  liveRules,
  type MemberDeps,
  type Performed,
  perform,
  toApplyError,
  why,
  writeBaseline,
} from "./deps.js";
import { BASELINE_UNAVAILABLE } from "./revert.js";

/** Revert errors after which none of the change was undone: it stands whole. */
const NOTHING_REVERTED = new Set([
  LATE_EVENT_CODE,
  NOTIFY_CODE,
  NOT_ENFORCED_CODE,
  "BaselineGap",
  BASELINE_UNAVAILABLE,
]);

/**
 * Left standing by policy on purpose (a notify rule, an account in notify mode): approving it
 * writes nothing to EC2, the baseline takes in the change as it stands.
 */
const STANDS_BY_POLICY = new Set([NOTIFY_CODE, NOT_ENFORCED_CODE]);

export class RefusedMessageError extends Error {
  override readonly name = "RefusedMessageError";
}

/**
 * The change this member recorded for the message, or a refusal: an unknown event, another
 * request id, or content that differs from what was recorded.
 */
async function recordedChange(deps: MemberDeps, message: MemberMessage): Promise<Change> {
  const refuse = (why: string): never => {
    deps.metrics.count("RefusedInvocation");
    deps.log.error("refused a message for a change this member did not record", {
      requestId: message.requestId,
      eventId: message.change.eventId,
      why,
    });
    throw new RefusedMessageError(why);
  };
  const { change } = message;
  if (change.account !== deps.config.account || change.region !== deps.config.region) {
    refuse(`it is for ${change.account} ${change.region}, not this member's account and region`);
  }
  const known = await deps.ledger.get(eventRef(change));
  if (!known?.change || !known.handledAt) return refuse("this member never recorded its event");
  if (known.requestId !== message.requestId) {
    return refuse(`its event belongs to request ${known.requestId}, not ${message.requestId}`);
  }
  if (canonicalChange(known.change) !== canonicalChange(change)) {
    return refuse("its change differs from the one this member recorded");
  }
  return known.change;
}

/**
 * Runs the EC2 work for one request once: a redelivered or re-sent message publishes the result
 * kept the first time and makes no EC2 call. A plan that cannot be made is a failed result.
 */
async function oncePerRequest(
  deps: MemberDeps,
  requestId: string,
  success: ResultMessage["outcome"],
  run: () => Promise<Performed>,
): Promise<ResultMessage> {
  const kept = await deps.ledger.applyResult(requestId);
  if (kept) return publishResult(deps, kept);

  const started = deps.clock();
  let performed: Performed;
  try {
    performed = await run();
  } catch (err) {
    if (!(err instanceof BaselineGapError)) throw err;
    performed = { done: [], resync: false, error: toApplyError(err) };
  }
  const at = deps.clock();
  const result: ResultMessage = {
    type: "result",
    requestId,
    outcome: performed.error ? "failed" : success,
    at: at.toISOString(),
    applyMs: at.getTime() - started.getTime(),
    ...(performed.error ? { error: performed.error } : {}),
  };
  const raw = JSON.stringify(result);
  // A concurrent delivery of the same message may have finished first: its result stands.
  if (!(await deps.ledger.recordApplyResult(requestId, raw, at.toISOString()))) {
    const first = await deps.ledger.applyResult(requestId);
    if (first) return publishResult(deps, first);
  }
  return publishResult(deps, raw);
}

async function publishResult(deps: MemberDeps, raw: string): Promise<ResultMessage> {
  await deps.hub.send("result", raw);
  return parseResultMessage(raw);
}

/** Holds the group for `work`, and lets it go however the work ends. */
async function holding<T>(deps: MemberDeps, groupId: string, work: () => Promise<T>): Promise<T> {
  await deps.baselines.lease(groupId, leaseUntil(deps), {
    exclusive: false,
    now: deps.clock().toISOString(),
  });
  try {
    return await work();
  } finally {
    await deps.baselines
      .release(groupId)
      .catch((err: unknown) =>
        deps.log.warn("could not release the group", { groupId, error: String(err) }),
      );
  }
}

/**
 * The approved rules after the change was applied, their ids as EC2 has them. A failed apply
 * moves nothing: the change was not made, and what part of it did stand is drift to be reverted.
 */
async function approveIntoBaseline(
  deps: MemberDeps,
  change: Change,
  approved: readonly Rule[],
  performed: Performed,
  requestId: string,
): Promise<void> {
  const created = performed.done.flatMap((d) => d.created);
  let after = performed.error ? [...approved] : approvedAfter(approved, change);
  after = withLiveIds(after, created);
  // An approved edit of a rule the baseline never had: the rule as EC2 has it now is approved.
  const unknownEdits = !performed.error && change.kind === "modify" && !isResolved(change);
  if (performed.resync || unknownEdits || withoutIds(after).length > 0) {
    const live = await liveRules(deps, change.groupId);
    after = withLiveIds(after, live);
    if (unknownEdits) after.push(...live.filter((r) => r.ruleId && editsUnknownRule(change, r)));
  }
  const missing = withoutIds(after);
  if (missing.length > 0) {
    deps.log.warn("approved rules EC2 does not show: left out of the baseline", {
      groupId: change.groupId,
      rules: missing.map(contentKey),
    });
  }
  await writeBaseline(deps, change.groupId, approved, after, why(deps, `request:${requestId}`));
}

/** The calls that make an approved change: all of them, tolerating steps still in effect when it was live. */
function applyCalls(
  change: Change,
  approved: readonly Rule[],
  revertError: ApplyMessage["revertError"],
): { ops: Ec2Operation[]; tolerateDone: boolean } {
  if (revertError && STANDS_BY_POLICY.has(revertError.code)) return { ops: [], tolerateDone: true };
  if (revertError && NOTHING_REVERTED.has(revertError.code) && change.kind === "modify") {
    // An edit that was never undone is in place; if its old rule is not known there is nothing to plan.
    if (!isResolved(change)) return { ops: [], tolerateDone: true };
  }
  return {
    ops: applyPlanAgainst(change, approved),
    tolerateDone: revertError !== undefined,
  };
}

/**
 * applySecurityGroupChange, approve: make the approved change again (its steps still in effect
 * tolerated when it was live), and move the approved baseline by exactly that change.
 */
export async function applyChange(deps: MemberDeps, message: ApplyMessage): Promise<ResultMessage> {
  const change = await recordedChange(deps, message);
  return oncePerRequest(deps, message.requestId, "applied", () =>
    holding(deps, change.groupId, async () => {
      const group = await deps.baselines.read(change.groupId);
      const approved = group?.rules ?? [];
      const { ops, tolerateDone } = applyCalls(change, approved, message.revertError);
      const performed = await perform(deps, ops, tolerateDone);
      // Nothing written: the rules' ids come from EC2 as the change stands.
      if (ops.length === 0 && message.revertError) performed.resync = true;
      await approveIntoBaseline(deps, change, approved, performed, message.requestId);
      if (group?.open.some((o) => o.eventId === change.eventId)) {
        await deps.baselines.closeChange(change.groupId, change.eventId);
      }
      return performed;
    }),
  );
}

/**
 * A live change (one not reverted when it happened) was denied or expired: revert it now, from
 * what this member recorded and the approved baseline, steps already undone tolerated. Only
 * approved rules come back, and only unapproved ones go.
 */
export async function revertLater(
  deps: MemberDeps,
  message: RevertMessage,
): Promise<ResultMessage> {
  const recorded = await recordedChange(deps, message);
  return oncePerRequest(deps, message.requestId, "reverted", () =>
    holding(deps, recorded.groupId, () => undoRecorded(deps, recorded)),
  );
}

/**
 * Reverts a change this member recorded and left live (the caller holds its group): only approved
 * rules come back, only unapproved ones go, steps already undone are tolerated, and the baseline
 * learns the ids of the rules re-created. Once undone, the change is no longer open, unless the
 * caller closes it itself (`close: false`: the sweep does once the hub has been told).
 */
export async function undoRecorded(
  deps: MemberDeps,
  recorded: Change,
  options: { close: boolean } = { close: true },
): Promise<Performed> {
  const group = await deps.baselines.read(recorded.groupId);
  const approved = group?.rules ?? [];
  const keys = new Set(approved.map(ruleKey));
  let change = resolveChange(recorded, approved);
  if (change.kind === "add")
    change = { ...change, rules: change.rules.filter((r) => !keys.has(ruleKey(r))) };
  if (change.kind === "remove")
    change = { ...change, rules: change.rules.filter((r) => keys.has(ruleKey(r))) };
  const empty = (change.kind === "add" || change.kind === "remove") && change.rules.length === 0;
  const performed = await perform(deps, empty ? [] : revertPlan(change), true);
  const created = performed.done.flatMap((d) => d.created);
  const source = performed.resync ? await liveRules(deps, change.groupId) : created;
  if (source.length > 0) {
    await writeBaseline(
      deps,
      change.groupId,
      approved,
      withLiveIds(approved, source),
      why(deps, `revert:${change.eventId}`),
    );
  }
  if (options.close && !performed.error && group?.open.some((o) => o.eventId === change.eventId)) {
    await deps.baselines.closeChange(change.groupId, change.eventId);
  }
  return performed;
}

/** What the hub sends on applySecurityGroupChange: an approval to apply, or a revert. */
export async function handleHubMessage(
  deps: MemberDeps,
  message: MemberMessage,
): Promise<ResultMessage | undefined> {
  try {
    return message.type === "apply"
      ? await applyChange(deps, message)
      : await revertLater(deps, message);
  } catch (err) {
    // Refused: nothing was done, and nothing is reported (the hub did not send it, or it is stale).
    if (err instanceof RefusedMessageError) return undefined;
    throw err;
  }
}
