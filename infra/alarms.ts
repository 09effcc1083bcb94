/**
 * Where the alarms go. Every stack's alarms (function errors, dead-letter queue depth, the Slack
 * endpoint's 5XX and latency) notify, on ALARM and back to OK:
 * - `alarmEmail`: a topic of the stack's own (one per stack: alarms only notify a topic in their
 *   own region), encrypted with the stack's topic key, with the address subscribed;
 * - `alarmTopicArn`: an existing topic of yours, in the stacks' region.
 * Both may be set; with neither, the alarms notify nobody (docs/DEPLOY.md says how to watch them).
 */
import { Duration, type Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../src/adapters/metrics/powertools.js";
import type { MetricName } from "../src/ports/metrics.js";
import type { AppConfig } from "./config.js";
import { SNS_KMS_ACTIONS } from "./nag.js";
import { METRICS_SERVICES } from "./names.js";

/** CloudFormation names alarms "<stack name>-<logical id>-<suffix>": all stacks start so. */
export const ALARM_NAME_PREFIX = "SecgroupApproval-";

export interface AlarmTargets {
  /** The topic `alarmEmail` created, if any. */
  topic: sns.Topic | undefined;
  actions: cloudwatch.IAlarmAction[];
}

/** Adds the configured actions to every alarm in the stack; call once, after building it. */
export function notifyAlarms(stack: Stack, config: AppConfig, key: kms.Key): AlarmTargets {
  const alarms = stack.node.findAll().filter((c) => c instanceof cloudwatch.Alarm);
  const targets: AlarmTargets = { topic: undefined, actions: [] };
  const { partition, region, account } = stack;
  // CloudWatch acts for this account's alarms of this app only (confused-deputy guard).
  const fromOurAlarms = {
    StringEquals: { "aws:SourceAccount": account },
    ArnLike: {
      "aws:SourceArn": `arn:${partition}:cloudwatch:${region}:${account}:alarm:${ALARM_NAME_PREFIX}*`,
    },
  };

  if (config.alarmEmail) {
    const topic = new sns.Topic(stack, "AlarmTopic", {
      displayName: "secgroup-approval alarms",
      masterKey: key,
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    // CloudWatch cannot publish to a KMS-encrypted topic without using its key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublishToAlarmTopic",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: SNS_KMS_ACTIONS,
        resources: ["*"],
        conditions: fromOurAlarms,
      }),
    );
    targets.topic = topic;
    targets.actions.push(new actions.SnsAction(topic));
  }
  if (config.alarmTopicArn) {
    const yours = sns.Topic.fromTopicArn(stack, "ConfiguredAlarmTopic", config.alarmTopicArn);
    targets.actions.push(new actions.SnsAction(yours));
  }
  for (const alarm of alarms) {
    alarm.addAlarmAction(...targets.actions);
    alarm.addOkAction(...targets.actions);
  }
  return targets;
}

/**
 * One alarm per counter the handlers write (src/ports/metrics.ts): each of them means something
 * a person should look at (a refused message or click, drift, a request given up on).
 */
export function metricAlarms(
  scope: Construct,
  side: keyof typeof METRICS_SERVICES,
  meanings: Partial<Record<MetricName, string>>,
): cloudwatch.Alarm[] {
  return Object.entries(meanings).map(
    ([name, meaning]) =>
      new cloudwatch.Alarm(scope, `${name}Alarm`, {
        alarmDescription: `secgroup-approval: ${meaning}`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: name,
          dimensionsMap: { service: METRICS_SERVICES[side] },
          period: Duration.minutes(5),
          statistic: "Sum",
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
  );
}
