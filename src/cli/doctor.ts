/**
 * `secgroup-approval doctor [--config FILE]`: checks the deployment configuration offline and says,
 * per field and in plain English, what is missing or wrong, plus what looks risky.
 */
import {
  type AppConfig,
  accountAliases,
  arnAccount,
  EXAMPLE_CONFIG_FILE,
  governedAccounts,
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

/** Slack sends every click from a few addresses of its own: a per-IP limit below this may block Slack. */
const SAFE_MIN_WAF_RATE_LIMIT = 100;

/** Lambda's limit on all environment variables of one function together. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;
/** CloudTrail events usually reach EventBridge within minutes; below this, late ones are lost. */
const SAFE_MIN_EVENT_AGE_SECONDS = 300;

/** Account ids from examples and AWS's documentation: valid digits, nobody's account. */
const EXAMPLE_ACCOUNTS = new Set([
  "123456789012",
  "210987654321",
  "111122223333",
  "444455556666",
  "777788889999",
]);

/** 111111111111, 123456789012, 111122223333 and the like. */
export function isPlaceholderAccount(id: string): boolean {
  return /^(\d)\1{11}$/.test(id) || EXAMPLE_ACCOUNTS.has(id);
}

const DIGIT_RUNS = "01234567890123456789";
const REVERSE_DIGIT_RUNS = "98765432109876543210";
/** Slack ids of the committed example that are not plain digit runs. */
const EXAMPLE_SLACK_IDS = new Set(["U0234567891"]);

/** C0123456789, U0987654321, UXXXXXXXXX, U00000000 and the like. */
export function isPlaceholderSlackId(id: string): boolean {
  const body = id.slice(1);
  return (
    EXAMPLE_SLACK_IDS.has(id) ||
    /^(.)\1+$/.test(body) ||
    /XXX|EXAMPLE|PLACEHOLDER|TODO/.test(body) ||
    (body.length >= 6 && (DIGIT_RUNS.includes(body) || REVERSE_DIGIT_RUNS.includes(body)))
  );
}

const EXAMPLE_DOMAINS = /@(.+\.)?example\.(com|org|net)$/i;

/** One warning per field that still holds an example value. */
function placeholders(config: AppConfig): string[] {
  const out: string[] = [];
  const account = (where: string, id: string) => {
    if (isPlaceholderAccount(id)) {
      out.push(
        `${where}: ${id} looks like a placeholder, not a real account id: put your own 12-digit account id here`,
      );
    }
  };
  account("hub.account", config.hub.account);
  config.members.forEach((m, i) => {
    account(`members[${i}].account`, m.account);
  });
  config.exemptPrincipals.forEach((pattern, i) => {
    for (const id of pattern.match(/\d{12}/g) ?? []) account(`exemptPrincipals[${i}]`, id);
  });
  config.people.forEach((person, i) => {
    (person.principals ?? []).forEach((pattern, j) => {
      for (const id of pattern.match(/\d{12}/g) ?? []) account(`people[${i}].principals[${j}]`, id);
    });
  });
  config.sourceIdentityRoles.forEach((pattern, i) => {
    for (const id of pattern.match(/\d{12}/g) ?? []) account(`sourceIdentityRoles[${i}]`, id);
  });
  if (config.alarmTopicArn) account("alarmTopicArn", arnAccount(config.alarmTopicArn));

  const slack = (where: string, id: string, what: string) => {
    if (isPlaceholderSlackId(id)) {
      out.push(
        `${where}: ${id} looks like a placeholder, not a real ${what}: copy the real one from Slack (docs/DEPLOY.md, step 1)`,
      );
    }
  };
  slack("slack.approvalChannel", config.slack.approvalChannel, "channel id");
  slack("slack.monitoringChannel", config.slack.monitoringChannel, "channel id");
  config.slack.approverUserIds.forEach((id, i) => {
    slack(`slack.approverUserIds[${i}]`, id, "member id");
  });
  if (config.slack.approverUserGroup) {
    slack("slack.approverUserGroup", config.slack.approverUserGroup, "user group id");
  }
  if (config.slack.teamId) slack("slack.teamId", config.slack.teamId, "workspace id");
  if (config.slack.appId) slack("slack.appId", config.slack.appId, "app id");
  config.people.forEach((person, i) => {
    slack(`people[${i}].slackUserId`, person.slackUserId, "member id");
  });
  if (config.alarmEmail && EXAMPLE_DOMAINS.test(config.alarmEmail)) {
    out.push(
      `alarmEmail: ${config.alarmEmail} is an example address: nobody would read the alarms`,
    );
  }
  return out;
}

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

/**
 * The largest hub handler's environment (buttonClick's: it alone has the signing secret's ARN),
 * with typical lengths for values only known at deploy time.
 */
function hubEnvBytes(config: AppConfig): number {
  const secret = (name: string) =>
    `arn:aws:secretsmanager:${config.hub.region}:${config.hub.account}:secret:secgroup-approval/${name}-AbCdEf`;
  return envBytes({
    REQUESTS_TABLE: "securityGroupRequests",
    SLACK_BOT_TOKEN_SECRET_ARN: secret("slack-bot-token"),
    SLACK_SIGNING_SECRET_ARN: secret("slack-signing-secret"),
    SLACK_TEAM_ID: config.slack.teamId ?? "",
    SLACK_APP_ID: config.slack.appId ?? "",
    SLACK_APPROVAL_CHANNEL: config.slack.approvalChannel,
    SLACK_MONITORING_CHANNEL: config.slack.monitoringChannel,
    APPROVER_USER_IDS: config.slack.approverUserIds.join(","),
    APPROVER_USER_GROUP: config.slack.approverUserGroup ?? "",
    DENY_TOPIC_ARN: `arn:aws:sns:${config.hub.region}:${config.hub.account}:denySecurityGroupChange`,
    MEMBER_APPLY_TOPIC_NAME: "applySecurityGroupChange",
    AWS_PARTITION: "aws",
    REQUEST_EXPIRY_HOURS: String(config.requestExpiryHours),
    ACCOUNT_ALIASES: JSON.stringify(accountAliases(config)),
    GOVERNED_ACCOUNTS: JSON.stringify(governedAccounts(config)),
    ORGANIZATION_ID: config.organization?.id ?? "",
    ORGANIZATION_REGIONS: (config.organization?.regions ?? []).join(","),
    PEOPLE: JSON.stringify(config.people),
    SOURCE_IDENTITY_ROLES: config.sourceIdentityRoles.join(","),
    ON_EXPIRY: config.onExpiry,
    NODE_OPTIONS: "--enable-source-maps",
  });
}

function memberEnvBytes(config: AppConfig): number {
  const role = (fn: string) =>
    `arn:aws:iam::111122223333:role/secgroup-approval-${fn}-ap-southeast-2`;
  return envBytes({
    BASELINE_TABLE: "securityGroupBaselines",
    MEMBER_ACCOUNT_ID: "111122223333",
    MEMBER_BUS_NAME: "secgroup-approval-member",
    APPLY_TOPIC_ARN: "arn:aws:sns:ap-southeast-2:111122223333:applySecurityGroupChange",
    SYSTEM_ROLE_ARNS: ["revert", "apply", "sweep", "revert-failed"].map(role).join(","),
    EXEMPT_PRINCIPALS: config.exemptPrincipals.join(","),
    MAX_EVENT_AGE_SECONDS: String(config.seedRules.maxEventAgeSeconds),
    AUTO_DENY_WITHOUT_DESCRIPTION: String(config.seedRules.autoDenyWithoutDescription),
    PEOPLE: JSON.stringify(config.people),
    SOURCE_IDENTITY_ROLES: config.sourceIdentityRoles.join(","),
    DRIFT_GRACE_SECONDS: String(config.drift.graceSeconds),
    DRIFT_MAX_PER_SWEEP: String(config.drift.maxPerSweep),
    DEPLOYMENT_ID: "SecgroupApproval-Member-111122223333-ap-southeast-2@0.0.0#0123456789ab",
    NODE_OPTIONS: "--enable-source-maps",
  });
}

/** Checks beyond the schema: things that are valid but wrong-looking or risky. */
function review(config: AppConfig): {
  errors: string[];
  warnings: string[];
  facts: string[];
  placeholders: number;
} {
  const errors: string[] = [];
  const warnings: string[] = [];
  const facts: string[] = [];
  const { hub, slack } = config;
  const targets = memberTargets(config);
  const examples = placeholders(config);
  warnings.push(...examples);

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
      "slack.approverUserIds: only one approver, who cannot approve their own changes, nor alone a change whose requester is not verified (that takes two): add a second approver or a user group",
    );
  }

  // Which workspace and app a click must come from.
  if (!slack.teamId && !slack.appId) {
    warnings.push(
      "slack.teamId / slack.appId: neither is set, so clicks are not bound to a workspace and an app (only to the signing secret): set both (docs/DEPLOY.md, step 1)",
    );
  } else if (!slack.teamId || !slack.appId) {
    const missing = slack.teamId ? "slack.appId" : "slack.teamId";
    warnings.push(
      `${missing}: not set, so clicks are bound to ${slack.teamId ? `workspace ${slack.teamId}` : `app ${slack.appId}`} only: set it too (docs/DEPLOY.md, step 1)`,
    );
  } else {
    facts.push(
      `slack.teamId / slack.appId: only clicks from workspace ${slack.teamId} on app ${slack.appId} count`,
    );
  }

  // Who is who: a verified requester needs one approver (never themselves), anyone else two.
  const verifiedBy = [
    "an Identity Center session",
    ...(config.sourceIdentityRoles.length > 0 ? ["a session of a sourceIdentityRoles role"] : []),
  ].join(" or ");
  if (config.people.length === 0) {
    warnings.push(
      `people: empty, so every requester that is not ${verifiedBy} (IAM users, other assumed roles, root) will need two approvers: map the people who change security groups to their Slack ids`,
    );
  } else {
    facts.push(
      `people: ${config.people.length} ${config.people.length === 1 ? "person" : "people"} mapped to Slack; a requester who is one of them or ${verifiedBy} needs one approver (never themselves), anyone else two`,
    );
  }
  config.people.forEach((person, i) => {
    (person.principals ?? []).forEach((pattern, j) => {
      if (/:role\//.test(pattern)) {
        warnings.push(
          `people[${i}].principals[${j}]: "${pattern}" is a role: anyone who may assume it is taken for ${person.slackUserId}; map a role only when one person can assume it`,
        );
      }
    });
  });
  if (config.sourceIdentityRoles.length > 0) {
    facts.push(
      `sourceIdentityRoles: ${config.sourceIdentityRoles.length} role pattern${config.sourceIdentityRoles.length === 1 ? "" : "s"} whose sessions are verified by their source identity: each role's trust policy must require sts:SourceIdentity, else anyone assuming it could name anyone`,
    );
  }

  // Organization-wide enrolment.
  if (config.organization) {
    const { id, regions } = config.organization;
    facts.push(
      `organization: ${id}: the hub's bus admits every account of the organization, and approvals may go to any of its accounts' apply topics in ${regions.join(", ")}; an account not in members is governed there once its member stack is deployed (docs/DEPLOY.md, step 6)`,
    );
  }

  if (config.onExpiry === "leave") {
    facts.push(
      'onExpiry: "leave": a change left live (not reverted) whose request expires stays in place',
    );
  }
  if (config.drift.graceSeconds === 0) {
    facts.push(
      "drift.graceSeconds: 0: the drift check reverts and files a difference at first sight, even one whose CloudTrail event is merely late (that event then joins the drift's request)",
    );
  }

  if (config.wafRateLimitPerFiveMinutes !== undefined) {
    const limit = config.wafRateLimitPerFiveMinutes;
    facts.push(
      `wafRateLimitPerFiveMinutes: an AWS WAF web ACL blocks an address sending over ${limit} requests in 5 minutes to the Slack endpoint (about $6 a month plus $0.60 per million requests: docs/DEPLOY.md)`,
    );
    if (limit < SAFE_MIN_WAF_RATE_LIMIT) {
      warnings.push(
        `wafRateLimitPerFiveMinutes: ${limit} is low: Slack sends every click from a few addresses of its own, so busy approvers could be blocked (${SAFE_MIN_WAF_RATE_LIMIT} or more is safer)`,
      );
    }
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
      `seedRules.maxEventAgeSeconds: ${age} s is short: CloudTrail events can reach EventBridge minutes late, and a change whose event is older than this is not reverted: it stays in place until someone approves or denies it (${SAFE_MIN_EVENT_AGE_SECONDS} or more, or 0 for off, is safer)`,
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

  // Alarms: where they go.
  const stackAccounts = [...new Set([hub.account, ...targets.map((t) => t.account)])];
  if (config.alarmEmail) {
    const inHubStack = config.singleAccount
      ? targets.filter((t) => t.account === hub.account && t.region === hub.region).length
      : 0;
    const stacks = 1 + targets.length - inHubStack;
    facts.push(
      `alarmEmail: alarms notify ${config.alarmEmail} through a topic in each stack (${stacks} subscription e-mail${stacks === 1 ? "" : "s"} to confirm)`,
    );
  }
  if (config.alarmTopicArn) {
    facts.push(`alarmTopicArn: alarms notify ${config.alarmTopicArn}`);
    const topicAccount = arnAccount(config.alarmTopicArn);
    const others = stackAccounts.filter((a) => a !== topicAccount);
    warnings.push(
      `alarmTopicArn: the topic's access policy must let cloudwatch.amazonaws.com publish${others.length > 0 ? ` for alarms of accounts ${others.join(", ")} (not the topic's own account ${topicAccount})` : ""}, and its KMS key (if encrypted) must let CloudWatch use it: else alarms fail silently`,
    );
  }
  if (!config.alarmEmail && !config.alarmTopicArn) {
    warnings.push(
      "alarmEmail / alarmTopicArn: neither is set, so the alarms (function errors, dead-letter queues, the Slack endpoint) notify nobody: set one, or route them yourself (docs/DEPLOY.md, step 7)",
    );
  }

  // API Gateway's account-wide logging role.
  facts.push(
    config.apiGatewayCloudWatchRole
      ? `apiGatewayCloudWatchRole: true: the hub stack sets API Gateway's CloudWatch Logs role for account ${hub.account} in ${hub.region}, replacing any role set there before (if one is, set false; check: aws apigateway get-account --region ${hub.region})`
      : `apiGatewayCloudWatchRole: false: the hub uses the CloudWatch Logs role already set for API Gateway in ${hub.account} ${hub.region}; without one, the hub's deploy fails`,
  );

  const hubBytes = hubEnvBytes(config);
  if (hubBytes > LAMBDA_ENV_LIMIT_BYTES) {
    errors.push(
      `the hub functions' environment would be about ${hubBytes} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}: shorten member aliases, map fewer people, or use a user group instead of many approver ids`,
    );
  }
  const memberBytes = memberEnvBytes(config);
  if (memberBytes > LAMBDA_ENV_LIMIT_BYTES) {
    errors.push(
      `exemptPrincipals / people: the member functions' environment would be about ${memberBytes} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}: use fewer, broader patterns`,
    );
  }
  return { errors, warnings, facts, placeholders: examples.length };
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
  const { errors, warnings, facts, placeholders: examples } = review(result.config);
  const lines = [
    ...facts.map((f) => (f.startsWith("  ") ? `       ${f.trimStart()}` : `ok:    ${f}`)),
    ...warnings.map((w) => `warning: ${w}`),
    ...errors.map((e) => `error: ${e}`),
  ];
  const ok = errors.length === 0;
  lines.push(
    ok
      ? `${configPath} is valid${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length === 1 ? "" : "s"})` : ""}${examples > 0 ? ", but still holds example values: replace them before you deploy" : ": deploy with npx cdk deploy (docs/DEPLOY.md)"}`
      : `${errors.length} problem${errors.length === 1 ? "" : "s"} in ${configPath}`,
  );
  return { ok, lines };
}
