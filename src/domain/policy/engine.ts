/**
 * The policy engine: the first rule whose matchers all hold decides; nothing matching, a person
 * decides (`require_approval`, rule "default"). Pure: the change, the facts and the policy in,
 * a decision out.
 *
 * Rule-level matchers (direction, protocol, ports, portsOverlap, peer, descriptionMissing) are
 * tested against one rule of the change at a time, all of them together, and the rule's
 * quantifier says which of the change's rules must pass:
 * - "all" (the default of the permissive actions exempt, auto_approve, notify, ignore): every
 *   rule the change touches, the rules it puts in place and the rules it takes away (a removed
 *   rule, the old content of a modified one). A permissive rule never matches a change with a
 *   rule outside its ranges.
 * - "any" (the default of the restrictive actions auto_deny, require_approval): at least one
 *   rule the change puts in place (added, or the new content of a modified one). Taking a rule
 *   away opens nothing: removing "SSH from anywhere" never triggers the rule that denies adding it.
 * A change with no rules known (a revoke by rule id the baseline has not resolved) matches no
 * rule-level matcher.
 */
import { type Change, describedRules, entryRules, type Modification } from "../change.js";
import { minimumApprovals, type Verification } from "../identity.js";
import type { Rule } from "../rule.js";
import { assessChange, type RiskLevel } from "../slack/risk.js";
import { matcherFor } from "./matchers/index.js";
import type { AnyMatcher, RuleMatcher } from "./matchers/matcher.js";
import {
  type MatchContext,
  PERMISSIVE_ACTIONS,
  type Policy,
  type PolicyAction,
  type PolicyDecision,
  type PolicyFacts,
  type PolicyMode,
  type PolicyRule,
  type Quantifier,
  type RuleView,
} from "./types.js";

/** The name a decision carries when no rule matched. */
export const DEFAULT_RULE = "default";

export const DEFAULT_REASON = "no policy rule matched: a person decides";

/**
 * Every rule a change touches, as rule-level matchers see it: the rules it puts in place (added,
 * the new content of each modified rule, whose direction is the old rule's and unknown while the
 * baseline has not given it) and the rules it takes away (`removed`: removed rules, the old
 * content of modified ones).
 */
export function ruleViews(change: Change): RuleView[] {
  const put = (rule: Rule): RuleView => ({ rule, direction: rule.direction, removed: false });
  const taken = (rule: Rule): RuleView => ({ rule, direction: rule.direction, removed: true });
  switch (change.kind) {
    case "add":
      return change.rules.map(put);
    case "remove":
      return change.rules.map(taken);
    case "modify":
      // A description update the baseline has not resolved: only the rules it names by content.
      return [
        ...change.modifications.map(modified),
        ...describedRules(change).map(put),
        ...befores(change.modifications),
      ];
    case "drift":
      return [
        ...change.added.map(put),
        ...change.modifications.map(modified),
        ...change.removed.map(taken),
        ...befores(change.modifications),
      ];
    case "prefixList":
      // Each rule naming the list, as if it named each added (put) or removed (taken) CIDR.
      return [
        ...entryRules(change, change.added).map(put),
        ...entryRules(change, change.removed).map(taken),
      ];
  }
}

function modified(m: Modification): RuleView {
  return m.before
    ? { rule: m.rule, direction: m.before.direction, removed: false }
    : { rule: m.rule, removed: false };
}

const befores = (ms: readonly Modification[]): RuleView[] =>
  ms.flatMap((m) =>
    m.before ? [{ rule: m.before, direction: m.before.direction, removed: true }] : [],
  );

export function defaultQuantifier(action: PolicyAction): Quantifier {
  return PERMISSIVE_ACTIONS.has(action) ? "all" : "any";
}

export function matchContext(change: Change, facts: PolicyFacts): MatchContext {
  let risk: RiskLevel | undefined;
  return {
    change,
    facts,
    risk: () => {
      risk ??= assessChange(change).worst;
      return risk;
    },
  };
}

/** Whether every matcher of `rule` holds for the change (see the quantifier above). */
export function ruleMatches(rule: PolicyRule, ctx: MatchContext): boolean {
  const perRule: [RuleMatcher<unknown>, unknown][] = [];
  for (const [key, config] of Object.entries(rule.match)) {
    if (config === undefined) continue;
    const matcher: AnyMatcher | undefined = matcherFor(key);
    // The schema refuses unknown matchers; one in a policy built in code never matches.
    if (!matcher) return false;
    if (matcher.level === "rule") perRule.push([matcher, config]);
    else if (!matcher.test(config, ctx)) return false;
  }
  if (perRule.length === 0) return true;
  const views = ruleViews(ctx.change);
  const holds = (view: RuleView) => perRule.every(([m, config]) => m.test(config, view, ctx));
  if ((rule.quantifier ?? defaultQuantifier(rule.action)) === "all") {
    return views.length > 0 && views.every(holds);
  }
  return views.some((view) => !view.removed && holds(view));
}

/** The first rule matching the change, or undefined (the default applies). */
export function matchingRule(
  change: Change,
  facts: PolicyFacts,
  policy: Policy,
): PolicyRule | undefined {
  const ctx = matchContext(change, facts);
  return policy.rules.find((rule) => ruleMatches(rule, ctx));
}

/**
 * The mode an account is in: its entry in the policy's `accounts`, else the deployment's
 * (`facts.mode`), else the policy's `mode`, else enforce.
 */
export function accountMode(
  policy: Policy,
  account: string,
  facts?: Pick<PolicyFacts, "mode">,
): PolicyMode {
  const entry =
    policy.accounts && Object.hasOwn(policy.accounts, account)
      ? policy.accounts[account]
      : undefined;
  return entry?.mode ?? facts?.mode ?? policy.mode ?? "enforce";
}

/**
 * What to do, the mode considered. In notify mode nothing is reverted: auto_deny and
 * require_approval act as notify (the change stands, a person is told); the other actions
 * revert nothing anyway and stay as they are.
 */
export function enforcedAction(decision: Pick<PolicyDecision, "action" | "mode">): PolicyAction {
  if (decision.mode !== "notify") return decision.action;
  return decision.action === "auto_deny" || decision.action === "require_approval"
    ? "notify"
    : decision.action;
}

function decisionFor(
  rule: PolicyRule,
  verification: Verification,
  mode: PolicyMode,
): PolicyDecision {
  const reason = rule.reason ?? rule.description ?? `policy rule "${rule.name}"`;
  const base: PolicyDecision = { action: rule.action, rule: rule.name, reason, mode };
  if (rule.action !== "require_approval") return base;
  return {
    ...base,
    approvals: Math.max(rule.approvals ?? 1, minimumApprovals(verification)),
    ...(rule.approvers !== undefined ? { approvers: rule.approvers } : {}),
    ...(rule.channel !== undefined ? { channel: rule.channel } : {}),
    ...(rule.expiryHours !== undefined ? { expiryHours: rule.expiryHours } : {}),
  };
}

/**
 * Decides what happens to a change: the first matching rule's action, or require_approval
 * ("default"). A require_approval never asks for fewer approvals than the requester's minimum
 * (identity.ts: two for an unverified requester). The decision carries the account's mode.
 */
export function decide(change: Change, facts: PolicyFacts, policy: Policy): PolicyDecision {
  const mode = accountMode(policy, change.account, facts);
  const rule = matchingRule(change, facts, policy);
  if (rule) return decisionFor(rule, facts.verification, mode);
  return {
    action: "require_approval",
    rule: DEFAULT_RULE,
    reason: DEFAULT_REASON,
    mode,
    approvals: minimumApprovals(facts.verification),
  };
}

/**
 * The facts the policy's matchers need that `facts` lacks ("the group's tags"): a rule needing
 * one did not match. For explain, which knows neither the group nor when an event arrived.
 */
export function unknownFacts(policy: Policy, facts: PolicyFacts): string[] {
  const labels = new Set<string>();
  for (const rule of policy.rules) {
    for (const key of Object.keys(rule.match)) {
      const fact = matcherFor(key)?.fact;
      if (fact && !fact.known(facts)) labels.add(`${fact.label} (${key})`);
    }
  }
  return [...labels];
}
