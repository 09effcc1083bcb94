/**
 * A member's dependencies for handler tests: the real DynamoDB adapters on the given document
 * client, and by default an EC2 client and an EventBridge hub link that tests mock at the SDK
 * (aws-sdk-client-mock) or replace (a moto-backed Ec2SecurityGroups, a RecordingHubLink).
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoBaselines, DynamoEventLedger } from "../../src/adapters/dynamodb/baselines.js";
import { BASELINES_TABLE } from "../../src/adapters/dynamodb/tables.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import { EventBridgeHubLink } from "../../src/adapters/events/hub-link.js";
import { driftEventId, requestIdFor } from "../../src/adapters/ids.js";
import type { MemberDeps } from "../../src/app/member/index.js";
import {
  type ChangeMessage,
  parseChangeMessage,
  parseResultMessage,
  type ResultMessage,
} from "../../src/domain/messages.js";
import type { HubEventKind, HubLink } from "../../src/ports/hub-link.js";
import type { Log } from "../../src/ports/log.js";
import { CountingMetrics, type Metrics } from "../../src/ports/metrics.js";
import type { SecurityGroups } from "../../src/ports/security-groups.js";
import { MemoryLog } from "./hub-harness.js";

/** The member account of the CloudTrail fixtures. */
export const MEMBER_ACCOUNT = "111122223333";

export interface MemberDepsOptions {
  /** Default MEMBER_ACCOUNT. */
  account?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default: Ec2SecurityGroups over a fresh EC2Client (for aws-sdk-client-mock). */
  securityGroups?: SecurityGroups;
  /** Default: EventBridgeHubLink over a fresh EventBridgeClient (for aws-sdk-client-mock). */
  hub?: HubLink;
  /** Default: the system clock. */
  clock?: () => Date;
  log?: Log;
  metrics?: Metrics;
  drift?: Partial<MemberDeps["config"]["drift"]>;
  /** The baselines table; default its default name. */
  table?: string;
  /** Default "test". */
  deployment?: string;
}

export function memberDepsOn(
  doc: DynamoDBDocumentClient,
  options: MemberDepsOptions = {},
): MemberDeps {
  const account = options.account ?? MEMBER_ACCOUNT;
  const region = options.region ?? "us-east-1";
  const credentials = { accessKeyId: "x", secretAccessKey: "x" };
  const table = options.table ?? BASELINES_TABLE.defaultName;
  return {
    securityGroups:
      options.securityGroups ?? new Ec2SecurityGroups(new EC2Client({ region, credentials })),
    baselines: new DynamoBaselines(doc, table),
    ledger: new DynamoEventLedger(doc, table),
    hub:
      options.hub ??
      new EventBridgeHubLink(
        new EventBridgeClient({ region, credentials }),
        "secgroup-approval-member",
      ),
    clock: options.clock ?? (() => new Date()),
    log: options.log ?? new MemoryLog(),
    metrics: options.metrics ?? new CountingMetrics(),
    ids: { requestIdFor, driftEventId },
    config: {
      account,
      region,
      policy: {
        systemRoleArns: [`arn:aws:iam::${account}:role/secgroup-approval-member`],
        exemptPrincipals: [`arn:aws:iam::${account}:role/BreakGlass*`],
        maxEventAgeSeconds: 300,
        autoDenyWithoutDescription: false,
      },
      people: { people: [], sourceIdentityRoles: [] },
      drift: { graceSeconds: 0, maxPerSweep: 100, ...options.drift },
      deployment: options.deployment ?? "test",
    },
  };
}

/** The hub as a member sees it: records each message it is sent, validated as the hub would. */
export class RecordingHubLink implements HubLink {
  readonly sent: { kind: HubEventKind; message: string }[] = [];
  /** How many of the next sends fail, as a bus that is down. */
  failures = 0;

  async send(kind: HubEventKind, message: string): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("the hub's bus is unavailable");
    }
    this.sent.push({ kind, message });
  }

  /** The change messages sent, parsed with the hub's schema (an invalid one fails the test). */
  changes(): ChangeMessage[] {
    return this.sent
      .filter((s) => s.kind === "change")
      .map((s) => parseChangeMessage(JSON.parse(s.message)));
  }

  results(): ResultMessage[] {
    return this.sent
      .filter((s) => s.kind === "result")
      .map((s) => parseResultMessage(JSON.parse(s.message)));
  }

  clear(): void {
    this.sent.length = 0;
  }
}
