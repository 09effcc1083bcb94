/**
 * The policy engine: what happens to a security-group change before (or instead of) a person
 * deciding. Pure: no SDK, no environment, no clock. docs/POLICY.md is the user's guide;
 * policy.example.json a realistic file.
 *
 * ## The file
 *
 * ```json
 * {
 *   "version": 1,
 *   "mode": "enforce",                                  // optional: enforce (default) | notify
 *   "accounts": { "444455556666": { "mode": "notify" } },  // optional per-account roll-out
 *   "rules": [
 *     { "name": "pipeline-auto-approve", "description": "…",
 *       "match": { "principal": "arn:aws:iam::*:role/terraform-ci" },  // all must hold
 *       "quantifier": "all",                            // optional: all | any (see below)
 *       "action": "auto_approve",   // exempt | auto_approve | auto_deny | require_approval | notify | ignore
 *       "reason": "…",              // required for auto_deny
 *       "approvals": 2, "approvers": { "userGroup": "S0…", "users": ["U0…"] },
 *       "channel": "C0…", "expiryHours": 24  }        // these four: require_approval only
 *   ]
 * }
 * ```
 * The same object may be the `policy` key of the deployment config. `$comment` (a string or a
 * list of them) is allowed on the policy, a rule and an account entry; any other unknown key is
 * refused, with its line and column.
 *
 * ## Deciding
 *
 * Rules are tried in order; the first whose matchers all hold decides. None: require_approval
 * (rule "default"). A require_approval never asks fewer approvals than the requester needs
 * (identity.ts's minimumApprovals: 2 when unverified).
 *
 * Change-level matchers: principal, identityCenterUser, verified, account, region, vpc, groupId,
 * groupName, groupTags, kind, risk, eventAgeOverSeconds. Rule-level ones: direction, protocol,
 * ports, portsOverlap, peer, descriptionMissing — one rule of the change must satisfy them all
 * together, and the quantifier says which rules must: "all" (the default of the permissive
 * actions exempt, auto_approve, notify and ignore), every rule the change touches, put in place
 * or taken away; "any" (the default of auto_deny and require_approval), at least one rule it
 * puts in place (taking a rule away opens nothing). So a permissive rule never matches a change
 * with a rule outside its ranges, and removing "SSH from anywhere" is never denied by the rule
 * that denies adding it. portsOverlap and peer.cidrContains, which match rules wider than they
 * name, are refused in permissive rules.
 *
 * A fact the caller does not know (the group's name, VPC or tags; when the event arrived) makes
 * the matcher needing it not match.
 *
 * ## Mode
 *
 * Each decision carries its account's mode (accountMode: the `accounts` entry, else the
 * deployment's, else the policy's `mode`, else enforce). In notify mode nothing is reverted:
 * enforcedAction turns auto_deny and require_approval into notify.
 *
 * ## The config's switches
 *
 * policyFromLegacy turns systemRoleArns, exemptPrincipals, maxEventAgeSeconds and
 * autoDenyWithoutDescription into rules; mergePolicies puts a file between the system-role rule
 * and the others; evaluatePolicy (../policy.ts) keeps its results on top of the engine.
 */
export { cidrWithin, isPublicCidr, PRIVATE_RANGES, parseCidr } from "./cidr.js";
export { describeMatch, describePolicy, POLICY_TABLE_HEADER } from "./describe.js";
export {
  accountMode,
  DEFAULT_REASON,
  DEFAULT_RULE,
  decide,
  defaultQuantifier,
  enforcedAction,
  matchContext,
  matchingRule,
  ruleMatches,
  ruleViews,
  unknownFacts,
} from "./engine.js";
export {
  formatJsonPath,
  type JsonPath,
  type JsonPosition,
  JsonSyntaxError,
  jsonPathPosition,
  parseJsonLocated,
} from "./json-position.js";
export {
  DEFAULT_POLICY,
  EXEMPT_PRINCIPALS_RULE,
  evaluatePolicy,
  type LegacyDecision,
  MAX_EVENT_AGE_RULE,
  mergePolicies,
  type PolicyConfig,
  policyFromLegacy,
  REQUIRE_DESCRIPTION_RULE,
  SYSTEM_ROLES_RULE,
} from "./legacy.js";
export {
  formatIssue,
  isConfigWithPolicy,
  PolicyError,
  type PolicyIssue,
  parsePolicy,
  parsePolicyText,
} from "./load.js";
export { MATCHER_KEYS, MATCHERS, type MatcherKey } from "./matchers/index.js";
export { policyIssues, RESERVED_RULE_NAMES } from "./schema.js";
export {
  type AccountSettings,
  type Approvers,
  type GroupFacts,
  type Match,
  PERMISSIVE_ACTIONS,
  POLICY_ACTIONS,
  type Policy,
  type PolicyAction,
  type PolicyDecision,
  type PolicyFacts,
  type PolicyMode,
  type PolicyRule,
  type Quantifier,
  type RuleView,
} from "./types.js";
