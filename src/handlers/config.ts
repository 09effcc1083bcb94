/**
 * Handler configuration from the environment, validated with zod at cold start. A missing or
 * wrong variable fails with a message naming it. The CDK app (infra/) and the sandbox set exactly
 * these variables.
 */
import * as z from "zod";
import {
  mergePolicies,
  type Policy,
  PolicyError,
  parsePolicyText,
} from "../domain/policy/index.js";
import type { PolicyConfig } from "../domain/policy.js";

const list = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
const bool = z
  .enum(["true", "false", "1", "0", ""])
  .default("false")
  .transform((s) => s === "true" || s === "1");
const arn = (service: string) =>
  z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`);

/** A JSON-valued variable, checked with `schema`. */
const jsonOf = <S extends z.ZodType>(schema: S, fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .transform((s, ctx): z.infer<S> => {
      try {
        return schema.parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: "custom", message: `must be JSON: ${what}` });
        return z.NEVER;
      }
    });

/**
 * The deployment's policy file as JSON (docs/POLICY.md), checked with the engine's own loader at
 * cold start: a problem fails naming POLICY and where in it. Absent or empty: no file.
 */
const policyVar = z
  .string()
  .optional()
  .transform((s, ctx): Policy | undefined => {
    if (s === undefined || s.trim() === "") return undefined;
    try {
      return parsePolicyText(s, "POLICY");
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      ctx.addIssue({ code: "custom", message: `not a valid policy: ${err.message}` });
      return z.NEVER;
    }
  });

/** The config's four switches: the same variables (and defaults) for the member and the hub. */
const switches = {
  /** This system's own role ARNs (or globs): their calls are never governed. */
  SYSTEM_ROLE_ARNS: list,
  EXEMPT_PRINCIPALS: list,
  /** Seed rule: a change whose event arrives later than this is left for a person; 0: off. */
  MAX_EVENT_AGE_SECONDS: z.coerce.number().int().nonnegative().default(300),
  AUTO_DENY_WITHOUT_DESCRIPTION: bool,
  POLICY: policyVar,
};

/** The switches as the policy engine's PolicyConfig. */
export function switchesOf(config: {
  SYSTEM_ROLE_ARNS: string[];
  EXEMPT_PRINCIPALS: string[];
  MAX_EVENT_AGE_SECONDS: number;
  AUTO_DENY_WITHOUT_DESCRIPTION: boolean;
}): PolicyConfig {
  return {
    systemRoleArns: config.SYSTEM_ROLE_ARNS,
    exemptPrincipals: config.EXEMPT_PRINCIPALS,
    maxEventAgeSeconds: config.MAX_EVENT_AGE_SECONDS === 0 ? null : config.MAX_EVENT_AGE_SECONDS,
    autoDenyWithoutDescription: config.AUTO_DENY_WITHOUT_DESCRIPTION,
  };
}

/** The policy a function decides with: mergePolicies(the switches, the POLICY file). */
export function policyOf(
  config: Parameters<typeof switchesOf>[0] & { POLICY?: Policy | undefined },
): Policy {
  return mergePolicies(switchesOf(config), config.POLICY ?? { rules: [] });
}

/** The people mapping: requesters matched to Slack users by verified identity. */
const peopleSchema = z.array(
  z.object({
    slackUserId: z.string().regex(/^[UW][A-Z0-9]+$/),
    principals: z.array(z.string()).optional(),
    identityCenterUsers: z.array(z.string()).optional(),
  }),
);

/** Member account: revertSecurityGroup, applySecurityGroupChange, sweepBaseline, revertFailed. */
export const memberConfigSchema = z.object({
  BASELINE_TABLE: z.string().min(1),
  /** This member's account id and region: it acts on changes of these only. */
  MEMBER_ACCOUNT_ID: z.string().regex(/^\d{12}$/, "must be a 12-digit account id"),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, "must be a region"),
  /** The member's own event bus, whose rule forwards to the hub's bus. */
  MEMBER_BUS_NAME: z.string().min(1),
  /** The member's applySecurityGroupChange topic: the apply function takes messages from it only. */
  APPLY_TOPIC_ARN: arn("sns").optional(),
  ...switches,
  PEOPLE: jsonOf(peopleSchema, "[]", "a list of {slackUserId, principals?, identityCenterUsers?}"),
  SOURCE_IDENTITY_ROLES: list,
  /** A difference is drift once seen this long by two sweeps; 0 files at first sight. */
  DRIFT_GRACE_SECONDS: z.coerce.number().int().nonnegative().default(900),
  DRIFT_MAX_PER_SWEEP: z.coerce.number().int().positive().default(100),
  /** Which deployment this is: recorded with the install's adoption of the groups. */
  DEPLOYMENT_ID: z.string().min(1).default("unknown"),
});
export type MemberConfig = z.infer<typeof memberConfigSchema>;

/** Hub account: storeSecurityGroupRequest, buttonClick, denySecurityGroupChange, errorHandlerSecurityGroupChange, expireRequests. */
export const hubConfigSchema = z.object({
  REQUESTS_TABLE: z.string().min(1),
  /** The Secrets Manager secret holding the bot token (xoxb-…): every function that posts. */
  SLACK_BOT_TOKEN_SECRET_ARN: z.string().min(1),
  /** The secret holding the signing secret: buttonClick alone has this variable and may read it. */
  SLACK_SIGNING_SECRET_ARN: z.string().min(1).optional(),
  /** Clicks count only from this workspace and this app. */
  SLACK_TEAM_ID: z.string().optional(),
  SLACK_APP_ID: z.string().optional(),
  SLACK_APPROVAL_CHANNEL: z.string().min(1),
  SLACK_MONITORING_CHANNEL: z.string().min(1),
  /** Slack user ids allowed to decide; with APPROVER_USER_GROUP, members of either may. */
  APPROVER_USER_IDS: list,
  APPROVER_USER_GROUP: z.string().optional(),
  DENY_TOPIC_ARN: arn("sns"),
  /** The name of each member's apply topic; the ARN is built from the request's account and region. */
  MEMBER_APPLY_TOPIC_NAME: z.string().min(1).default("applySecurityGroupChange"),
  /** The partition of member topic ARNs ("aws", "aws-cn", "aws-us-gov"). */
  AWS_PARTITION: z.string().default("aws"),
  REQUEST_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  /** {"111122223333": "prod-payments", …} */
  ACCOUNT_ALIASES: z
    .string()
    .default("{}")
    .transform((s, ctx) => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of account id to alias" });
        return z.NEVER;
      }
    }),
  /** {"111122223333": ["us-east-1", "eu-west-1"], …}: who may speak to the hub, for which regions. */
  GOVERNED_ACCOUNTS: jsonOf(
    z.record(z.string().regex(/^\d{12}$/), z.array(z.string())),
    "{}",
    "an object of account id to a list of regions",
  ),
  /** Organization-wide: the bus admits the organization's accounts, governed in these regions. */
  ORGANIZATION_ID: z
    .string()
    .regex(/^o-[a-z0-9]{10,32}$/)
    .optional(),
  ORGANIZATION_REGIONS: list,
  PEOPLE: jsonOf(peopleSchema, "[]", "a list of {slackUserId, principals?, identityCenterUsers?}"),
  SOURCE_IDENTITY_ROLES: list,
  /** The same switches and policy file as the members: the hub routes requests by them. */
  ...switches,
  /** What happens to a live change whose request expires. */
  ON_EXPIRY: z.enum(["revert", "leave"]).default("revert"),
  /** Only for the sandbox and tests: where Slack's Web API is. */
  SLACK_API_URL: z.url().optional(),
});
export type HubConfig = z.infer<typeof hubConfigSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

export function memberApplyTopicArn(config: HubConfig, account: string, region: string): string {
  return `arn:${config.AWS_PARTITION}:sns:${region}:${account}:${config.MEMBER_APPLY_TOPIC_NAME}`;
}
