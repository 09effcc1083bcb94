/**
 * `secgroup-approval doctor [--config FILE]`: checks the deployment configuration offline and says,
 * per field and in plain English, what is missing or wrong, plus what looks risky.
 */
import {
  type AppConfig,
  accountAliases,
  EXAMPLE_CONFIG_FILE,
  memberTargets,
  readConfigFile,
} from "../../infra/config.js";
import { arnGlobMatches } from "../domain/requester.js";

/** Unrelated principals: a pattern matching all of them exempts everybody. */
const EVERYONE = [
  "arn:aws:iam::123456789012:user/alice",
  "arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob@example.com",
  "arn:aws:iam::555555555555:root",
];

/** Lambda's limit on all environment variables of one function together. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;
/** CloudTrail events usually reach EventBridge within minutes; below this, late ones are lost. */
const SAFE_MIN_EVENT_AGE_SECONDS = 300;

export interface DoctorResult {
  ok: boolean;
  lines: string[];
}

function envBytes(vars: Record<string, string>): number {
  return Object.entries(vars).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
}

/** The hub handlers' environment, with typical lengths for values only known at deploy time. */
function hubEnvBytes(config: AppConfig): number {
  return envBytes({
    REQUESTS_TABLE: "securityGroupRequests",
    SLACK_SECRET_ARN: `arn:aws:secretsmanager:${config.hub.region}:${config.hub.account}:secret:secgroup-approval/slack-AbCdEf`,
    SLACK_APPROVAL_CHANNEL: config.slack.approvalChannel,
    SLACK_MONITORING_CHANNEL: config.slack.monitoringChannel,
    APPROVER_USER_IDS: config.slack.approverUserIds.join(","),
    APPROVER_USER_GROUP: config.slack.approverUserGroup ?? "",
    DENY_TOPIC_ARN: `arn:aws:sns:${config.hub.region}:${config.hub.account}:denySecurityGroupChange`,
    MEMBER_APPLY_TOPIC_NAME: "applySecurityGroupChange",
    AWS_PARTITION: "aws",
    REQUEST_EXPIRY_HOURS: String(config.requestExpiryHours),
    ACCOUNT_ALIASES: JSON.stringify(accountAliases(config)),
    NODE_OPTIONS: "--enable-source-maps",
  });
}

function memberEnvBytes(config: AppConfig, alias: string): number {
  const role = (fn: string) =>
    `arn:aws:iam::111122223333:role/secgroup-approval-${fn}-ap-southeast-2`;
  return envBytes({
    BASELINE_TABLE: "securityGroupBaselines",
    HUB_CHANGE_TOPIC_ARN: `arn:aws:sns:${config.hub.region}:${config.hub.account}:securityGroupChange`,
    HUB_RESULT_TOPIC_ARN: `arn:aws:sns:${config.hub.region}:${config.hub.account}:errorHandlerSecurityGroupChange`,
    SYSTEM_ROLE_ARNS: [role("revert"), role("apply"), role("sweep")].join(","),
    EXEMPT_PRINCIPALS: config.exemptPrincipals.join(","),
    MAX_EVENT_AGE_SECONDS: String(config.seedRules.maxEventAgeSeconds),
    AUTO_DENY_WITHOUT_DESCRIPTION: String(config.seedRules.autoDenyWithoutDescription),
    ACCOUNT_ALIAS: alias,
    NODE_OPTIONS: "--enable-source-maps",
  });
}

/** Checks beyond the schema: things that are valid but wrong-looking or risky. */
function review(config: AppConfig): { errors: string[]; warnings: string[]; facts: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const facts: string[] = [];
  const { hub, slack } = config;
  const targets = memberTargets(config);

  facts.push(`hub: account ${hub.account} in ${hub.region} (stack SecgroupApproval-Hub)`);
  if (config.singleAccount) {
    facts.push(
      `single-account mode: the hub account governs itself in ${targets.map((t) => t.region).join(", ")}`,
    );
  } else {
    const accounts = new Set(targets.map((t) => t.account));
    facts.push(
      `members: ${accounts.size} account${accounts.size === 1 ? "" : "s"}, ${targets.length} member stack${targets.length === 1 ? "" : "s"}`,
    );
    for (const m of config.members) {
      facts.push(`  ${m.account} (${m.alias}) in ${m.regions.join(", ")}`);
    }
    const hubIndex = config.members.findIndex((m) => m.account === hub.account);
    if (hubIndex >= 0) {
      facts.push(`the hub account is also governed (members[${hubIndex}])`);
    } else {
      warnings.push(
        `the hub account ${hub.account} is not in members: changes to its own security groups are not governed (add it to members, or ignore this if that is intended)`,
      );
    }
  }

  const aliases = new Map<string, string>();
  for (const m of config.members) {
    const other = aliases.get(m.alias.toLowerCase());
    if (other && other !== m.account) {
      warnings.push(
        `members: accounts ${other} and ${m.account} share the alias "${m.alias}": Slack messages would not tell them apart`,
      );
    }
    aliases.set(m.alias.toLowerCase(), m.account);
  }

  if (slack.approvalChannel === slack.monitoringChannel) {
    warnings.push(
      "slack.monitoringChannel: is the same channel as slack.approvalChannel: every request will be posted there twice",
    );
  }
  for (const [field, id] of [
    ["approvalChannel", slack.approvalChannel],
    ["monitoringChannel", slack.monitoringChannel],
  ] as const) {
    if (id.startsWith("G")) {
      facts.push(`slack.${field}: ${id} is a private channel: invite the app's bot user into it`);
    }
  }
  const approvers = slack.approverUserIds.length;
  facts.push(
    `approvers: ${approvers} user${approvers === 1 ? "" : "s"}${slack.approverUserGroup ? ` and the members of user group ${slack.approverUserGroup}` : ""}`,
  );
  if (approvers === 1 && !slack.approverUserGroup) {
    warnings.push(
      "slack.approverUserIds: only one approver, who cannot approve their own changes: add a second approver or a user group",
    );
  }
  const dupApprovers = slack.approverUserIds.filter((id, i, all) => all.indexOf(id) !== i);
  if (dupApprovers.length > 0) {
    warnings.push(
      `slack.approverUserIds: ${[...new Set(dupApprovers)].join(", ")} listed more than once`,
    );
  }

  config.exemptPrincipals.forEach((pattern, i) => {
    const where = `exemptPrincipals[${i}]`;
    if (EVERYONE.every((arn) => arnGlobMatches(pattern, arn))) {
      errors.push(`${where}: "${pattern}" exempts everyone: nothing would ever be reverted`);
    } else if (!/^arn:[^:]*:(iam|sts)::/.test(pattern)) {
      warnings.push(
        `${where}: "${pattern}" is not an IAM or STS ARN (arn:aws:iam::… or arn:aws:sts::…): it will never match who made a change`,
      );
    }
  });

  const age = config.seedRules.maxEventAgeSeconds;
  if (age === 0) {
    facts.push(
      "seedRules.maxEventAgeSeconds: 0, the age rule is off (late events are still reverted)",
    );
  } else if (age < SAFE_MIN_EVENT_AGE_SECONDS) {
    warnings.push(
      `seedRules.maxEventAgeSeconds: ${age} s is short: CloudTrail events can reach EventBridge minutes late, and a change whose event is older than this is ignored and stays in place (${SAFE_MIN_EVENT_AGE_SECONDS} or more, or 0 for off, is safer)`,
    );
  }
  if (config.seedRules.autoDenyWithoutDescription) {
    facts.push(
      "seedRules.autoDenyWithoutDescription: rules added without a description are denied at once",
    );
  }
  if (config.requestExpiryHours > 168) {
    warnings.push(
      `requestExpiryHours: ${config.requestExpiryHours} hours: a reverted change waits over a week for a decision`,
    );
  }

  const hubBytes = hubEnvBytes(config);
  if (hubBytes > LAMBDA_ENV_LIMIT_BYTES) {
    errors.push(
      `the hub functions' environment would be about ${hubBytes} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}: shorten member aliases or use a user group instead of many approver ids`,
    );
  }
  for (const t of targets) {
    const bytes = memberEnvBytes(config, t.alias);
    if (bytes > LAMBDA_ENV_LIMIT_BYTES) {
      errors.push(
        `exemptPrincipals: the member functions' environment would be about ${bytes} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}: use fewer, broader patterns`,
      );
      break;
    }
  }
  return { errors, warnings, facts };
}

export async function doctor(configPath: string): Promise<DoctorResult> {
  const result = readConfigFile(configPath);
  if (!result.ok) {
    const lines = result.problems.map((p) => `error: ${p}`);
    lines.push(
      `${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${configPath} (the example: ${EXAMPLE_CONFIG_FILE})`,
    );
    return { ok: false, lines };
  }
  const { errors, warnings, facts } = review(result.config);
  const lines = [
    ...facts.map((f) => (f.startsWith("  ") ? `       ${f.trimStart()}` : `ok:    ${f}`)),
    ...warnings.map((w) => `warning: ${w}`),
    ...errors.map((e) => `error: ${e}`),
  ];
  const ok = errors.length === 0;
  lines.push(
    ok
      ? `${configPath} is valid${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length === 1 ? "" : "s"})` : ""}: deploy with npx cdk deploy (docs/DEPLOY.md)`
      : `${errors.length} problem${errors.length === 1 ? "" : "s"} in ${configPath}`,
  );
  return { ok, lines };
}
