/**
 * A member (one account, one region): the CloudTrail rule, revertSecurityGroup and its on-failure
 * function revertFailed, applySecurityGroupChange and its topic, the baseline table and the drift
 * check (sweepBaseline), and the member's event bus whose one rule forwards what the functions
 * send to the hub's bus.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CfnElement, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { LambdaDestination } from "aws-cdk-lib/aws-lambda-destinations";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as triggers from "aws-cdk-lib/triggers";
import { Construct } from "constructs";
import { BASELINES_TABLE, OUTBOX_INDEX } from "../src/adapters/dynamodb/tables.js";
import { MEMBER_EVENT_SOURCE } from "../src/adapters/events/hub-link.js";
import { GOVERNED_EVENT_PATTERN as DOMAIN_PATTERN } from "../src/domain/cloudtrail.js";
import { metricAlarms } from "./alarms.js";
import type { AppConfig, MemberTarget } from "./config.js";
import { deadLetterQueue, Handler, output, REPO_ROOT } from "./handler.js";
import { REVERT_MEMORY_MB } from "./memory.js";
import {
  acknowledge,
  acknowledgeWildcards,
  nagPartition,
  REASONS,
  SNS_KMS_ACTIONS,
} from "./nag.js";
import {
  BUSES,
  busArn,
  FORWARD_RULE_NAME,
  KEY_ALIASES,
  MEMBER_FUNCTIONS,
  type MemberFunction,
  roleArn,
  roleName,
  TOPICS,
  topicArn,
} from "./names.js";
import { assertEnvironmentFits, policyEnvironment } from "./policy.js";
import { indexArn, tableFrom } from "./tables.js";
import { hardenTriggerProvider } from "./trigger.js";

/**
 * The rule's pattern is the domain's GOVERNED_EVENT_PATTERN (the governed calls from EC2,
 * every identity type, failed calls dropped): the sandbox routes events by the same object.
 */
export const GOVERNED_EVENT_PATTERN: events.EventPattern = {
  source: [...DOMAIN_PATTERN.source],
  detailType: [...DOMAIN_PATTERN["detail-type"]],
  detail: {
    eventSource: [...DOMAIN_PATTERN.detail.eventSource],
    eventName: [...DOMAIN_PATTERN.detail.eventName],
    errorCode: DOMAIN_PATTERN.detail.errorCode.map((c) => ({ ...c })),
  },
};

/**
 * The member's writes to security groups. A description update (UpdateSecurityGroupRuleDescriptions*)
 * is reverted and applied with ModifySecurityGroupRules, so neither call is granted.
 */
export const EC2_WRITE_ACTIONS = [
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:AuthorizeSecurityGroupEgress",
  "ec2:RevokeSecurityGroupIngress",
  "ec2:RevokeSecurityGroupEgress",
  "ec2:ModifySecurityGroupRules",
];

/**
 * Reverting (and re-applying) a ModifyManagedPrefixList: the list's version and entries are read
 * first (DescribeManagedPrefixLists has no resource-level permissions; GetManagedPrefixListEntries
 * is granted with it), then one ModifyManagedPrefixList on a prefix list of this account and
 * region.
 */
export const EC2_PREFIX_LIST_READ_ACTIONS = [
  "ec2:DescribeManagedPrefixLists",
  "ec2:GetManagedPrefixListEntries",
];
export const EC2_PREFIX_LIST_WRITE_ACTIONS = ["ec2:ModifyManagedPrefixList"];

/**
 * Exactly the calls each member function makes (src/app/member/ through
 * src/adapters/dynamodb/baselines.ts and src/adapters/ec2/security-groups.ts). Rule writes and
 * deletes, and every other delete, go through BatchWriteItem, which IAM authorises as
 * dynamodb:BatchWriteItem alone: no function needs DeleteItem.
 */
export const MEMBER_PERMISSIONS = {
  revert: {
    dynamodb: [
      "dynamodb:PutItem", // baselines.openChange
      "dynamodb:GetItem", // ledger.receive on a redelivery of a handled event
      "dynamodb:UpdateItem", // ledger.receive/record/release/markPublished, the meta item
      "dynamodb:Query", // baselines.read (the group's items), baselines.adopt (exempt)
      "dynamodb:BatchWriteItem", // baselines.update / .adopt
    ],
    outboxIndex: false,
    // liveRules (ids of restored rules, exempt adoption); findGroupByName, describeGroup.
    ec2Read: ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
    ec2Write: true,
    // ModifyManagedPrefixList events: the list, its entries, and modifying it back.
    prefixLists: true,
  },
  apply: {
    dynamodb: [
      "dynamodb:GetItem", // ledger.get (the recorded change), ledger.applyResult
      "dynamodb:PutItem", // ledger.recordApplyResult, once per request
      "dynamodb:UpdateItem", // baselines.lease/release, the meta item
      "dynamodb:Query", // baselines.read
      "dynamodb:BatchWriteItem", // baselines.update, baselines.closeChange
    ],
    outboxIndex: false,
    ec2Read: ["ec2:DescribeSecurityGroupRules"], // liveRules (ids after an apply)
    ec2Write: true,
    // Approve re-applies a prefix list change; a Deny of a live one reverts it.
    prefixLists: true,
  },
  sweep: {
    dynamodb: [
      "dynamodb:GetItem", // baselines.installation; ledger.get (the outbox entry as it is now)
      "dynamodb:PutItem", // recordInstallation, recordDrift, openChange, setSuspect
      "dynamodb:UpdateItem", // lease/release, describe, ledger.record/markPublished
      // baselines.read / adopt / retire, lease (events in flight); the byOutbox index
      // (ledger.unpublished)
      "dynamodb:Query",
      "dynamodb:Scan", // baselines.snapshot: every group's items
      "dynamodb:BatchWriteItem", // adopt, update, retire, setSuspect (clear)
    ],
    outboxIndex: true,
    // describeRules and describeGroups (every group, its name and VPC).
    ec2Read: ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
    // The drift check reverts drift with the same calls a revert makes.
    ec2Write: true,
    prefixLists: false,
  },
  "revert-failed": {
    dynamodb: [
      "dynamodb:GetItem", // ledger.receive: was the event handled after all?
      "dynamodb:PutItem", // baselines.openChange
      "dynamodb:UpdateItem", // ledger.receive/record/markPublished
      "dynamodb:Query", // baselines.read
    ],
    outboxIndex: false,
    ec2Read: [],
    ec2Write: false,
    prefixLists: false,
  },
} as const satisfies Record<
  MemberFunction,
  {
    dynamodb: string[];
    outboxIndex: boolean;
    ec2Read: string[];
    ec2Write: boolean;
    prefixLists: boolean;
  }
>;

/**
 * The drift check runs this often (and once at each deploy). It also sends the hub what a revert
 * could not hand over (its outbox), so this is the longest a request waits after a hub outage
 * that outlasted the retries.
 */
export const SWEEP_SCHEDULE = Duration.minutes(15);

/**
 * What identifies a deployment (recorded with the install's adoption of the groups): the stack,
 * this package's version and a hash of the validated config.
 */
export function deploymentId(config: AppConfig, stackName: string): string {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    version: string;
  };
  const hash = createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 12);
  return `${stackName}@${version}#${hash}`;
}

export interface MemberProps {
  config: AppConfig;
  target: MemberTarget;
}

export class Member extends Construct {
  readonly baselines: ReturnType<typeof tableFrom>;
  readonly applyTopic: sns.Topic;
  readonly rule: events.Rule;
  /** The member's own bus: its functions put their events here. */
  readonly bus: events.EventBus;
  /** The rule that forwards the member's events to the hub's bus. */
  readonly forward: events.Rule;
  /** Encrypts the apply topic (and the alarm topic, with alarmEmail). */
  readonly topicKey: kms.Key;
  readonly handlers: Record<"revert" | "apply" | "sweep" | "revertFailed", Handler>;

  constructor(scope: Construct, id: string, props: MemberProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    const { partition, region, account } = stack;
    const hub = config.hub;
    const hubBusArn = busArn(partition, hub.region, hub.account, BUSES.hub);
    const systemRoles = MEMBER_FUNCTIONS.map((fn) => roleArn(partition, account, fn, region));

    this.baselines = tableFrom(this, "Baselines", BASELINES_TABLE);

    // ---- the member's bus, forwarding our source (and nothing else) to the hub's bus ---------
    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: BUSES.member,
      description: "secgroup-approval: what this member sends the hub (forwarded to its bus)",
    });
    const forwardRole = new iam.Role(this, "ForwardRole", {
      roleName: roleName("forward", region),
      // EventBridge, for rules of this account only (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal("events.amazonaws.com").withConditions({
        StringEquals: { "aws:SourceAccount": account },
      }),
      description:
        "secgroup-approval: EventBridge puts this member's events on the hub's bus (the target adds events:PutEvents on that bus only)",
    });
    const forwardDlq = deadLetterQueue(
      this,
      "ForwardDeadLetters",
      "the forwarding of this member's events to the hub's bus",
    );
    this.forward = new events.Rule(this, "ForwardToHub", {
      ruleName: FORWARD_RULE_NAME,
      eventBus: this.bus,
      description: "secgroup-approval: this member's changes and results -> the hub's bus",
      eventPattern: { source: [MEMBER_EVENT_SOURCE] },
      // EventBridge retries an event-bus target itself (it has no retry policy to set); what it
      // still cannot deliver lands in the dead-letter queue, which is alarmed, and the member's
      // outbox is sent again by the drift check.
      targets: [
        new targets.EventBus(events.EventBus.fromEventBusArn(this, "HubBus", hubBusArn), {
          role: forwardRole,
          deadLetterQueue: forwardDlq.queue,
        }),
      ],
    });

    const environment: Record<string, string> = {
      BASELINE_TABLE: this.baselines.tableName,
      MEMBER_ACCOUNT_ID: account,
      MEMBER_BUS_NAME: this.bus.eventBusName,
      APPLY_TOPIC_ARN: topicArn(partition, region, account, TOPICS.apply),
      SYSTEM_ROLE_ARNS: systemRoles.join(","),
      EXEMPT_PRINCIPALS: config.exemptPrincipals.join(","),
      MAX_EVENT_AGE_SECONDS: String(config.seedRules.maxEventAgeSeconds),
      AUTO_DENY_WITHOUT_DESCRIPTION: String(config.seedRules.autoDenyWithoutDescription),
      PEOPLE: JSON.stringify(config.people),
      SOURCE_IDENTITY_ROLES: config.sourceIdentityRoles.join(","),
      DRIFT_GRACE_SECONDS: String(config.drift.graceSeconds),
      DRIFT_MAX_PER_SWEEP: String(config.drift.maxPerSweep),
      DEPLOYMENT_ID: deploymentId(config, stack.stackName),
      ...policyEnvironment(config),
    };
    assertEnvironmentFits("the member functions", {
      ...environment,
      NODE_OPTIONS: "--enable-source-maps",
    });
    const handler = (
      cid: string,
      fn: MemberFunction,
      entry: string,
      description: string,
      timeout: Duration,
      onFailure?: LambdaDestination,
      memorySize?: number,
    ) =>
      new Handler(this, cid, {
        entry,
        roleName: roleName(fn, region),
        description,
        environment,
        timeout,
        async: true,
        ...(onFailure ? { onFailure } : {}),
        ...(memorySize ? { memorySize } : {}),
      });
    const revertFailed = handler(
      "RevertFailed",
      "revert-failed",
      "revertFailed",
      "A revert that failed past its retries: files the change as not reverted",
      Duration.minutes(1),
    );
    this.handlers = {
      revertFailed,
      revert: handler(
        "RevertSecurityGroup",
        "revert",
        "revertSecurityGroup",
        "Reverts a security-group change at once and files it with the hub",
        Duration.minutes(1),
        // Past Lambda's retries, the invocation record (with the event) goes to revertFailed.
        new LambdaDestination(revertFailed.fn, { responseOnly: false }),
        // A cold start is time the change stays live (infra/memory.ts).
        REVERT_MEMORY_MB,
      ),
      apply: handler(
        "ApplySecurityGroupChange",
        "apply",
        "applySecurityGroupChange",
        "Re-applies an approved change (or reverts a denied live one) and reports the result",
        Duration.minutes(1),
      ),
      sweep: handler(
        "SweepBaseline",
        "sweep",
        "sweepBaseline",
        "The drift check: reverts and files what differs from the approved baselines",
        Duration.minutes(10),
      ),
    };
    acknowledgeWildcards(
      this.handlers.revert,
      {
        resources: [
          `<${stack.getLogicalId(revertFailed.fn.node.defaultChild as CfnElement)}.Arn>:*`,
        ],
      },
      REASONS.revertFailedInvoke,
    );

    // ---- permissions -------------------------------------------------------------------------
    const ec2Arn = (p: string, type: string) => `arn:${p}:ec2:${region}:${account}:${type}/*`;
    const groups = ec2Arn(partition, "security-group");
    const groupRules = ec2Arn(partition, "security-group-rule");
    const nagGroups = [
      ec2Arn(nagPartition(stack), "security-group"),
      ec2Arn(nagPartition(stack), "security-group-rule"),
    ];
    const byFunction: Record<MemberFunction, Handler> = {
      revert: this.handlers.revert,
      apply: this.handlers.apply,
      sweep: this.handlers.sweep,
      "revert-failed": this.handlers.revertFailed,
    };
    for (const fn of MEMBER_FUNCTIONS) {
      const h = byFunction[fn];
      const {
        dynamodb: tableActions,
        outboxIndex,
        ec2Read,
        ec2Write,
        prefixLists,
      } = MEMBER_PERMISSIONS[fn];
      h.allow({ actions: [...tableActions], resources: [this.baselines.tableArn] });
      if (outboxIndex) {
        h.allow({
          actions: ["dynamodb:Query"],
          resources: [indexArn(this.baselines, OUTBOX_INDEX)],
        });
      }
      if (ec2Read.length > 0) {
        h.allow({ actions: [...ec2Read], resources: ["*"] });
        acknowledgeWildcards(h, { resources: ["*"] }, REASONS.ec2Describe);
      }
      if (ec2Write) {
        // ModifySecurityGroupRules is authorised on the rule as well as on its group.
        h.allow({ actions: EC2_WRITE_ACTIONS, resources: [groups, groupRules] });
        acknowledgeWildcards(h, { resources: nagGroups }, REASONS.ec2Groups);
      }
      if (prefixLists) {
        h.allow({ actions: EC2_PREFIX_LIST_READ_ACTIONS, resources: ["*"] });
        acknowledgeWildcards(h, { resources: ["*"] }, REASONS.ec2PrefixListRead);
        h.allow({
          actions: EC2_PREFIX_LIST_WRITE_ACTIONS,
          resources: [ec2Arn(partition, "prefix-list")],
        });
        acknowledgeWildcards(
          h,
          { resources: [ec2Arn(nagPartition(stack), "prefix-list")] },
          REASONS.ec2PrefixLists,
        );
      }
      // Every member function files with the hub (a change, or a result) on its own bus only.
      h.allow({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] });
    }

    // ---- CloudTrail -> revertSecurityGroup ---------------------------------------------------
    const revert = this.handlers.revert;
    this.rule = new events.Rule(this, "GovernedCalls", {
      description: "secgroup-approval: security-group rule changes recorded by CloudTrail",
      eventPattern: GOVERNED_EVENT_PATTERN,
      targets: [
        new targets.LambdaFunction(revert.fn, {
          ...(revert.dlq ? { deadLetterQueue: revert.dlq } : {}),
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });

    // ---- hub -> applySecurityGroupChange -----------------------------------------------------
    // buttonClick sends approvals (and reverts after a Deny); the scheduled jobs send again
    // those that got no result, and reverts of expired live changes.
    const hubPublisherRoles = [
      roleArn(partition, hub.account, "button", hub.region),
      roleArn(partition, hub.account, "expire", hub.region),
    ];
    this.topicKey = new kms.Key(this, "TopicKey", {
      alias: KEY_ALIASES.member,
      description: "secgroup-approval: encrypts this member's applySecurityGroupChange topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const key = this.topicKey;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "HubButtonClickPublishesThroughSns",
        principals: [new iam.AccountPrincipal(hub.account)],
        actions: SNS_KMS_ACTIONS,
        resources: ["*"],
        conditions: {
          StringEquals: { "kms:ViaService": `sns.${region}.amazonaws.com` },
          ArnEquals: { "aws:PrincipalArn": hubPublisherRoles },
        },
      }),
    );
    this.applyTopic = new sns.Topic(this, "ApplyTopic", {
      topicName: TOPICS.apply,
      displayName: "secgroup-approval: approved changes to re-apply",
      masterKey: key,
      enforceSSL: true,
    });
    this.applyTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "HubButtonClickPublishes",
        principals: [new iam.AccountPrincipal(hub.account)],
        actions: ["sns:Publish"],
        resources: [this.applyTopic.topicArn],
        conditions: { ArnEquals: { "aws:PrincipalArn": hubPublisherRoles } },
      }),
    );
    const apply = this.handlers.apply;
    this.applyTopic.addSubscription(
      new subscriptions.LambdaSubscription(
        apply.fn,
        apply.dlq ? { deadLetterQueue: apply.dlq } : {},
      ),
    );

    // ---- the drift check: once per deploy, then on a schedule --------------------------------
    const sweep = this.handlers.sweep;
    new events.Rule(this, "SweepSchedule", {
      description: "secgroup-approval: the drift check (reverts and files unapproved differences)",
      schedule: events.Schedule.rate(SWEEP_SCHEDULE),
      targets: [
        new targets.LambdaFunction(sweep.fn, {
          ...(sweep.dlq ? { deadLetterQueue: sweep.dlq } : {}),
          retryAttempts: 2,
          maxEventAge: Duration.minutes(15),
        }),
      ],
    });
    acknowledge(
      sweep.fn,
      "Annotation::@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias",
      "The schedule invokes the unqualified function, which is what its permission is for; the deploy-time trigger invokes the current version with its own IAM role, which needs no resource-based permission.",
    );
    new triggers.Trigger(this, "InitialSweep", {
      handler: sweep.fn,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: Duration.minutes(10),
      executeOnHandlerChange: true,
      // The table, the function and the bus (with its rule) it may send on exist first.
      executeAfter: [this.baselines, sweep, this.bus, this.forward],
    });
    hardenTriggerProvider(this);

    metricAlarms(this, "member", {
      RefusedInvocation:
        "a member function refused a message or event (a change this member never recorded, or another account or region): someone invoked it by hand, or a message was forged",
      DriftFiled:
        "the drift check reverted a difference from the approved rules that no governed call explained, and filed it as a request",
    });

    output(this, "MemberEventBusName", { value: BUSES.member });
    output(this, "ApplyTopicArn", { value: this.applyTopic.topicArn });
    output(this, "BaselinesTableName", { value: this.baselines.tableName });
  }
}
