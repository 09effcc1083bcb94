/**
 * `secgroup-approval check-plan PLAN.json --policy FILE`: the policy's decision on every
 * security-group rule a Terraform plan would add or remove, before apply. This file reads the
 * files and prints; src/domain/terraform does the parsing and the judging.
 */
import { explainPolicyFromText } from "../domain/explain.js";
import { PolicyError } from "../domain/policy/index.js";
import { describePeer, describePorts, describeProtocol, hasPorts, isIcmp } from "../domain/rule.js";
import {
  type CheckPlanResult,
  type CheckResultJson,
  checkPlan,
  PlanError,
  parsePlanText,
} from "../domain/terraform/index.js";

export const CHECK_PLAN_USAGE = `usage: secgroup-approval check-plan PLAN.json --policy FILE [--allow-approval] [--json]
                                    [--principal ARN] [--account ID] [--region REGION]

Checks a Terraform plan against the policy before apply: every security group rule the plan would
add or remove (aws_security_group ingress/egress blocks, aws_security_group_rule,
aws_vpc_security_group_ingress_rule and _egress_rule) gets the decision the deployed policy would
make on it. PLAN.json (or - for stdin) is \`terraform show -json plan.out\` output. A change of a
rule in place is a removal and an addition; a group not created yet is named by its Terraform
address; a rule whose CIDR (prefix list, protocol, ports) is known only after apply cannot be
judged and needs approval (rule "unknown").

options:
  --policy FILE      the policy: a policy file (see policy.example.json) or a config holding
                     "policy" (whose "people" then tell who is verified); required
  --principal ARN    who applies the plan, e.g. the pipeline's role
                     arn:aws:iam::123456789012:role/terraform-ci (default: unknown, unverified)
  --account ID       the AWS account the plan applies to (default: unknown: policy rules
                     matching accounts do not match)
  --region REGION    the region (default: unknown: policy rules matching regions do not match)
  --allow-approval   exit 0 when changes only need approval
  --json             one JSON object: {"results": [...], "exitCode": N}
  -h, --help         this help

exit status: 0 every change passes (exempt, auto_approve, notify, ignore) or there is none,
1 a change needs approval (require_approval; 0 with --allow-approval), 2 a change is denied
(auto_deny), or bad usage or input
`;

export interface CheckPlanArgs {
  planText: string;
  planSource: string;
  policyText: string;
  policySource: string;
  principal?: string;
  account?: string;
  region?: string;
  allowApproval: boolean;
}

/** An input the user must fix: a malformed plan or policy (the caller exits 2). */
export class CheckPlanInputError extends Error {}

export function runCheckPlan(args: CheckPlanArgs): CheckPlanResult {
  try {
    const { policy, people } = explainPolicyFromText(args.policyText, args.policySource);
    const plan = parsePlanText(args.planText, args.planSource);
    return checkPlan(plan, {
      policy,
      ...(people ? { people } : {}),
      ...(args.principal !== undefined ? { principal: args.principal } : {}),
      ...(args.account !== undefined ? { account: args.account } : {}),
      ...(args.region !== undefined ? { region: args.region } : {}),
      allowApproval: args.allowApproval,
      source: args.planSource,
    });
  } catch (err) {
    if (err instanceof PolicyError || err instanceof PlanError) {
      throw new CheckPlanInputError(err.message);
    }
    throw err;
  }
}

// ---- text ----

function ruleText(r: CheckResultJson): string {
  const rule = r.rule;
  const protocol = describeProtocol(rule.protocol);
  const ported = hasPorts(rule.protocol) || isIcmp(rule.protocol);
  const ports = ported
    ? ` ${describePorts({ protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort })}`
    : "";
  const peer =
    rule.cidrIpv4 ??
    rule.cidrIpv6 ??
    rule.prefixListId ??
    describePeer({
      kind: "group",
      groupId: rule.referencedGroupId ?? "",
      ...(rule.referencedUserId ? { userId: rule.referencedUserId } : {}),
    });
  const towards = r.direction === "ingress" ? "from" : "to";
  const description = rule.description !== undefined ? ` ${JSON.stringify(rule.description)}` : "";
  return `${r.direction} ${protocol}${ports} ${towards} ${peer}${description} on ${r.groupId}`;
}

function decisionText(r: CheckResultJson): string {
  const d = r.decision;
  const approvals =
    d.approvals !== undefined ? `, ${d.approvals} approval${d.approvals === 1 ? "" : "s"}` : "";
  const mode = d.mode === "notify" ? " (notify mode: reported only)" : "";
  return `${d.action}${mode} [${d.rule}${approvals}] ${d.reason}`;
}

/** One line per rule change, its notes indented below; then a summary and the notes. */
export function formatCheckPlanText(result: CheckPlanResult, source: string): string {
  const lines: string[] = [];
  if (result.results.length === 0) {
    const other = result.resources.all;
    lines.push(
      `no security group rule changes in ${source}${other > 0 ? ` (${other} other resource change${other === 1 ? "" : "s"})` : ""}`,
    );
  }
  for (const r of result.results) {
    lines.push(`${r.address} ${r.change === "add" ? "+" : "-"} ${ruleText(r)}: ${decisionText(r)}`);
    for (const n of r.notes) lines.push(`  note: ${n}`);
  }
  if (result.results.length > 0) {
    const counts = new Map<string, number>();
    for (const r of result.results)
      counts.set(r.decision.action, (counts.get(r.decision.action) ?? 0) + 1);
    const n = result.results.length;
    lines.push(
      `${n} rule change${n === 1 ? "" : "s"}: ${[...counts].map(([a, c]) => `${c} ${a}`).join(", ")}`,
    );
    lines.push(...result.notes);
  }
  const verdict = ["pass", "approval needed", "denied"][result.exitCode];
  lines.push(`exit ${result.exitCode}: ${verdict}`);
  return `${lines.join("\n")}\n`;
}

export function formatCheckPlanJson(result: CheckPlanResult): string {
  return `${JSON.stringify({ results: result.results, exitCode: result.exitCode })}\n`;
}
