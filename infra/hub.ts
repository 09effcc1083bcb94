/**
 * The hub: the requests table, the Slack secret, the three hub topics, the Slack interactivity
 * endpoint and the five hub handlers.
 */
import { Duration, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { type AppConfig, accountAliases, memberAccounts, memberTargets } from "./config.js";
import { Handler, output } from "./handler.js";
import {
  acknowledge,
  acknowledgeWildcards,
  nagPartition,
  REASONS,
  SNS_KMS_ACTIONS,
} from "./nag.js";
import {
  API_STAGE,
  anyKeyArn,
  HUB_FUNCTIONS,
  type HubFunction,
  KEY_ALIASES,
  REQUESTS_BY_STATUS_INDEX,
  roleArn,
  roleName,
  SLACK_ACTIONS_PATH,
  SLACK_SECRET_NAME,
  TABLES,
  TOPICS,
  topicArn,
} from "./names.js";

/**
 * Exactly the calls each hub function makes on the requests table (src/app/hub.ts through
 * src/adapters/dynamodb/request-store.ts). Only storeSecurityGroupRequest creates items; every
 * state change is a conditional UpdateItem, whose losing side reads the item again.
 */
export const HUB_TABLE_ACTIONS = {
  // requests.create (PutItem), .get after a lost create, .setSlackRefs (UpdateItem, GetItem)
  store: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
  // requests.get, .transition (approve / deny)
  button: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
  // requests.get: the deny report only reads
  deny: ["dynamodb:GetItem"],
  // requests.get, .transition (applied / failed)
  result: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
  // .transition (expire); listByStatus is a Query on the index, granted separately
  expire: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
} as const satisfies Record<HubFunction, string[]>;

export interface HubProps {
  config: AppConfig;
}

/** The hub's requests table: keys, index and TTL as src/adapters/dynamodb/tables.ts defines them. */
export const REQUESTS_TABLE_SHAPE = {
  partitionKey: { name: "requestId", type: dynamodb.AttributeType.STRING },
  index: {
    indexName: REQUESTS_BY_STATUS_INDEX,
    partitionKey: { name: "status", type: dynamodb.AttributeType.STRING },
    sortKey: { name: "createdAt", type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  },
  ttlAttribute: "ttl",
} as const;

export class Hub extends Construct {
  readonly requests: dynamodb.Table;
  readonly secret: secretsmanager.Secret;
  readonly topics: { change: sns.Topic; deny: sns.Topic; result: sns.Topic };
  readonly api: apigw.RestApi;
  /** Encrypts the hub's topics (and the alarm topic, with alarmEmail). */
  readonly topicKey: kms.Key;
  readonly handlers: {
    store: Handler;
    button: Handler;
    deny: Handler;
    result: Handler;
    expire: Handler;
  };

  constructor(scope: Construct, id: string, props: HubProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    const { partition, region } = stack;
    const members = memberTargets(config);
    const accounts = memberAccounts(config);

    // ---- data --------------------------------------------------------------------------------
    this.requests = new dynamodb.Table(this, "Requests", {
      tableName: TABLES.requests,
      partitionKey: REQUESTS_TABLE_SHAPE.partitionKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: REQUESTS_TABLE_SHAPE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.requests.addGlobalSecondaryIndex(REQUESTS_TABLE_SHAPE.index);

    this.secret = new secretsmanager.Secret(this, "SlackSecret", {
      secretName: SLACK_SECRET_NAME,
      description:
        'Slack credentials of secgroup-approval: {"botToken": "xoxb-…", "signingSecret": "…"}. Created empty; fill it with aws secretsmanager put-secret-value (docs/DEPLOY.md).',
      // No secret material here: the value is the empty shape, filled in after deploy. The
      // template never changes it again, so later deploys keep what was put.
      secretStringValue: SecretValue.unsafePlainText(
        JSON.stringify({ botToken: "", signingSecret: "" }),
      ),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.secret,
      "AwsSolutions-SMG4",
      "The bot token and signing secret are issued by Slack and can only be rotated in Slack's app settings; after rotating there, put the new values here (docs/DEPLOY.md). A rotation Lambda could not obtain new values.",
    );

    // ---- topics ------------------------------------------------------------------------------
    this.topicKey = new kms.Key(this, "TopicKey", {
      alias: KEY_ALIASES.hub,
      description: "secgroup-approval: encrypts the hub's SNS topics",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const key = this.topicKey;

    const topic = (cid: string, topicName: string, displayName: string) =>
      new sns.Topic(this, cid, { topicName, displayName, masterKey: key, enforceSSL: true });
    this.topics = {
      change: topic("ChangeTopic", TOPICS.change, "secgroup-approval: reverted changes to decide"),
      deny: topic("DenyTopic", TOPICS.deny, "secgroup-approval: denied requests"),
      result: topic("ResultTopic", TOPICS.result, "secgroup-approval: results of applies"),
    };

    // Member functions that publish to the hub: revert (and sweep, for its outbox retries) to
    // securityGroupChange; apply to errorHandlerSecurityGroupChange.
    const changePublishers = members.flatMap((m) => [
      roleArn(partition, m.account, "revert", m.region),
      roleArn(partition, m.account, "sweep", m.region),
    ]);
    const resultPublishers = members.map((m) => roleArn(partition, m.account, "apply", m.region));
    const allowMembers = (t: sns.Topic, sid: string, publishers: string[]) =>
      t.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: accounts.map((a) => new iam.AccountPrincipal(a)),
          actions: ["sns:Publish"],
          resources: [t.topicArn],
          conditions: { ArnEquals: { "aws:PrincipalArn": publishers } },
        }),
      );
    allowMembers(this.topics.change, "MemberRevertFunctionsPublish", changePublishers);
    allowMembers(this.topics.result, "MemberApplyFunctionsPublish", resultPublishers);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "MemberFunctionsPublishThroughSns",
        principals: accounts.map((a) => new iam.AccountPrincipal(a)),
        actions: SNS_KMS_ACTIONS,
        resources: ["*"],
        conditions: {
          StringEquals: { "kms:ViaService": `sns.${region}.amazonaws.com` },
          ArnEquals: { "aws:PrincipalArn": [...changePublishers, ...resultPublishers] },
        },
      }),
    );

    // ---- handlers ----------------------------------------------------------------------------
    const environment: Record<string, string> = {
      REQUESTS_TABLE: this.requests.tableName,
      SLACK_SECRET_ARN: this.secret.secretArn,
      SLACK_APPROVAL_CHANNEL: config.slack.approvalChannel,
      SLACK_MONITORING_CHANNEL: config.slack.monitoringChannel,
      APPROVER_USER_IDS: config.slack.approverUserIds.join(","),
      ...(config.slack.approverUserGroup
        ? { APPROVER_USER_GROUP: config.slack.approverUserGroup }
        : {}),
      DENY_TOPIC_ARN: this.topics.deny.topicArn,
      MEMBER_APPLY_TOPIC_NAME: TOPICS.apply,
      AWS_PARTITION: partition,
      REQUEST_EXPIRY_HOURS: String(config.requestExpiryHours),
      ACCOUNT_ALIASES: JSON.stringify(accountAliases(config)),
    };
    const handler = (
      cid: string,
      fn: "store" | "button" | "deny" | "result" | "expire",
      entry: string,
      description: string,
      opts: { timeout: Duration; memorySize?: number; async: boolean },
    ) =>
      new Handler(this, cid, {
        entry,
        roleName: roleName(fn, region),
        description,
        environment,
        ...opts,
      });

    this.handlers = {
      store: handler(
        "StoreSecurityGroupRequest",
        "store",
        "storeSecurityGroupRequest",
        "Stores a reverted change as a request and posts it to Slack",
        { timeout: Duration.seconds(30), async: true },
      ),
      button: handler(
        "ButtonClick",
        "button",
        "buttonClick",
        "Slack interactivity: verifies the signature and records Approve/Deny",
        // Slack gives 3 s for the answer, cold start included: more memory is more CPU.
        { timeout: Duration.seconds(15), memorySize: 1024, async: false },
      ),
      deny: handler(
        "DenySecurityGroupChange",
        "deny",
        "denySecurityGroupChange",
        "Marks a denied request and updates its Slack messages",
        { timeout: Duration.seconds(30), async: true },
      ),
      result: handler(
        "ErrorHandlerSecurityGroupChange",
        "result",
        "errorHandlerSecurityGroupChange",
        "Records the result of an apply (applied / failed) and updates Slack",
        { timeout: Duration.seconds(30), async: true },
      ),
      expire: handler(
        "ExpireRequests",
        "expire",
        "expireRequests",
        "Expires pending requests past their expiry and updates Slack",
        { timeout: Duration.minutes(5), async: true },
      ),
    };

    for (const fn of HUB_FUNCTIONS) {
      const h = this.handlers[fn];
      h.allow({ actions: [...HUB_TABLE_ACTIONS[fn]], resources: [this.requests.tableArn] });
      this.secret.grantRead(h.role);
    }
    // expireRequests lists pending and approved requests (listByStatus) from the index only.
    this.handlers.expire.allow({
      actions: ["dynamodb:Query"],
      resources: [`${this.requests.tableArn}/index/${REQUESTS_BY_STATUS_INDEX}`],
    });

    // buttonClick publishes a denial to the deny topic (encrypted with this stack's key).
    const button = this.handlers.button;
    button.allow({ actions: ["sns:Publish"], resources: [this.topics.deny.topicArn] });
    button.allow({ actions: SNS_KMS_ACTIONS, resources: [key.keyArn] });
    // buttonClick publishes an approval to the member's apply topic; expireRequests sends again
    // an approval whose apply never reported back (resendStuckApprovals). Neither sends anything
    // else there, and expireRequests never denies.
    for (const publisher of [button, this.handlers.expire]) {
      if (members.length > 0) {
        publisher.allow({
          actions: ["sns:Publish"],
          resources: members.map((m) => topicArn(partition, m.region, m.account, TOPICS.apply)),
        });
      }
      // One statement per member region: kms:ViaService names that region's SNS.
      for (const memberRegion of new Set(members.map((m) => m.region))) {
        const inRegion = members.filter((m) => m.region === memberRegion);
        publisher.allow({
          actions: SNS_KMS_ACTIONS,
          resources: inRegion.map((m) => anyKeyArn(partition, m.region, m.account)),
          conditions: { StringEquals: { "kms:ViaService": `sns.${memberRegion}.amazonaws.com` } },
        });
        acknowledgeWildcards(
          publisher,
          { resources: inRegion.map((m) => anyKeyArn(nagPartition(stack), m.region, m.account)) },
          REASONS.crossAccountKey,
        );
      }
      acknowledgeWildcards(publisher, { actions: ["kms:GenerateDataKey*"] }, REASONS.snsKmsActions);
    }

    // ---- event sources -----------------------------------------------------------------------
    const subscribe = (t: sns.Topic, h: Handler) =>
      t.addSubscription(
        new subscriptions.LambdaSubscription(h.fn, h.dlq ? { deadLetterQueue: h.dlq } : {}),
      );
    subscribe(this.topics.change, this.handlers.store);
    subscribe(this.topics.deny, this.handlers.deny);
    subscribe(this.topics.result, this.handlers.result);

    const expire = this.handlers.expire;
    new events.Rule(this, "ExpireSchedule", {
      description: "secgroup-approval: expire pending requests past their expiry",
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [
        new targets.LambdaFunction(expire.fn, {
          ...(expire.dlq ? { deadLetterQueue: expire.dlq } : {}),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    // ---- Slack interactivity endpoint --------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, "SlackApi", {
      restApiName: "secgroup-approval-slack",
      description: "secgroup-approval: Slack interactivity (POST /slack/actions)",
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // API Gateway writes execution and access logs through one CloudWatch Logs role per
      // account and region (its account settings). true: this stack creates that role and sets
      // it, replacing any role set before; false: the one already set is used and left alone.
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.apiGatewayCloudWatchRole
        ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
        : {}),
      deployOptions: {
        stageName: API_STAGE,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: 25,
        throttlingBurstLimit: 50,
      },
    });
    const requireSlackHeaders = new apigw.RequestValidator(this, "SlackHeadersValidator", {
      restApi: this.api,
      requestValidatorName: "slack-signature-headers",
      validateRequestParameters: true,
      // No request model is attached, so this checks nothing and never alters the body.
      validateRequestBody: true,
    });
    const [first, second] = SLACK_ACTIONS_PATH;
    const actions = this.api.root.addResource(first).addResource(second);
    // A Lambda proxy integration with no templates and no binary media types: the handler gets
    // the exact bytes Slack signed.
    actions.addMethod(
      "POST",
      new apigw.LambdaIntegration(this.handlers.button.fn, { proxy: true, allowTestInvoke: false }),
      {
        authorizationType: apigw.AuthorizationType.NONE,
        requestValidator: requireSlackHeaders,
        requestParameters: {
          "method.request.header.X-Slack-Signature": true,
          "method.request.header.X-Slack-Request-Timestamp": true,
        },
      },
    );
    acknowledge(
      this.api,
      "AwsSolutions-APIG4",
      "Slack cannot sign requests with IAM or present Cognito tokens. Every request is authenticated in buttonClick by Slack's HMAC-SHA256 signature over the raw body with a 5-minute timestamp window; requests without the signature headers are rejected by API Gateway's request validator.",
    );
    acknowledge(
      this.api,
      "AwsSolutions-COG4",
      "Callers are Slack's servers, not users of a Cognito user pool; authentication is Slack's request signature (see AwsSolutions-APIG4).",
    );
    acknowledge(
      this.api,
      "AwsSolutions-APIG3",
      "One signed-request endpoint with stage throttling (25 rps, burst 50) and header validation; a WAF web ACL would add cost without adding to the signature check. Attach one with AWS Firewall Manager if your organisation requires it.",
    );
    if (config.apiGatewayCloudWatchRole) {
      acknowledge(
        this.api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide role API Gateway uses to write execution logs (created only with apiGatewayCloudWatchRole: true); AWS's managed policy for it grants only CloudWatch Logs writes and is what AWS documents for this role.",
      );
    }

    // ---- alarms ------------------------------------------------------------------------------
    new cloudwatch.Alarm(this, "ApiServerErrorsAlarm", {
      alarmDescription:
        "secgroup-approval: the Slack endpoint answered 5XX (Slack shows the approver an error)",
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, "ApiLatencyAlarm", {
      alarmDescription:
        "secgroup-approval: the Slack endpoint is close to Slack's 3-second limit (p99 over 2.5 s)",
      metric: this.api.metricLatency({ period: Duration.minutes(5), statistic: "p99" }),
      threshold: 2500,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // ---- outputs -----------------------------------------------------------------------------
    output(this, "SlackInteractivityUrl", {
      description: "Paste into the Slack app: Interactivity & Shortcuts > Request URL",
      value: this.api.urlForPath(`/${SLACK_ACTIONS_PATH.join("/")}`),
    });
    output(this, "SlackSecretName", {
      description: "Fill with: aws secretsmanager put-secret-value --secret-id <this> ...",
      value: SLACK_SECRET_NAME,
    });
    output(this, "RequestsTableName", { value: this.requests.tableName });
  }
}
