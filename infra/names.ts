/**
 * Fixed physical names. The hub and the member stacks never reference each other's resources
 * (they live in different accounts): each side builds the other's ARNs from these names, which
 * also keeps the CloudFormation templates free of cross-stack references and cycles.
 */

export const PREFIX = "secgroup-approval";

export const HUB_STACK_NAME = "SecgroupApproval-Hub";
export const memberStackName = (account: string, region: string) =>
  `SecgroupApproval-Member-${account}-${region}`;

/** SNS topic names, as in the original project. */
export const TOPICS = {
  /** hub: member -> hub, a reverted change to decide on */
  change: "securityGroupChange",
  /** hub: buttonClick -> denySecurityGroupChange */
  deny: "denySecurityGroupChange",
  /** hub: member -> hub, the result of an apply */
  result: "errorHandlerSecurityGroupChange",
  /** member: hub -> member, an approved change to re-apply */
  apply: "applySecurityGroupChange",
} as const;

/** DynamoDB table names (the same as src/adapters/dynamodb/tables.ts's defaults). */
export const TABLES = {
  requests: "securityGroupRequests",
  baselines: "securityGroupBaselines",
} as const;

export const REQUESTS_BY_STATUS_INDEX = "byStatus";

/** The Secrets Manager secret holding {"botToken": "xoxb-…", "signingSecret": "…"}. */
export const SLACK_SECRET_NAME = `${PREFIX}/slack`;

/** The API Gateway stage and route Slack posts interactions to. */
export const API_STAGE = "prod";
export const SLACK_ACTIONS_PATH = ["slack", "actions"] as const;

/** KMS aliases of the keys that encrypt the topics (distinct: both may share one account). */
export const KEY_ALIASES = {
  hub: `alias/${PREFIX}-hub-topics`,
  member: `alias/${PREFIX}-member-topics`,
} as const;

/** The functions, by the short name used in their role names. */
export const HUB_FUNCTIONS = ["store", "button", "deny", "result", "expire"] as const;
export const MEMBER_FUNCTIONS = ["revert", "apply", "sweep"] as const;
export type HubFunction = (typeof HUB_FUNCTIONS)[number];
export type MemberFunction = (typeof MEMBER_FUNCTIONS)[number];

/**
 * IAM role names are global to an account, so they carry the region: one account may hold the
 * hub and several member regions. At most 64 characters: "secgroup-approval-revert-ap-southeast-2"
 * is 39.
 */
export const roleName = (fn: HubFunction | MemberFunction, region: string) =>
  `${PREFIX}-${fn}-${region}`;

export const roleArn = (
  partition: string,
  account: string,
  fn: HubFunction | MemberFunction,
  region: string,
) => `arn:${partition}:iam::${account}:role/${roleName(fn, region)}`;

export const topicArn = (partition: string, region: string, account: string, name: string) =>
  `arn:${partition}:sns:${region}:${account}:${name}`;

/** Any KMS key of an account and region (a key's id is random: other accounts cannot name it). */
export const anyKeyArn = (partition: string, region: string, account: string) =>
  `arn:${partition}:kms:${region}:${account}:key/*`;
