/**
 * The whole system on one machine: dynalite for DynamoDB, moto server behind our CloudTrail
 * proxy for EC2, a loopback Slack Web API, and in-process EventBridge/SNS routing that wires the
 * real handlers exactly as the CDK app does (single-account mode, one member in SANDBOX.region:
 * as an EventBridge rule sees only its own region, events of other regions reach no member).
 * The schedules (expireRequests, the baseline sweep) run on timers when asked. Used by
 * `npm start`, the end-to-end tests and the benchmarks.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyResult } from "aws-lambda";
import {
  DynamoBaselines,
  DynamoEventLedger,
  DynamoRequestStore,
} from "../adapters/dynamodb/index.js";
import { DEFAULT_TABLE_NAMES, ensureTables } from "../adapters/dynamodb/tables.js";
import { createEc2Client } from "../adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../adapters/ec2/security-groups.js";
import { HUB_DETAIL_TYPES, MEMBER_EVENT_SOURCE } from "../adapters/events/hub-link.js";
import { driftEventId, requestIdFor } from "../adapters/ids.js";
import { SlackNotifier } from "../adapters/slack/notifier.js";
import { signSlackRequest } from "../adapters/slack/verify.js";
import type { HubDeps, JobResult } from "../app/hub/index.js";
import type { MemberDeps, SweepResult } from "../app/member/index.js";
import { matchesGovernedPattern } from "../domain/cloudtrail.js";
import type { PeopleConfig } from "../domain/identity.js";
import { mergePolicies, type Policy, parsePolicyText } from "../domain/policy/index.js";
import type { PolicyConfig } from "../domain/policy.js";
import { DEFAULT_JOB_SETTINGS } from "../domain/request.js";
import { createApplyHandler } from "../handlers/applySecurityGroupChange.js";
import { createButtonClickHandler } from "../handlers/buttonClick.js";
import { createDenyHandler } from "../handlers/denySecurityGroupChange.js";
import { createResultHandler } from "../handlers/errorHandlerSecurityGroupChange.js";
import { createExpireHandler } from "../handlers/expireRequests.js";
import { createRevertHandler } from "../handlers/revertSecurityGroup.js";
import { createStoreHandler } from "../handlers/storeSecurityGroupRequest.js";
import { createSweepHandler } from "../handlers/sweepBaseline.js";
import type { Log } from "../ports/log.js";
import { CountingMetrics } from "../ports/metrics.js";
import { Deliveries, LocalEventBus, LocalSns } from "./bus.js";
import { dynamoClients, startDynalite } from "./dynamodb.js";
import { defaultIdentities, type Identity } from "./ec2-proxy.js";
import { startEc2ProxyThread } from "./ec2-proxy-thread.js";
import { startMoto } from "./moto.js";
import { type Schedules, startSchedules } from "./schedule.js";
import { type SlackApi, startSlackApi } from "./slack-api.js";

/** The hub account and the first member (single account: the hub governs itself too). */
export const SANDBOX = {
  account: "111122223333",
  region: "us-east-1",
  accountAlias: "sandbox",
  approvalChannel: "C0APPROVAL",
  monitoringChannel: "C0MONITORING",
  approvers: ["U0BOB", "U0CAROL"],
  botToken: "xoxb-sandbox-token",
  teamId: "T0SANDBOX",
  appId: "A0SANDBOX",
  /** The member functions' own role: its calls are never governed (no loops). */
  systemRoleArn: "arn:aws:iam::111122223333:role/secgroup-approval-member",
  systemAccessKey: "secgroup-approval-member",
  exemptPrincipals: ["arn:aws:iam::*:role/BreakGlassAdmin"],
} as const;

/** A governed member: one account in one region, with the access keys that act in it. */
export interface SandboxMember {
  account: string;
  alias: string;
  region: string;
  /** The access key its own functions sign with (their role: never governed). */
  systemAccessKey: string;
  /** The access key of its exempt admin (BreakGlassAdmin): seeds and reads its groups. */
  adminAccessKey: string;
}

/** The sandbox's members: the hub's own account, and a second account, "staging". */
export const SANDBOX_MEMBERS: readonly SandboxMember[] = [
  {
    account: SANDBOX.account,
    alias: SANDBOX.accountAlias,
    region: SANDBOX.region,
    systemAccessKey: SANDBOX.systemAccessKey,
    adminAccessKey: "admin",
  },
  {
    account: "444455556666",
    alias: "staging",
    region: SANDBOX.region,
    systemAccessKey: "staging-secgroup-approval-member",
    adminAccessKey: "staging-admin",
  },
];

/** Callers in the staging account, by access key (those of the first account: defaultIdentities). */
export function stagingIdentities(account: string): Record<string, Identity> {
  return {
    "staging-dev": { type: "IAMUser", userName: "dev", accountId: account },
    "staging-admin": {
      type: "AssumedRole",
      roleName: "BreakGlassAdmin",
      sessionName: "admin",
      accountId: account,
    },
    "staging-secgroup-approval-member": {
      type: "AssumedRole",
      roleName: "secgroup-approval-member",
      sessionName: "secgroup-approval-member",
      accountId: account,
    },
  };
}

/** Who is who: alice's IAM user is mapped to her Slack user; SSO sessions verify by email. */
export const SANDBOX_PEOPLE: PeopleConfig = {
  people: [{ slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] }],
  sourceIdentityRoles: [],
};

const topic = (account: string, name: string) => `arn:aws:sns:${SANDBOX.region}:${account}:${name}`;
export const TOPICS = {
  deny: topic(SANDBOX.account, "denySecurityGroupChange"),
  apply: (account: string) => topic(account, "applySecurityGroupChange"),
} as const;

/** The repository's policy.example.json: the policy `npm start` runs with. */
export const EXAMPLE_POLICY_FILE = fileURLToPath(
  new URL("../../policy.example.json", import.meta.url),
);

/** policy.example.json, parsed by the engine's loader (as the functions' POLICY variable is). */
export function examplePolicy(): Policy {
  return parsePolicyText(readFileSync(EXAMPLE_POLICY_FILE, "utf8"), "policy.example.json");
}

/** A member's baseline table: its own account's in AWS; here one dynalite, one table each. */
const baselineTable = (member: SandboxMember, first: boolean) =>
  first ? DEFAULT_TABLE_NAMES.baselines : `${DEFAULT_TABLE_NAMES.baselines}-${member.account}`;

/** moto's request recording in the data folder: replayed at start, so EC2 is kept too. */
export const EC2_RECORDING = "ec2.jsonl";

export interface LocalStackOptions {
  /**
   * Keep state in this folder between runs: DynamoDB in dynamodb/ (LevelDB), the Slack fake's
   * messages in slack.json, EC2 as moto's recording of every request (ec2.jsonl, replayed at
   * start with the same ids). In memory when absent.
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
  /**
   * The deployment's policy file (POLICY), merged with the switches as the functions do; absent:
   * none (the switches alone). `npm start` passes policy.example.json (examplePolicy()).
   */
  policy?: Policy;
  /** The drift check's grace window; 0 (the default) files a difference at the first sweep. */
  driftGraceSeconds?: number;
  /** What happens to a live change whose request expires (default "revert"). */
  onExpiry?: "revert" | "leave";
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
  /** EC2 requests replayed from the data folder at start (0: EC2 started empty). */
  ec2Replayed: number;
  /** moto itself, behind no proxy (the benchmark compares the two). */
  motoEndpoint: string;
  dynamoEndpoint: string;
  slack: SlackApi;
  sns: LocalSns;
  bus: LocalEventBus;
  deliveries: Deliveries;
  /** The first member's (the hub account's own) dependencies. */
  memberDeps: MemberDeps;
  /** Every member, in SANDBOX_MEMBERS order. */
  members: { member: SandboxMember; deps: MemberDeps }[];
  hubDeps: HubDeps;
  metrics: CountingMetrics;
  /** The buttonClick Lambda behind API Gateway: give it the raw request as Slack sent it. */
  buttonClick(request: ApiRequest): Promise<APIGatewayProxyResult>;
  /** Signs a form body as Slack would (for the page and tests). */
  signedRequest(body: string, nowMs?: number): ApiRequest;
  /** Every member's drift check, as its schedule runs it; the figures added up. */
  sweep(): Promise<SweepResult>;
  /** The hub's 15-minute job: post what is missing, expire, send again, give up. */
  expire(): Promise<JobResult>;
  /** Resolves when no event or message is still being delivered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const addResults = (a: SweepResult, b: SweepResult): SweepResult => ({
  groups: a.groups + b.groups,
  rules: a.rules + b.rules,
  drift: a.drift + b.drift,
  suspected: a.suspected + b.suspected,
  adopted: a.adopted + b.adopted,
  retired: a.retired + b.retired,
  busy: a.busy + b.busy,
  republished: a.republished + b.republished,
  install: a.install || b.install,
});

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dynamoDir = options.dataDir && join(options.dataDir, "dynamodb");
    if (dynamoDir) await mkdir(dynamoDir, { recursive: true });
    const [dynalite, moto, slack] = await Promise.all([
      startDynalite({
        port: options.dynamoPort ?? 0,
        ownProcess: true,
        ...(dynamoDir ? { path: dynamoDir } : {}),
      }),
      startMoto(options.dataDir ? { recording: join(options.dataDir, EC2_RECORDING) } : {}),
      startSlackApi({
        port: options.slackApiPort ?? 0,
        ...(options.dataDir ? { persistFile: join(options.dataDir, "slack.json") } : {}),
      }),
    ]);
    stops.push(dynalite.stop, moto.stop, slack.stop);

    const { client: dynamo, doc } = dynamoClients(dynalite.endpoint);
    await Promise.all(
      SANDBOX_MEMBERS.map((m, i) =>
        ensureTables(dynamo, {
          requests: DEFAULT_TABLE_NAMES.requests,
          baselines: baselineTable(m, i === 0),
        }),
      ),
    );

    const deliveries = new Deliveries({
      backoffMs: options.retryBackoffMs,
      onError: (target, err, attempt) =>
        options.log.warn(`${target} failed (attempt ${attempt})`, {
          error: err instanceof Error ? err.message : String(err),
        }),
    });
    const sns = new LocalSns(deliveries);
    const bus = new LocalEventBus(deliveries);
    const metrics = new CountingMetrics();
    const clock = () => new Date();

    /** Each member's EventBridge rule target (revertSecurityGroup), by account and region. */
    const reverts = new Map<string, (event: unknown) => Promise<unknown>>();
    // In a thread of its own: the proxy's HTTP work is not on the handlers' thread.
    const proxy = await startEc2ProxyThread({
      upstream: moto.endpoint,
      port: options.ec2Port ?? 0,
      account: SANDBOX.account,
      region: SANDBOX.region,
      identities: {
        ...defaultIdentities(SANDBOX.account),
        ...stagingIdentities(SANDBOX_MEMBERS[1]?.account ?? ""),
      },
      // moto keeps each caller's resources in the caller's account (x-moto-account-id).
      pinUpstreamAccount: true,
      // A recording replays to the same ids only in the order moto handled the calls.
      serializeUpstream: options.dataDir !== undefined,
      // EventBridge: the rule of the member in the event's account and region, if any, and its
      // pattern decide what reaches revertSecurityGroup.
      onEvent: (event) => {
        if (!matchesGovernedPattern(event)) return;
        const revert = reverts.get(`${event.account}/${event.region}`);
        if (revert) {
          deliveries.deliver("revertSecurityGroup", revert, event);
          return;
        }
        options.log.info("event not delivered", {
          reason: `no governed member in ${event.account} ${event.region}`,
          region: event.region,
          eventName: event.detail.eventName,
          eventId: event.detail.eventID,
        });
      },
    });
    stops.push(proxy.stop);

    const members = SANDBOX_MEMBERS.map((member, i) => {
      const ec2 = createEc2Client({
        endpoint: proxy.url,
        region: member.region,
        credentials: { accessKeyId: member.systemAccessKey, secretAccessKey: "local" },
      });
      const table = baselineTable(member, i === 0);
      const switches: PolicyConfig = {
        systemRoleArns: [`arn:aws:iam::${member.account}:role/secgroup-approval-member`],
        exemptPrincipals: [...SANDBOX.exemptPrincipals],
        maxEventAgeSeconds: 300,
        autoDenyWithoutDescription: options.autoDenyWithoutDescription ?? false,
      };
      const deps: MemberDeps = {
        securityGroups: new Ec2SecurityGroups(ec2),
        baselines: new DynamoBaselines(doc, table),
        ledger: new DynamoEventLedger(doc, table),
        hub: bus.linkFor({ account: member.account, region: member.region }),
        clock,
        log: options.log,
        metrics,
        ids: { requestIdFor, driftEventId },
        config: {
          account: member.account,
          region: member.region,
          policy: switches,
          ...(options.policy ? { policyFile: options.policy } : {}),
          people: SANDBOX_PEOPLE,
          drift: { graceSeconds: options.driftGraceSeconds ?? 0, maxPerSweep: 100 },
          deployment: "sandbox",
        },
      };
      return { member, deps };
    });
    const [first] = members;
    if (!first) throw new Error("the sandbox has no member");

    const hubDeps: HubDeps = {
      requests: new DynamoRequestStore(doc, DEFAULT_TABLE_NAMES.requests),
      notifier: new SlackNotifier({ token: SANDBOX.botToken, slackApiUrl: slack.url, retries: 1 }),
      publisher: sns,
      clock,
      log: options.log,
      metrics,
      requestIdFor,
      config: {
        approvalChannel: SANDBOX.approvalChannel,
        monitoringChannel: SANDBOX.monitoringChannel,
        approverUserIds: [...SANDBOX.approvers],
        slackTeamId: SANDBOX.teamId,
        slackAppId: SANDBOX.appId,
        denyTopicArn: TOPICS.deny,
        memberApplyTopicArn: (account, region) =>
          `arn:aws:sns:${region}:${account}:applySecurityGroupChange`,
        expiryHours: 24,
        accountAliases: Object.fromEntries(SANDBOX_MEMBERS.map((m) => [m.account, m.alias])),
        governance: {
          accounts: Object.fromEntries(SANDBOX_MEMBERS.map((m) => [m.account, [m.region]])),
        },
        people: SANDBOX_PEOPLE,
        jobs: { ...DEFAULT_JOB_SETTINGS, onExpiry: options.onExpiry ?? "revert" },
        // The hub's own copy: the same switches (its functions have no system role to ignore).
        policy: mergePolicies(
          {
            systemRoleArns: [],
            exemptPrincipals: [...SANDBOX.exemptPrincipals],
            maxEventAgeSeconds: 300,
            autoDenyWithoutDescription: options.autoDenyWithoutDescription ?? false,
          },
          options.policy ?? { rules: [] },
        ),
      },
    };

    // The wiring of the CDK app: each member's rule and topic, the hub's bus rules and topics.
    for (const { member, deps } of members) {
      reverts.set(
        `${member.account}/${member.region}`,
        createRevertHandler(() => deps),
      );
      sns.subscribe(
        TOPICS.apply(member.account),
        "applySecurityGroupChange",
        createApplyHandler(
          () => deps,
          () => TOPICS.apply(member.account),
        ),
      );
    }
    const store = createStoreHandler(() => hubDeps);
    const result = createResultHandler(() => hubDeps);
    bus.addRule({
      name: "storeSecurityGroupRequest",
      matches: (e) =>
        e.source === MEMBER_EVENT_SOURCE && e["detail-type"] === HUB_DETAIL_TYPES.change,
      target: (e) => store(e),
    });
    bus.addRule({
      name: "errorHandlerSecurityGroupChange",
      matches: (e) =>
        e.source === MEMBER_EVENT_SOURCE && e["detail-type"] === HUB_DETAIL_TYPES.result,
      target: (e) => result(e),
    });
    sns.subscribe(
      TOPICS.deny,
      "denySecurityGroupChange",
      createDenyHandler(() => hubDeps),
    );
    const click = createButtonClickHandler({
      hub: () => hubDeps,
      signingSecret: async () => options.signingSecret,
    });
    const sweeps = members.map(({ deps }) => createSweepHandler(() => deps));
    const expire = createExpireHandler(() => hubDeps);
    const sweep = async (): Promise<SweepResult> => {
      const results = await Promise.all(sweeps.map((run) => run(scheduled("SweepSchedule"))));
      return results.reduce(addResults);
    };

    /** What an EventBridge schedule rule gives its target. */
    function scheduled(rule: string) {
      return {
        version: "0",
        id: randomUUID(),
        "detail-type": "Scheduled Event",
        source: "aws.events",
        account: SANDBOX.account,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        region: SANDBOX.region,
        resources: [`arn:aws:events:${SANDBOX.region}:${SANDBOX.account}:rule/${rule}`],
        detail: {},
      };
    }

    // As each member stack's deploy-time sweep: the install adopts every group as it stands.
    await sweep();

    const schedules: Schedules = startSchedules(
      [
        {
          name: "expireRequests",
          everyMs: options.schedule?.expireEveryMs ?? 0,
          run: () => expire(scheduled("ExpireSchedule")),
          onResult: (r: JobResult) => {
            if (r.expired.length || r.resent.length || r.posted.length || r.gaveUp.length)
              options.log.info("scheduled run", { job: "expireRequests", ...r });
          },
        },
        {
          name: "sweepBaseline",
          everyMs: options.schedule?.sweepEveryMs ?? 0,
          run: sweep,
          onResult: (r: SweepResult) =>
            options.log.info("scheduled run", { job: "sweepBaseline", ...r }),
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
      ec2Replayed: moto.replayed,
      motoEndpoint: moto.endpoint,
      dynamoEndpoint: dynalite.endpoint,
      slack,
      sns,
      bus,
      deliveries,
      memberDeps: first.deps,
      members,
      hubDeps,
      metrics,
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
      sweep,
      expire: () => expire(scheduled("ExpireSchedule")),
      idle: async () => {
        // Until no event is on its way from the proxy's thread and none is being delivered: a
        // delivery may make EC2 calls, whose events then come in.
        for (;;) {
          await proxy.sync();
          await deliveries.idle();
          const started = deliveries.started;
          await proxy.sync();
          if (deliveries.started === started) return;
        }
      },
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
