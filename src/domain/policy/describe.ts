/**
 * A policy as a table a person reads (doctor prints it): one row per rule in the order they are
 * tried, then the default, then the accounts in notify mode. The first row is the header.
 */
import { DEFAULT_REASON, DEFAULT_RULE, defaultQuantifier } from "./engine.js";
import { matcherFor } from "./matchers/index.js";
import type { AnyMatcher } from "./matchers/matcher.js";
import type { Policy, PolicyRule } from "./types.js";

export const POLICY_TABLE_HEADER = ["rule", "match", "action", "decision"] as const;

/** "principal arn:…; every rule: ingress, ports within 22" — change-level first. */
export function describeMatch(rule: PolicyRule): string {
  const change: string[] = [];
  const perRule: string[] = [];
  for (const [key, config] of Object.entries(rule.match)) {
    if (config === undefined) continue;
    const matcher: AnyMatcher | undefined = matcherFor(key);
    if (!matcher) continue;
    (matcher.level === "change" ? change : perRule).push(matcher.describe(config));
  }
  if (perRule.length > 0) {
    const q = rule.quantifier ?? defaultQuantifier(rule.action);
    change.push(`${q === "all" ? "every rule" : "any rule"}: ${perRule.join(", ")}`);
  }
  return change.length > 0 ? change.join("; ") : "any change";
}

function outcome(rule: PolicyRule): string {
  if (rule.action !== "require_approval") return rule.reason ?? rule.description ?? "";
  const parts = [
    rule.approvals !== undefined && rule.approvals > 1
      ? `${rule.approvals} approvals`
      : "1 approval (2 if unverified)",
  ];
  const who = [
    rule.approvers?.userGroup ? `group ${rule.approvers.userGroup}` : undefined,
    rule.approvers?.users ? rule.approvers.users.join(", ") : undefined,
  ].filter(Boolean);
  if (who.length > 0) parts.push(`from ${who.join(" or ")}`);
  if (rule.channel) parts.push(`in ${rule.channel}`);
  if (rule.expiryHours !== undefined) parts.push(`expires after ${rule.expiryHours} h`);
  const reason = rule.reason ?? rule.description;
  return `${parts.join(", ")}${reason ? `: ${reason}` : ""}`;
}

/** Rows: [rule, match, action, decision], header first. */
export function describePolicy(policy: Policy): string[][] {
  const rows: string[][] = [[...POLICY_TABLE_HEADER]];
  for (const rule of policy.rules) {
    rows.push([rule.name, describeMatch(rule), rule.action, outcome(rule)]);
  }
  rows.push([
    DEFAULT_RULE,
    "anything else",
    "require_approval",
    `1 approval (2 if unverified): ${DEFAULT_REASON}`,
  ]);
  rows.push([
    DEFAULT_RULE,
    "a new group's default egress (kind create) no rule matches",
    "exempt",
    "kept as EC2 made it; the group is adopted with it, nothing is filed",
  ]);
  if (policy.mode === "notify") {
    rows.push(["mode", "every account not listed", "notify", "nothing is reverted (roll-out)"]);
  }
  for (const [account, settings] of Object.entries(policy.accounts ?? {})) {
    rows.push([
      `account ${account}`,
      `changes in ${account}`,
      settings.mode,
      settings.mode === "notify" ? "nothing is reverted (roll-out)" : "decisions are enforced",
    ]);
  }
  return rows;
}
