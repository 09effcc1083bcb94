/**
 * The member account's work: revert a change and file it with the hub, apply an approved change,
 * and keep each group's baseline. Everything outside (EC2, DynamoDB, SNS, the clock) comes in
 * through `MemberDeps`, so the same code runs on Lambda, in the sandbox and in tests.
 */
import { diffRuleSets, type PerformedOperation, ruleSetAfter } from "../domain/baseline.js";
import { BaselineGapError, type Change, resolveChange } from "../domain/change.js";
import {
  GroupNamedOnlyError,
  MalformedEventError,
  type ParseResult,
  parseCloudTrailEvent,
  withGroupId,
} from "../domain/cloudtrail.js";
import {
  type ApplyMessage,
  type ChangeMessage,
  type MemberMessage,
  parseResultMessage,
  type ResultMessage,
  type RevertMessage,
} from "../domain/messages.js";
import { applyPlan, type Ec2Operation, revertPlan } from "../domain/plan.js";
import { evaluatePolicy, type PolicyConfig } from "../domain/policy.js";
import type { ApplyError } from "../domain/request.js";
import type { Rule } from "../domain/rule.js";
import { LATE_EVENT_CODE } from "../domain/slack/messages.js";
import type { Baselines, EventLedger } from "../ports/baselines.js";
import { OUTCOME_ERROR_CODES, SecurityGroupApiError } from "../ports/errors.js";
import type { Log } from "../ports/log.js";
import type { Publisher } from "../ports/publisher.js";
import type { SecurityGroups } from "../ports/security-groups.js";

export interface MemberDeps {
  securityGroups: SecurityGroups;
  baselines: Baselines;
  ledger: EventLedger;
  publisher: Publisher;
  clock: () => Date;
  log: Log;
  config: {
    hubChangeTopicArn: string;
    hubResultTopicArn: string;
    policy: PolicyConfig;
    accountAlias?: string;
  };
}

export type RevertOutcome =
  | { status: "ignored"; reason: string }
  | { status: "exempt"; reason: string }
  | { status: "duplicate"; eventId: string; republished: boolean }
  | { status: "reverted"; message: ChangeMessage; calls: number }
  | { status: "revert_failed"; message: ChangeMessage; calls: number };

/** EC2 errors that mean a revert step is already done (a redelivered event, or a race). */
function alreadyDone(op: Ec2Operation, err: unknown): boolean {
  if (!(err instanceof SecurityGroupApiError)) return false;
  if (op.action === "revoke")
    return (
      err.code === "InvalidPermission.NotFound" ||
      err.code === "InvalidSecurityGroupRuleId.NotFound"
    );
  if (op.action === "authorize") return err.code === "InvalidPermission.Duplicate";
  return false;
}

function toApplyError(err: unknown): ApplyError {
  if (err instanceof SecurityGroupApiError) return { code: err.code, message: err.detail };
  if (err instanceof BaselineGapError) return { code: "BaselineGap", message: err.message };
  return { code: "InternalError", message: err instanceof Error ? err.message : String(err) };
}

interface Performed {
  done: PerformedOperation[];
  /** Steps EC2 said were done already: the baseline must be re-read from EC2. */
  resync: boolean;
  error?: ApplyError;
}

async function perform(
  deps: MemberDeps,
  ops: Ec2Operation[],
  tolerateDone: boolean,
): Promise<Performed> {
  const result: Performed = { done: [], resync: false };
  for (const op of ops) {
    try {
      const { created } = await deps.securityGroups.execute(op);
      result.done.push({ op, created });
      // EC2 reports every rule an authorize created; when it reports fewer, re-read the group.
      if (op.action === "authorize" && created.length < op.rules.length) result.resync = true;
    } catch (err) {
      if (tolerateDone && alreadyDone(op, err)) {
        result.resync = true;
        continue;
      }
      if (
        !(err instanceof SecurityGroupApiError) ||
        (!OUTCOME_ERROR_CODES.has(err.code) && err.retryable)
      )
        throw err;
      result.error = toApplyError(err);
      result.resync = result.done.length > 0;
      break;
    }
  }
  return result;
}

/** Re-reads one group's rules from EC2 into its baseline (after anything unexpected). */
export async function resyncGroup(deps: MemberDeps, groupId: string): Promise<number> {
  const rules: Rule[] = [];
  for await (const { rule } of deps.securityGroups.describeRules([groupId])) rules.push(rule);
  await deps.baselines.replace(groupId, rules, deps.clock().toISOString());
  return rules.length;
}

async function updateBaseline(
  deps: MemberDeps,
  groupId: string,
  before: Rule[] | undefined,
  change: Change | undefined,
  performed: Performed,
): Promise<void> {
  if (performed.resync) {
    await resyncGroup(deps, groupId);
    return;
  }
  const after = ruleSetAfter(before ?? [], change, performed.done);
  const delta = diffRuleSets(before ?? [], after);
  if (delta.put.length || delta.removeIds.length) await deps.baselines.update(groupId, delta);
}

/** A baseline is read only when the change needs one: no DynamoDB read for a plain add. */
function needsBaseline(change: Change): boolean {
  return change.kind !== "add";
}

async function publishOutbox(deps: MemberDeps, eventId: string, message: string): Promise<void> {
  await deps.publisher.publish(deps.config.hubChangeTopicArn, message, { type: "change" });
  await deps.ledger.markPublished(eventId);
}

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

/**
 * revertSecurityGroup: undo a governed change at once, then file it with the hub. The revert
 * never waits on the hub: the request is kept in the ledger's outbox until it is published.
 */
export async function revertChange(deps: MemberDeps, event: unknown): Promise<RevertOutcome> {
  const parsed = await parseEvent(deps, event);
  if (parsed.ignored) return { status: "ignored", reason: parsed.reason };
  let change = parsed.change;
  const started = deps.clock();

  // The ledger first. A retry of an event reverted before only delivers its outbox message,
  // however old the event is by then; a retry of one that failed half-way goes on, judged by the
  // time it first arrived, so a slow retry is not taken for a late event.
  const seen = await deps.ledger.receive(change.eventId, started.toISOString());
  if (seen?.handledAt) {
    if (seen.pending) await publishOutbox(deps, seen.eventId, seen.pending);
    return { status: "duplicate", eventId: seen.eventId, republished: seen.pending !== undefined };
  }
  const receivedAt = seen ? new Date(seen.receivedAt) : started;

  const decision = evaluatePolicy(change, deps.config.policy, receivedAt);
  if (decision.action === "ignore") return { status: "ignored", reason: decision.reason };
  if (decision.action === "exempt") {
    // The change stands: the baseline learns it, so a later revert restores it faithfully.
    await resyncGroup(deps, change.groupId);
    return { status: "exempt", reason: decision.reason };
  }

  // The group's name for the messages, read alongside the revert (never an EC2 Describe).
  const groupName = deps.baselines.groupName(change.groupId).catch((err: unknown) => {
    deps.log.warn("could not read the group's name", {
      groupId: change.groupId,
      error: String(err),
    });
    return undefined;
  });
  const before = needsBaseline(change) ? await deps.baselines.get(change.groupId) : undefined;
  let performed: Performed = { done: [], resync: false };
  let calls = 0;
  if (decision.action === "leave") {
    // Too late to act on alone: the change stays, and a person decides. The change keeps what
    // the baseline knew of it (a Deny reverts it later); the baseline follows EC2.
    if (before) change = resolvedIfKnown(change, before);
    performed = {
      done: [],
      resync: true,
      error: { code: LATE_EVENT_CODE, message: decision.reason },
    };
  } else {
    try {
      if (before) change = resolveChange(change, before);
      const ops = revertPlan(change);
      performed = await perform(deps, ops, true);
      calls = ops.length;
    } catch (err) {
      if (!(err instanceof BaselineGapError)) throw err;
      // The old rule is unknown: the change stays until a person decides; the baseline learns
      // the group's rules as they are now.
      performed = { done: [], resync: true, error: toApplyError(err) };
    }
  }
  await updateBaseline(deps, change.groupId, before, change, performed);

  const name = await groupName;
  const finished = deps.clock();
  const message: ChangeMessage = {
    type: "change",
    change,
    ...(name ? { groupName: name } : {}),
    revertedAt: finished.toISOString(),
    revertMs: finished.getTime() - started.getTime(),
    ...(deps.config.accountAlias ? { accountAlias: deps.config.accountAlias } : {}),
    ...(performed.error ? { revertError: performed.error } : {}),
    ...(decision.action === "auto_deny"
      ? { policy: { status: "auto_denied" as const, rule: decision.rule, reason: decision.reason } }
      : {}),
  };

  const raw = JSON.stringify(message);
  const recorded = await deps.ledger.record({
    eventId: change.eventId,
    pending: raw,
    handledAt: finished.toISOString(),
  });
  if (!recorded) return { status: "duplicate", eventId: change.eventId, republished: false };
  await publishOutbox(deps, change.eventId, raw);
  return performed.error
    ? { status: "revert_failed", message, calls }
    : { status: "reverted", message, calls };
}

/**
 * The EC2 calls that make an approved change: none when it was never reverted at all (it is
 * live already), and steps already in effect tolerated when the revert stopped part-way.
 */
function applyCalls(message: ApplyMessage): { ops: Ec2Operation[]; tolerateDone: boolean } {
  const live = message.revertError;
  if (!live) return { ops: applyPlan(message.change), tolerateDone: false };
  if (NOTHING_REVERTED.has(live.code)) return { ops: [], tolerateDone: true };
  try {
    return { ops: applyPlan(message.change), tolerateDone: true };
  } catch (err) {
    if (err instanceof BaselineGapError) return { ops: [], tolerateDone: true };
    throw err;
  }
}

/** Revert errors that mean no revert call was made: the change stands whole. */
const NOTHING_REVERTED = new Set([LATE_EVENT_CODE, "BaselineGap"]);

/** `change` with what `baseline` knows of its old rules, or as it is when the baseline lacks them. */
function resolvedIfKnown(change: Change, baseline: readonly Rule[]): Change {
  try {
    return resolveChange(change, baseline);
  } catch (err) {
    if (err instanceof BaselineGapError) return change;
    throw err;
  }
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

/**
 * applySecurityGroupChange: make an approved change again and report the result to the hub.
 * Once per request: a redelivered or re-sent approval reports the first result again.
 */
export function applyChange(deps: MemberDeps, message: ApplyMessage): Promise<ResultMessage> {
  return oncePerRequest(deps, message.requestId, "applied", async () => {
    const { change } = message;
    const { ops, tolerateDone } = applyCalls(message);
    const before = change.kind === "add" ? undefined : await deps.baselines.get(change.groupId);
    const performed = await perform(deps, ops, tolerateDone);
    // A change that was live (never or partly reverted): the baseline is read again from EC2.
    if (message.revertError) performed.resync = true;
    await updateBaseline(deps, change.groupId, before, undefined, performed);
    return performed;
  });
}

/**
 * A live change (one the member could not revert when it happened) was denied: revert it now,
 * from what the change and the baseline know, steps already undone tolerated.
 */
export function revertDenied(deps: MemberDeps, message: RevertMessage): Promise<ResultMessage> {
  return oncePerRequest(deps, message.requestId, "reverted", async () => {
    const before = await deps.baselines.get(message.change.groupId);
    const change = before ? resolvedIfKnown(message.change, before) : message.change;
    const performed = await perform(deps, revertPlan(change), true);
    performed.resync = true;
    await updateBaseline(deps, change.groupId, before, change, performed);
    return performed;
  });
}

/** What the hub sends on applySecurityGroupChange: an approval to apply, or a deny to revert. */
export function handleHubMessage(deps: MemberDeps, message: MemberMessage): Promise<ResultMessage> {
  return message.type === "apply" ? applyChange(deps, message) : revertDenied(deps, message);
}

async function publishResult(deps: MemberDeps, raw: string): Promise<ResultMessage> {
  await deps.publisher.publish(deps.config.hubResultTopicArn, raw, { type: "result" });
  return parseResultMessage(raw);
}

export interface SweepResult {
  groups: number;
  rules: number;
  republished: number;
}

/**
 * The baseline sweep: every group's rules in the region (or the given groups) into the baseline,
 * then any outbox message the hub has not received yet.
 */
export async function sweepBaselines(
  deps: MemberDeps,
  groupIds?: readonly string[],
): Promise<SweepResult> {
  const byGroup = new Map<string, Rule[]>((groupIds ?? []).map((id) => [id, []]));
  for await (const { groupId, rule } of deps.securityGroups.describeRules(groupIds)) {
    const rules = byGroup.get(groupId) ?? [];
    rules.push(rule);
    byGroup.set(groupId, rules);
  }
  const names = new Map<string, string | undefined>();
  for await (const group of deps.securityGroups.describeGroups(groupIds)) {
    names.set(group.groupId, group.groupName);
    if (!byGroup.has(group.groupId)) byGroup.set(group.groupId, []);
  }
  const sweptAt = deps.clock().toISOString();
  let rules = 0;
  for (const [groupId, groupRules] of byGroup) {
    await deps.baselines.replace(groupId, groupRules, sweptAt, names.get(groupId));
    rules += groupRules.length;
  }
  let republished = 0;
  for await (const entry of deps.ledger.unpublished()) {
    if (!entry.pending) continue;
    await publishOutbox(deps, entry.eventId, entry.pending);
    republished += 1;
  }
  return { groups: byGroup.size, rules, republished };
}
