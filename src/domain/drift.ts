/**
 * Drift: what a group's live rules hold that its approved baseline does not, or the other way
 * round, with no CloudTrail event to explain it.
 *
 * The comparison is by content (direction, protocol, ports, peer and description), so a rule the
 * system itself re-created under a new id (a reverted removal) is the same approved rule, not
 * drift: only its id moves. Changes still waiting for a decision while live (a late event, a
 * revert that failed, notify mode) are "open": until they are decided, what they touch may stand
 * either way.
 */
import {
  type Change,
  changedRules,
  DRIFT_EVENT_NAME,
  type DriftChange,
  type Modification,
  takenRules,
  UNKNOWN_REQUESTER,
} from "./change.js";
import { contentKey, type Rule, type RuleBody, ruleKey } from "./rule.js";

export interface GroupDiff {
  added: Rule[];
  removed: Rule[];
  modifications: Modification[];
  /** Approved rules that stand under another id: the baseline learns the new id. */
  renamed: { fromId: string; rule: Rule }[];
}

const body = ({ direction: _d, ruleId: _id, ...rest }: Rule): RuleBody => rest;

/** Removes and returns the first rule of `pool` that `matches`. */
function take(pool: Rule[], matches: (r: Rule) => boolean): Rule | undefined {
  const i = pool.findIndex(matches);
  return i < 0 ? undefined : pool.splice(i, 1)[0];
}

/**
 * The difference between `expected` (the approved rules, open changes applied) and `live` (what
 * DescribeSecurityGroupRules says now, every rule with its id).
 */
export function diffRules(expected: readonly Rule[], live: readonly Rule[]): GroupDiff {
  const diff: GroupDiff = { added: [], removed: [], modifications: [], renamed: [] };
  const liveById = new Map(live.filter((r) => r.ruleId).map((r) => [r.ruleId as string, r]));
  const leftExpected: Rule[] = [];
  const matchedIds = new Set<string>();
  for (const rule of expected) {
    const same = rule.ruleId ? liveById.get(rule.ruleId) : undefined;
    if (!same) {
      leftExpected.push(rule);
      continue;
    }
    matchedIds.add(same.ruleId as string);
    if (contentKey(same) !== contentKey(rule)) {
      diff.modifications.push({ ruleId: same.ruleId as string, rule: body(same), before: rule });
    }
  }
  const leftLive = live.filter((r) => !(r.ruleId && matchedIds.has(r.ruleId)));
  for (const rule of leftExpected) {
    const twin = take(leftLive, (r) => contentKey(r) === contentKey(rule));
    if (!twin) diff.removed.push(rule);
    else if (rule.ruleId && twin.ruleId && rule.ruleId !== twin.ruleId) {
      diff.renamed.push({ fromId: rule.ruleId, rule: twin });
    }
  }
  diff.added.push(...leftLive);
  return diff;
}

/**
 * The part of a difference that no open change explains. An open change (live, waiting for a
 * decision) may stand or go either way until it is decided: the rules it adds may be live or not,
 * the rules it removes may be missing or not, and so for its edits.
 */
export function unexplained(diff: GroupDiff, open: readonly Change[]): GroupDiff {
  const mayBeLive = new Set(open.flatMap((c) => changedRules(c)).map(ruleKey));
  const mayBeGone = new Set(open.flatMap((c) => takenRules(c)).map(ruleKey));
  const editedIds = new Set(
    open.flatMap((c) =>
      c.kind === "modify" || c.kind === "drift" ? c.modifications.map((m) => m.ruleId) : [],
    ),
  );
  return {
    added: diff.added.filter((r) => !mayBeLive.has(ruleKey(r))),
    removed: diff.removed.filter((r) => !mayBeGone.has(ruleKey(r))),
    modifications: diff.modifications.filter((m) => !editedIds.has(m.ruleId)),
    renamed: diff.renamed,
  };
}

export function isDrift(diff: GroupDiff): boolean {
  return diff.added.length + diff.removed.length + diff.modifications.length > 0;
}

/** The lines of a drift, one per added, removed or edited rule (ids and content). */
export function driftLines(diff: GroupDiff): string[] {
  return [
    ...diff.added.map((r) => `+${r.ruleId ?? ""}|${contentKey(r)}`),
    ...diff.removed.map((r) => `-${r.ruleId ?? ""}|${contentKey(r)}`),
    ...diff.modifications.map(
      (m) =>
        `~${m.ruleId}|${m.before ? contentKey(m.before) : ""}>${contentKey({ ...m.rule, direction: m.before?.direction ?? "ingress" })}`,
    ),
  ];
}

/**
 * A canonical text of the drift, the same for the same difference whatever the order EC2 listed
 * the rules in: it is hashed into the drift's event id.
 */
export function driftFingerprint(diff: GroupDiff): string {
  return driftLines(diff).sort().join("\n");
}

/** The part of `diff` whose lines (see driftLines) are in `keep`. */
export function restrictDiff(diff: GroupDiff, keep: ReadonlySet<string>): GroupDiff {
  const lines = driftLines(diff);
  let i = 0;
  const kept = <T>(items: readonly T[]) => items.filter(() => keep.has(lines[i++] ?? ""));
  return {
    added: kept(diff.added),
    removed: kept(diff.removed),
    modifications: kept(diff.modifications),
    renamed: diff.renamed,
  };
}

/**
 * What the sweep remembers between runs (the grace window): each line of a difference with when
 * it was first seen, so that each part of a drift is filed once it has persisted, even when more
 * drift keeps coming (a whole-difference fingerprint would start the window again at each new
 * change). Kept as the suspect's `fingerprint` ("<firstSeenAt>\t<line>" per line; a line without
 * a time, as written before, was first seen at the suspect's `firstSeenAt`).
 */
export function suspectLines(
  suspect: { fingerprint: string; firstSeenAt: string } | undefined,
): Map<string, string> {
  const seen = new Map<string, string>();
  if (!suspect?.fingerprint) return seen;
  for (const entry of suspect.fingerprint.split("\n")) {
    const tab = entry.indexOf("\t");
    if (tab < 0) seen.set(entry, suspect.firstSeenAt);
    else seen.set(entry.slice(tab + 1), entry.slice(0, tab));
  }
  return seen;
}

/** The suspect to keep for these lines (line -> first seen), or undefined for none. */
export function suspectOf(
  seen: ReadonlyMap<string, string>,
): { fingerprint: string; firstSeenAt: string } | undefined {
  if (seen.size === 0) return undefined;
  const entries = [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    fingerprint: entries.map(([line, at]) => `${at}\t${line}`).join("\n"),
    firstSeenAt: entries.map(([, at]) => at).sort()[0] as string,
  };
}

/**
 * What EC2 gives a group at creation, which the sweep adopts for a group it has never seen: the
 * egress rule allowing all IPv4 traffic; for a VPC's `default` group also all IPv6 traffic out
 * (in a VPC with IPv6) and the ingress rule admitting its own members.
 */
export function creationDefaults(group: { groupId: string; groupName?: string }): Rule[] {
  const all = { protocol: "all", fromPort: null, toPort: null } as const;
  const defaults: Rule[] = [
    { direction: "egress", ...all, peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" } },
  ];
  if (group.groupName === "default") {
    defaults.push(
      { direction: "egress", ...all, peer: { kind: "cidrIpv6", cidr: "::/0" } },
      { direction: "ingress", ...all, peer: { kind: "group", groupId: group.groupId } },
    );
  }
  return defaults;
}

/** The live rules of a new group that are its creation defaults (matched without description). */
export function adoptedAtCreation(
  group: { groupId: string; groupName?: string },
  live: readonly Rule[],
): Rule[] {
  const keys = new Set(creationDefaults(group).map(ruleKey));
  const adopted: Rule[] = [];
  for (const rule of live) {
    const key = ruleKey(rule);
    if (keys.delete(key)) adopted.push(rule);
  }
  return adopted;
}

export interface DriftContext {
  account: string;
  region: string;
  groupId: string;
  /** The id the member derived from the group and the fingerprint (hashing is not the domain's). */
  eventId: string;
  /** When the drift was first seen: the change's time. */
  firstSeenAt: string;
}

export function driftChange(diff: GroupDiff, context: DriftContext): DriftChange {
  return {
    kind: "drift",
    eventName: DRIFT_EVENT_NAME,
    eventId: context.eventId,
    eventTime: context.firstSeenAt,
    account: context.account,
    region: context.region,
    groupId: context.groupId,
    requester: UNKNOWN_REQUESTER,
    added: diff.added,
    removed: diff.removed,
    modifications: diff.modifications,
  };
}

/**
 * Whether a change recorded by CloudTrail is the same difference a drift request already
 * reverted: it was made before the drift was filed (`filedAt`; a change made after cannot be what
 * the sweep saw, even when it repeats it), each rule it added is among the drift's added rules,
 * each rule it removed among the drift's removed ones, each edit one of the drift's edits (same
 * rule, same new content). Rules are matched by id where both sides have one (a rule the revert
 * re-created has a new id), else by what they allow. Such an event joins the drift request
 * instead of filing a second one.
 */
export function explainsDrift(change: Change, drift: DriftChange, filedAt?: string): boolean {
  if (filedAt !== undefined && Date.parse(change.eventTime) > Date.parse(filedAt)) return false;
  const same = (p: Rule, r: Rule) =>
    p.ruleId && r.ruleId
      ? p.ruleId === r.ruleId && ruleKey(p) === ruleKey(r)
      : ruleKey(p) === ruleKey(r);
  const has = (pool: readonly Rule[], r: Rule) => pool.some((p) => same(p, r));
  const bodyKey = (rule: RuleBody) => contentKey({ ...rule, direction: "ingress" });
  if (change.kind === "prefixList") return false; // a list change never shows in a group's rules
  switch (change.kind) {
    case "add":
      return change.rules.length > 0 && change.rules.every((r) => has(drift.added, r));
    case "remove":
      return change.rules.length > 0
        ? change.rules.every((r) => has(drift.removed, r))
        : change.ruleIds.length > 0 &&
            change.ruleIds.every((id) => drift.removed.some((r) => r.ruleId === id));
    case "modify":
      return (
        change.modifications.length > 0 &&
        change.modifications.every((m) =>
          drift.modifications.some(
            (d) => d.ruleId === m.ruleId && bodyKey(d.rule) === bodyKey(m.rule),
          ),
        )
      );
    case "drift":
      return false;
  }
}
