/**
 * The deployment configuration (secgroup-approval.config.json), validated with zod. This file has
 * no CDK imports: the CLI's `doctor` command uses it too.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as z from "zod";
import { JsonSyntaxError, parseJsonLocated } from "../src/domain/policy/json-position.js";
import { AWS_REGIONS, closestRegion, isAwsRegion } from "./regions.js";

export const DEFAULT_CONFIG_FILE = "secgroup-approval.config.json";
export const EXAMPLE_CONFIG_FILE = "secgroup-approval.config.example.json";
export const CONFIG_ENV_VAR = "SECGROUP_APPROVAL_CONFIG";

const accountId = z
  .string({ error: "must be a 12-digit AWS account id in quotes" })
  .regex(/^\d{12}$/, "must be a 12-digit AWS account id (digits only, in quotes)");

/** Why a name is not a region, and the region it most likely meant. */
export function unknownRegionMessage(name: string): string {
  const near = closestRegion(name);
  return near
    ? `${JSON.stringify(name)} is not an AWS region: did you mean ${near} (${AWS_REGIONS[near]})?`
    : `${JSON.stringify(name)} is not an AWS region: give a region name such as us-east-1 (see infra/regions.ts)`;
}

/** One of the real regions (infra/regions.ts): a typo such as us-east-9 is refused, not deployed to. */
const region = z
  .string({ error: "must be an AWS region name such as us-east-1" })
  .superRefine((name, ctx) => {
    if (!isAwsRegion(name)) ctx.addIssue({ code: "custom", message: unknownRegionMessage(name) });
  });

const channelId = z
  .string({ error: "must be a Slack channel id" })
  .regex(
    /^[CG][A-Z0-9]{6,}$/,
    "must be a Slack channel id (C… or G…, e.g. C0123456789), not a #name: open the channel's details in Slack to copy it",
  );

const userId = z
  .string({ error: "must be a Slack user id" })
  .regex(
    /^[UW][A-Z0-9]{6,}$/,
    "must be a Slack member id (U… or W…, e.g. U0123456789), not a name or e-mail: Slack profile > ⋮ > Copy member ID",
  );

const userGroupId = z
  .string({ error: "must be a Slack user group id" })
  .regex(/^S[A-Z0-9]{6,}$/, "must be a Slack user group id (S…, e.g. S0123456789), not a @handle");

/** ARN globs end up comma-joined in one environment variable: no commas, no spaces. */
const principalPattern = z
  .string({ error: "must be an ARN pattern" })
  .regex(
    /^arn:[^\s,]+$/,
    "must be an ARN or ARN glob such as arn:aws:iam::111122223333:role/BreakGlass* (no spaces or commas)",
  );

const aliasName = z
  .string({ error: "must be a short name for the account" })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/,
    "must be a short name of letters, digits, space, dot, dash or underscore (at most 63)",
  );

/** An SNS topic ARN: CloudWatch alarms notify it as it is. */
const snsTopicArn = z
  .string({ error: "must be an SNS topic ARN" })
  .regex(
    /^arn:aws[a-z-]*:sns:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    "must be an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:ops-alerts",
  );

/** An IAM user or role ARN (globs allowed): what a person mapping may name. */
const iamUserOrRole = z
  .string({ error: "must be an IAM user or role ARN" })
  .regex(
    /^arn:[^:\s,]*:iam::[^:\s,]*:(user|role)\/[^\s,]+$/,
    "must be an IAM user or role ARN (globs allowed) such as arn:aws:iam::111122223333:user/alice; a session ARN (arn:aws:sts::…:assumed-role/…) never matches: name its role",
  );

/** A role ARN (globs allowed), comma-joined into an environment variable. */
const iamRole = z
  .string({ error: "must be an IAM role ARN" })
  .regex(
    /^arn:[^:\s,]*:iam::[^:\s,]*:role\/[^\s,]+$/,
    "must be an IAM role ARN (globs allowed) such as arn:aws:iam::*:role/ci-deployer",
  );

const teamId = z
  .string({ error: "must be a Slack workspace id" })
  .regex(
    /^[TE][A-Z0-9]{6,}$/,
    "must be a Slack workspace (team) id (T…, e.g. T0123456789): in Slack, the workspace menu > Settings shows it, or the T… part of an app_redirect URL",
  );

const appId = z
  .string({ error: "must be a Slack app id" })
  .regex(
    /^A[A-Z0-9]{6,}$/,
    "must be a Slack app id (A…, e.g. A0123456789): https://api.slack.com/apps > the app > Basic Information > App ID",
  );

const organizationId = z
  .string({ error: "must be an AWS Organizations id" })
  .regex(
    /^o-[a-z0-9]{10,32}$/,
    "must be an AWS Organizations id (o-…, e.g. o-a1b2c3d4e5): aws organizations describe-organization --query Organization.Id",
  );

/** One person: the Slack user a verified requester is (src/domain/identity.ts). */
export const personSchema = z.strictObject({
  slackUserId: userId,
  /** IAM users or roles only this person uses (a role listed here speaks as this person). */
  principals: z
    .array(iamUserOrRole, { error: "must be a list of IAM user or role ARNs" })
    .optional(),
  /** Identity Center user names of this person, when they are not the email Slack has. */
  identityCenterUsers: z
    .array(
      z
        .string({ error: "must be an Identity Center user name" })
        .min(1, "must not be empty")
        .max(128, "must be at most 128 characters"),
      { error: "must be a list of Identity Center user names" },
    )
    .optional(),
});

/** The AWS WAF rate limit's bounds (requests per IP per 5 minutes). */
export const WAF_RATE_LIMIT = { min: 10, max: 2_000_000_000 } as const;

const email = z.email({
  error:
    "must be an e-mail address such as secops@example.com (one address; use a list address for a team)",
});

/** The region of an SNS topic ARN. */
export const arnRegion = (arn: string): string => arn.split(":")[3] ?? "";
/** The account of an SNS topic ARN. */
export const arnAccount = (arn: string): string => arn.split(":")[4] ?? "";

export const memberSchema = z.strictObject({
  account: accountId,
  alias: aliasName,
  regions: z
    .array(region, { error: "must be a list of AWS region names" })
    .min(1, "must list at least one region"),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    hub: z.strictObject(
      { account: accountId, region },
      { error: "is missing: give the hub account and region" },
    ),
    members: z.array(memberSchema, { error: "must be a list of member accounts" }).default([]),
    slack: z.strictObject(
      {
        approvalChannel: channelId,
        monitoringChannel: channelId,
        approverUserIds: z
          .array(userId, { error: "must be a list of Slack member ids" })
          .default([]),
        approverUserGroup: userGroupId.optional(),
        /** Clicks count only from this workspace (payload team.id). */
        teamId: teamId.optional(),
        /** Clicks count only for this app (payload api_app_id). */
        appId: appId.optional(),
      },
      { error: "is missing: give the approval and monitoring channel ids and the approvers" },
    ),
    exemptPrincipals: z
      .array(principalPattern, { error: "must be a list of ARN patterns" })
      .default([]),
    requestExpiryHours: z
      .number({ error: "must be a number of hours" })
      .positive("must be more than 0 hours")
      .max(24 * 30, "must be at most 720 hours (30 days)")
      .default(24),
    seedRules: z
      .strictObject({
        maxEventAgeSeconds: z
          .number({ error: "must be a whole number of seconds (0 turns the rule off)" })
          .int("must be a whole number of seconds")
          .nonnegative("must be 0 (off) or more seconds")
          .default(300),
        autoDenyWithoutDescription: z.boolean({ error: "must be true or false" }).default(false),
      })
      .default({ maxEventAgeSeconds: 300, autoDenyWithoutDescription: false }),
    singleAccount: z.boolean({ error: "must be true or false" }).default(false),
    /**
     * Organization-wide: the hub's bus admits every account of this organization (not only the
     * listed members), governed in these regions; buttonClick and expireRequests may send to an
     * apply topic of any account of the organization in them.
     */
    organization: z
      .strictObject(
        {
          id: organizationId,
          regions: z
            .array(region, { error: "must be a list of AWS region names" })
            .min(1, "must list at least one region"),
        },
        { error: "must be an object with the organization id and its governed regions" },
      )
      .optional(),
    /** Requesters matched to Slack users by verified identity (src/domain/identity.ts). */
    people: z.array(personSchema, { error: "must be a list of people" }).default([]),
    /** Roles whose trust policy requires sts:SourceIdentity: their source identity is verified. */
    sourceIdentityRoles: z.array(iamRole, { error: "must be a list of role ARNs" }).default([]),
    /** What happens to a live change (one that could not be reverted) whose request expires. */
    onExpiry: z
      .enum(["revert", "leave"], {
        error: 'must be "revert" (the default: the member reverts it) or "leave" (it stays)',
      })
      .default("revert"),
    /** The drift check (the sweep, every 15 minutes): differences without a CloudTrail event. */
    drift: z
      .strictObject({
        graceSeconds: z
          .number({ error: "must be a whole number of seconds (0 files drift at first sight)" })
          .int("must be a whole number of seconds")
          .nonnegative("must be 0 or more seconds")
          .max(86_400, "must be at most 86400 seconds (a day)")
          .default(900),
        maxPerSweep: z
          .number({ error: "must be a whole number of drifts" })
          .int("must be a whole number")
          .min(1, "must be at least 1")
          .max(1000, "must be at most 1000")
          .default(100),
      })
      .default({ graceSeconds: 900, maxPerSweep: 100 }),
    /**
     * An AWS WAF web ACL on the Slack endpoint that blocks an IP address sending more than this
     * many requests in 5 minutes. Off when unset (a web ACL has a monthly cost: docs/DEPLOY.md).
     */
    wafRateLimitPerFiveMinutes: z
      .number({ error: "must be a whole number of requests per 5 minutes" })
      .int("must be a whole number of requests")
      .min(WAF_RATE_LIMIT.min, `must be at least ${WAF_RATE_LIMIT.min} (AWS WAF's lowest limit)`)
      .max(WAF_RATE_LIMIT.max, `must be at most ${WAF_RATE_LIMIT.max}`)
      .optional(),
    /**
     * API Gateway writes the Slack endpoint's logs through one CloudWatch Logs role per account
     * and region. true: the hub stack creates that role and sets it (replacing any role already
     * set there); false: the account already has one, which is left alone.
     */
    apiGatewayCloudWatchRole: z.boolean({ error: "must be true or false" }).default(true),
    /** Every stack's alarms notify this address, through an SNS topic of that stack. */
    alarmEmail: email.optional(),
    /** Every stack's alarms notify this existing topic (all stacks must be in its region). */
    alarmTopicArn: snsTopicArn.optional(),
    /**
     * The policy (docs/POLICY.md): the path of a policy file, relative to this config's folder
     * (policy.example.json), or the policy object itself. Its content is checked by the policy
     * loader (src/domain/policy/load.ts), which names each problem's line and column.
     */
    policy: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())], {
        error:
          'must be the path of a policy file, relative to this config (e.g. "policy.example.json"), or the policy object itself',
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    if (config.slack.approverUserIds.length === 0 && !config.slack.approverUserGroup) {
      ctx.addIssue({
        code: "custom",
        path: ["slack", "approverUserIds"],
        message:
          "nobody could approve: list at least one approver id or set slack.approverUserGroup",
      });
    }
    if (!config.singleAccount && config.members.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["members"],
        message:
          'must list at least one member account (or set "singleAccount": true to govern the hub account itself)',
      });
    }
    if (config.alarmTopicArn) {
      const topicRegion = arnRegion(config.alarmTopicArn);
      const elsewhere = [
        ...new Set(
          [config.hub.region, ...stackTargets(config).map((t) => t.region)].filter(
            (r) => r !== topicRegion,
          ),
        ),
      ];
      if (elsewhere.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["alarmTopicArn"],
          message: `is in ${topicRegion}, but stacks also go to ${elsewhere.join(", ")}: CloudWatch alarms can only notify a topic in their own region (use alarmEmail instead: each stack then gets its own topic)`,
        });
      }
    }
    if (config.organization) {
      const seen = new Set<string>();
      config.organization.regions.forEach((r, j) => {
        if (seen.has(r)) {
          ctx.addIssue({
            code: "custom",
            path: ["organization", "regions", j],
            message: `region ${r} is listed twice`,
          });
        }
        seen.add(r);
      });
      if (config.singleAccount) {
        ctx.addIssue({
          code: "custom",
          path: ["organization"],
          message:
            'single-account mode governs only the hub account: remove organization or set "singleAccount": false',
        });
      }
    }
    const personOf = new Map<string, number>();
    config.people.forEach((person, i) => {
      (person.principals ?? []).forEach((p, j) => {
        const first = personOf.get(p);
        if (first !== undefined && first !== i) {
          ctx.addIssue({
            code: "custom",
            path: ["people", i, "principals", j],
            message: `${p} is already mapped to people[${first}]: a principal may speak for one person only`,
          });
        } else {
          personOf.set(p, i);
        }
      });
      if (
        (person.principals ?? []).length === 0 &&
        (person.identityCenterUsers ?? []).length === 0
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["people", i],
          message:
            "maps nothing: give principals (IAM users or roles only this person uses) or identityCenterUsers",
        });
      }
    });
    const seenAccounts = new Map<string, number>();
    config.members.forEach((member, i) => {
      const first = seenAccounts.get(member.account);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["members", i, "account"],
          message: `account ${member.account} is already listed as members[${first}]: list each account once, with all its regions`,
        });
      } else {
        seenAccounts.set(member.account, i);
      }
      const seenRegions = new Set<string>();
      member.regions.forEach((r, j) => {
        if (seenRegions.has(r)) {
          ctx.addIssue({
            code: "custom",
            path: ["members", i, "regions", j],
            message: `region ${r} is listed twice for account ${member.account}`,
          });
        }
        seenRegions.add(r);
      });
      if (config.singleAccount && member.account !== config.hub.account) {
        ctx.addIssue({
          code: "custom",
          path: ["members", i, "account"],
          message: `single-account mode governs only the hub account ${config.hub.account}, but ${member.account} is listed: remove it or set "singleAccount": false`,
        });
      }
    });
  });

export type AppConfigInput = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof configSchema>;
export type MemberConfig = z.output<typeof memberSchema>;

/** One member deployment: one account in one region. */
export interface MemberTarget {
  account: string;
  region: string;
  alias: string;
}

/**
 * Every (account, region) the member stacks go to. In single-account mode with no members
 * listed, the hub account in the hub region is the one member.
 */
export function memberTargets(config: AppConfig): MemberTarget[] {
  const members: MemberConfig[] =
    config.members.length > 0 || !config.singleAccount
      ? config.members
      : [{ account: config.hub.account, alias: "hub", regions: [config.hub.region] }];
  return members.flatMap((m) =>
    m.regions.map((r) => ({ account: m.account, region: r, alias: m.alias })),
  );
}

/** memberTargets before validation's defaults are known to hold (used inside superRefine). */
function stackTargets(config: {
  members: MemberConfig[];
  singleAccount: boolean;
  hub: { account: string; region: string };
}): MemberTarget[] {
  return memberTargets(config as AppConfig);
}

/** The distinct member account ids, in config order. */
export function memberAccounts(config: AppConfig): string[] {
  return [...new Set(memberTargets(config).map((t) => t.account))];
}

/** {"111122223333": ["us-east-1", "eu-west-1"], …} for the hub's GOVERNED_ACCOUNTS. */
export function governedAccounts(config: AppConfig): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of memberTargets(config)) out[t.account] = [...(out[t.account] ?? []), t.region];
  return out;
}

/** {"111122223333": "prod-payments", …} for the hub's ACCOUNT_ALIASES. */
export function accountAliases(config: AppConfig): Record<string, string> {
  return Object.fromEntries(memberTargets(config).map((t) => [t.account, t.alias]));
}

// ---------------------------------------------------------------------------------------------
// Plain-English problems

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(the file)";
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value);
  return `the ${typeof value} ${JSON.stringify(value)}`;
}

/** Reads a value at `path` inside `input`, for messages that quote what was given. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** One line per problem: "<field>: <what is wrong and how to fix it>". */
export function describeIssues(error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(issue.path);
    const given = valueAt(input, issue.path);
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return `${where}: unknown field${issue.keys.length > 1 ? "s" : ""} ${keys} (a typo? see ${EXAMPLE_CONFIG_FILE})`;
    }
    if (given === undefined && issue.code === "invalid_type") {
      return issue.message.startsWith("is missing")
        ? `${where}: ${issue.message}`
        : `${where}: is missing (${issue.message})`;
    }
    if (issue.code === "invalid_type") {
      return `${where}: ${issue.message} (got ${describeValue(given)})`;
    }
    if (issue.code === "invalid_format" || issue.code === "too_small" || issue.code === "too_big") {
      const got =
        given !== undefined && !Array.isArray(given) ? ` (got ${describeValue(given)})` : "";
      return `${where}: ${issue.message}${got}`;
    }
    return `${where}: ${issue.message}`;
  });
}

export class ConfigFileError extends Error {
  override readonly name = "ConfigFileError";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}:\n  ${problems.join("\n  ")}`);
  }
}

export type ParseResult =
  | { ok: true; config: AppConfig; raw: unknown }
  | { ok: false; problems: string[]; raw: unknown };

/** Validates parsed JSON; never throws. */
export function parseConfig(raw: unknown): ParseResult {
  const result = configSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data, raw };
  return { ok: false, problems: describeIssues(result.error, raw), raw };
}

/** Reads and validates a config file; never throws. */
export function readConfigFile(file: string): ParseResult {
  if (!existsSync(file)) {
    return {
      ok: false,
      raw: undefined,
      problems: [
        `${file} does not exist: copy ${EXAMPLE_CONFIG_FILE} to ${DEFAULT_CONFIG_FILE} and fill it in`,
      ],
    };
  }
  let raw: unknown;
  const text = readFileSync(file, "utf8");
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, raw: undefined, problems: [jsonSyntaxProblem(file, text, err as Error)] };
  }
  return parseConfig(raw);
}

/** `file:line:column: not valid JSON: reason`, where JSON.parse only says "at position 10". */
export function jsonSyntaxProblem(file: string, text: string, err: Error): string {
  try {
    parseJsonLocated(text);
  } catch (located) {
    if (located instanceof JsonSyntaxError) {
      const { line, column } = located.position;
      return `${file}:${line}:${column}: not valid JSON: ${located.reason}`;
    }
  }
  return `${file}: not valid JSON: ${err.message}`;
}

/** Reads and validates a config file; throws ConfigFileError listing every problem. */
export function loadConfigFile(file: string): AppConfig {
  const result = readConfigFile(file);
  if (!result.ok) throw new ConfigFileError(file, result.problems);
  return result.config;
}

/**
 * Which config file the CDK app reads: $SECGROUP_APPROVAL_CONFIG, else ./secgroup-approval.config.json,
 * else the committed example (with a warning, so `cdk synth` works in a fresh clone).
 */
export function resolveConfigFile(
  cwd: string,
  env: Record<string, string | undefined>,
): { file: string; warning?: string } {
  const fromEnv = env[CONFIG_ENV_VAR];
  if (fromEnv) return { file: resolve(cwd, fromEnv) };
  const own = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(own)) return { file: own };
  return {
    file: resolve(cwd, EXAMPLE_CONFIG_FILE),
    warning: `${DEFAULT_CONFIG_FILE} not found: using ${EXAMPLE_CONFIG_FILE} (its accounts are placeholders; copy it to ${DEFAULT_CONFIG_FILE} and edit it before deploying)`,
  };
}

// ---------------------------------------------------------------------------------------------
// Values still copied from the example

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

/**
 * One warning per field that still holds an example value (doctor prints them, and so does the
 * CDK app on every synth). An empty list: nothing is left from the example.
 */
export function placeholderWarnings(config: AppConfig): string[] {
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
