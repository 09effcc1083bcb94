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
import { type HubDeps, storeRequest } from "../../src/app/hub/index.js";
import type { Change } from "../../src/domain/change.js";
import { parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import { type ApprovalRequest, DEFAULT_JOB_SETTINGS } from "../../src/domain/request.js";
import type { Log } from "../../src/ports/log.js";
import { CountingMetrics } from "../../src/ports/metrics.js";
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
  metrics: CountingMetrics;
  stop(): Promise<void>;
}

/** The workspace and app of test/fixtures/slack/block_actions.json: the harness's hub expects them. */
export const FIXTURE_TEAM = "T0EXAMPLE";
export const FIXTURE_APP = "A0SECGRPAPP";
/** The member account of the fixtures, and where it is governed. */
export const MEMBER = { account: "111122223333", region: "us-east-1" } as const;

export async function startHub(clock: () => Date = () => new Date()): Promise<HubHarness> {
  // Slack stamps its messages by the same clock as the hub, as Slack and Lambda share real time.
  const [dynalite, slack] = await Promise.all([
    startDynalite(),
    startSlackApi({ now: () => clock().getTime() }),
  ]);
  const { client, doc } = dynamoClients(dynalite.endpoint);
  await ensureTables(client);
  const publisher = new RecordingPublisher();
  const log = new MemoryLog();
  const metrics = new CountingMetrics();
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
    metrics,
    requestIdFor,
    config: {
      approvalChannel: "C0APPROVAL",
      monitoringChannel: "C0MONITORING",
      approverUserIds: ["U0BOB", "U0CAROL"],
      slackTeamId: FIXTURE_TEAM,
      slackAppId: FIXTURE_APP,
      denyTopicArn: "arn:aws:sns:us-east-1:111122223333:denySecurityGroupChange",
      memberApplyTopicArn: (account: string, region: string) =>
        `arn:aws:sns:${region}:${account}:applySecurityGroupChange`,
      expiryHours: 24,
      accountAliases: { "111122223333": "prod-payments" },
      governance: { accounts: { "111122223333": ["us-east-1", "eu-west-1"] } },
      people: {
        people: [{ slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] }],
        sourceIdentityRoles: [],
      },
      jobs: DEFAULT_JOB_SETTINGS,
    },
  };
  return {
    deps,
    slack,
    publisher,
    log,
    metrics,
    stop: async () => {
      await Promise.all([dynalite.stop(), slack.stop()]);
    },
  };
}

/** Stores a pending request for `change` the way storeSecurityGroupRequest does. */
export async function pendingRequest(deps: HubDeps, change: Change): Promise<ApprovalRequest> {
  const message: ChangeMessage = {
    type: "change",
    change,
    revertedAt: change.eventTime,
    revertMs: 120,
  };
  const stored = await storeRequest(deps, message, {
    account: change.account,
    region: change.region,
  });
  if (!stored) throw new Error("the change message was refused");
  return stored.request;
}

export interface ClickOptions {
  teamId?: string;
  appId?: string;
  /** The channel the click came from (default: where the request's approval message is). */
  channel?: string;
  /** The message clicked (default: the request's approval message). */
  messageTs?: string;
}

/**
 * The form body Slack posts for a click by `user` on the request's approval message (the
 * fixture's workspace and app unless told otherwise).
 */
export function clickBody(
  user: string,
  actionId: string,
  request: Pick<ApprovalRequest, "requestId" | "slack"> | string,
  options: ClickOptions = {},
): string {
  const payload = fixture("slack/block_actions.json") as Record<string, unknown> & {
    actions: Record<string, unknown>[];
  };
  const [first] = payload.actions;
  const requestId = typeof request === "string" ? request : request.requestId;
  const ref = typeof request === "string" ? undefined : request.slack?.approval;
  const channel = options.channel ?? ref?.channel ?? "C0APPROVAL";
  const teamId = options.teamId ?? FIXTURE_TEAM;
  payload.user = {
    id: user,
    username: user.slice(2).toLowerCase(),
    name: user.slice(2).toLowerCase(),
    team_id: teamId,
  };
  payload.team = { id: teamId, domain: "example-corp" };
  payload.api_app_id = options.appId ?? FIXTURE_APP;
  payload.channel = { id: channel, name: "sg-approvals" };
  payload.container = {
    type: "message",
    message_ts: options.messageTs ?? ref?.ts ?? "0000000000.000000",
    channel_id: channel,
    is_ephemeral: false,
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
