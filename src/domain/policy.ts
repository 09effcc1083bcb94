/**
 * Policy: what happens to a change before a person sees it. This module keeps the original API
 * (the config's four switches, evaluatePolicy) that the member uses; it is implemented on top of
 * the policy engine in ./policy/ (a policy file of ordered, named rules), which
 * `./policy/index.js` exports.
 */
export {
  DEFAULT_POLICY,
  evaluatePolicy,
  type LegacyDecision as PolicyDecision,
  MAX_EVENT_AGE_RULE,
  type PolicyConfig,
} from "./policy/legacy.js";
