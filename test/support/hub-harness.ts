/**
 * A hub on real local components: dynalite for the requests table, the loopback Slack Web API,
 * and a publisher that records what the hub sends on. For handler tests that need no EC2.
 */
import { readFileSync } from "node:fs";
import { DynamoRequestStore } from "../../src/adapters/dynamodb/index.js";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { requestIdFor } from "../../src/adapters/ids.js";
import { SlackNotifier } from "../../src/adapters/slack/notifier.js";
import { signSlackRequest } from "../../src/adapters/slack/verify.js";
import { type HubDeps, storeRequest } from "../../src/app/hub.js";
import type { Change } from "../../src/domain/change.js";
import { parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import type { Log } from "../../src/ports/log.js";
import type { Publisher } from "../../src/ports/publisher.js";
import { dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import { type SlackApi, startSlackApi } from "../../src/sandbox/slack-api.js";

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";

export class RecordingPublisher implements Publisher {
  readonly messages: { topicArn: string; message: string }[] = [];
  /** How many of the next publishes fail, as SNS does when it is down. */
  failures = 0;
  /** The next publish waits this long first (a stalled SNS endpoint), then goes through. */
  stallMs = 0;
  async publish(topicArn: string, message: string): Promise<void> {
    if (this.stallMs > 0) {
      const ms = this.stallMs;
      this.stallMs = 0;
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("SNS is unavailable");
    }
    this.messages.push({ topicArn, message });
  }
}

export class MemoryLog implements Log {
  readonly lines: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  debug = (message: string, attributes?: Record<string, unknown>) =>
    this.lines.push({ level: "debug", message, attributes });
  info = (message: string, attributes?: Record<string, unknown>) =>
    this.lines.push({ level: "info", message, attributes });
  warn = (message: string, attributes?: Record<string, unknown>) =>
    this.lines.push({ level: "warn", message, attributes });
  error = (message: string, attributes?: Record<string, unknown>) =>
    this.lines.push({ level: "error", message, attributes });
}

export function fixture(path: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8"));
}

/** A real change, from a CloudTrail fixture, with a fresh event id so each test gets its own request. */
export function changeFromFixture(
  path: string,
  eventId: string,
  eventTime = new Date().toISOString(),
): Change {
  const parsed = parseCloudTrailEvent(fixture(`cloudtrail/${path}`));
  if (parsed.ignored) throw new Error(`${path} is ignored: ${parsed.reason}`);
  return { ...parsed.change, eventId, eventTime };
}

export interface HubHarness {
  deps: HubDeps;
  slack: SlackApi;
  publisher: RecordingPublisher;
  log: MemoryLog;
  stop(): Promise<void>;
}

export async function startHub(clock: () => Date = () => new Date()): Promise<HubHarness> {
  const [dynalite, slack] = await Promise.all([startDynalite(), startSlackApi()]);
  const { client, doc } = dynamoClients(dynalite.endpoint);
  await ensureTables(client);
  const publisher = new RecordingPublisher();
  const log = new MemoryLog();
  const deps: HubDeps = {
    requests: new DynamoRequestStore(doc),
    notifier: new SlackNotifier({
      token: "xoxb-test",
      slackApiUrl: slack.url,
      retries: 0,
      timeoutMs: 1000,
    }),
    publisher,
    clock,
    log,
    requestIdFor,
    config: {
      approvalChannel: "C0APPROVAL",
      monitoringChannel: "C0MONITORING",
      approverUserIds: ["U0BOB", "U0CAROL"],
      denyTopicArn: "arn:aws:sns:us-east-1:111122223333:denySecurityGroupChange",
      memberApplyTopicArn: (account, region) =>
        `arn:aws:sns:${region}:${account}:applySecurityGroupChange`,
      expiryHours: 24,
      accountAliases: { "111122223333": "prod-payments" },
    },
  };
  return {
    deps,
    slack,
    publisher,
    log,
    stop: async () => {
      await Promise.all([dynalite.stop(), slack.stop()]);
    },
  };
}

/** Stores a pending request for `change` the way storeSecurityGroupRequest does. */
export async function pendingRequest(deps: HubDeps, change: Change) {
  const message: ChangeMessage = {
    type: "change",
    change,
    revertedAt: change.eventTime,
    revertMs: 120,
  };
  return (await storeRequest(deps, message)).request;
}

/** The form body Slack posts for a button click by `user` on `requestId`. */
export function clickBody(user: string, actionId: string, requestId: string): string {
  const payload = fixture("slack/block_actions.json") as Record<string, unknown> & {
    actions: Record<string, unknown>[];
  };
  const [first] = payload.actions;
  payload.user = {
    id: user,
    username: user.slice(2).toLowerCase(),
    name: user.slice(2).toLowerCase(),
    team_id: "T0EXAMPLE",
  };
  payload.actions = [{ ...first, action_id: actionId, value: requestId }];
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function signed(body: string, nowMs = Date.now(), secret = SIGNING_SECRET) {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    body,
    isBase64Encoded: false,
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Slack-Request-Timestamp": String(timestamp),
      "X-Slack-Signature": signSlackRequest({ signingSecret: secret, rawBody: body, timestamp }),
    } as Record<string, string>,
  };
}
