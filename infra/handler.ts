/**
 * One Lambda handler with everything around it: its own named role (no managed policies), its
 * log group, and — for asynchronously invoked handlers — a dead-letter queue plus alarms on errors
 * and on the queue's depth.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CfnOutput, type CfnOutputProps, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import {
  type BundlingOptions,
  LogLevel,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** The repository root (infra/..): where src/handlers and package-lock.json are. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export const RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * esbuild, installed locally (no Docker). The AWS SDK v3 clients are bundled on purpose
 * (`externalModules: []`): the handlers then run the exact client versions package-lock.json pins
 * and the tests ran against, not whatever SDK the Lambda runtime ships that month; lib-dynamodb,
 * Powertools and the Slack client are not in the runtime anyway. Minified, a hub bundle is about
 * 1 MB and a member bundle (the EC2 client is large) about 1.4 MB.
 */
export const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  format: OutputFormat.ESM,
  target: "node22",
  mainFields: ["module", "main"],
  externalModules: [],
  // Some bundled CommonJS dependencies call require() for Node built-ins: give ESM one.
  banner:
    "import { createRequire as __sgaCreateRequire } from 'node:module'; const require = __sgaCreateRequire(import.meta.url);",
  logLevel: LogLevel.WARNING,
};

export interface HandlerProps {
  /** The file in src/handlers, without ".ts". */
  entry: string;
  /** A fixed role name (see names.ts): other accounts' policies name this role. */
  roleName: string;
  description: string;
  /** Exactly the variables src/handlers/config.ts reads. */
  environment: Record<string, string>;
  timeout: Duration;
  memorySize?: number;
  /**
   * Invoked asynchronously (SNS, EventBridge, schedules): failed invocations go, after Lambda's
   * two retries, to a dead-letter queue (an onFailure destination), which the event source's own
   * DLQ setting may share.
   */
  async: boolean;
  /**
   * Where failed asynchronous invocations go instead of the dead-letter queue (which then only
   * takes what the event source could not deliver).
   */
  onFailure?: lambda.IDestination;
}

/**
 * An SQS dead-letter queue (encrypted, TLS only, 14 days) and an alarm on its depth: whatever
 * lands here is work the system could not do, so somebody must look.
 */
export function deadLetterQueue(
  scope: Construct,
  id: string,
  what: string,
): { queue: sqs.Queue; alarm: cloudwatch.Alarm } {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason:
      "This queue is itself a dead-letter queue (Lambda onFailure destination, event-source or EventBridge target DLQ); a DLQ of a DLQ would only move the problem.",
  });
  const alarm = new cloudwatch.Alarm(scope, `${id}Alarm`, {
    alarmDescription: `secgroup-approval: ${what} has messages it could not deliver or process in its dead-letter queue`,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: "Maximum",
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  return { queue, alarm };
}

export class Handler extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly dlq: sqs.Queue | undefined;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: HandlerProps) {
    super(scope, id);

    this.role = new iam.Role(this, "Role", {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.entry}: ${props.description}`,
    });

    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    logGroup.grantWrite(this.role);

    let dlqAlarm: cloudwatch.Alarm | undefined;
    if (props.async) {
      const { queue, alarm } = deadLetterQueue(this, "DeadLetters", props.entry);
      this.dlq = queue;
      dlqAlarm = alarm;
    }

    this.fn = new NodejsFunction(this, "Function", {
      entry: join(REPO_ROOT, "src", "handlers", `${props.entry}.ts`),
      handler: "handler",
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup,
      description: props.description,
      // NODE_OPTIONS is read by Node, not by the handler: it makes the source maps count.
      environment: { ...props.environment, NODE_OPTIONS: "--enable-source-maps" },
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      bundling: BUNDLING,
      ...(this.dlq
        ? {
            onFailure: props.onFailure ?? new SqsDestination(this.dlq),
            retryAttempts: 2,
            maxEventAge: Duration.hours(6),
          }
        : {}),
    });

    this.alarms.push(
      new cloudwatch.Alarm(this, "ErrorsAlarm", {
        alarmDescription: `secgroup-approval: ${props.entry} failed (see its log group ${logGroup.logGroupName})`,
        metric: this.fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    if (dlqAlarm) this.alarms.push(dlqAlarm);
  }

  /** Adds a statement to the role's policy. */
  allow(statement: iam.PolicyStatementProps): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
  }
}

/** A stack output whose key is exactly `id` (no hash suffix), so docs and scripts can name it. */
export function output(scope: Construct, id: string, props: CfnOutputProps): CfnOutput {
  const out = new CfnOutput(scope, id, props);
  out.overrideLogicalId(id);
  return out;
}
