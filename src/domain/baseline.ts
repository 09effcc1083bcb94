/**
 * Keeping a group's baseline in step with what the system did: the group's rules before, the
 * person's change, the EC2 calls that followed (with the rules EC2 created), and the difference
 * to write.
 */
import { applyChangeToRules, type Change } from "./change.js";
import { applyOperationToRules, type Ec2Operation } from "./plan.js";
import { type Rule, ruleKey } from "./rule.js";

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

export interface PerformedOperation {
  op: Ec2Operation;
  /** Rules EC2 reported creating (authorize). */
  created: readonly Rule[];
}

/**
 * The rule set after `change` (when given: the person's own call) and then the operations the
 * system performed, starting from `before`.
 */
export function ruleSetAfter(
  before: readonly Rule[],
  change: Change | undefined,
  performed: readonly PerformedOperation[],
): Rule[] {
  let state = change ? applyChangeToRules(before, change) : [...before];
  for (const { op, created } of performed) state = applyOperationToRules(state, op, created);
  return state;
}
