/**
 * The Slack messages of a request: the approval message (with Approve / Deny buttons), the
 * monitoring message, their updates for every later status, and the ephemeral "already decided"
 * reply. Pure: every time comes from the request, every limit in `LIMITS` is kept, however many
 * rules or however long the strings.
 */
import { ADOPTED_NOTE, type ApprovalRequest, leftOnExpiry } from "../request.js";
import { describePeer } from "../rule.js";
import {
  type ActionsBlock,
  type Block,
  type ButtonElement,
  blockTextLength,
  type ContextBlock,
  type HeaderBlock,
  LIMITS,
  type Mrkdwn,
  type SectionBlock,
  type SlackMessage,
} from "./blockkit.js";
import { actionText, identityText, ruleRows, shortUserAgent } from "./describe.js";
import { assessChange, type ChangeRisk, sensitiveNames } from "./risk.js";
import {
  actorText,
  clampMrkdwn,
  clampPlain,
  mrkdwnCode,
  mrkdwnText,
  plainDate,
  plural,
  policyRule,
  slackDate,
} from "./text.js";

export type ChannelKind = "approval" | "monitoring";

export const APPROVE_ACTION_ID = "approve";
export const DENY_ACTION_ID = "deny";
const DECISION_BLOCK_PREFIX = "decision:";

/** The block_id of the buttons: "decision:<requestId>". */
export function decisionBlockId(requestId: string): string {
  return `${DECISION_BLOCK_PREFIX}${requestId}`;
}

/** The request id in a decision block_id, or undefined. */
export function requestIdFromBlockId(blockId: string): string | undefined {
  return blockId.startsWith(DECISION_BLOCK_PREFIX)
    ? blockId.slice(DECISION_BLOCK_PREFIX.length)
    : undefined;
}

// Caps on single values, far below the block limits they sit in.
const MAX_FIELD_VALUE = 300;
const MAX_NAME = 200;
const MAX_ARN = 400;
const MAX_REASON = 500;
const MAX_ERROR = 500;
const MAX_NOTIFICATION = 500;
const MAX_EPHEMERAL = 1000;
/** Room kept for the "…and N more rules not shown" line. */
const MORE_LINE_RESERVE = 120;

// ---- small block builders ----

const mrkdwn = (text: string): Mrkdwn => ({ type: "mrkdwn", text, verbatim: true });

function header(text: string): HeaderBlock {
  return {
    type: "header",
    text: { type: "plain_text", text: clampPlain(text, LIMITS.headerText), emoji: true },
  };
}

function section(text: string): SectionBlock {
  return { type: "section", text: mrkdwn(clampMrkdwn(text, LIMITS.sectionText)) };
}

function fieldsSection(fields: readonly [string, string][]): SectionBlock {
  return {
    type: "section",
    fields: fields
      .slice(0, LIMITS.sectionFields)
      .map(([label, value]) => mrkdwn(clampMrkdwn(`*${label}*\n${value}`, LIMITS.fieldText))),
  };
}

function context(...texts: string[]): ContextBlock {
  return {
    type: "context",
    elements: texts
      .slice(0, LIMITS.contextElements)
      .map((t) => mrkdwn(clampMrkdwn(t, LIMITS.contextText))),
  };
}

function button(
  actionId: string,
  label: string,
  value: string,
  style: "primary" | "danger",
): ButtonElement {
  return {
    type: "button",
    action_id: actionId,
    text: { type: "plain_text", text: clampPlain(label, LIMITS.buttonText), emoji: true },
    value,
    style,
  };
}

// ---- the status of a request ----

interface StatusView {
  /** Header text (plain). */
  title: string;
  emoji: string;
  /** The status line (mrkdwn), shown bold. */
  headline: string;
  /** A second line (mrkdwn). */
  detail?: string;
  /** Prefix of the notification text. */
  short: string;
}

const at = (iso: string | undefined): string => (iso ? ` at ${slackDate(iso)}` : "");

/** What happens to the change when it is not applied: normally it stays reverted. */
function staysText(request: ApprovalRequest): string {
  if (!request.revertError) return "the change stays reverted";
  const after = request.followUpRevert;
  const revertsAfter =
    request.status === "denied" || (request.status === "expired" && !leftOnExpiry(request));
  if (!after) {
    return revertsAfter
      ? "reverting the change now…"
      : "the change could not be reverted and is still in place";
  }
  if (!after.error) return `the change was reverted${at(after.at)}`;
  return `reverting it failed (${mrkdwnText(after.error.code, 100)}: ${mrkdwnText(after.error.message, MAX_ERROR)}): the change is still in place`;
}

/** "1 of 2 approvals (bob)" while a request waits for more than one approver, else undefined. */
function approvalsText(request: ApprovalRequest): string | undefined {
  if (request.requiredApprovals <= 1) return undefined;
  const given = request.approvals ?? [];
  const names = given.map((a) => actorText(a.by)).join(", ");
  return `${given.length} of ${request.requiredApprovals} approvals${names ? ` (${names})` : ""}`;
}

function policyReason(request: ApprovalRequest): string {
  return mrkdwnText(request.policyReason ?? "no reason recorded", MAX_REASON);
}

function policyRuleText(request: ApprovalRequest): string {
  const rule = policyRule(request.decidedBy) ?? request.policy?.rule;
  return rule ? `Policy rule ${mrkdwnCode(rule, 100)}` : "Policy";
}

/** "Policy rule `x`" for a request a named policy rule sent to a person; undefined for the default. */
function routedByText(request: ApprovalRequest): string | undefined {
  const rule = request.policy?.rule;
  if (!rule || rule === "default") return undefined;
  const reason = request.policyReason ? `: ${mrkdwnText(request.policyReason, MAX_REASON)}` : "";
  return `Policy rule ${mrkdwnCode(rule, 100)}${reason}`;
}

/** The change stands while a person decides because policy says notify (a rule, or the account's mode). */
export function standsByPolicy(request: ApprovalRequest): "mode" | "rule" | undefined {
  const code = request.revertError?.code;
  if (code === NOT_ENFORCED_CODE) return "mode";
  if (code === NOTIFY_CODE) return "rule";
  return undefined;
}

/** What the buttons of a change that stands are marked with. */
function notifyMarker(request: ApprovalRequest): string | undefined {
  const why = standsByPolicy(request);
  if (why === "mode") return "not enforced in this account";
  if (why === "rule") return "notify";
  return undefined;
}

function expiredAt(request: ApprovalRequest): string {
  const entry = [...request.history].reverse().find((h) => h.status === "expired");
  return entry?.at ?? request.updatedAt;
}

function statusView(request: ApprovalRequest, channel: ChannelKind): StatusView {
  const who = actorText(request.decidedBy);
  switch (request.status) {
    case "pending": {
      const drift = request.change.kind === "drift";
      const count = approvalsText(request);
      const stands = standsByPolicy(request);
      const marker = notifyMarker(request);
      return {
        title: `${
          drift
            ? "Security group drift needs approval"
            : channel === "approval"
              ? "Security group change needs approval"
              : "Security group change awaiting approval"
        }${marker ? ` (${marker})` : ""}`,
        emoji: stands ? ":bell:" : request.revertError ? ":warning:" : ":hourglass_flowing_sand:",
        headline:
          stands === "mode"
            ? "Not reverted: policy is not enforced in this account (the change stands); waiting for a decision"
            : stands === "rule"
              ? "Not reverted: the policy says notify (the change stands); waiting for a decision"
              : request.revertError?.code === LATE_EVENT_CODE
                ? "Not reverted: its event arrived late (the change is live); waiting for approval"
                : request.revertError
                  ? "Could not be reverted (the change is live); waiting for approval"
                  : drift
                    ? "Changed with no CloudTrail event, and reverted; waiting for approval"
                    : "Reverted; waiting for approval",
        detail: [count, routedByText(request), `Expires ${slackDate(request.expiresAt)}`]
          .filter(Boolean)
          .join(" · "),
        short: `${channel === "approval" ? "Approval needed" : "Awaiting approval"}${marker ? ` (${marker})` : ""}`,
      };
    }
    case "approved":
      return {
        title: "Security group change approved",
        emoji: ":gear:",
        headline: `Approved by ${who}, applying…`,
        detail: request.decidedAt ? `Approved ${slackDate(request.decidedAt)}` : undefined,
        short: "Approved, applying",
      };
    case "applied":
      if (request.history.some((h) => h.note === ADOPTED_NOTE)) {
        return {
          title: "Security group change auto-approved",
          emoji: ":robot_face:",
          headline: `Auto-approved by policy: ${policyReason(request)}`,
          detail: `${policyRuleText(request)}; it stands, and the baseline took it in.`,
          short: "Auto-approved",
        };
      }
      return {
        title: "Security group change applied",
        emoji: ":white_check_mark:",
        headline: `Applied — approved by ${who}${at(request.decidedAt)}`,
        detail: request.appliedAt ? `Applied ${slackDate(request.appliedAt)}` : undefined,
        short: "Applied",
      };
    case "failed": {
      const code = mrkdwnText(request.error?.code ?? "UnknownError", 100);
      const message = mrkdwnText(request.error?.message ?? "no message", MAX_ERROR);
      return {
        title: "Security group change failed to apply",
        emoji: ":x:",
        headline: `Apply failed: ${code}: ${message}`,
        detail: `Approved by ${who}${at(request.decidedAt)}; failed${at(request.updatedAt)}`,
        short: "Apply failed",
      };
    }
    case "denied":
      return {
        title: "Security group change denied",
        emoji: ":no_entry_sign:",
        headline: `Denied by ${who}; ${staysText(request)}`,
        detail: request.decidedAt ? `Denied ${slackDate(request.decidedAt)}` : undefined,
        short: "Denied",
      };
    case "expired":
      return {
        title: "Security group change expired",
        emoji: ":alarm_clock:",
        headline: `Expired at ${slackDate(expiredAt(request))}; ${staysText(request)}`,
        detail:
          (request.approvals?.length ?? 0) > 0
            ? `Not enough approvers in time (${approvalsText(request)}).`
            : "Nobody approved or denied it in time.",
        short: "Expired",
      };
    case "auto_denied":
      return {
        title: "Security group change auto-denied",
        emoji: ":no_entry:",
        headline: `Auto-denied by policy: ${policyReason(request)}`,
        detail: `${policyRuleText(request)}; ${staysText(request)}.`,
        short: "Auto-denied",
      };
    case "auto_approved":
      return {
        title: "Security group change auto-approved",
        emoji: ":robot_face:",
        headline: `Auto-approved by policy: ${policyReason(request)}`,
        detail: `${policyRuleText(request)}; applying…`,
        short: "Auto-approved",
      };
    case "exempt":
      return {
        title: "Security group change exempt",
        emoji: ":unlock:",
        headline: `Exempt by policy, the change stands: ${policyReason(request)}`,
        detail: `${policyRuleText(request)}; the baseline took it in.`,
        short: "Exempt",
      };
  }
}

// ---- the facts of a request ----

function groupText(request: ApprovalRequest): string {
  const id = mrkdwnText(request.change.groupId, 100);
  return request.groupName ? `${id} (${mrkdwnText(request.groupName, 255)})` : id;
}

function accountText(request: ApprovalRequest): string {
  const id = mrkdwnText(request.change.account, 40);
  return request.accountAlias ? `${mrkdwnText(request.accountAlias, 100)} (${id})` : id;
}

function factsBlock(request: ApprovalRequest): SectionBlock {
  const { change } = request;
  const r = change.requester;
  const v = (raw: string) => mrkdwnText(raw, MAX_FIELD_VALUE);
  const fields: [string, string][] = [
    ["Requested by", mrkdwnText(r.name, MAX_NAME)],
    ["Identity", identityText(r)],
    ["Action", actionText(change)],
    ["Security group", groupText(request)],
    ["Account", accountText(request)],
    ["Region", v(change.region)],
    ["Event time", slackDate(change.eventTime)],
  ];
  if (r.sourceIp) fields.push(["Source IP", v(r.sourceIp)]);
  if (r.userAgent) fields.push(["User agent", v(shortUserAgent(r.userAgent))]);
  if (r.invokedBy) fields.push(["Invoked by", v(r.invokedBy)]);
  return fieldsSection(fields);
}

function requesterContext(request: ApprovalRequest): ContextBlock {
  const r = request.change.requester;
  const texts = [`ARN ${mrkdwnCode(r.arn, MAX_ARN)}`];
  if (r.roleArn && r.roleArn !== r.arn) texts.push(`Role ${mrkdwnCode(r.roleArn, MAX_ARN)}`);
  const v = request.verification;
  texts.push(
    v.verified
      ? `:white_check_mark: Verified requester (${VIA[v.via]}: ${mrkdwnText(v.identity, 200)})`
      : `:grey_question: Unverified requester: ${mrkdwnText(v.reason, 300)}`,
  );
  return context(...texts);
}

const VIA = {
  people: "people mapping",
  "identity-center": "IAM Identity Center",
  "source-identity": "source identity",
} as const;

/** The two-approver rule, said where the approver sees it. */
function approversNotice(request: ApprovalRequest): SectionBlock | undefined {
  if (request.status !== "pending" || request.requiredApprovals <= 1) return undefined;
  const rule = request.policy?.rule;
  const why =
    rule && rule !== "default"
      ? `policy rule ${mrkdwnCode(rule, 100)} asks for it${request.verification.verified ? "" : ", and nobody can tell whether an approver made this change"}`
      : request.verification.verified
        ? "policy asks for it"
        : "nobody can tell whether an approver made this change";
  return section(
    `:busts_in_silhouette: *Needs ${request.requiredApprovals} different approvers* (${why}): ${approvalsText(request)}.`,
  );
}

function riskText(request: ApprovalRequest, risk: ChangeRisk): string {
  if (
    request.change.kind === "remove" ||
    (request.change.kind === "drift" &&
      risk.worst === "none" &&
      request.change.added.length === 0 &&
      request.change.modifications.length === 0)
  ) {
    return "*Risk* :information_source: removes access; opens nothing new";
  }
  const { critical, high, medium } = risk.counts;
  const lines: string[] = [];
  if (critical > 0) {
    const examples = risk.flagged
      .filter((f) => f.risk.level === "critical")
      .slice(0, 3)
      .map((f) => `${sensitiveNames(f.risk)} from ${mrkdwnText(describePeer(f.rule.peer), 60)}`);
    const more = critical > examples.length ? `; +${critical - examples.length} more` : "";
    const verb = critical === 1 ? "opens" : "open";
    lines.push(
      `:rotating_light: *CRITICAL: ${plural(critical, "rule")} ${verb} sensitive ports to the whole internet* (${examples.join("; ")}${more})`,
    );
  }
  if (high > 0) {
    lines.push(
      `:warning: *${plural(high, "rule")} open to the whole internet* (0.0.0.0/0 or ::/0)`,
    );
  }
  if (medium > 0) {
    lines.push(
      `:large_yellow_circle: ${plural(medium, "rule")} with a sensitive port or egress to anywhere`,
    );
  }
  if (lines.length === 0) lines.push(":white_check_mark: no risk flags");
  return `*Risk*\n${lines.join("\n")}`;
}

/** The member's revertError code for an event too late to revert alone (the max-event-age rule). */
export const LATE_EVENT_CODE = "EventTooLate";
/** The member's revertError code for a change a policy rule's `notify` left standing. */
export const NOTIFY_CODE = "PolicyNotify";
/** The member's revertError code for a change left standing as its account is in notify mode. */
export const NOT_ENFORCED_CODE = "NotEnforced";

function revertWarning(request: ApprovalRequest): SectionBlock | undefined {
  const e = request.revertError;
  if (!e) return undefined;
  const stands = standsByPolicy(request);
  if (stands) {
    if (request.followUpRevert && !request.followUpRevert.error) return undefined;
    const what =
      stands === "mode"
        ? "*Not enforced in this account* (it is rolled out in notify mode): the change stands"
        : "*Notify*: the policy leaves the change standing";
    return section(
      `:bell: ${what}; ${mrkdwnText(e.message, MAX_ERROR)}. Approve keeps it; Deny reverts it.`,
    );
  }
  if (e.code === LATE_EVENT_CODE) {
    return section(
      `:warning: *Not reverted, and still in place*: ${mrkdwnText(e.message, MAX_ERROR)}. Approve keeps it; Deny reverts it.`,
    );
  }
  return section(
    `:warning: *The change could not be reverted and is still in place*: ${mrkdwnText(e.code, 100)}: ${mrkdwnText(e.message, MAX_ERROR)}`,
  );
}

function footer(request: ApprovalRequest): ContextBlock {
  const c = request.change;
  return context(
    `Request ${mrkdwnCode(request.requestId, 100)}`,
    `${mrkdwnText(c.eventName, 60)} ${mrkdwnCode(c.eventId, 100)}`,
    `Created ${slackDate(request.createdAt)}`,
  );
}

function confirmFor(risk: ChangeRisk): ButtonElement["confirm"] {
  if (risk.worst !== "critical" && risk.worst !== "high") return undefined;
  const n = risk.counts.critical + risk.counts.high;
  const what =
    risk.counts.critical > 0
      ? "open sensitive ports to the whole internet"
      : "open access to the whole internet";
  const plain = (text: string) => ({ type: "plain_text" as const, text, emoji: true });
  return {
    title: plain("Approve a risky change?"),
    text: plain(`${plural(n, "rule")} in this change ${what}. Approving applies it again.`),
    confirm: plain("Approve"),
    deny: plain("Cancel"),
    style: "danger",
  };
}

function actionsBlock(request: ApprovalRequest, risk: ChangeRisk): ActionsBlock {
  const approve = button(APPROVE_ACTION_ID, "Approve", request.requestId, "primary");
  const confirm = confirmFor(risk);
  if (confirm) approve.confirm = confirm;
  return {
    type: "actions",
    block_id: clampPlain(decisionBlockId(request.requestId), LIMITS.blockId),
    elements: [approve, button(DENY_ACTION_ID, "Deny", request.requestId, "danger")],
  };
}

// ---- rule rows within the limits ----

/**
 * Joins rows into section texts of at most 3,000 characters, using at most `maxBlocks` sections
 * and `maxChars` characters in all. Stops at the first row that does not fit.
 */
export function packRows(
  rows: readonly string[],
  maxBlocks: number,
  maxChars: number,
): { texts: string[]; shown: number } {
  const texts: string[] = [];
  let chars = 0;
  let shown = 0;
  for (const raw of rows) {
    const line = clampMrkdwn(raw, LIMITS.sectionText);
    const last = texts[texts.length - 1];
    if (last !== undefined && last.length + 1 + line.length <= LIMITS.sectionText) {
      if (chars + 1 + line.length > maxChars) break;
      texts[texts.length - 1] = `${last}\n${line}`;
      chars += 1 + line.length;
    } else {
      if (texts.length >= maxBlocks || chars + line.length > maxChars) break;
      texts.push(line);
      chars += line.length;
    }
    shown += 1;
  }
  return { texts, shown };
}

function ruleBlocks(request: ApprovalRequest, maxBlocks: number, maxChars: number): Block[] {
  const rows = ruleRows(request.change);
  if (rows.length === 0) return [section("_No rules in this change._")];
  const { texts, shown } = packRows(
    rows.map((r) => r.text),
    maxBlocks,
    maxChars,
  );
  const blocks: Block[] = texts.map(section);
  const hidden = rows.length - shown;
  if (hidden > 0) {
    const order = rows.some((r) => r.level !== "none") ? " (flagged rules are listed first)" : "";
    blocks.push(context(`…and ${plural(hidden, "more rule")} not shown${order}`));
  }
  return blocks;
}

// ---- messages ----

function notificationText(request: ApprovalRequest, view: StatusView, risk: ChangeRisk): string {
  const c = request.change;
  const who = mrkdwnText(c.requester.name, 100);
  const where = `${mrkdwnText(c.groupId, 100)} in ${accountText(request)} ${mrkdwnText(c.region, 40)}`;
  const flag =
    risk.worst === "critical"
      ? " — CRITICAL: sensitive ports open to the internet"
      : risk.worst === "high"
        ? " — open to the internet"
        : "";
  const action = actionText(c).toLowerCase();
  return clampMrkdwn(
    `${view.short}: ${who} — ${action} on ${where} (${plainDate(c.eventTime)})${flag}`,
    MAX_NOTIFICATION,
  );
}

function buildMessage(
  request: ApprovalRequest,
  channel: ChannelKind,
  withButtons: boolean,
): SlackMessage {
  const risk = assessChange(request.change);
  const view = statusView(request, channel);
  const status = `${view.emoji} *${view.headline}*${view.detail ? `\n${view.detail}` : ""}`;
  const warning = revertWarning(request);
  const approvers = approversNotice(request);
  const head: Block[] = [
    header(view.title),
    section(status),
    ...(warning ? [warning] : []),
    ...(approvers ? [approvers] : []),
    factsBlock(request),
    requesterContext(request),
    section(riskText(request, risk)),
    { type: "divider" },
  ];
  const tail: Block[] = [footer(request)];
  const marker = notifyMarker(request);
  if (withButtons && marker) {
    tail.push(
      context(`:bell: *${marker}*: Approve keeps the change as it stands; Deny reverts it.`),
    );
  }
  if (withButtons) tail.push(actionsBlock(request, risk));
  const maxBlocks = LIMITS.blocksPerMessage - head.length - tail.length - 1;
  const maxChars = LIMITS.totalBlockText - blockTextLength([...head, ...tail]) - MORE_LINE_RESERVE;
  return {
    text: notificationText(request, view, risk),
    blocks: [...head, ...ruleBlocks(request, maxBlocks, maxChars), ...tail],
  };
}

/**
 * The approval channel's message. While the request is pending it has Approve (action_id
 * "approve") and Deny ("deny") buttons whose value is the request id, in a block whose id is
 * `decisionBlockId(requestId)`; for any other status it is `outcomeMessage(request, "approval")`,
 * so a decided request never shows buttons.
 */
export function approvalMessage(request: ApprovalRequest): SlackMessage {
  return buildMessage(request, "approval", request.status === "pending");
}

/** Rule rows a monitoring line shows; the rest are counted. */
const MONITORING_ROWS = 3;

/**
 * The monitoring channel is a log: one compact entry per request — its status, who did what
 * where, its first rules — updated in place as the request moves on. Never buttons.
 */
export function monitoringMessage(request: ApprovalRequest): SlackMessage {
  const c = request.change;
  const risk = assessChange(c);
  const view = statusView(request, "monitoring");
  const who = mrkdwnText(c.requester.name, MAX_NAME);
  const where = `${groupText(request)} in ${accountText(request)} ${mrkdwnText(c.region, 40)}`;
  const flag = risk.worst === "critical" || risk.worst === "high" ? " :warning:" : "";
  const all = ruleRows(c).map((r) => r.text);
  const { texts, shown } = packRows(all.slice(0, MONITORING_ROWS), 1, 1_500);
  const summary = `${view.emoji} *${view.short}* — ${who}: ${mrkdwnText(actionText(c), 200)} on ${where}${flag}`;
  const hidden = all.length - shown;
  const warning = revertWarning(request);
  return {
    text: notificationText(request, view, risk),
    blocks: [
      section([summary, ...texts].join("\n")),
      ...(warning ? [warning] : []),
      context(
        clampMrkdwn(`${view.headline}${view.detail ? ` · ${view.detail}` : ""}`, 1_500),
        ...(hidden > 0 ? [`…and ${plural(hidden, "more rule")} not shown`] : []),
        `Request ${mrkdwnCode(request.requestId, 100)}`,
      ),
    ],
  };
}

/** The message for either channel in the request's current status, without buttons. */
export function outcomeMessage(request: ApprovalRequest, channel: ChannelKind): SlackMessage {
  return channel === "monitoring"
    ? monitoringMessage(request)
    : buildMessage(request, channel, false);
}

/** What a channel should show now: the approval message while pending, else the outcome. */
export function requestMessage(request: ApprovalRequest, channel: ChannelKind): SlackMessage {
  return channel === "approval" ? approvalMessage(request) : monitoringMessage(request);
}

/** The ephemeral reply to a click on a request that is no longer pending (mrkdwn). */
export function alreadyDecidedText(request: ApprovalRequest): string {
  const who = actorText(request.decidedBy);
  const when = at(request.decidedAt);
  const reason = request.policyReason ? `: ${policyReason(request)}` : "";
  let text: string;
  switch (request.status) {
    case "pending":
      text = "This request is still waiting for a decision.";
      break;
    case "approved":
      text = `This request was already approved by ${who}${when}; it is being applied.`;
      break;
    case "applied":
      text = `This request was already approved by ${who}${when} and has been applied.`;
      break;
    case "failed":
      text = `This request was already approved by ${who}${when}, but applying it failed: ${mrkdwnText(request.error?.code ?? "UnknownError", 100)}.`;
      break;
    case "denied":
      text = `This request was already denied by ${who}${when}; ${staysText(request)}.`;
      break;
    case "expired":
      text = `This request expired at ${slackDate(expiredAt(request))}; ${staysText(request)}.`;
      break;
    case "auto_approved":
      text = `This request was already approved by ${who}${when}${reason}.`;
      break;
    case "auto_denied":
      text = `This request was already denied by ${who}${when}${reason}; ${staysText(request)}.`;
      break;
    case "exempt":
      text = `This change is exempt by ${who}${when}${reason}: it stands, nobody decides it.`;
      break;
  }
  return clampMrkdwn(text, MAX_EPHEMERAL);
}
