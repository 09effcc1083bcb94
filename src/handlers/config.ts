/**
 * Handler configuration from the environment, validated with zod at cold start. A missing or
 * wrong variable fails with a message naming it. The CDK app (infra/) and the sandbox set exactly
 * these variables.
 */
import { z } from "zod";

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

/** Member account: revertSecurityGroup, applySecurityGroupChange, sweepBaseline. */
export const memberConfigSchema = z.object({
  BASELINE_TABLE: z.string().min(1),
  /** The hub's securityGroupChange topic. */
  HUB_CHANGE_TOPIC_ARN: arn("sns"),
  /** The hub's errorHandlerSecurityGroupChange topic (apply results). */
  HUB_RESULT_TOPIC_ARN: arn("sns"),
  /** This system's own role ARNs (or globs): their calls are never governed. */
  SYSTEM_ROLE_ARNS: list,
  EXEMPT_PRINCIPALS: list,
  /** Seed rule: ignore events older than this; 0 turns the rule off. */
  MAX_EVENT_AGE_SECONDS: z.coerce.number().int().nonnegative().default(300),
  AUTO_DENY_WITHOUT_DESCRIPTION: bool,
  ACCOUNT_ALIAS: z.string().optional(),
});
export type MemberConfig = z.infer<typeof memberConfigSchema>;

/** Hub account: storeSecurityGroupRequest, buttonClick, denySecurityGroupChange, errorHandlerSecurityGroupChange. */
export const hubConfigSchema = z.object({
  REQUESTS_TABLE: z.string().min(1),
  /** Secrets Manager secret holding {"botToken": "xoxb-…", "signingSecret": "…"}. */
  SLACK_SECRET_ARN: z.string().min(1),
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
