/**
 * The policy's types: the file format (Policy, PolicyRule, Match), what the engine is told
 * (PolicyFacts) and what it answers (PolicyDecision). The format is documented in docs/POLICY.md
 * and in ./index.ts.
 */
import type { Change } from "../change.js";
import type { Verification } from "../identity.js";
import type { Direction, RuleBody } from "../rule.js";
import type { RiskLevel } from "../slack/risk.js";
import type { MATCHERS } from "./matchers/index.js";
import type { ChangeMatcher, RuleMatcher } from "./matchers/matcher.js";

export const POLICY_ACTIONS = [
  "exempt",
  "auto_approve",
  "auto_deny",
  "require_approval",
  "notify",
  "ignore",
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/**
 * Permissive actions let a change stand without a person's decision (or without a revert):
 * their rule-level matchers must hold for every rule of the change. Restrictive ones need only
 * one rule to match.
 */
export const PERMISSIVE_ACTIONS: ReadonlySet<PolicyAction> = new Set([
  "exempt",
  "auto_approve",
  "notify",
  "ignore",
]);

export type Quantifier = "all" | "any";

export type PolicyMode = "enforce" | "notify";

export interface Approvers {
  /** A Slack user group (S…): any of its members may approve. */
  userGroup?: string;
  /** Slack users (U…/W…) who may approve. */
  users?: string[];
}

type ConfigOf<M> =
  M extends ChangeMatcher<infer C> ? C : M extends RuleMatcher<infer C> ? C : never;

/** The matchers of a rule: each one given must hold. `{}` matches every change. */
export type Match = { [K in keyof typeof MATCHERS]?: ConfigOf<(typeof MATCHERS)[K]> };

export interface PolicyRule {
  /** Unique in the policy; shown in Slack, explain and doctor. */
  name: string;
  description?: string;
  match: Match;
  /**
   * Which of the change's rules the rule-level matchers (direction, protocol, ports,
   * portsOverlap, peer, descriptionMissing) must hold for: "all", every rule it touches (put in
   * place or taken away); "any", at least one rule it puts in place. Default: "all" for
   * permissive actions, "any" for restrictive ones (engine.ts).
   */
  quantifier?: Quantifier;
  action: PolicyAction;
  /** Why: shown with the decision. Required for auto_deny. */
  reason?: string;
  /** require_approval only: approvals needed (never fewer than the requester's minimum). */
  approvals?: number;
  /** require_approval only: who may approve (default: the deployment's approvers). */
  approvers?: Approvers;
  /** require_approval only: the Slack channel (C…) for the request (default: the approval channel). */
  channel?: string;
  /** require_approval only: hours until the request expires (default: the deployment's). */
  expiryHours?: number;
  $comment?: string | string[];
}

export interface AccountSettings {
  mode: PolicyMode;
  $comment?: string | string[];
}

export interface Policy {
  version?: 1;
  /** The mode of accounts not listed in `accounts` (default: enforce). */
  mode?: PolicyMode;
  /** Per-account roll-out: an account in notify mode has nothing reverted. */
  accounts?: Record<string, AccountSettings>;
  rules: PolicyRule[];
  $schema?: string;
  $comment?: string | string[];
}

export interface GroupFacts {
  name?: string;
  vpcId?: string;
  tags?: Readonly<Record<string, string>>;
}

/**
 * What the engine is told beside the change. A fact left out is unknown, and a matcher that
 * needs it does not match (groupName, groupTags, vpc without `group`; eventAgeOverSeconds
 * without `receivedAt`).
 */
export interface PolicyFacts {
  verification: Verification;
  group?: GroupFacts;
  /** When the event was first received (the age rule measures to it). */
  receivedAt?: Date;
  /** This deployment's mode; an entry in the policy's `accounts` overrides it. */
  mode?: PolicyMode;
}

export interface PolicyDecision {
  action: PolicyAction;
  /** The matching rule's name, or "default". */
  rule: string;
  reason: string;
  /**
   * enforce: act on `action`. notify: the account is being rolled out, nothing is reverted
   * (see enforcedAction).
   */
  mode: PolicyMode;
  /** require_approval only: at least minimumApprovals(verification). */
  approvals?: number;
  approvers?: Approvers;
  channel?: string;
  expiryHours?: number;
}

/** One rule of a change as the rule-level matchers see it. */
export interface RuleView {
  rule: RuleBody;
  /** Unknown for a modify whose old rule (and so direction) the baseline has not given. */
  direction?: Direction;
  /** A rule the change takes away (removed, or the old content of a modified rule). */
  removed: boolean;
}

export interface MatchContext {
  change: Change;
  facts: PolicyFacts;
  /** The change's worst risk level (slack/risk.ts's assessChange), computed once when asked. */
  risk(): RiskLevel;
}
