/** The hub account's adapters, built from the environment once per Lambda container. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { documentClient } from "../adapters/dynamodb/client.js";
import { DynamoRequestStore } from "../adapters/dynamodb/request-store.js";
import { requestIdFor } from "../adapters/ids.js";
import { SlackNotifier } from "../adapters/slack/notifier.js";
import { loadSlackSecrets, type SlackSecrets } from "../adapters/slack/secrets.js";
import { SnsPublisher } from "../adapters/sns/publisher.js";
import type { HubDeps } from "../app/hub.js";
import type { Notifier } from "../ports/notifier.js";
import { type HubConfig, hubConfigSchema, loadConfig, memberApplyTopicArn } from "./config.js";
import { log, once, systemClock } from "./logging.js";

export function hubSettings(config: HubConfig): HubDeps["config"] {
  return {
    approvalChannel: config.SLACK_APPROVAL_CHANNEL,
    monitoringChannel: config.SLACK_MONITORING_CHANNEL,
    approverUserIds: config.APPROVER_USER_IDS,
    approverUserGroup: config.APPROVER_USER_GROUP,
    denyTopicArn: config.DENY_TOPIC_ARN,
    memberApplyTopicArn: (account, region) => memberApplyTopicArn(config, account, region),
    expiryHours: config.REQUEST_EXPIRY_HOURS,
    accountAliases: config.ACCOUNT_ALIASES,
  };
}

const hubBase = once(() => {
  const config = loadConfig(hubConfigSchema, process.env);
  return {
    config,
    requests: new DynamoRequestStore(documentClient(new DynamoDBClient({})), config.REQUESTS_TABLE),
    publisher: new SnsPublisher(),
  };
});

/** The Slack secrets, cached for five minutes (a rotated secret is picked up). */
export async function slackSecrets(): Promise<SlackSecrets> {
  return loadSlackSecrets(hubBase().config.SLACK_SECRET_ARN);
}

let notifier: { token: string; client: Notifier } | undefined;

export async function hubDeps(): Promise<HubDeps> {
  const base = hubBase();
  const { botToken } = await slackSecrets();
  if (notifier?.token !== botToken) {
    notifier = {
      token: botToken,
      client: new SlackNotifier({ token: botToken, slackApiUrl: base.config.SLACK_API_URL }),
    };
  }
  return {
    requests: base.requests,
    publisher: base.publisher,
    notifier: notifier.client,
    clock: systemClock,
    log,
    requestIdFor,
    config: hubSettings(base.config),
  };
}
