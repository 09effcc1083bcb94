/**
 * The approved baseline as content. A group's approved rules are known by what they are
 * (direction, protocol, ports, peer, description); their ids are only where EC2 keeps them now. So
 * a revert never moves the approved content (a rule it re-created only gets its new id), and an
 * applied approval moves it by exactly the approved change.
 */
import type { Change } from "./change.js";
import { contentKey, type Rule, ruleKey } from "./rule.js";

export interface BaselineDelta {
  /** Rules to write (new, or changed content), each with its id. */
  put: Rule[];
  /** Ids of rules that are gone. */
  removeIds: string[];
}

/** What changed between two rule sets, by rule id. Rules without an id cannot be stored. */
export function diffRuleSets(before: readonly Rule[], after: readonly Rule[]): BaselineDelta {
  const old = new Map(before.filter((r) => r.ruleId).map((r) => [r.ruleId as string, r]));
  const now = new Map(after.filter((r) => r.ruleId).map((r) => [r.ruleId as string, r]));
  const put = [...now.values()].filter((r) => {
    const was = old.get(r.ruleId as string);
    return !was || ruleKey(was) !== ruleKey(r) || was.description !== r.description;
  });
  const removeIds = [...old.keys()].filter((id) => !now.has(id));
  return { put, removeIds };
}

const bare = ({ ruleId: _id, ...rule }: Rule): Rule => rule;

/**
 * `rules` with the ids their live twins have (same content), each live rule used once. A rule
 * whose id EC2 still has with that content keeps it; a rule with no live twin keeps what it had.
 * A live rule under the id of one of `rules` is that rule (edited, maybe): it is never the twin of
 * another, or an edit that made one rule look like another would pass for approved.
 */
export function withLiveIds(rules: readonly Rule[], live: readonly Rule[]): Rule[] {
  const pool = [...live];
  const ownIds = new Set(rules.flatMap((r) => (r.ruleId ? [r.ruleId] : [])));
  const takeWhere = (match: (l: Rule) => boolean) => {
    const i = pool.findIndex(match);
    return i < 0 ? undefined : pool.splice(i, 1)[0];
  };
  const sameId = rules.map((r) =>
    r.ruleId
      ? takeWhere((l) => l.ruleId === r.ruleId && contentKey(l) === contentKey(r))
      : undefined,
  );
  return rules.map((r, i) => {
    if (sameId[i]) return r;
    const twin = takeWhere(
      (l) => !(l.ruleId && ownIds.has(l.ruleId)) && contentKey(l) === contentKey(r),
    );
    return twin?.ruleId ? { ...r, ruleId: twin.ruleId } : r;
  });
}

/**
 * The approved rules once `change` is approved and applied: its added rules join (without the ids
 * their first, reverted, creation had), its removed rules leave, its edited rules take their new
 * content. Matched by content, as the revert may have given the rules new ids since.
 */
export function approvedAfter(approved: readonly Rule[], change: Change): Rule[] {
  const removing = (rules: readonly Rule[]) => {
    const keys = new Set(rules.map(ruleKey));
    return (r: Rule) => !keys.has(ruleKey(r));
  };
  const edit = (
    state: Rule[],
    modifications: Extract<Change, { kind: "modify" }>["modifications"],
  ) =>
    state.map((r) => {
      const m = modifications.find(
        (x) => x.before && (contentKey(x.before) === contentKey(r) || x.before.ruleId === r.ruleId),
      );
      return m
        ? { ...m.rule, direction: r.direction, ...(r.ruleId ? { ruleId: r.ruleId } : {}) }
        : r;
    });
  switch (change.kind) {
    case "add":
      return [...approved, ...change.rules.map(bare)];
    case "remove":
      return approved.filter(removing(change.rules));
    case "modify":
      return edit([...approved], change.modifications);
    case "drift":
      return [
        ...edit(approved.filter(removing(change.removed)), change.modifications),
        ...change.added.map(bare),
      ];
    case "prefixList":
      // The list's entries moved, not the group's rules: its approved rules stay as they are.
      return [...approved];
  }
}

/** Rules of `rules` that have no id (they cannot be stored until EC2 is asked for theirs). */
export function withoutIds(rules: readonly Rule[]): Rule[] {
  return rules.filter((r) => !r.ruleId);
}
