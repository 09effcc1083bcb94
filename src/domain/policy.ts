/**
 * Policy: what happens to a change before a person sees it. Each seed rule is a check the
 * operator switches on or off in the config.
 */
import { type Change, changedRules } from "./change.js";
import { matchingArnPattern } from "./requester.js";

export interface PolicyConfig {
  /** The system's own roles (revert/apply functions): their calls are never governed. */
  systemRoleArns: readonly string[];
  /** ARN glob patterns of principals whose changes stand (break-glass admins, pipelines). */
  exemptPrincipals: readonly string[];
  /** Seed rule: ignore events older than this many seconds (a replayed or late event). null = off. */
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

export type PolicyDecision =
  | { action: "ignore"; reason: string }
  | { action: "exempt"; reason: string }
  | { action: "auto_deny"; rule: string; reason: string }
  | { action: "require_approval" };

/** Decides what to do with a parsed change at time `now` (passed in: the domain has no clock). */
export function evaluatePolicy(change: Change, config: PolicyConfig, now: Date): PolicyDecision {
  const system = matchingArnPattern(change.requester, config.systemRoleArns);
  if (system) return { action: "ignore", reason: `made by this system's own role (${system})` };

  if (config.maxEventAgeSeconds !== null) {
    const ageSeconds = (now.getTime() - Date.parse(change.eventTime)) / 1000;
    if (ageSeconds > config.maxEventAgeSeconds) {
      return {
        action: "ignore",
        reason: `the event is ${Math.round(ageSeconds)} s old, older than the ${config.maxEventAgeSeconds} s limit`,
      };
    }
  }

  const exempt = matchingArnPattern(change.requester, config.exemptPrincipals);
  if (exempt) return { action: "exempt", reason: `${change.requester.arn} is exempt (${exempt})` };

  if (config.autoDenyWithoutDescription && change.kind !== "remove") {
    const bare = changedRules(change).filter((r) => !r.description?.trim());
    if (bare.length > 0) {
      return {
        action: "auto_deny",
        rule: "require-description",
        reason: `${bare.length} ${bare.length === 1 ? "rule has" : "rules have"} no description`,
      };
    }
  }
  return { action: "require_approval" };
}
