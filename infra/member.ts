/**
 * A member (one account, one region): the CloudTrail rule, revertSecurityGroup,
 * applySecurityGroupChange and its topic, the baseline table and its sweep.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as triggers from "aws-cdk-lib/triggers";
import { Construct } from "constructs";
import { GOVERNED_EVENT_PATTERN as DOMAIN_PATTERN } from "../src/domain/cloudtrail.js";
import type { AppConfig, MemberTarget } from "./config.js";
import { Handler, output } from "./handler.js";
import {
  acknowledge,
  acknowledgeWildcards,
  nagPartition,
  REASONS,
  SNS_KMS_ACTIONS,
} from "./nag.js";
import {
  anyKeyArn,
  KEY_ALIASES,
  MEMBER_FUNCTIONS,
  type MemberFunction,
  roleArn,
  roleName,
  TABLES,
  TOPICS,
  topicArn,
} from "./names.js";
import { hardenTriggerProvider } from "./trigger.js";

/**
 * The rule's pattern is the domain's GOVERNED_EVENT_PATTERN (the five governed calls from EC2,
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

export const EC2_WRITE_ACTIONS = [
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:AuthorizeSecurityGroupEgress",
  "ec2:RevokeSecurityGroupIngress",
  "ec2:RevokeSecurityGroupEgress",
  "ec2:ModifySecurityGroupRules",
];
export const EC2_READ_ACTIONS = ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"];

/**
 * Exactly the calls each member function makes (src/app/member.ts through
 * src/adapters/dynamodb/baselines.ts and src/adapters/ec2/security-groups.ts). Baseline writes,
 * deletes included, all go through BatchWriteItem, which IAM authorises as dynamodb:BatchWriteItem
 * alone: no function needs PutItem or DeleteItem for rules.
 */
export const MEMBER_PERMISSIONS = {
  revert: {
    dynamodb: [
      "dynamodb:PutItem", // ledger.receive: the event's entry, once
      "dynamodb:GetItem", // ledger.receive on a redelivery: the entry as it stands
      "dynamodb:UpdateItem", // ledger.record (outbox + handledAt), ledger.markPublished
      "dynamodb:Query", // baselines.get, and baselines.replace on a resync
      "dynamodb:BatchWriteItem", // baselines.update / baselines.replace
    ],
    // describeRules (resync) and findGroupByName (a call that named its group by name).
    ec2Read: ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
  },
  apply: {
    dynamodb: [
      "dynamodb:GetItem", // ledger.applyResult: an approval applied before
      "dynamodb:PutItem", // ledger.recordApplyResult, once per request
      "dynamodb:Query", // baselines.get, and baselines.replace on a resync
      "dynamodb:BatchWriteItem", // baselines.update / baselines.replace
    ],
    ec2Read: ["ec2:DescribeSecurityGroupRules"], // describeRules (resync)
  },
  sweep: {
    dynamodb: [
      "dynamodb:Query", // baselines.replace: the group's stale rules
      "dynamodb:BatchWriteItem", // baselines.replace
      "dynamodb:Scan", // ledger.unpublished: the outbox
      "dynamodb:UpdateItem", // ledger.markPublished
    ],
    // describeRules, and describeGroups (the groups' names, for the Slack messages).
    ec2Read: ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
  },
} as const satisfies Record<MemberFunction, { dynamodb: string[]; ec2Read: string[] }>;

/** The baselines table's shape, as src/adapters/dynamodb/tables.ts defines it. */
export const BASELINES_TABLE_SHAPE = {
  partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
  sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
  ttlAttribute: "ttl",
} as const;

/**
 * The sweep refreshes every group's baseline this often (and once at each deploy). It also
 * republishes requests the revert could not hand to the hub (its outbox), so this is the longest
 * a request waits after a hub outage that outlasted Lambda's retries.
 */
export const SWEEP_SCHEDULE = Duration.hours(1);

export interface MemberProps {
  config: AppConfig;
  target: MemberTarget;
}

export class Member extends Construct {
  readonly baselines: dynamodb.Table;
  readonly applyTopic: sns.Topic;
  readonly rule: events.Rule;
  /** Encrypts the apply topic (and the alarm topic, with alarmEmail). */
  readonly topicKey: kms.Key;
  readonly handlers: { revert: Handler; apply: Handler; sweep: Handler };

  constructor(scope: Construct, id: string, props: MemberProps) {
    super(scope, id);
    const { config, target } = props;
    const stack = Stack.of(this);
    const { partition, region, account } = stack;
    const hub = config.hub;
    const hubChangeTopic = topicArn(partition, hub.region, hub.account, TOPICS.change);
    const hubResultTopic = topicArn(partition, hub.region, hub.account, TOPICS.result);
    const hubKeys = anyKeyArn(partition, hub.region, hub.account);
    const systemRoles = MEMBER_FUNCTIONS.map((fn) => roleArn(partition, account, fn, region));

    this.baselines = new dynamodb.Table(this, "Baselines", {
      tableName: TABLES.baselines,
      partitionKey: BASELINES_TABLE_SHAPE.partitionKey,
      sortKey: BASELINES_TABLE_SHAPE.sortKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: BASELINES_TABLE_SHAPE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment: Record<string, string> = {
      BASELINE_TABLE: this.baselines.tableName,
      HUB_CHANGE_TOPIC_ARN: hubChangeTopic,
      HUB_RESULT_TOPIC_ARN: hubResultTopic,
      SYSTEM_ROLE_ARNS: systemRoles.join(","),
      EXEMPT_PRINCIPALS: config.exemptPrincipals.join(","),
      MAX_EVENT_AGE_SECONDS: String(config.seedRules.maxEventAgeSeconds),
      AUTO_DENY_WITHOUT_DESCRIPTION: String(config.seedRules.autoDenyWithoutDescription),
      ACCOUNT_ALIAS: target.alias,
    };
    const handler = (
      cid: string,
      fn: "revert" | "apply" | "sweep",
      entry: string,
      description: string,
      timeout: Duration,
    ) =>
      new Handler(this, cid, {
        entry,
        roleName: roleName(fn, region),
        description,
        environment,
        timeout,
        async: true,
      });
    this.handlers = {
      revert: handler(
        "RevertSecurityGroup",
        "revert",
        "revertSecurityGroup",
        "Reverts a security-group change at once and files it with the hub",
        Duration.minutes(1),
      ),
      apply: handler(
        "ApplySecurityGroupChange",
        "apply",
        "applySecurityGroupChange",
        "Re-applies an approved security-group change and reports the result to the hub",
        Duration.minutes(1),
      ),
      sweep: handler(
        "SweepBaseline",
        "sweep",
        "sweepBaseline",
        "Records every security group's rules in the region as its baseline",
        Duration.minutes(10),
      ),
    };

    // ---- permissions -------------------------------------------------------------------------
    const ec2Arn = (p: string, type: string) => `arn:${p}:ec2:${region}:${account}:${type}/*`;
    const groups = ec2Arn(partition, "security-group");
    const groupRules = ec2Arn(partition, "security-group-rule");
    const nagGroups = [
      ec2Arn(nagPartition(stack), "security-group"),
      ec2Arn(nagPartition(stack), "security-group-rule"),
    ];
    for (const fn of MEMBER_FUNCTIONS) {
      const h = this.handlers[fn];
      const { dynamodb: tableActions, ec2Read } = MEMBER_PERMISSIONS[fn];
      h.allow({ actions: [...tableActions], resources: [this.baselines.tableArn] });
      h.allow({ actions: [...ec2Read], resources: ["*"] });
      acknowledgeWildcards(h, { resources: ["*"] }, REASONS.ec2Describe);
    }
    for (const h of [this.handlers.revert, this.handlers.apply]) {
      // ModifySecurityGroupRules is authorised on the rule as well as on its group.
      h.allow({ actions: EC2_WRITE_ACTIONS, resources: [groups, groupRules] });
      acknowledgeWildcards(h, { resources: nagGroups }, REASONS.ec2Groups);
    }
    // Cross-account publishes to the hub (the hub's topic and key policies admit these roles).
    const publish = (h: Handler, topic: string) => {
      h.allow({ actions: ["sns:Publish"], resources: [topic] });
      h.allow({
        actions: SNS_KMS_ACTIONS,
        resources: [hubKeys],
        conditions: { StringEquals: { "kms:ViaService": `sns.${hub.region}.amazonaws.com` } },
      });
      acknowledgeWildcards(
        h,
        { resources: [anyKeyArn(nagPartition(stack), hub.region, hub.account)] },
        REASONS.crossAccountKey,
      );
      acknowledgeWildcards(h, { actions: ["kms:GenerateDataKey*"] }, REASONS.snsKmsActions);
    };
    publish(this.handlers.revert, hubChangeTopic);
    // The sweep also republishes requests the revert could not hand over (its outbox).
    publish(this.handlers.sweep, hubChangeTopic);
    publish(this.handlers.apply, hubResultTopic);

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
    // buttonClick sends approvals; expireRequests sends again those whose apply never reported.
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

    // ---- baseline sweep: once per deploy, then on a schedule ---------------------------------
    const sweep = this.handlers.sweep;
    new events.Rule(this, "SweepSchedule", {
      description: "secgroup-approval: refresh the baseline of every security group",
      schedule: events.Schedule.rate(SWEEP_SCHEDULE),
      targets: [
        new targets.LambdaFunction(sweep.fn, {
          ...(sweep.dlq ? { deadLetterQueue: sweep.dlq } : {}),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
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
      executeAfter: [this.baselines, sweep],
    });
    hardenTriggerProvider(this);

    output(this, "ApplyTopicArn", { value: this.applyTopic.topicArn });
    output(this, "BaselinesTableName", { value: this.baselines.tableName });
  }
}
