/** Slack Block Kit messages for approval requests: pure builders and a limits validator. */
export * from "./blockkit.js";
export {
  actionText,
  identityText,
  permissionSetOf,
  type RuleRow,
  ruleRows,
  ruleText,
  shortUserAgent,
  trafficText,
} from "./describe.js";
export {
  APPROVE_ACTION_ID,
  alreadyDecidedText,
  approvalMessage,
  type ChannelKind,
  DENY_ACTION_ID,
  decisionBlockId,
  monitoringMessage,
  outcomeMessage,
  packRows,
  requestIdFromBlockId,
  requestMessage,
} from "./messages.js";
export {
  assessChange,
  assessRule,
  type ChangeRisk,
  grantedRules,
  isOpenToWorld,
  RISK_ORDER,
  type RiskLevel,
  type RuleRisk,
  SENSITIVE_PORTS,
  type SensitivePort,
  sensitivePortsOf,
} from "./risk.js";
export { actorText, clampMrkdwn, mrkdwnText, oneLine, plural, slackDate } from "./text.js";
