/**
 * `secgroup-approval doctor [--config FILE]`: checks the deployment configuration offline and says,
 * per field and in plain English, what is missing or wrong, plus what looks risky, and shows the
 * policy (the config's `policy`) as a table.
 *
 * Exit status (DOCTOR_EXIT): 0 nothing to fix, 1 an error, 3 valid but still holding example
 * values (a "placeholder" warning), so `until doctor; do …; done` waits for a deployable config.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type AppConfig,
  accountAliases,
  arnAccount,
  EXAMPLE_CONFIG_FILE,
  governedAccounts,
  isPlaceholderAccount,
  isPlaceholderSlackId,
  jsonSyntaxProblem,
  memberTargets,
  placeholderWarnings,
  readConfigFile,
} from "../../infra/config.js";
import {
  describePolicy,
  formatIssue,
  mergePolicies,
  type Policy,
  PolicyError,
  type PolicyRule,
  parsePolicyText,
  policyFromLegacy,
} from "../domain/policy/index.js";
import { arnGlobMatches } from "../domain/requester.js";

export { isPlaceholderAccount, isPlaceholderSlackId };

/** doctor's exit status: scripts tell "fix it" from "replace the example values". */
export const DOCTOR_EXIT = { ok: 0, errors: 1, placeholders: 3 } as const;

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

export interface DoctorResult {
  /** No error (warnings, placeholders included, may remain). */
  ok: boolean;
  /** DOCTOR_EXIT: 0, 1 (errors) or 3 (valid, but example values remain). */
  exitCode: number;
  /** How many warnings are about values still copied from the example. */
  placeholders: number;
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
  const examples = placeholderWarnings(config);
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

/** What the table's readers should know: the switches, as rules they could move to the file. */
const MOVED_NAMES: Record<string, string> = {
  "exempt-principals": "exempt",
  "max-event-age": "late-events",
  "require-description": "rules-need-description",
};

/** The config's switches as policy rules; systemRoleArns is set by the stacks, not the file. */
function legacyOf(config: AppConfig) {
  return {
    // What infra/member.ts gives SYSTEM_ROLE_ARNS: the member functions' own roles.
    systemRoleArns: ["arn:aws:iam::<member account>:role/secgroup-approval-<function>-<region>"],
    exemptPrincipals: config.exemptPrincipals,
    maxEventAgeSeconds:
      config.seedRules.maxEventAgeSeconds === 0 ? null : config.seedRules.maxEventAgeSeconds,
    autoDenyWithoutDescription: config.seedRules.autoDenyWithoutDescription,
  };
}

const SWITCH_OF: Record<string, string> = {
  "system-roles": "systemRoleArns",
  "exempt-principals": "exemptPrincipals",
  "max-event-age": "seedRules.maxEventAgeSeconds",
  "require-description": "seedRules.autoDenyWithoutDescription",
};

/**
 * One info line per switch the file sets (and, with a policy, systemRoleArns, which the table
 * shows first): the rule it is short for.
 */
function switchLines(config: AppConfig, raw: unknown): string[] {
  const given = (raw ?? {}) as { exemptPrincipals?: unknown; seedRules?: Record<string, unknown> };
  const set = new Set<string>();
  if (config.policy !== undefined) set.add("system-roles");
  if (Array.isArray(given.exemptPrincipals)) set.add("exempt-principals");
  if (given.seedRules && Object.hasOwn(given.seedRules, "maxEventAgeSeconds"))
    set.add("max-event-age");
  if (given.seedRules && Object.hasOwn(given.seedRules, "autoDenyWithoutDescription"))
    set.add("require-description");
  const rules = policyFromLegacy(legacyOf(config)).rules.filter((r) => set.has(r.name));
  return rules.map((rule) => {
    const field = SWITCH_OF[rule.name] ?? rule.name;
    if (rule.name === "system-roles") {
      return `${field} (set by the stacks, not in this file: the system's own roles) is the policy rule "${rule.name}", tried before any other: nothing to move`;
    }
    const moved: PolicyRule = { ...rule, name: MOVED_NAMES[rule.name] ?? `${rule.name}-moved` };
    return `${field} is the same as the policy rule ${JSON.stringify(moved)}: move it into the policy file (docs/POLICY.md); as a switch it is tried after the file's rules`;
  });
}

/** The policy the config names: its own file (relative to the config) or the inline object. */
function loadPolicy(
  config: AppConfig,
  configPath: string,
): { policy: Policy; source: string } | { errors: string[] } {
  const given = config.policy;
  const inFile = typeof given === "string";
  const path = inFile ? resolve(dirname(configPath), given) : configPath;
  const source = inFile ? given : configPath;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      errors: [
        `policy: ${source} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (err as Error).message})`} (a path relative to ${configPath}; the example: policy.example.json)`,
      ],
    };
  }
  try {
    // A config's text is read as a config holding a policy: its issues are located in it too.
    return { policy: parsePolicyText(text, inFile ? source : configPath), source };
  } catch (err) {
    if (!(err instanceof PolicyError)) {
      return { errors: [`policy: ${jsonSyntaxProblem(source, text, err as Error)}`] };
    }
    return { errors: err.issues.map((issue) => formatIssue(err.source, issue)) };
  }
}

/** Rows as aligned columns; the last column is not padded. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

export async function doctor(configPath: string): Promise<DoctorResult> {
  const result = readConfigFile(configPath);
  if (!result.ok) {
    const lines = result.problems.map((p) => `error: ${p}`);
    lines.push(
      `${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${configPath} (the example: ${EXAMPLE_CONFIG_FILE})`,
    );
    return { ok: false, exitCode: DOCTOR_EXIT.errors, placeholders: 0, lines };
  }
  const config = result.config;
  const { errors, warnings, facts, placeholders: examples } = review(config);

  const info = switchLines(config, result.raw);
  let policyLines: string[] = [];
  if (config.policy !== undefined) {
    const loaded = loadPolicy(config, configPath);
    if ("errors" in loaded) {
      errors.push(...loaded.errors);
    } else {
      const merged = mergePolicies(legacyOf(config), loaded.policy);
      facts.push(
        `policy: ${loaded.source}: ${loaded.policy.rules.length} rule${loaded.policy.rules.length === 1 ? "" : "s"}, tried in this order with the config's switches (first match decides):`,
      );
      policyLines = table(describePolicy(merged)).map((row) => `       ${row}`);
    }
  }

  const lines = [
    ...facts.map((f) => (f.startsWith("  ") ? `       ${f.trimStart()}` : `ok:    ${f}`)),
    ...policyLines,
    ...info.map((i) => `info:  ${i}`),
    ...warnings.map((w) => `warning: ${w}`),
    ...errors.map((e) => `error: ${e}`),
  ];
  const ok = errors.length === 0;
  lines.push(
    ok
      ? `${configPath} is valid${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length === 1 ? "" : "s"})` : ""}${examples > 0 ? `, but still holds example values (${examples} placeholder warning${examples === 1 ? "" : "s"}): replace them before you deploy` : ": deploy with npx cdk deploy (docs/DEPLOY.md)"}`
      : `${errors.length} problem${errors.length === 1 ? "" : "s"} in ${configPath}`,
  );
  const exitCode = !ok
    ? DOCTOR_EXIT.errors
    : examples > 0
      ? DOCTOR_EXIT.placeholders
      : DOCTOR_EXIT.ok;
  return { ok, exitCode, placeholders: examples, lines };
}
