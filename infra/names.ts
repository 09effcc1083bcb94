/**
 * Fixed physical names. The hub and the member stacks never reference each other's resources
 * (they live in different accounts): each side builds the other's ARNs from these names, which
 * also keeps the CloudFormation templates free of cross-stack references and cycles.
 */

export const PREFIX = "secgroup-approval";

export const HUB_STACK_NAME = "SecgroupApproval-Hub";
export const memberStackName = (account: string, region: string) =>
  `SecgroupApproval-Member-${account}-${region}`;

/**
 * SNS topic names, as in the original project. Members no longer publish to the hub (they send
 * events, see BUSES): the two remaining topics are written only by the hub.
 */
export const TOPICS = {
  /** hub: buttonClick -> denySecurityGroupChange */
  deny: "denySecurityGroupChange",
  /** member: hub -> member, an approved change to re-apply (or a live one to revert) */
  apply: "applySecurityGroupChange",
} as const;

/**
 * EventBridge buses. A member function puts its events on its own account's bus; one rule there
 * forwards them to the hub's bus, and EventBridge stamps each event with the sending account and
 * region, which the hub believes instead of the body.
 */
export const BUSES = {
  hub: `${PREFIX}-hub`,
  member: `${PREFIX}-member`,
} as const;

/** The rule on each member bus that forwards the member's events to the hub's bus. */
export const FORWARD_RULE_NAME = `${PREFIX}-forward`;

export const busArn = (partition: string, region: string, account: string, name: string) =>
  `arn:${partition}:events:${region}:${account}:event-bus/${name}`;

/** DynamoDB table names (the same as src/adapters/dynamodb/tables.ts's defaults). */
export const TABLES = {
  requests: "securityGroupRequests",
  baselines: "securityGroupBaselines",
} as const;

/**
 * The two Slack secrets, each one plain string (src/adapters/slack/secrets.ts), each readable
 * only by the functions that need it: the bot token by every hub function (they all post or
 * update messages), the signing secret by buttonClick alone.
 */
export const SLACK_SECRET_NAMES = {
  botToken: `${PREFIX}/slack-bot-token`,
  signingSecret: `${PREFIX}/slack-signing-secret`,
} as const;

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
export const MEMBER_FUNCTIONS = ["revert", "apply", "sweep", "revert-failed"] as const;
export type HubFunction = (typeof HUB_FUNCTIONS)[number];
export type MemberFunction = (typeof MEMBER_FUNCTIONS)[number];

/**
 * IAM role names are global to an account, so they carry the region: one account may hold the
 * hub and several member regions. At most 64 characters:
 * "secgroup-approval-revert-failed-ap-southeast-2" is 46.
 */
export const roleName = (fn: HubFunction | MemberFunction | "forward", region: string) =>
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

/** Powertools adds the service name as the `service` dimension of every metric it writes. */
export const METRICS_SERVICES = {
  hub: `${PREFIX}-hub`,
  member: `${PREFIX}-member`,
} as const;
