/**
 * sweepBaseline, the drift check (every 15 minutes, and at deploy). It never writes a group's
 * approved rules from what EC2 has, except:
 * - at install: the first sweep adopts every group as it stands (recorded as "install", with the
 *   deployment that did it);
 * - for a group it has never seen: the rules EC2 gives every new group (the default egress rule)
 *   are adopted; anything beyond them is drift like any other;
 * - a deleted group's baseline is retired, and an approved rule EC2 keeps under a new id gets it.
 *
 * Live rules that differ from the approved baseline, with no open change to explain them, are
 * drift once the same difference has been seen by two sweeps at least `graceSeconds` apart
 * (CloudTrail may take many minutes to deliver the event that explains it; 0 files at first
 * sight). Each part of a difference (a rule added, removed or edited) has its own window, so drift
 * that keeps coming never holds back the part that has waited long enough. Drift is reverted and
 * filed as a request of kind "drift" like any other; an event that arrives after joins that
 * request. A group a revert or an apply is working on is left for the next sweep. At most
 * `maxPerSweep` drifts are filed per run.
 *
 * Fail closed: a change a revert left live because it failed (not a late event, which policy
 * leaves for a person) is reverted by the sweep, and its request is told so (its message is sent
 * again without the error).
 */
import { withLiveIds } from "../../domain/baseline.js";
import { BaselineGapError } from "../../domain/change.js";
import {
  adoptedAtCreation,
  diffRules,
  driftChange,
  driftFingerprint,
  driftLines,
  type GroupDiff,
  isDrift,
  restrictDiff,
  suspectLines,
  suspectOf,
  unexplained,
} from "../../domain/drift.js";
import type { ChangeMessage } from "../../domain/messages.js";
import { revertPlan } from "../../domain/plan.js";
import type { Rule } from "../../domain/rule.js";
import type { GroupRecord, ProcessedEvent } from "../../ports/baselines.js";
import type { GroupInfo } from "../../ports/security-groups.js";
import { undoRecorded } from "./apply.js";
import {
  decideChange,
  groupFacts,
  groupField,
  LEFT_BY_POLICY,
  policyField,
  standingError,
} from "./decide.js";
import {
  eventRef,
  leaseUntil,
  liveRules,
  type MemberDeps,
  perform,
  why,
  writeBaseline,
} from "./deps.js";
import { flushOutbox } from "./outbox.js";
import { adoptStanding, file } from "./revert.js";

export interface SweepResult {
  /** Groups in the region. */
  groups: number;
  rules: number;
  /** Drift reverted and filed by this run. */
  drift: number;
  /** Differences seen for the first time, waiting out the grace window. */
  suspected: number;
  /** Groups whose baseline this run adopted (at install, or new groups' defaults). */
  adopted: number;
  retired: number;
  /** Groups left alone because a revert or an apply held them. */
  busy: number;
  /** Changes a failed revert had left live, reverted by this run (their requests told so). */
  recovered?: number;
  /** Outbox messages sent to the hub. */
  republished: number;
  /** The sweep of the install: every group adopted as it stood. */
  install: boolean;
}

/** Schedules may fire a little early: two sweeps this much under the grace window still count. */
const SCHEDULE_SLACK_MS = 60_000;

/** Groups adopted at once (each adoption is a Query and a BatchWriteItem of its own items). */
const ADOPT_CONCURRENCY = 16;

async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

function byGroup(rules: AsyncIterable<{ groupId: string; rule: Rule }>) {
  return (async () => {
    const map = new Map<string, Rule[]>();
    for await (const { groupId, rule } of rules) {
      const list = map.get(groupId) ?? [];
      list.push(rule);
      map.set(groupId, list);
    }
    return map;
  })();
}

async function describeAll(deps: MemberDeps): Promise<Map<string, GroupInfo>> {
  const groups = new Map<string, GroupInfo>();
  for await (const g of deps.securityGroups.describeGroups()) groups.set(g.groupId, g);
  return groups;
}

export async function sweepBaselines(deps: MemberDeps): Promise<SweepResult> {
  const now = deps.clock();
  const at = now.toISOString();
  // Live first, then the baselines: a revert or an apply that changes EC2 in between holds its
  // group (its lease is read below), so its half-done state is never taken for drift.
  const [liveByGroup, info] = await Promise.all([
    byGroup(deps.securityGroups.describeRules()),
    describeAll(deps),
  ]);
  const [records, installation] = await Promise.all([
    deps.baselines.snapshot(),
    deps.baselines.installation(),
  ]);
  const install = installation === undefined;
  const result: SweepResult = {
    groups: info.size,
    rules: [...liveByGroup.values()].reduce((n, r) => n + r.length, 0),
    drift: 0,
    suspected: 0,
    adopted: 0,
    retired: 0,
    busy: 0,
    recovered: 0,
    republished: 0,
    install,
  };

  // Adoption first (every group at install, new groups' defaults after), a few groups at a time:
  // each is its own items, and one at a time an install of thousands of groups takes minutes.
  const unadopted = [...info.values()].filter(
    (g) => install || records.get(g.groupId)?.rules === undefined,
  );
  await inPool(unadopted, ADOPT_CONCURRENCY, (group) =>
    deps.baselines.adopt(
      group.groupId,
      install
        ? (liveByGroup.get(group.groupId) ?? [])
        : adoptedAtCreation(group, liveByGroup.get(group.groupId) ?? []),
      why(deps, install ? `install:${deps.config.deployment}` : "creation"),
      { name: group.groupName, vpcId: group.vpcId, ...(group.tags ? { tags: group.tags } : {}) },
    ),
  );
  result.adopted = unadopted.length;

  for (const [groupId, group] of install ? [] : info) {
    const live = liveByGroup.get(groupId) ?? [];
    const record = records.get(groupId);
    if (
      record?.rules !== undefined &&
      (record.name !== group.groupName ||
        record.vpcId !== group.vpcId ||
        !sameTags(record.tags, group.tags))
    ) {
      await deps.baselines.describe(groupId, {
        name: group.groupName,
        vpcId: group.vpcId,
        ...(group.tags ? { tags: group.tags } : {}),
      });
    }
    if (record?.busyUntil && record.busyUntil > at) {
      result.busy += 1;
      continue;
    }
    const recovered = record?.open.length ? await recoverFailedReverts(deps, groupId, record) : 0;
    if (recovered === "busy") {
      result.busy += 1;
      continue;
    }
    if (recovered > 0) {
      // EC2 moved since it was read: the rest of this group waits for the next sweep.
      result.recovered = (result.recovered ?? 0) + recovered;
    } else {
      const approved = record?.rules ?? adoptedAtCreation(group, live);
      const outcome = await checkGroup(deps, groupId, approved, live, record, at);
      if (outcome.filed === "busy") result.busy += 1;
      if (outcome.filed === true) result.drift += 1;
      if (outcome.suspected) result.suspected += 1;
    }
    if (result.drift + (result.recovered ?? 0) >= deps.config.drift.maxPerSweep) {
      deps.log.warn("drift limit of this sweep reached: the rest waits for the next sweep", {
        limit: deps.config.drift.maxPerSweep,
      });
      break;
    }
  }

  for (const [groupId, record] of records) {
    if (info.has(groupId) || record.rules === undefined) continue;
    await deps.baselines.retire(groupId);
    result.retired += 1;
  }
  if (install) {
    await deps.baselines.recordInstallation({ at, deployment: deps.config.deployment });
  }
  result.republished = (await flushOutbox(deps)).sent;
  return result;
}

/** Whether two tag sets are the same (tags not read count as the same: nothing to write). */
function sameTags(
  kept: Readonly<Record<string, string>> | undefined,
  read: Readonly<Record<string, string>> | undefined,
): boolean {
  if (read === undefined) return true;
  if (kept === undefined) return false;
  const a = Object.entries(kept).sort();
  const b = Object.entries(read).sort();
  return a.length === b.length && a.every(([k, v], i) => b[i]?.[0] === k && b[i]?.[1] === v);
}

interface GroupOutcome {
  /** Drift was reverted and filed (true), or could not be as the group was held ("busy"). */
  filed: boolean | "busy";
  /** Some difference is waiting out its grace window. */
  suspected: boolean;
}

const differenceOf = (approved: readonly Rule[], live: readonly Rule[], record?: GroupRecord) =>
  unexplained(
    diffRules(approved, live),
    (record?.open ?? []).map((o) => o.change),
  );

/** Writes the suspect (the grace window's memory) when it differs from what is kept. */
async function keepSuspect(
  deps: MemberDeps,
  groupId: string,
  kept: GroupRecord["suspect"],
  seen: ReadonlyMap<string, string>,
): Promise<void> {
  const next = suspectOf(seen);
  if (next?.fingerprint === kept?.fingerprint) return;
  await deps.baselines.setSuspect(groupId, next);
}

async function checkGroup(
  deps: MemberDeps,
  groupId: string,
  approved: readonly Rule[],
  live: readonly Rule[],
  record: GroupRecord | undefined,
  at: string,
): Promise<GroupOutcome> {
  const diff = differenceOf(approved, live, record);
  if (diff.renamed.length > 0) {
    await writeBaseline(deps, groupId, approved, withLiveIds(approved, live), why(deps, "sweep"));
  }
  // Each line of the difference (a rule added, removed, edited) with when it was first seen.
  const before = suspectLines(record?.suspect);
  const grace = deps.config.drift.graceSeconds * 1000;
  const seen = new Map<string, string>();
  const ripe = new Set<string>();
  for (const line of driftLines(diff)) {
    const firstSeenAt = before.get(line) ?? at;
    seen.set(line, firstSeenAt);
    const waited = Date.parse(at) - Date.parse(firstSeenAt);
    if (grace === 0 || (before.has(line) && waited >= grace - SCHEDULE_SLACK_MS)) ripe.add(line);
  }
  const waiting = new Map([...seen].filter(([line]) => !ripe.has(line)));
  if (ripe.size === 0) {
    await keepSuspect(deps, groupId, record?.suspect, waiting);
    return { filed: false, suspected: waiting.size > 0 };
  }
  const firstSeenAt = [...ripe].map((line) => seen.get(line) as string).sort()[0] as string;
  const filed = await fileDrift(deps, groupId, { ripe, firstSeenAt, waiting });
  return { filed, suspected: waiting.size > 0 };
}

/**
 * Reverts and files the ripe part of one group's drift, holding the group, after reading the
 * group and its baseline again: what the sweep saw minutes ago may have moved since. The part
 * still within its grace window is kept as the suspect.
 */
async function fileDrift(
  deps: MemberDeps,
  groupId: string,
  part: { ripe: ReadonlySet<string>; firstSeenAt: string; waiting: ReadonlyMap<string, string> },
): Promise<boolean | "busy"> {
  const now = deps.clock().toISOString();
  if (!(await deps.baselines.lease(groupId, leaseUntil(deps), { exclusive: true, now }))) {
    return "busy";
  }
  try {
    const [record, live] = await Promise.all([
      deps.baselines.read(groupId),
      liveRules(deps, groupId),
    ]);
    const approved = record?.rules;
    if (approved === undefined) return false;
    const diff: GroupDiff = restrictDiff(differenceOf(approved, live, record), part.ripe);
    if (!isDrift(diff)) {
      await keepSuspect(deps, groupId, record?.suspect, part.waiting);
      return false;
    }
    const { firstSeenAt } = part;
    const fingerprint = driftFingerprint(diff);
    const eventId = deps.ids.driftEventId(groupId, fingerprint, firstSeenAt);
    const change = driftChange(diff, {
      account: deps.config.account,
      region: deps.config.region,
      groupId,
      eventId,
      firstSeenAt,
    });
    const requestId = deps.ids.requestIdFor(change);
    // Drift goes through the same policy as any change (kind "drift", its author unknown, no
    // event received): auto_deny, exempt, auto_approve or notify it as the policy says.
    const facts = groupFacts(record);
    const decided = decideChange(deps, change, facts);
    const action = decided.action === "ignore" ? "exempt" : decided.action;
    const extra = {
      ...(record?.name ? { groupName: record.name } : {}),
      ...(groupField(facts) ? { group: groupField(facts) } : {}),
    };
    if (action === "exempt" || action === "auto_approve") {
      await adoptStanding(deps, change, record, `policy:${decided.decision.rule}`);
      await deps.baselines.recordDrift(groupId, { eventId, requestId, change, at: now });
      await keepSuspect(deps, groupId, record?.suspect, part.waiting);
      const finished = deps.clock();
      await fileQuietly(deps, groupId, change, {
        type: "change",
        change,
        ...extra,
        revertedAt: finished.toISOString(),
        revertMs: 0,
        policy: policyField(decided, action === "exempt" ? "exempt" : "auto_approved"),
      });
      deps.log.warn("drift left standing by policy and adopted", {
        groupId,
        eventId,
        requestId,
        rule: decided.decision.rule,
      });
      return true;
    }
    const standing = action === "notify" ? standingError(decided) : undefined;
    const performed = standing
      ? { done: [], resync: false }
      : await perform(deps, revertPlan(change), true);
    const created = performed.done.flatMap((d) => d.created);
    if (created.length > 0 || performed.resync) {
      const source = performed.resync ? await liveRules(deps, groupId) : created;
      await writeBaseline(
        deps,
        groupId,
        approved,
        withLiveIds(approved, source),
        why(deps, `revert:${eventId}`),
      );
    }
    // Kept either way, so that the change's late event joins this request and files no other.
    await deps.baselines.recordDrift(groupId, { eventId, requestId, change, at: now });
    const leftLive = standing ?? performed.error;
    if (leftLive) {
      // Left live (by policy, or a failure the drift check retries): not new drift meanwhile.
      await deps.baselines.openChange(groupId, { eventId, change, code: leftLive.code }, now);
    }
    await keepSuspect(deps, groupId, record?.suspect, part.waiting);
    const finished = deps.clock();
    const message: ChangeMessage = {
      type: "change",
      change,
      ...extra,
      revertedAt: finished.toISOString(),
      revertMs: finished.getTime() - Date.parse(now),
      ...(leftLive ? { revertError: leftLive } : {}),
      policy: policyField(decided, action === "auto_deny" ? "auto_denied" : undefined),
    };
    await fileQuietly(deps, groupId, change, message);
    deps.metrics.count("DriftFiled");
    deps.log.warn("drift reverted and filed", {
      groupId,
      eventId,
      requestId,
      added: diff.added.length,
      removed: diff.removed.length,
      edited: diff.modifications.length,
      revertError: leftLive,
      rule: decided.decision.rule,
    });
    return true;
  } finally {
    await deps.baselines.release(groupId).catch(() => undefined);
  }
}

/** Files a drift's request; a failure is logged: the outbox keeps it for the next sweep. */
async function fileQuietly(
  deps: MemberDeps,
  groupId: string,
  change: Parameters<typeof file>[1],
  message: ChangeMessage,
): Promise<void> {
  try {
    await file(deps, change, message);
  } catch (err) {
    // Kept in the outbox (or sent): the next sweep sends what the hub lacks. The rest of the
    // account is still checked.
    deps.log.error("drift handled, but its request could not be filed yet", {
      groupId,
      eventId: change.eventId,
      error: String(err),
    });
  }
}

/**
 * Whether a recorded change was left live by a failure (a revert that failed, past its retries or
 * on an EC2 error) rather than by policy: a late event, a notify rule or an account in notify
 * mode leave it for a person to decide. The open item says which (its code); an older one without
 * a code is judged by the policy again.
 */
function leftByFailure(
  deps: MemberDeps,
  event: ProcessedEvent,
  open: GroupRecord["open"][number],
  record: GroupRecord,
): boolean {
  if (!event.change) return false;
  if (open.code !== undefined) return !LEFT_BY_POLICY.has(open.code);
  const drift = event.change.kind === "drift";
  const decided = decideChange(
    deps,
    event.change,
    groupFacts(record),
    drift ? undefined : new Date(event.receivedAt),
  );
  return decided.action === "require_approval" || decided.action === "auto_deny";
}

/**
 * Fail closed: reverts the group's open changes that a failed revert left live, as a Deny would,
 * and sends each one's change message again without the error (the hub marks the same request
 * reverted). A change that still cannot be reverted stays open for the next sweep (or a person).
 * Returns how many were reverted, or "busy" when the group is held.
 */
async function recoverFailedReverts(
  deps: MemberDeps,
  groupId: string,
  record: GroupRecord,
): Promise<number | "busy"> {
  const failed: ProcessedEvent[] = [];
  for (const open of record.open) {
    const event = await deps.ledger.get(eventRef(open.change));
    if (event?.handledAt && leftByFailure(deps, event, open, record)) failed.push(event);
  }
  if (failed.length === 0) return 0;
  const started = deps.clock();
  const now = started.toISOString();
  if (!(await deps.baselines.lease(groupId, leaseUntil(deps), { exclusive: true, now }))) {
    return "busy";
  }
  let recovered = 0;
  try {
    for (const event of failed) {
      const change = event.change as NonNullable<ProcessedEvent["change"]>;
      let performed: Awaited<ReturnType<typeof undoRecorded>>;
      try {
        performed = await undoRecorded(deps, change, { close: false });
      } catch (err) {
        if (!(err instanceof BaselineGapError)) throw err;
        continue; // the old rule is not known: it stays for a person
      }
      if (performed.error) {
        deps.log.warn("a change left live by a failed revert still cannot be reverted", {
          groupId,
          eventId: change.eventId,
          error: performed.error,
        });
        continue;
      }
      const finished = deps.clock();
      const message: ChangeMessage = {
        type: "change",
        change,
        ...(record.name ? { groupName: record.name } : {}),
        revertedAt: finished.toISOString(),
        revertMs: finished.getTime() - started.getTime(),
      };
      recovered += 1;
      try {
        await deps.hub.send("change", JSON.stringify(message));
        await deps.baselines.closeChange(groupId, change.eventId);
      } catch (err) {
        // Still open: the next sweep tells the hub (its revert then finds nothing to undo).
        deps.log.error("a change reverted by the sweep could not be reported yet", {
          groupId,
          eventId: change.eventId,
          error: String(err),
        });
        continue;
      }
      deps.log.warn("a change left live by a failed revert was reverted", {
        groupId,
        eventId: change.eventId,
      });
    }
  } finally {
    await deps.baselines.release(groupId).catch(() => undefined);
  }
  return recovered;
}
