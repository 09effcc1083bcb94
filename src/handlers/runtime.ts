/**
 * Builds the adapters each Lambda needs from its environment, once per container. Handlers stay
 * thin: they call `memberDeps()` / `hubDeps()` and one use case.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { documentClient } from "../adapters/dynamodb/client.js";
import {
  DynamoBaselines,
  DynamoEventLedger,
  DynamoRequestStore,
} from "../adapters/dynamodb/index.js";
import { createEc2Client } from "../adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../adapters/ec2/security-groups.js";
import { requestIdFor } from "../adapters/ids.js";
import { SlackNotifier } from "../adapters/slack/notifier.js";
import { loadSlackSecrets, type SlackSecrets } from "../adapters/slack/secrets.js";
import { SnsPublisher } from "../adapters/sns/publisher.js";
import type { HubDeps } from "../app/hub.js";
import type { MemberDeps } from "../app/member.js";
import type { Log } from "../ports/log.js";
import type { Notifier } from "../ports/notifier.js";
import {
  type HubConfig,
  hubConfigSchema,
  loadConfig,
  memberApplyTopicArn,
  memberConfigSchema,
} from "./config.js";

export const logger = new Logger({ serviceName: "secgroup-approval" });

/** Our Log port over Powertools Logger (JSON lines with the Lambda request id once addContext ran). */
export const log: Log = {
  debug: (message, attributes) =>
    attributes ? logger.debug(message, attributes) : logger.debug(message),
  info: (message, attributes) =>
    attributes ? logger.info(message, attributes) : logger.info(message),
  warn: (message, attributes) =>
    attributes ? logger.warn(message, attributes) : logger.warn(message),
  error: (message, attributes) =>
    attributes ? logger.error(message, attributes) : logger.error(message),
};

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

const systemClock = () => new Date();

export const memberDeps = once((): MemberDeps => {
  const config = loadConfig(memberConfigSchema, process.env);
  const dynamo = documentClient(new DynamoDBClient({}));
  return {
    securityGroups: new Ec2SecurityGroups(createEc2Client()),
    baselines: new DynamoBaselines(dynamo, config.BASELINE_TABLE),
    ledger: new DynamoEventLedger(dynamo, config.BASELINE_TABLE),
    publisher: new SnsPublisher(new SNSClient({})),
    clock: systemClock,
    log,
    config: {
      hubChangeTopicArn: config.HUB_CHANGE_TOPIC_ARN,
      hubResultTopicArn: config.HUB_RESULT_TOPIC_ARN,
      accountAlias: config.ACCOUNT_ALIAS,
      policy: {
        systemRoleArns: config.SYSTEM_ROLE_ARNS,
        exemptPrincipals: config.EXEMPT_PRINCIPALS,
        maxEventAgeSeconds:
          config.MAX_EVENT_AGE_SECONDS === 0 ? null : config.MAX_EVENT_AGE_SECONDS,
        autoDenyWithoutDescription: config.AUTO_DENY_WITHOUT_DESCRIPTION,
      },
    },
  };
});

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
    publisher: new SnsPublisher(new SNSClient({})),
  };
});

/** The Slack secrets, cached by Powertools for five minutes (a rotated secret is picked up). */
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
