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

export type PolicyDecision =
  | { action: "ignore"; reason: string }
  | { action: "exempt"; reason: string }
  /** Not reverted (the event came too late to act on alone), but still put to a person. */
  | { action: "leave"; rule: string; reason: string }
  | { action: "auto_deny"; rule: string; reason: string }
  | { action: "require_approval" };

export const MAX_EVENT_AGE_RULE = "max-event-age";

/**
 * Decides what to do with a parsed change first received at `receivedAt` (passed in: the domain
 * has no clock; a retry passes its first receipt, so a slow retry is not mistaken for a late event).
 */
export function evaluatePolicy(
  change: Change,
  config: PolicyConfig,
  receivedAt: Date,
): PolicyDecision {
  const system = matchingArnPattern(change.requester, config.systemRoleArns);
  if (system) return { action: "ignore", reason: `made by this system's own role (${system})` };

  const exempt = matchingArnPattern(change.requester, config.exemptPrincipals);
  if (exempt) return { action: "exempt", reason: `${change.requester.arn} is exempt (${exempt})` };

  if (config.maxEventAgeSeconds !== null) {
    const ageSeconds = (receivedAt.getTime() - Date.parse(change.eventTime)) / 1000;
    if (ageSeconds > config.maxEventAgeSeconds) {
      return {
        action: "leave",
        rule: MAX_EVENT_AGE_RULE,
        reason: `the event arrived ${Math.round(ageSeconds)} s after the change, later than the ${config.maxEventAgeSeconds} s limit: it was not reverted`,
      };
    }
  }

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
