/**
 * The facts of a change in words, as mrkdwn: who, what action, which group, and one row per rule.
 * Every user-controlled string goes through `mrkdwnText` / `mrkdwnCode`.
 */
import {
  afterRule,
  type Change,
  changeDirection,
  type DescriptionEdit,
  entryRules,
  type Modification,
  type PrefixListChange,
  prefixListReach,
} from "../change.js";
import type { Requester } from "../requester.js";
import {
  type Direction,
  describePeer,
  describePorts,
  describeProtocol,
  hasPorts,
  isIcmp,
  type Rule,
  type RuleBody,
} from "../rule.js";
import { assessRule, RISK_ORDER, type RiskLevel, type RuleRisk, sensitiveNames } from "./risk.js";
import { mrkdwnCode, mrkdwnText, plural } from "./text.js";

/** Caps on the pieces of a row, so that a row stays far below a section's 3,000 characters. */
const MAX_PEER = 200;
const MAX_DESCRIPTION = 300;
const MAX_PROTOCOL = 40;
const MAX_RULE_ID = 80;

const SSO_ROLE = /^AWSReservedSSO_(.+)_[0-9a-f]{16}$/;

/** The permission set of an IAM Identity Center role name (AWSReservedSSO_<set>_<16 hex>). */
export function permissionSetOf(roleName: string | undefined): string | undefined {
  return roleName ? SSO_ROLE.exec(roleName)?.[1] : undefined;
}

/** "SSO session (AdministratorAccess)", "IAM user", "assumed role deploy-role"… as mrkdwn. */
export function identityText(r: Requester): string {
  switch (r.type) {
    case "AssumedRole": {
      const set = permissionSetOf(r.roleName);
      if (r.sso || set) return set ? `SSO session (${mrkdwnText(set, 100)})` : "SSO session";
      return `assumed role ${mrkdwnText(r.roleName ?? "(unknown role)", 150)}`;
    }
    case "IAMUser":
      return "IAM user";
    case "FederatedUser":
      return "federated user";
    case "Root":
      return ":warning: root user";
    case "AWSService":
      return "AWS service";
    case "AWSAccount":
      return "AWS account";
    case "IdentityCenterUser":
      return "Identity Center user";
    case "Unknown":
      return "unknown identity type";
  }
}

const TOOL_UA =
  /\b(Terraform|Pulumi|aws-cdk|aws-cli|Boto3|aws-sdk-[a-z0-9-]+|aws-toolkit-[a-z0-9-]+)\/([\w.+-]+)/i;

/**
 * The tool behind a user agent: "AWS console", "Terraform/1.6.0", "aws-cli/2.15.30",
 * "aws-sdk-js/3.600.0"; otherwise its first word, cut to 60 characters. Not escaped.
 */
export function shortUserAgent(ua: string): string {
  const s = ua.trim();
  if (/^(?:AWS Internal|console\.[\w.-]*amazonaws\.com)$/i.test(s) || /^signin\./i.test(s)) {
    return "AWS console";
  }
  const tool = TOOL_UA.exec(s);
  if (tool) return `${tool[1]}/${tool[2]}`;
  const first = s.split(/\s+/)[0] ?? "";
  return first.length > 60 ? `${first.slice(0, 59)}…` : first;
}

function ruleCount(change: Change): number {
  if (change.kind === "modify")
    return change.modifications.length + (change.descriptions?.length ?? 0);
  if (change.kind === "drift")
    return change.added.length + change.removed.length + change.modifications.length;
  // A revoke by rule id has only ids until resolved; once resolved, one rule per id.
  if (change.kind === "remove") return change.rules.length || change.ruleIds.length;
  if (change.kind === "prefixList") return prefixListReach(change).rules;
  return change.rules.length;
}

/**
 * "Prefix list pl-… (name): 1 entry added, widens 3 rules in 2 groups". A list only narrowing its
 * rules says "narrows".
 */
function prefixListActionText(change: PrefixListChange): string {
  const { rules, groups } = prefixListReach(change);
  const name = change.prefixListName ? ` (${change.prefixListName})` : "";
  const parts = [
    change.added.length ? `${plural(change.added.length, "entry", "entries")} added` : "",
    change.removed.length ? `${plural(change.removed.length, "entry", "entries")} removed` : "",
  ].filter(Boolean);
  const verb = change.added.length > 0 ? "widens" : "narrows";
  return `Prefix list ${change.prefixListId}${name}: ${parts.join(", ")}, ${verb} ${plural(rules, "rule")} in ${plural(groups, "group")}`;
}

/** "Add 3 ingress rules", "Remove 1 egress rule", "Modify 2 ingress rules", "Drift in 2 rules". */
export function actionText(change: Change): string {
  if (change.kind === "drift") {
    const parts = [
      change.added.length ? `${change.added.length} added` : "",
      change.removed.length ? `${change.removed.length} removed` : "",
      change.modifications.length ? `${change.modifications.length} edited` : "",
    ].filter(Boolean);
    return `Drift: ${plural(ruleCount(change), "rule")} changed with no CloudTrail event (${parts.join(", ")})`;
  }
  if (change.kind === "prefixList") return prefixListActionText(change);
  const verb = { add: "Add", remove: "Remove", modify: "Modify" }[change.kind];
  const direction = changeDirection(change);
  const noun = direction ? `${direction} rule` : "rule";
  return `${verb} ${plural(ruleCount(change), noun)}`;
}

/** "TCP port 22", "UDP ports 1024-2048", "TCP all ports", "ICMP Echo Request", "All traffic". */
export function trafficText(rule: Pick<Rule, "protocol" | "fromPort" | "toPort">): string {
  const protocol = mrkdwnText(describeProtocol(rule.protocol), MAX_PROTOCOL);
  if (rule.protocol === "all") return protocol;
  const ports = describePorts(rule);
  if (hasPorts(rule.protocol)) {
    if (ports === "All") return `${protocol} all ports`;
    return `${protocol} ${ports.includes("-") ? "ports" : "port"} ${ports}`;
  }
  if (isIcmp(rule.protocol)) return `${protocol} ${ports === "All" ? "all types" : ports}`;
  return protocol;
}

/** One rule as mrkdwn: `TCP port 22 from 0.0.0.0/0 “ssh for bob”`. */
export function ruleText(rule: RuleBody, direction: Direction | undefined): string {
  const preposition = direction === "egress" ? "to" : direction === "ingress" ? "from" : "with";
  const peer = mrkdwnText(describePeer(rule.peer), MAX_PEER);
  const description = rule.description?.trim()
    ? ` “${mrkdwnText(rule.description, MAX_DESCRIPTION)}”`
    : "";
  return `${trafficText(rule)} ${preposition} ${peer}${description}`;
}

/** The flag shown after a rule, with a leading space, or "". */
export function riskBadge(risk: RuleRisk): string {
  switch (risk.level) {
    case "critical":
      return ` :rotating_light: *open to the world on ${sensitiveNames(risk)}*`;
    case "high":
      return " :warning: *open to the world*";
    case "medium":
      return risk.openToWorld
        ? " :large_yellow_circle: egress to anywhere"
        : ` :large_yellow_circle: sensitive port: ${sensitiveNames(risk)}`;
    case "none":
      return "";
  }
}

export interface RuleRow {
  /** Position in the change, 0-based; rows show it 1-based. */
  index: number;
  level: RiskLevel;
  text: string;
}

function row(index: number, level: RiskLevel, body: string): RuleRow {
  return { index, level, text: `*${index + 1}.* ${body}` };
}

function grantRow(index: number, rule: Rule): RuleRow {
  const risk = assessRule(rule);
  return row(index, risk.level, `${ruleText(rule, rule.direction)}${riskBadge(risk)}`);
}

function modifyRow(index: number, m: Modification, prefix = ""): RuleRow {
  const after = afterRule(m);
  const risk = assessRule(after);
  const before = m.before ? ruleText(m.before, m.before.direction) : "_previous rule not known_";
  const id = mrkdwnCode(m.ruleId, MAX_RULE_ID);
  const text = `${prefix}${id} ${before} → ${ruleText(m.rule, m.before?.direction)}`;
  return row(index, risk.level, `${text}${riskBadge(risk)}`);
}

/** A description update's edit the baseline has not resolved: the rule as named, its new description. */
function describedRow(index: number, edit: DescriptionEdit): RuleRow {
  if ("rule" in edit) {
    const risk = assessRule(edit.rule);
    const text = `${ruleText(edit.rule, edit.rule.direction)} _(description set; previous description not known)_`;
    return row(index, risk.level, `${text}${riskBadge(risk)}`);
  }
  const id = mrkdwnCode(edit.ruleId, MAX_RULE_ID);
  const description = edit.description?.trim()
    ? `“${mrkdwnText(edit.description, MAX_DESCRIPTION)}”`
    : "none";
  return row(index, "none", `${id} (rule content not known) description → ${description}`);
}

/**
 * One row per rule of the change, worst risk first (stable: otherwise in change order). Added
 * rules carry their flags; modified rules show before → after with the flags of the result;
 * removed rules carry none (a removal opens nothing).
 */
export function ruleRows(change: Change): RuleRow[] {
  let rows: RuleRow[];
  switch (change.kind) {
    case "add":
      rows = change.rules.map((r, i) => grantRow(i, r));
      break;
    case "remove":
      rows =
        change.rules.length > 0
          ? change.rules.map((r, i) => row(i, "none", ruleText(r, r.direction)))
          : change.ruleIds.map((id, i) =>
              row(i, "none", `${mrkdwnCode(id, MAX_RULE_ID)} (rule content not known)`),
            );
      break;
    case "modify":
      rows = [
        ...change.modifications.map((m, i) => modifyRow(i, m)),
        ...(change.descriptions ?? []).map((e, i) =>
          describedRow(change.modifications.length + i, e),
        ),
      ];
      break;
    case "drift": {
      const added = change.added.map((r, i) => {
        const risk = assessRule(r);
        return row(i, risk.level, `added: ${ruleText(r, r.direction)}${riskBadge(risk)}`);
      });
      const removed = change.removed.map((r, i) =>
        row(added.length + i, "none", `removed: ${ruleText(r, r.direction)}`),
      );
      const edited = change.modifications.map((m, i) =>
        modifyRow(added.length + removed.length + i, m, "edited: "),
      );
      rows = [...added, ...removed, ...edited];
      break;
    }
    case "prefixList": {
      // Each rule naming the list, with each CIDR added ("now also") or removed ("no longer").
      const added = change.references.flatMap((ref) =>
        entryRules({ ...change, references: [ref] }, change.added).map((r) => ({ ref, r })),
      );
      const removed = change.references.flatMap((ref) =>
        entryRules({ ...change, references: [ref] }, change.removed).map((r) => ({ ref, r })),
      );
      rows = [
        ...added.map(({ ref, r }, i) => {
          const risk = assessRule(r);
          const group = mrkdwnCode(ref.groupId, MAX_RULE_ID);
          return row(
            i,
            risk.level,
            `${group} now also: ${ruleText(r, r.direction)}${riskBadge(risk)}`,
          );
        }),
        ...removed.map(({ ref, r }, i) =>
          row(
            added.length + i,
            "none",
            `${mrkdwnCode(ref.groupId, MAX_RULE_ID)} no longer: ${ruleText(r, r.direction)}`,
          ),
        ),
      ];
      break;
    }
  }
  return rows.sort((a, b) => RISK_ORDER[b.level] - RISK_ORDER[a.level] || a.index - b.index);
}
