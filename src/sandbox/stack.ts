/**
 * The whole system on one machine: dynalite for DynamoDB, moto server behind our CloudTrail
 * proxy for EC2, a loopback Slack Web API, and in-process EventBridge/SNS routing that wires the
 * real handlers exactly as the CDK app does (single-account mode). Used by `npm start`, the
 * end-to-end tests and the benchmarks.
 */
import { mkdir } from "node:fs/promises";
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
import type { MemberDeps } from "../app/member.js";
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
  /** Keep DynamoDB data in this folder (LevelDB); in memory when absent. */
  dataDir?: string;
  /** Port of the EC2 endpoint (the proxy); 0 = any free port. */
  ec2Port?: number;
  /** Port of the loopback Slack Web API; 0 = any free port. */
  slackApiPort?: number;
  signingSecret: string;
  /** Seed rule: auto-deny rules without a description. */
  autoDenyWithoutDescription?: boolean;
  /** Where the handlers' log lines go. */
  log: Log;
  /** Pause before each SNS/EventBridge retry; default Lambda-like (fast in tests). */
  retryBackoffMs?: (retry: number) => number;
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
  sweep(): Promise<unknown>;
  expire(): Promise<unknown>;
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
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
    const [dynalite, moto, slack] = await Promise.all([
      startDynalite(options.dataDir ? { path: options.dataDir } : {}),
      startMoto(),
      startSlackApi({ port: options.slackApiPort ?? 0 }),
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

    let revert: ((event: unknown) => Promise<unknown>) | undefined;
    const proxy = await startEc2Proxy({
      upstream: moto.endpoint,
      port: options.ec2Port ?? 0,
      account: SANDBOX.account,
      region: SANDBOX.region,
      identities: defaultIdentities(SANDBOX.account),
      // moto keeps its own account id (123456789012) unless told ours.
      pinUpstreamAccount: true,
      // EventBridge: the member rule's pattern decides what reaches revertSecurityGroup.
      onEvent: (event) => {
        if (revert && matchesGovernedPattern(event))
          deliveries.deliver("revertSecurityGroup", revert, event);
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
    revert = createRevertHandler(() => memberDeps);
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

    await sweep();

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
      sweep: () => sweep(),
      expire: () => expire(),
      idle: () => deliveries.idle(),
      stop: async () => {
        await deliveries.idle().catch(() => undefined);
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
