/**
 * The hub account's adapters, built from the environment once per Lambda container.
 *
 * Loaded when first used, not at the container's start: the Slack Web API client (the first
 * Slack call of the invocation), the SNS client (the first publish). A click that is refused, a
 * retry or a click that lost its race never publishes, and every handler reads the request before
 * it calls Slack; what is left at the start is what the first step needs (config, DynamoDB, the
 * secrets). Bundled into one file as the functions are, a module loaded this way is still in
 * the bundle but not evaluated until then (see `npm run bench`, coldStart).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BACKGROUND,
  type ClientTimeouts,
  clientConfig,
  INTERACTIVE,
} from "../adapters/aws-clients.js";
import { documentClient } from "../adapters/dynamodb/client.js";
import { DynamoRequestStore } from "../adapters/dynamodb/request-store.js";
import { requestIdFor } from "../adapters/ids.js";
import { powertoolsCounters } from "../adapters/metrics/powertools.js";
import { loadSlackSecret } from "../adapters/slack/secrets.js";
import type { HubDeps } from "../app/hub/index.js";
import { DEFAULT_JOB_SETTINGS } from "../domain/request.js";
import type { Notifier } from "../ports/notifier.js";
import type { Publisher } from "../ports/publisher.js";
import {
  type HubConfig,
  hubConfigSchema,
  loadConfig,
  memberApplyTopicArn,
  policyOf,
} from "./config.js";
import { log, once, systemClock } from "./logging.js";

export function hubSettings(config: HubConfig): HubDeps["config"] {
  return {
    approvalChannel: config.SLACK_APPROVAL_CHANNEL,
    monitoringChannel: config.SLACK_MONITORING_CHANNEL,
    approverUserIds: config.APPROVER_USER_IDS,
    approverUserGroup: config.APPROVER_USER_GROUP,
    slackTeamId: config.SLACK_TEAM_ID,
    slackAppId: config.SLACK_APP_ID,
    denyTopicArn: config.DENY_TOPIC_ARN,
    memberApplyTopicArn: (account: string, region: string) =>
      memberApplyTopicArn(config, account, region),
    expiryHours: config.REQUEST_EXPIRY_HOURS,
    accountAliases: config.ACCOUNT_ALIASES,
    governance: {
      accounts: config.GOVERNED_ACCOUNTS,
      ...(config.ORGANIZATION_ID
        ? { organization: { id: config.ORGANIZATION_ID, regions: config.ORGANIZATION_REGIONS } }
        : {}),
    },
    people: { people: config.PEOPLE, sourceIdentityRoles: config.SOURCE_IDENTITY_ROLES },
    jobs: { ...DEFAULT_JOB_SETTINGS, onExpiry: config.ON_EXPIRY },
    policy: policyOf(config),
  };
}

export const hubConfig = once(() => loadConfig(hubConfigSchema, process.env));

/** The bot token, cached for five minutes (a rotated secret is picked up). */
export function botToken(): Promise<string> {
  return loadSlackSecret(hubConfig().SLACK_BOT_TOKEN_SECRET_ARN, "bot token");
}

/** The signing secret: only buttonClick has the variable naming it (and may read it). */
export function signingSecret(): Promise<string> {
  const arn = hubConfig().SLACK_SIGNING_SECRET_ARN;
  if (!arn) throw new Error("SLACK_SIGNING_SECRET_ARN is not set: only buttonClick verifies Slack");
  return loadSlackSecret(arn, "signing secret");
}

/** SNS, loaded and made on the first publish (one client per region, as SnsPublisher keeps). */
function lazyPublisher(timeouts: ClientTimeouts): Publisher {
  const publisher = once(async () => {
    const [{ SNSClient }, { SnsPublisher }] = await Promise.all([
      import("@aws-sdk/client-sns"),
      import("../adapters/sns/publisher.js"),
    ]);
    return new SnsPublisher((region) => new SNSClient({ region, ...clientConfig(timeouts) }));
  });
  return { publish: async (...args) => (await publisher()).publish(...args) };
}

/**
 * The Slack client for one bot token, loaded and made on its first call. The same one serves
 * every invocation while the token is unchanged (it caches the approver group's members).
 */
function lazyNotifier(token: string, slackApiUrl: string | undefined): Notifier {
  const client = once(async () => {
    const { SlackNotifier } = await import("../adapters/slack/notifier.js");
    return new SlackNotifier({ token, slackApiUrl });
  });
  return {
    post: async (...args) => (await client()).post(...args),
    findPosted: async (...args) => (await client()).findPosted(...args),
    update: async (...args) => (await client()).update(...args),
    postEphemeral: async (...args) => (await client()).postEphemeral(...args),
    userInfo: async (...args) => (await client()).userInfo(...args),
    userGroupMembers: async (...args) => (await client()).userGroupMembers(...args),
  };
}

function hubRuntime(timeouts: ClientTimeouts) {
  return once(() => {
    const config = hubConfig();
    const aws = clientConfig(timeouts);
    return {
      config,
      requests: new DynamoRequestStore(
        documentClient(new DynamoDBClient(aws)),
        config.REQUESTS_TABLE,
      ),
      publisher: lazyPublisher(timeouts),
      metrics: powertoolsCounters("secgroup-approval-hub"),
    };
  });
}

const runtimes = { background: hubRuntime(BACKGROUND), interactive: hubRuntime(INTERACTIVE) };
let notifier: { token: string; client: Notifier } | undefined;

/**
 * The hub's dependencies. "interactive" (buttonClick) has clients that give up within Slack's
 * 3 seconds; "background" (the SNS, EventBridge and scheduled handlers) waits longer.
 */
export async function hubDeps(kind: keyof typeof runtimes = "background"): Promise<HubDeps> {
  const base = runtimes[kind]();
  const token = await botToken();
  if (notifier?.token !== token) {
    notifier = { token, client: lazyNotifier(token, base.config.SLACK_API_URL) };
  }
  return {
    requests: base.requests,
    publisher: base.publisher,
    notifier: notifier.client,
    clock: systemClock,
    log,
    metrics: base.metrics,
    requestIdFor,
    config: hubSettings(base.config),
  };
}
