/**
 * The config's four switches, as policy rules. Each switch is a shorthand for one rule:
 *
 *   systemRoleArns             -> "system-roles":        principal in them    -> ignore
 *   exemptPrincipals           -> "exempt-principals":   principal in them    -> exempt
 *   maxEventAgeSeconds         -> "max-event-age":       eventAgeOverSeconds  -> notify (left
 *                                 unreverted for a person: what the member calls "leave")
 *   autoDenyWithoutDescription -> "require-description": descriptionMissing   -> auto_deny
 *                                 (kinds add, modify, drift: every kind but remove, as the
 *                                 switch was written before creations and prefix lists were
 *                                 governed; see legacyRules)
 *
 * evaluatePolicy is today's API (the member uses it) on top of the engine, with today's results
 * and wording, which the engine's static reasons do not carry (the pattern matched, the age).
 */
import { type Change, changedRules } from "../change.js";
import type { Verification } from "../identity.js";
import { matchingArnPattern } from "../requester.js";
import { decide } from "./engine.js";
import { eventAgeSeconds } from "./matchers/event-age.js";
import type { Policy, PolicyRule } from "./types.js";

export interface PolicyConfig {
  /** The system's own roles (revert/apply functions): their calls are never governed. */
  systemRoleArns: readonly string[];
  /** ARN glob patterns of principals whose changes stand (break-glass admins, pipelines). */
  exemptPrincipals: readonly string[];
  /**
   * Seed rule: an event older than this many seconds when first received is not reverted (it may
   * be a replay, and the change has stood a while); it still goes to a person. null = off.
   */
  maxEventAgeSeconds: number | null;
  /** Seed rule: an added rule without a description is denied without asking anyone. */
  autoDenyWithoutDescription: boolean;
}

export const DEFAULT_POLICY: PolicyConfig = {
  systemRoleArns: [],
  exemptPrincipals: [],
  maxEventAgeSeconds: 300,
  autoDenyWithoutDescription: false,
};

/** What evaluatePolicy answers (policy.ts exports it as PolicyDecision, its old name). */
export type LegacyDecision =
  | { action: "ignore"; reason: string }
  | { action: "exempt"; reason: string }
  /** Not reverted (the event came too late to act on alone), but still put to a person. */
  | { action: "leave"; rule: string; reason: string }
  | { action: "auto_deny"; rule: string; reason: string }
  | { action: "require_approval" };

export const SYSTEM_ROLES_RULE = "system-roles";
export const EXEMPT_PRINCIPALS_RULE = "exempt-principals";
export const MAX_EVENT_AGE_RULE = "max-event-age";
export const REQUIRE_DESCRIPTION_RULE = "require-description";

/**
 * The kinds the description switch judges: the changes whose rules a person put in place (the
 * switch has always skipped removals, which its descriptionMissing match never meets anyway).
 */
export const DESCRIBED_KINDS = ["add", "modify", "drift"] as const;

/** The switches as rules, in the order evaluatePolicy has always applied them. */
function legacyRules(config: PolicyConfig): PolicyRule[] {
  const rules: PolicyRule[] = [];
  if (config.systemRoleArns.length > 0) {
    rules.push({
      name: SYSTEM_ROLES_RULE,
      description: "systemRoleArns: this system's own calls are not governed",
      match: { principal: [...config.systemRoleArns] },
      action: "ignore",
      reason: "made by this system's own role",
    });
  }
  if (config.exemptPrincipals.length > 0) {
    rules.push({
      name: EXEMPT_PRINCIPALS_RULE,
      description: "exemptPrincipals: break-glass admins and pipelines whose changes stand",
      match: { principal: [...config.exemptPrincipals] },
      action: "exempt",
      reason: "the requester is exempt",
    });
  }
  if (config.maxEventAgeSeconds !== null) {
    rules.push({
      name: MAX_EVENT_AGE_RULE,
      description: "seedRules.maxEventAgeSeconds: a late event is not reverted, a person decides",
      match: { eventAgeOverSeconds: config.maxEventAgeSeconds },
      action: "notify",
      reason: `the event arrived more than ${config.maxEventAgeSeconds} s after the change: it was not reverted`,
    });
  }
  if (config.autoDenyWithoutDescription) {
    rules.push({
      name: REQUIRE_DESCRIPTION_RULE,
      description: "seedRules.autoDenyWithoutDescription",
      // The rules a person puts in place. Not kind create: a new group's default egress has no
      // description, and the switch would revoke every new group's egress. Not kind prefixList:
      // its rules are those naming the list, judged when they were made, not by who edits it.
      match: { kind: [...DESCRIBED_KINDS], descriptionMissing: true },
      action: "auto_deny",
      reason: "a rule has no description",
    });
  }
  return rules;
}

/** The config's four switches as a policy. */
export function policyFromLegacy(config: PolicyConfig): Policy {
  return { rules: legacyRules(config) };
}

/**
 * The switches and a policy file together: the system's own roles first (never governed, whatever
 * the file says), then the file's rules, then the other switches. The file's mode and accounts
 * stand. A file's rules cannot take the switches' names (the schema reserves them).
 */
export function mergePolicies(legacy: PolicyConfig, file: Policy): Policy {
  const rules = legacyRules(legacy);
  const ignore = rules.filter((r) => r.name === SYSTEM_ROLES_RULE);
  const rest = rules.filter((r) => r.name !== SYSTEM_ROLES_RULE);
  return { ...file, rules: [...ignore, ...file.rules, ...rest] };
}

/** The legacy switches never look at who is verified. */
const NOT_ASKED: Verification = { verified: false, reason: "not asked by the config's switches" };

/**
 * Decides what to do with a parsed change first received at `receivedAt` (passed in: the domain
 * has no clock; a retry passes its first receipt, so a slow retry is not mistaken for a late event).
 */
export function evaluatePolicy(
  change: Change,
  config: PolicyConfig,
  receivedAt: Date,
): LegacyDecision {
  const decision = decide(
    change,
    { verification: NOT_ASKED, receivedAt },
    policyFromLegacy(config),
  );
  switch (decision.rule) {
    case SYSTEM_ROLES_RULE: {
      const pattern = matchingArnPattern(change.requester, config.systemRoleArns);
      return { action: "ignore", reason: `made by this system's own role (${pattern})` };
    }
    case EXEMPT_PRINCIPALS_RULE: {
      const pattern = matchingArnPattern(change.requester, config.exemptPrincipals);
      return { action: "exempt", reason: `${change.requester.arn} is exempt (${pattern})` };
    }
    case MAX_EVENT_AGE_RULE: {
      const age = eventAgeSeconds(change.eventTime, receivedAt);
      return {
        action: "leave",
        rule: MAX_EVENT_AGE_RULE,
        reason: `the event arrived ${Math.round(age)} s after the change, later than the ${config.maxEventAgeSeconds} s limit: it was not reverted`,
      };
    }
    case REQUIRE_DESCRIPTION_RULE: {
      const bare = changedRules(change).filter((r) => !r.description?.trim()).length;
      return {
        action: "auto_deny",
        rule: REQUIRE_DESCRIPTION_RULE,
        reason: `${bare} ${bare === 1 ? "rule has" : "rules have"} no description`,
      };
    }
    default:
      return { action: "require_approval" };
  }
}
