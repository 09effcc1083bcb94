/**
 * Terraform plans, checked against the policy before apply (`secgroup-approval check-plan`).
 * Pure: plan.ts validates `terraform show -json` output; rules.ts reads the AWS provider's four
 * security-group rule resources into the rule model; check.ts turns each rule the plan adds or
 * removes into a change and asks the policy engine (`decide`) about it.
 */
export {
  type CheckDecision,
  type CheckPlanOptions,
  type CheckPlanResult,
  type CheckResultJson,
  checkPlan,
  countResourceChanges,
  decidePlanChange,
  offlinePolicy,
  type PlanChange,
  type PlanFacts,
  planChanges,
  requesterFromPrincipal,
  UNKNOWN,
  UNKNOWN_RULE,
} from "./check.js";
export {
  isUnknownAt,
  PLAN_ACTIONS,
  type PlanAction,
  PlanError,
  parsePlan,
  parsePlanText,
  type ResourceChange,
  type TerraformPlan,
} from "./plan.js";
export {
  KNOWN_AFTER_APPLY,
  type PlannedRule,
  RULE_RESOURCE_TYPES,
  rulesOfResource,
} from "./rules.js";
