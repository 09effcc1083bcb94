/**
 * The whole system on one machine: dynalite for DynamoDB, moto server behind our CloudTrail
 * proxy for EC2, a loopback Slack Web API, and in-process EventBridge/SNS routing that wires the
 * real handlers exactly as the CDK app does (single-account mode, one member in SANDBOX.region:
 * as an EventBridge rule sees only its own region, events of other regions reach no member).
 * The schedules (expireRequests, the baseline sweep) run on timers when asked. Used by
 * `npm start`, the end-to-end tests and the benchmarks.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { APIGatewayProxyResult } from "aws-lambda";
import {
  DynamoBaselines,
  DynamoEventLedger,
  DynamoRequestStore,
} from "../adapters/dynamodb/index.js";
import { DEFAULT_TABLE_NAMES, ensureTables } from "../adapters/dynamodb/tables.js";
import { createEc2Client } from "../adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../adapters/ec2/security-groups.js";
import { requestIdFor } from "../adapters/ids.js";
import { SlackNotifier } from "../adapters/slack/notifier.js";
import { signSlackRequest } from "../adapters/slack/verify.js";
import type { HubDeps } from "../app/hub.js";
import type { MemberDeps, SweepResult } from "../app/member.js";
import { matchesGovernedPattern } from "../domain/cloudtrail.js";
import { createApplyHandler } from "../handlers/applySecurityGroupChange.js";
import { createButtonClickHandler } from "../handlers/buttonClick.js";
import { createDenyHandler } from "../handlers/denySecurityGroupChange.js";
import { createResultHandler } from "../handlers/errorHandlerSecurityGroupChange.js";
import { createExpireHandler } from "../handlers/expireRequests.js";
import { createRevertHandler } from "../handlers/revertSecurityGroup.js";
import { createStoreHandler } from "../handlers/storeSecurityGroupRequest.js";
import { createSweepHandler } from "../handlers/sweepBaseline.js";
import type { Log } from "../ports/log.js";
import { Deliveries, LocalSns } from "./bus.js";
import { dynamoClients, startDynalite } from "./dynamodb.js";
import { defaultIdentities, startEc2Proxy } from "./ec2-proxy.js";
import { startMoto } from "./moto.js";
import { type Schedules, startSchedules } from "./schedule.js";
import { type SlackApi, startSlackApi } from "./slack-api.js";

export const SANDBOX = {
  account: "111122223333",
  region: "us-east-1",
  accountAlias: "sandbox",
  approvalChannel: "C0APPROVAL",
  monitoringChannel: "C0MONITORING",
  approvers: ["U0BOB", "U0CAROL"],
  botToken: "xoxb-sandbox-token",
  /** The member functions' own role: its calls are never governed (no loops). */
  systemRoleArn: "arn:aws:iam::111122223333:role/secgroup-approval-member",
  systemAccessKey: "secgroup-approval-member",
  exemptPrincipals: ["arn:aws:iam::111122223333:role/BreakGlassAdmin"],
} as const;

const topic = (name: string) => `arn:aws:sns:${SANDBOX.region}:${SANDBOX.account}:${name}`;
export const TOPICS = {
  change: topic("securityGroupChange"),
  deny: topic("denySecurityGroupChange"),
  result: topic("errorHandlerSecurityGroupChange"),
  apply: topic("applySecurityGroupChange"),
} as const;

export interface LocalStackOptions {
  /**
   * Keep state in this folder between runs: DynamoDB in dynamodb/ (LevelDB), the Slack fake's
   * messages in slack.json. In memory when absent. EC2 (moto) always starts empty.
   */
  dataDir?: string;
  /** Port of the EC2 endpoint (the proxy); 0 = any free port. */
  ec2Port?: number;
  /** Port of DynamoDB (dynalite); 0 or absent = any free port. */
  dynamoPort?: number;
  /** Port of the loopback Slack Web API; 0 = any free port. */
  slackApiPort?: number;
  signingSecret: string;
  /** Seed rule: auto-deny rules without a description. */
  autoDenyWithoutDescription?: boolean;
  /** Where the handlers' log lines go. */
  log: Log;
  /** Pause before each SNS/EventBridge retry; default Lambda-like (fast in tests). */
  retryBackoffMs?: (retry: number) => number;
  /**
   * Run the schedules on timers, every so many ms (absent or 0: not at all; tests call
   * expire() and sweep() instead). Each run that did something is logged as "scheduled run".
   */
  schedule?: { expireEveryMs?: number; sweepEveryMs?: number };
}

export interface ApiRequest {
  body: string;
  headers: Record<string, string>;
}

export interface LocalStack {
  ec2Endpoint: string;
  dynamoEndpoint: string;
  slack: SlackApi;
  sns: LocalSns;
  deliveries: Deliveries;
  memberDeps: MemberDeps;
  hubDeps: HubDeps;
  /** The buttonClick Lambda behind API Gateway: give it the raw request as Slack sent it. */
  buttonClick(request: ApiRequest): Promise<APIGatewayProxyResult>;
  /** Signs a form body as Slack would (for the page and tests). */
  signedRequest(body: string, nowMs?: number): ApiRequest;
  /** The member's baseline sweep, as its hourly schedule runs it. */
  sweep(): Promise<SweepResult>;
  /** The hub's 15-minute job: expire old requests, send stuck approvals again. */
  expire(): Promise<{ expired: string[]; resent: string[] }>;
  /** Resolves when no event or message is still being delivered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dynamoDir = options.dataDir && join(options.dataDir, "dynamodb");
    if (dynamoDir) await mkdir(dynamoDir, { recursive: true });
    const [dynalite, moto, slack] = await Promise.all([
      startDynalite({ port: options.dynamoPort ?? 0, ...(dynamoDir ? { path: dynamoDir } : {}) }),
      startMoto(),
      startSlackApi({
        port: options.slackApiPort ?? 0,
        ...(options.dataDir ? { persistFile: join(options.dataDir, "slack.json") } : {}),
      }),
    ]);
    stops.push(dynalite.stop, moto.stop, slack.stop);

    const { client: dynamo, doc } = dynamoClients(dynalite.endpoint);
    await ensureTables(dynamo);

    const deliveries = new Deliveries({
      backoffMs: options.retryBackoffMs,
      onError: (target, err, attempt) =>
        options.log.warn(`${target} failed (attempt ${attempt})`, {
          error: err instanceof Error ? err.message : String(err),
        }),
    });
    const sns = new LocalSns(deliveries);
    const clock = () => new Date();

    /** The member deployments by region, each with its EventBridge rule's target. */
    const members = new Map<string, (event: unknown) => Promise<unknown>>();
    const proxy = await startEc2Proxy({
      upstream: moto.endpoint,
      port: options.ec2Port ?? 0,
      account: SANDBOX.account,
      region: SANDBOX.region,
      identities: defaultIdentities(SANDBOX.account),
      // moto keeps its own account id (123456789012) unless told ours.
      pinUpstreamAccount: true,
      // EventBridge: the rule of the member in the event's region, if any, and its pattern
      // decide what reaches revertSecurityGroup.
      onEvent: (event) => {
        if (!matchesGovernedPattern(event)) return;
        const revert = members.get(event.region);
        if (revert) {
          deliveries.deliver("revertSecurityGroup", revert, event);
          return;
        }
        options.log.info("event not delivered", {
          reason: `no governed member in ${event.region}`,
          region: event.region,
          eventName: event.detail.eventName,
          eventId: event.detail.eventID,
        });
      },
    });
    stops.push(proxy.stop);

    const ec2 = createEc2Client({
      endpoint: proxy.url,
      region: SANDBOX.region,
      credentials: { accessKeyId: SANDBOX.systemAccessKey, secretAccessKey: "local" },
    });
    const memberDeps: MemberDeps = {
      securityGroups: new Ec2SecurityGroups(ec2),
      baselines: new DynamoBaselines(doc, DEFAULT_TABLE_NAMES.baselines),
      ledger: new DynamoEventLedger(doc, DEFAULT_TABLE_NAMES.baselines),
      publisher: sns,
      clock,
      log: options.log,
      config: {
        hubChangeTopicArn: TOPICS.change,
        hubResultTopicArn: TOPICS.result,
        accountAlias: SANDBOX.accountAlias,
        policy: {
          systemRoleArns: [SANDBOX.systemRoleArn],
          exemptPrincipals: [...SANDBOX.exemptPrincipals],
          maxEventAgeSeconds: 300,
          autoDenyWithoutDescription: options.autoDenyWithoutDescription ?? false,
        },
      },
    };
    const hubDeps: HubDeps = {
      requests: new DynamoRequestStore(doc, DEFAULT_TABLE_NAMES.requests),
      notifier: new SlackNotifier({ token: SANDBOX.botToken, slackApiUrl: slack.url, retries: 1 }),
      publisher: sns,
      clock,
      log: options.log,
      requestIdFor,
      config: {
        approvalChannel: SANDBOX.approvalChannel,
        monitoringChannel: SANDBOX.monitoringChannel,
        approverUserIds: [...SANDBOX.approvers],
        denyTopicArn: TOPICS.deny,
        memberApplyTopicArn: (account, region) =>
          `arn:aws:sns:${region}:${account}:applySecurityGroupChange`,
        expiryHours: 24,
        accountAliases: { [SANDBOX.account]: SANDBOX.accountAlias },
      },
    };

    // The wiring of the CDK app, one subscription per topic.
    members.set(
      SANDBOX.region,
      createRevertHandler(() => memberDeps),
    );
    sns.subscribe(
      TOPICS.change,
      "storeSecurityGroupRequest",
      createStoreHandler(() => hubDeps),
    );
    sns.subscribe(
      TOPICS.apply,
      "applySecurityGroupChange",
      createApplyHandler(() => memberDeps),
    );
    sns.subscribe(
      TOPICS.result,
      "errorHandlerSecurityGroupChange",
      createResultHandler(() => hubDeps),
    );
    sns.subscribe(
      TOPICS.deny,
      "denySecurityGroupChange",
      createDenyHandler(() => hubDeps),
    );
    const click = createButtonClickHandler({
      hub: () => hubDeps,
      signingSecret: async () => options.signingSecret,
    });
    const sweep = createSweepHandler(() => memberDeps);
    const expire = createExpireHandler(() => hubDeps);

    /** What an EventBridge schedule rule gives its target. */
    const scheduled = (rule: string) => ({
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: SANDBOX.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: SANDBOX.region,
      resources: [`arn:aws:events:${SANDBOX.region}:${SANDBOX.account}:rule/${rule}`],
      detail: {},
    });
    type SweepEvent = Parameters<typeof sweep>[0];

    // As the member stack's deploy-time sweep.
    await sweep(undefined);

    const schedules: Schedules = startSchedules(
      [
        {
          name: "expireRequests",
          everyMs: options.schedule?.expireEveryMs ?? 0,
          run: () => expire(scheduled("ExpireSchedule")),
          onResult: (result: Awaited<ReturnType<typeof expire>>) => {
            if (result.expired.length || result.resent.length)
              options.log.info("scheduled run", { job: "expireRequests", ...result });
          },
        },
        {
          name: "sweepBaseline",
          everyMs: options.schedule?.sweepEveryMs ?? 0,
          run: () => sweep(scheduled("SweepSchedule") as unknown as SweepEvent),
          onResult: (result: Awaited<ReturnType<typeof sweep>>) =>
            options.log.info("scheduled run", { job: "sweepBaseline", ...result }),
        },
      ],
      (job, err) =>
        options.log.warn(`${job} failed`, {
          error: err instanceof Error ? err.message : String(err),
        }),
    );
    stops.push(schedules.stop);

    return {
      ec2Endpoint: proxy.url,
      dynamoEndpoint: dynalite.endpoint,
      slack,
      sns,
      deliveries,
      memberDeps,
      hubDeps,
      buttonClick: (request) =>
        click({ body: request.body, headers: request.headers, isBase64Encoded: false }),
      signedRequest: (body, nowMs = Date.now()) => {
        const timestamp = Math.floor(nowMs / 1000);
        return {
          body,
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": String(timestamp),
            "X-Slack-Signature": signSlackRequest({
              signingSecret: options.signingSecret,
              rawBody: body,
              timestamp,
            }),
          },
        };
      },
      sweep: () => sweep(undefined),
      expire: () => expire(scheduled("ExpireSchedule")),
      idle: () => deliveries.idle(),
      stop: async () => {
        await schedules.stop();
        await deliveries.idle().catch(() => undefined);
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
